//! Fault injection shared by both simulators.
//!
//! A [`FaultRule`] says *which* requests it hits (method, path regex, object id, and when: the
//! n-th match, every k-th match, or with a seeded probability) and *what* happens
//! ([`FaultAction`]). Rules are checked in the order they were added; the first one that fires
//! shapes the answer. Counting is per rule over the requests it matches, so "the 3rd PATCH of
//! order 12" is expressed exactly.

use crate::rng::SimRng;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a matching request gets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status instead of running the handler. `html` wins over `body`; with
    /// neither, a DRF-style `{"detail": ...}` body is sent.
    Status {
        /// HTTP status.
        status: u16,
        /// JSON body.
        #[serde(default)]
        body: Option<Value>,
        /// HTML body (e.g. a proxy's 502 page).
        #[serde(default)]
        html: Option<String>,
        /// Extra response headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// Wait this long, then answer normally.
    Latency {
        /// Milliseconds.
        ms: u64,
    },
    /// Never answer (until the simulator shuts down).
    Hang,
    /// Close the connection without a complete HTTP response; the handler does not run.
    Reset,
    /// Run the handler, then send only part of its body and break the connection.
    Truncate {
        /// Bytes of the body to send (default: half).
        #[serde(default)]
        keep_bytes: Option<usize>,
    },
    /// Run the handler (the write is applied), then fail the response: with `status` (default
    /// 500), or by breaking the connection when `reset` is true.
    DropAfterCommit {
        /// Status to answer with.
        #[serde(default = "default_500")]
        status: u16,
        /// Break the connection instead of answering.
        #[serde(default)]
        reset: bool,
    },
    /// 429 with `Retry-After`.
    RateLimit {
        /// Seconds for `Retry-After`.
        #[serde(default = "default_retry_after")]
        retry_after: u64,
    },
    /// Invalidate the caller's token before handling, so the request (and later ones with the
    /// same token) get the service's "expired token" answer.
    InvalidateToken,
    /// List endpoints with page pagination shift their window back by `shift` rows, as if rows
    /// had been inserted before the current page (seek pagination is immune, as in reality).
    InconsistentPage {
        /// How many rows the window moves.
        #[serde(default = "default_shift")]
        shift: usize,
    },
}

fn default_500() -> u16 {
    500
}
fn default_retry_after() -> u64 {
    30
}
fn default_shift() -> usize {
    1
}

impl FaultAction {
    /// Short description for the journal.
    pub fn describe(&self) -> String {
        match self {
            FaultAction::Status { status, .. } => format!("status {status}"),
            FaultAction::Latency { ms } => format!("latency {ms}ms"),
            FaultAction::Hang => "hang".into(),
            FaultAction::Reset => "reset".into(),
            FaultAction::Truncate { .. } => "truncate".into(),
            FaultAction::DropAfterCommit { status, reset } => {
                if *reset {
                    "drop_after_commit reset".into()
                } else {
                    format!("drop_after_commit {status}")
                }
            }
            FaultAction::RateLimit { .. } => "rate_limit".into(),
            FaultAction::InvalidateToken => "invalidate_token".into(),
            FaultAction::InconsistentPage { .. } => "inconsistent_page".into(),
        }
    }
}

/// A fault rule. Unset match fields match everything; with none of `nth`, `every`,
/// `probability` set, every matching request fires (up to `times`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    /// Assigned when the rule is added.
    #[serde(default)]
    pub id: u64,
    /// HTTP method (case-insensitive).
    #[serde(default)]
    pub method: Option<String>,
    /// Regex searched in the request path (e.g. `orders/\d+/?$`).
    #[serde(default)]
    pub path: Option<String>,
    /// Matches when a path segment, a query value, or a top-level body field
    /// (`number`, `pk`, `id`, `order`, `plan_id`) equals this.
    #[serde(default)]
    pub object_id: Option<String>,
    /// Fire on exactly the n-th matching request (from 1).
    #[serde(default)]
    pub nth: Option<u64>,
    /// Fire on every k-th matching request.
    #[serde(default)]
    pub every: Option<u64>,
    /// Fire with this probability (seeded, so runs are reproducible).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire at most this many times.
    #[serde(default)]
    pub times: Option<u64>,
    /// What happens.
    pub action: FaultAction,
    /// Requests that matched so far (output).
    #[serde(default)]
    pub matched: u64,
    /// Times it fired so far (output).
    #[serde(default)]
    pub fired: u64,
}

impl FaultRule {
    /// A rule that fires on every request (narrow it with the builder methods).
    pub fn new(action: FaultAction) -> Self {
        Self {
            id: 0,
            method: None,
            path: None,
            object_id: None,
            nth: None,
            every: None,
            probability: None,
            times: None,
            action,
            matched: 0,
            fired: 0,
        }
    }
    /// Only this method.
    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }
    /// Only paths matching this regex.
    pub fn path(mut self, re: &str) -> Self {
        self.path = Some(re.to_string());
        self
    }
    /// Only requests about this object id / order number / plan id.
    pub fn object_id(mut self, id: impl ToString) -> Self {
        self.object_id = Some(id.to_string());
        self
    }
    /// Only the n-th match.
    pub fn nth(mut self, n: u64) -> Self {
        self.nth = Some(n);
        self
    }
    /// Every k-th match.
    pub fn every(mut self, k: u64) -> Self {
        self.every = Some(k);
        self
    }
    /// With probability p.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }
    /// At most n times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

/// Why a rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The `path` regex does not compile.
    #[error("fault rule field `path`: invalid regex: {0}")]
    BadPath(String),
    /// A trigger value makes no sense.
    #[error("fault rule field `{0}`: {1}")]
    BadField(&'static str, String),
}

/// What the fault engine sees of a request.
pub struct RequestFacts<'a> {
    /// Method.
    pub method: &'a str,
    /// Path as sent.
    pub path: &'a str,
    /// Query string.
    pub query: &'a str,
    /// Parsed body.
    pub body: &'a Value,
}

impl RequestFacts<'_> {
    fn mentions(&self, id: &str) -> bool {
        if self.path.split('/').any(|seg| seg == id) {
            return true;
        }
        if url::form_urlencoded::parse(self.query.as_bytes()).any(|(_, v)| v == id) {
            return true;
        }
        [
            "number",
            "pk",
            "id",
            "order",
            "plan_id",
            "cancellation_plan",
        ]
        .iter()
        .filter_map(|k| self.body.get(k))
        .any(|v| match v {
            Value::String(s) => s == id,
            Value::Number(n) => n.to_string() == id,
            _ => false,
        })
    }
}

struct CompiledRule {
    rule: FaultRule,
    path: Option<Regex>,
}

/// The rules of one simulator.
pub struct FaultSet {
    inner: Mutex<FaultSetInner>,
}

struct FaultSetInner {
    rules: Vec<CompiledRule>,
    next_id: u64,
    rng: SimRng,
}

impl FaultSet {
    /// An empty set whose probabilistic rules draw from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new(FaultSetInner {
                rules: Vec::new(),
                next_id: 1,
                rng: SimRng::new(seed),
            }),
        }
    }

    /// Add a rule; returns its id.
    pub fn add(&self, mut rule: FaultRule) -> Result<u64, FaultError> {
        let path = match &rule.path {
            Some(p) => Some(Regex::new(p).map_err(|e| FaultError::BadPath(e.to_string()))?),
            None => None,
        };
        if rule.nth == Some(0) {
            return Err(FaultError::BadField("nth", "must be 1 or more".into()));
        }
        if rule.every == Some(0) {
            return Err(FaultError::BadField("every", "must be 1 or more".into()));
        }
        if let Some(p) = rule.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultError::BadField(
                "probability",
                "must be between 0 and 1".into(),
            ));
        }
        let mut inner = crate::lock(&self.inner);
        rule.id = inner.next_id;
        rule.matched = 0;
        rule.fired = 0;
        inner.next_id += 1;
        let id = rule.id;
        inner.rules.push(CompiledRule { rule, path });
        Ok(id)
    }

    /// Remove one rule; false when there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = crate::lock(&self.inner);
        let before = inner.rules.len();
        inner.rules.retain(|r| r.rule.id != id);
        inner.rules.len() != before
    }

    /// Remove every rule and reseed.
    pub fn clear(&self, seed: u64) {
        let mut inner = crate::lock(&self.inner);
        inner.rules.clear();
        inner.rng = SimRng::new(seed);
    }

    /// The rules with their counters.
    pub fn list(&self) -> Vec<FaultRule> {
        crate::lock(&self.inner)
            .rules
            .iter()
            .map(|r| r.rule.clone())
            .collect()
    }

    /// The action of the first rule that fires for this request, counting matches.
    pub fn check(&self, req: &RequestFacts<'_>) -> Option<FaultAction> {
        let mut inner = crate::lock(&self.inner);
        let FaultSetInner { rules, rng, .. } = &mut *inner;
        let mut fired = None;
        for compiled in rules.iter_mut() {
            let rule = &mut compiled.rule;
            if rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(req.method))
            {
                continue;
            }
            if compiled
                .path
                .as_ref()
                .is_some_and(|re| !re.is_match(req.path))
            {
                continue;
            }
            if rule
                .object_id
                .as_deref()
                .is_some_and(|id| !req.mentions(id))
            {
                continue;
            }
            rule.matched += 1;
            if fired.is_some() {
                continue;
            }
            if rule.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            let fires = match (rule.nth, rule.every, rule.probability) {
                (Some(n), _, _) => rule.matched == n,
                (None, Some(k), _) => rule.matched % k == 0,
                (None, None, Some(p)) => rng.chance(p),
                (None, None, None) => true,
            };
            if fires {
                rule.fired += 1;
                fired = Some(rule.action.clone());
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(method: &'a str, path: &'a str, body: &'a Value) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path,
            query: "",
            body,
        }
    }

    #[test]
    fn nth_every_and_object_id_select_the_right_requests() {
        let set = FaultSet::new(1);
        set.add(
            FaultRule::new(FaultAction::Hang)
                .method("PATCH")
                .path(r"orders/\d+")
                .nth(2),
        )
        .unwrap();
        let null = Value::Null;
        assert!(
            set.check(&facts("PATCH", "/api/v1/orders/1/", &null))
                .is_none()
        );
        assert!(
            set.check(&facts("GET", "/api/v1/orders/1/", &null))
                .is_none()
        );
        assert_eq!(
            set.check(&facts("PATCH", "/api/v1/orders/2/", &null)),
            Some(FaultAction::Hang)
        );
        assert!(
            set.check(&facts("PATCH", "/api/v1/orders/3/", &null))
                .is_none()
        );

        let set = FaultSet::new(1);
        set.add(FaultRule::new(FaultAction::Reset).object_id("77").every(2))
            .unwrap();
        let body = serde_json::json!({"number": "77"});
        assert!(set.check(&facts("POST", "/orders", &body)).is_none());
        assert!(set.check(&facts("POST", "/orders/5", &null)).is_none());
        assert!(set.check(&facts("POST", "/orders", &body)).is_some());
        assert!(
            FaultSet::new(1)
                .add(FaultRule::new(FaultAction::Hang).path("("))
                .is_err()
        );
    }

    #[test]
    fn probability_is_reproducible_for_a_seed() {
        let run = |seed| {
            let set = FaultSet::new(seed);
            set.add(FaultRule::new(FaultAction::Hang).probability(0.5))
                .unwrap();
            (0..64)
                .map(|_| set.check(&facts("GET", "/", &Value::Null)).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert!(run(9).iter().any(|f| *f) && run(9).iter().any(|f| !*f));
    }
}
