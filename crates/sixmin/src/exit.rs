//! Exit codes and the error type every command returns.

/// The process exit codes (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// An unexpected internal error.
    Internal = 1,
    /// Bad arguments, or a rule pack that cannot be honoured.
    Usage = 2,
    /// An input could not be read.
    Input = 3,
    /// The state directory is locked, unreadable or from another rule pack.
    State = 4,
    /// An output could not be written.
    Output = 5,
}

/// A failed command: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// The error, printed with its causes.
    pub error: anyhow::Error,
}

/// The result of a command.
pub type CommandResult<T = ()> = Result<T, Failure>;

/// Attaches an exit code to any error.
pub trait WithCode<T> {
    /// Fails with `code`.
    fn code(self, code: Code) -> CommandResult<T>;
}

impl<T, E: Into<anyhow::Error>> WithCode<T> for Result<T, E> {
    fn code(self, code: Code) -> CommandResult<T> {
        self.map_err(|error| Failure {
            code,
            error: error.into(),
        })
    }
}

/// A failure from a message.
pub fn fail(code: Code, message: impl std::fmt::Display) -> Failure {
    Failure {
        code,
        error: anyhow::anyhow!("{message}"),
    }
}

/// The exit code of each library error, in one place.
impl From<sixmin_pipeline::StateError> for Failure {
    fn from(error: sixmin_pipeline::StateError) -> Failure {
        let code = if error.is_usage() {
            Code::Usage
        } else {
            Code::State
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<sixmin_pipeline::ReplayError> for Failure {
    fn from(error: sixmin_pipeline::ReplayError) -> Failure {
        use sixmin_pipeline::ReplayError;
        let code = match error {
            ReplayError::Input { .. } => Code::Input,
            ReplayError::Output(_) => Code::Output,
            ReplayError::Snapshot(_) => Code::Internal,
            ReplayError::Store(_) => Code::State,
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<sixmin_report::ReportError> for Failure {
    fn from(error: sixmin_report::ReportError) -> Failure {
        use sixmin_report::ReportError;
        let code = match error {
            ReportError::MixedPacks | ReportError::Pack { .. } | ReportError::Restore { .. } => {
                Code::State
            }
            ReportError::Xlsx(_) | ReportError::Write { .. } => Code::Output,
            ReportError::Pdf(_) => Code::Internal,
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<sixmin_kafka::consumer::ServiceError> for Failure {
    fn from(error: sixmin_kafka::consumer::ServiceError) -> Failure {
        use sixmin_kafka::consumer::ServiceError;
        let code = match error {
            ServiceError::Producer(_) | ServiceError::Consumer(_) => Code::Usage,
            ServiceError::Subscribe(_) => Code::Input,
            ServiceError::Restore { .. } => Code::State,
            ServiceError::Unfinished { .. } => Code::Output,
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}
