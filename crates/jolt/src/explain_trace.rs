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
