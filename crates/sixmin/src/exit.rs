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
