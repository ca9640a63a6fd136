//! The errors of this crate: a pack that cannot be read, or one that is not valid.

use std::fmt;
use std::path::PathBuf;

/// Why a rule pack was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The pack file could not be read (missing, unreadable, or not UTF-8).
    #[error("cannot read rule pack `{}`", path.display())]
    Read {
        /// The file as it was given.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The pack was read but is not valid. Displays every problem found, one per position,
    /// each followed by a `help:` line.
    #[error("{}", render_problems(origin, problems))]
    Invalid {
        /// The file name used in messages.
        origin: String,
        /// Every problem found, in source order; never empty.
        problems: Vec<Problem>,
    },
}

impl PackError {
    /// Every problem found in the pack, in source order (empty when the file could not be
    /// read at all).
    pub fn problems(&self) -> &[Problem] {
        match self {
            PackError::Read { .. } => &[],
            PackError::Invalid { problems, .. } => problems,
        }
    }
}

/// One thing wrong with a pack, where it is, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the source.
    pub line: usize,
    /// 1-based column of the source, counted in characters (not bytes).
    pub column: usize,
    /// What is wrong: lowercase, no trailing period, identifiers in backticks.
    pub message: String,
    /// What to change to fix it.
    pub help: String,
}

impl fmt::Display for Problem {
    /// `{line}:{column}: {message}` and, on the next line, `  help: {help}`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}: {}\n  help: {}",
            self.line, self.column, self.message, self.help
        )
    }
}

fn render_problems(origin: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| format!("{origin}:{problem}"))
        .collect();
    lines.join("\n")
}

/// A problem located by byte offset, before line and column are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawProblem {
    pub(crate) offset: usize,
    pub(crate) message: String,
    pub(crate) help: String,
}

/// Turns located problems into a [`PackError::Invalid`], sorted by position (problems at
/// the same position keep the order they were found in).
pub(crate) fn invalid(origin: &str, source: &str, mut problems: Vec<RawProblem>) -> PackError {
    problems.sort_by_key(|problem| problem.offset);
    let problems = problems
        .into_iter()
        .map(|problem| {
            let (line, column) = line_and_column(source, problem.offset);
            Problem {
                line,
                column,
                message: problem.message,
                help: problem.help,
            }
        })
        .collect();
    PackError::Invalid {
        origin: origin.to_string(),
        problems,
    }
}

/// 1-based line and column (in characters) of a byte offset. An offset past the end points
/// just after the last character; one inside a character points at that character.
pub(crate) fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = "a = 1\naliases = [\"תקלה\", \"x\"]\n";
        assert_eq!(line_and_column(source, 0), (1, 1));
        assert_eq!(line_and_column(source, 6), (2, 1));
        let x = source.find("\"x\"").unwrap();
        assert_eq!(line_and_column(source, x), (2, 20));
        // Past the end, and inside a multi-byte character.
        assert_eq!(line_and_column(source, 1_000), (3, 1));
        let hebrew = source.find('ת').unwrap();
        assert_eq!(line_and_column(source, hebrew + 1), (2, 13));
    }

    #[test]
    fn display_lists_every_problem_with_its_help() {
        let source = "x\ny\n";
        let raw = |offset: usize, message: &str| RawProblem {
            offset,
            message: message.into(),
            help: "fix it".into(),
        };
        let error = invalid("p.toml", source, vec![raw(2, "second"), raw(0, "first")]);
        assert_eq!(
            error.to_string(),
            "p.toml:1:1: first\n  help: fix it\np.toml:2:1: second\n  help: fix it"
        );
        assert_eq!(error.problems().len(), 2);
    }
}
