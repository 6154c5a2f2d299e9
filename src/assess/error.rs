//! The assessment engine's errors: one variant per cause, each with a stable snake_case code
//! that the HTTP service returns as `{"code", "message"}`. No message names a command-line
//! flag: the doors add their own context.

/// Why an assessment or a stored summary could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssessError {
    /// The unit code is not in the registry.
    #[error("unit {code:?} is not in the registry")]
    UnknownUnit {
        /// The code asked for.
        code: String,
    },
    /// A stored summary could not be decoded (corrupt, or written by another format version).
    #[error("the stored summary cannot be read: {reason}")]
    BadSummary {
        /// What is wrong.
        reason: String,
    },
    /// A stored summary names a grid or checkpoint the registry no longer has.
    #[error("the stored summary names {what} {code:?}, which the registry does not have")]
    UnknownCode {
        /// `grid` or `checkpoint`.
        what: &'static str,
        /// The code.
        code: String,
    },
    /// The aggregation failed inside the dataframe library (a bug, not bad input).
    #[error("the monthly aggregation failed: {reason}")]
    Aggregation {
        /// The library's message.
        reason: String,
    },
}

impl AssessError {
    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            AssessError::UnknownUnit { .. } => "unknown_unit",
            AssessError::BadSummary { .. } => "bad_summary",
            AssessError::UnknownCode { .. } => "unknown_code",
            AssessError::Aggregation { .. } => "aggregation_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case() {
        let e = AssessError::UnknownUnit { code: "x".into() };
        assert_eq!(e.code(), "unknown_unit");
        assert_eq!(e.to_string(), "unit \"x\" is not in the registry");
        assert!(!e.to_string().contains("--"));
    }
}
