//! What explain mode records while a step runs: which spec node matched which input path, and
//! which modify functions gave no value.

/// Collected during one step; turned into the public `StepExplanation` by the chain.
#[derive(Debug, Default)]
pub(crate) struct Tracer {
    pub matches: Vec<(String, String)>,
    pub no_value: Vec<(String, String)>,
}

impl Tracer {
    pub(crate) fn matched(&mut self, spec_path: &str, input_path: String) {
        self.matches.push((spec_path.to_string(), input_path));
    }

    pub(crate) fn no_value(&mut self, spec_path: &str, input_path: String) {
        self.no_value.push((spec_path.to_string(), input_path));
    }
}

/// Explain bookkeeping for the in-place operations (default, remove, cardinality): the input
/// path is only maintained while tracing, so normal runs pay nothing for it.
pub(crate) struct PathTrace<'t> {
    pub tracer: Option<&'t mut Tracer>,
    pub path: String,
}

impl<'t> PathTrace<'t> {
    pub(crate) fn new(tracer: Option<&'t mut Tracer>) -> Self {
        PathTrace {
            tracer,
            path: String::new(),
        }
    }

    /// Descends into `key`, recording that `spec_path` applied there; returns a mark for
    /// `leave`.
    pub(crate) fn enter(&mut self, spec_path: &str, key: &str) -> Option<usize> {
        let t = self.tracer.as_deref_mut()?;
        let len = self.path.len();
        crate::error::push_pointer(&mut self.path, key);
        t.matched(spec_path, self.path.clone());
        Some(len)
    }

    pub(crate) fn leave(&mut self, mark: Option<usize>) {
        if let Some(len) = mark {
            self.path.truncate(len);
        }
    }
}
