//! The process exit codes, in one place. Every command returns one of these; `main` turns it
//! into the process status. Scripts and CI jobs branch on them, so they never change meaning.

/// Exit status of a svcbind run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done; in sync; no changes.
    Success = 0,
    /// An error: bad input, a failed API call, a failed apply step.
    Failure = 1,
    /// `plan --detailed-exitcode`: there are changes. `drift`: the account drifted.
    Changes = 2,
    /// `apply` refused: stale plan, a safety rule without `--force`, or not confirmed.
    Refused = 3,
    /// Interrupted (Ctrl-C or SIGTERM) after finishing the steps in flight.
    Interrupted = 130,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Failure.code(), 1);
        assert_eq!(ExitCode::Changes.code(), 2);
        assert_eq!(ExitCode::Refused.code(), 3);
        assert_eq!(ExitCode::Interrupted.code(), 130);
    }
}
