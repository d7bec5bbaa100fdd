//! When a failed call is tried again, and after how long.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};

use crate::{Response, TransportError};

/// Retry rules: exponential backoff with jitter, `Retry-After` honoured, writes protected.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total tries, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub base_delay: Duration,
    /// Upper bound for any single delay, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before trying again after `attempt` (1-based) ended in `outcome`, or
    /// `None` when the call must not be retried.
    pub fn delay_before_retry(
        &self,
        method: &Method,
        outcome: &Result<Response, TransportError>,
        attempt: u32,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let idempotent = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let retry_after = match outcome {
            Ok(response) if response.status == StatusCode::TOO_MANY_REQUESTS => {
                // A 429 says the server did not process the request: safe for writes too.
                response.header("retry-after").and_then(parse_retry_after)
            }
            Ok(response) if response.status.is_server_error() && idempotent => None,
            Ok(_) => return None,
            Err(error)
                if error.never_sent() && !matches!(error, TransportError::InvalidUrl { .. }) =>
            {
                None
            }
            Err(TransportError::Timeout { .. } | TransportError::Io { .. }) if idempotent => None,
            Err(_) => return None,
        };
        let delay = retry_after.unwrap_or_else(|| self.backoff(attempt));
        Some(delay.min(self.max_delay))
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so that many records
    /// failing together do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let half = exp / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        half + jitter
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> Result<Response, TransportError> {
        Ok(Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: retry_after
                .map(|v| vec![("retry-after".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: bytes::Bytes::new(),
        })
    }

    fn timeout() -> Result<Response, TransportError> {
        Err(TransportError::Timeout {
            url: "http://x".into(),
            seconds: 1,
        })
    }

    fn refused() -> Result<Response, TransportError> {
        Err(TransportError::Connect {
            url: "http://x".into(),
            message: "refused".into(),
        })
    }

    #[test]
    fn gets_retry_on_5xx_and_timeouts_but_not_4xx() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .delay_before_retry(&Method::GET, &response(503, None), 1)
                .is_some()
        );
        assert!(
            policy
                .delay_before_retry(&Method::GET, &timeout(), 1)
                .is_some()
        );
        assert!(
            policy
                .delay_before_retry(&Method::GET, &response(404, None), 1)
                .is_none()
        );
        assert!(
            policy
                .delay_before_retry(&Method::GET, &response(200, None), 1)
                .is_none()
        );
    }

    #[test]
    fn writes_retry_only_when_the_server_certainly_did_not_process_them() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .delay_before_retry(&Method::POST, &response(500, None), 1)
                .is_none()
        );
        assert!(
            policy
                .delay_before_retry(&Method::POST, &timeout(), 1)
                .is_none()
        );
        assert!(
            policy
                .delay_before_retry(&Method::POST, &refused(), 1)
                .is_some()
        );
        assert!(
            policy
                .delay_before_retry(&Method::POST, &response(429, None), 1)
                .is_some()
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .delay_before_retry(&Method::GET, &response(503, None), 2)
                .is_some()
        );
        assert!(
            policy
                .delay_before_retry(&Method::GET, &response(503, None), 3)
                .is_none()
        );
        assert!(
            RetryPolicy::none()
                .delay_before_retry(&Method::GET, &timeout(), 1)
                .is_none()
        );
    }

    #[test]
    fn retry_after_seconds_are_honoured_and_capped() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let delay = policy.delay_before_retry(&Method::GET, &response(429, Some("2")), 1);
        assert_eq!(delay, Some(Duration::from_secs(2)));
        let delay = policy.delay_before_retry(&Method::GET, &response(429, Some("600")), 1);
        assert_eq!(delay, Some(Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_http_date_is_understood() {
        let later = SystemTime::now() + Duration::from_secs(3);
        let parsed = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(parsed <= Duration::from_secs(3) && parsed >= Duration::from_secs(1));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        for attempt in 1..5 {
            let full = Duration::from_millis(100) * (1 << (attempt - 1));
            let delay = policy.backoff(attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
    }
}
