//! What can go wrong talking to Omnitron.

use omnibridge_http::TransportError;

/// An Omnitron call that did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OmnitronError {
    /// The configuration cannot be used (bad base URL, empty credentials).
    #[error("Omnitron configuration: {field}: {message}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Login was refused (Omnitron answers 400 for bad credentials).
    #[error("Omnitron login as {username:?} failed with HTTP {status}: {body}")]
    Login {
        /// The user that tried.
        username: String,
        /// The status Omnitron answered.
        status: u16,
        /// Omnitron's explanation.
        body: String,
    },
    /// No response: connection refused, timeout, broken connection.
    #[error("{method} {path}: {source}")]
    Transport {
        /// The HTTP method.
        method: String,
        /// The path called.
        path: String,
        /// What happened.
        #[source]
        source: TransportError,
    },
    /// Omnitron answered with a non-2xx status.
    #[error("{method} {path} answered HTTP {status}: {body}")]
    Status {
        /// The HTTP method.
        method: String,
        /// The path called.
        path: String,
        /// The status code.
        status: u16,
        /// The response body as text (Omnitron's DRF error, or HTML for a proxy error).
        body: String,
    },
    /// A 2xx response whose body is not the JSON expected.
    #[error("{method} {path}: unexpected response: {message}")]
    Decode {
        /// The HTTP method.
        method: String,
        /// The path called.
        path: String,
        /// What was wrong with the body.
        message: String,
    },
}

impl OmnitronError {
    /// The HTTP status Omnitron answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Login { status, .. } => Some(*status),
            _ => None,
        }
    }
}
