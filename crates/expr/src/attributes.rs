//! Where `${name}` looks its value up: a trait, so callers serve attributes without copying.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use indexmap::IndexMap;

/// The attribute container the engine should use: a `HashMap` with foldhash, a fast
/// non-cryptographic hasher. SipHash (std's default) costs more per lookup than the rest of
/// rendering a short URL; foldhash still seeds each map randomly, so keys taken from incoming
/// requests (`http.query.param.*`) cannot be chosen to collide the way they could with an
/// unseeded hasher such as FxHash.
pub type AttributeMap = HashMap<String, String, foldhash::fast::RandomState>;

/// A read-only view of FlowFile attributes.
///
/// `get` serves a value by reference; `names` lists the keys for the multi-attribute functions
/// (`anyAttribute`, `allMatchingAttributes`, ...). A key may be present with no value (JSON
/// `null`): `get` then returns `None`, but the name is still listed.
///
/// Deliberately there is no fallback to environment variables or system properties: a lookup
/// never leaks the engine's environment.
pub trait Attributes {
    /// The value of the attribute `name`, or `None` if it is missing or null.
    fn get(&self, name: &str) -> Option<&str>;
    /// Every attribute name, in the map's own order.
    fn names(&self) -> Vec<&str>;
}

impl<S: BuildHasher> Attributes for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
    fn names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

impl Attributes for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
    fn names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

impl<S: BuildHasher> Attributes for IndexMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        IndexMap::get(self, name).map(String::as_str)
    }
    fn names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

/// Attributes where a key may be present with a null value (as in NiFi test vectors).
impl<S: BuildHasher> Attributes for IndexMap<String, Option<String>, S> {
    fn get(&self, name: &str) -> Option<&str> {
        IndexMap::get(self, name).and_then(|value| value.as_deref())
    }
    fn names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
}

/// No attributes at all (handy for templates that only use literals and subjectless functions).
impl Attributes for () {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
    fn names(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl<A: Attributes + ?Sized> Attributes for &A {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
    fn names(&self) -> Vec<&str> {
        (**self).names()
    }
}
