//! The duration syntax of rule packs: `"3m"`, `"90s"`, `"1h30m"`, `"500ms"`, `"1.5m"`.
//!
//! A duration is one or more parts, each a decimal number followed by a unit, written
//! without spaces; the parts are added. The result is a whole number of milliseconds,
//! because the engine judges waits to the millisecond: a value that does not land on a
//! whole millisecond is rejected rather than rounded, so a pack never means something
//! other than what it says.

/// The longest duration a pack may use: 36 500 days (about 100 years). Far beyond any
/// statutory limit, and far enough from `i64` nanoseconds (about 292 years) that the engine's
/// arithmetic never overflows.
pub(crate) const MAX_DURATION_MS: i64 = 36_500 * MILLIS_PER_DAY;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The units, longest name first so that `ms` is not read as `m` followed by `s`.
const UNITS: [(&str, i64); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", MILLIS_PER_DAY),
];

/// Digits after the decimal point beyond this many cannot make a whole millisecond with any
/// unit (a day is 86 400 000 ms, so 10^-30 of it is far below a millisecond); they are
/// rejected before they can overflow the exact arithmetic below.
const MAX_FRACTION_DIGITS: usize = 30;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// The text is empty or only spaces.
    Empty,
    /// The text starts with a minus sign.
    Negative,
    /// The text is a plain number, for example `"180"`.
    NoUnit,
    /// A number inside the text has no unit after it, for example the `30` of `"1h30"`.
    MissingUnit {
        /// The number without a unit.
        number: String,
    },
    /// A unit that is not one of `ms`, `s`, `m`, `h`, `d`.
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// The text contains spaces, for example `"1h 30m"`.
    Spaces,
    /// Anything else that is not a number followed by a unit.
    Malformed,
    /// The value is not a whole number of milliseconds, for example `"1.5ms"`.
    FinerThanMillisecond,
    /// The value exceeds [`MAX_DURATION_MS`].
    TooLong,
}

/// Parses a duration into whole milliseconds. Zero is a valid duration here; whether zero
/// makes sense is the caller's decision.
pub(crate) fn parse_duration(text: &str) -> Result<i64, DurationError> {
    if text.trim().is_empty() {
        return Err(DurationError::Empty);
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative);
    }
    if text.trim() != text || text.contains(char::is_whitespace) {
        // Checked only once the text is known to be otherwise readable, so "3 minutes"
        // gets the more useful unknown-unit answer.
        let compact: String = text.split_whitespace().collect();
        return match parse_parts(&compact) {
            Ok(_) => Err(DurationError::Spaces),
            Err(error) => Err(error),
        };
    }
    parse_parts(text)
}

fn parse_parts(text: &str) -> Result<i64, DurationError> {
    let mut rest = text;
    let mut total_ms: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after_number) = rest.split_at(number_len);
        if number.is_empty() {
            return Err(DurationError::Malformed);
        }
        let unit_len = after_number
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        if unit.is_empty() {
            let plain_number = after_number.is_empty() && total_ms == 0 && rest.len() == text.len();
            return Err(if plain_number {
                DurationError::NoUnit
            } else if after_number.is_empty() {
                DurationError::MissingUnit {
                    number: number.to_string(),
                }
            } else {
                DurationError::Malformed
            });
        }
        let Some(&(_, unit_ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
            });
        };
        total_ms = total_ms
            .checked_add(part_millis(number, unit_ms)?)
            .ok_or(DurationError::TooLong)?;
        rest = after_unit;
    }
    match i64::try_from(total_ms) {
        Ok(total_ms) if total_ms <= MAX_DURATION_MS => Ok(total_ms),
        _ => Err(DurationError::TooLong),
    }
}

/// `number` × `unit_ms`, exactly: `number` is digits with at most one decimal point, and
/// at least one digit before it.
fn part_millis(number: &str, unit_ms: i64) -> Result<u128, DurationError> {
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() || fraction.contains('.') || (number.contains('.') && fraction.is_empty()) {
        return Err(DurationError::Malformed);
    }
    let unit_ms = u128::from(unit_ms.unsigned_abs());
    let whole = whole.trim_start_matches('0');
    // More than 20 digits is beyond any duration we accept; stop before u128 overflows.
    if whole.len() > 20 {
        return Err(DurationError::TooLong);
    }
    let whole_value = parse_digits(whole)?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > MAX_FRACTION_DIGITS {
        return Err(DurationError::FinerThanMillisecond);
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction_ms = parse_digits(fraction)? * unit_ms;
    if fraction_ms % scale != 0 {
        return Err(DurationError::FinerThanMillisecond);
    }
    Ok(whole_value * unit_ms + fraction_ms / scale)
}

fn parse_digits(digits: &str) -> Result<u128, DurationError> {
    if digits.is_empty() {
        return Ok(0);
    }
    digits.parse().map_err(|_| DurationError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit_and_combination() {
        let cases = [
            ("3m", 180_000),
            ("90s", 90_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("1.5m", 90_000),
            ("0.5s", 500),
            ("1m30s250ms", 90_250),
            ("1.000s", 1_000),
            ("007s", 7_000),
            ("0s", 0),
            ("36500d", MAX_DURATION_MS),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            ("", DurationError::Empty),
            ("  ", DurationError::Empty),
            ("-3m", DurationError::Negative),
            ("180", DurationError::NoUnit),
            ("1.5", DurationError::NoUnit),
            (
                "1h30",
                DurationError::MissingUnit {
                    number: "30".into(),
                },
            ),
            ("3min", DurationError::UnknownUnit { unit: "min".into() }),
            (
                "3 minutes",
                DurationError::UnknownUnit {
                    unit: "minutes".into(),
                },
            ),
            ("3M", DurationError::UnknownUnit { unit: "M".into() }),
            ("1h 30m", DurationError::Spaces),
            (" 3m", DurationError::Spaces),
            ("m", DurationError::Malformed),
            ("3m!", DurationError::Malformed),
            ("1.m", DurationError::Malformed),
            (".5m", DurationError::Malformed),
            ("1.2.3m", DurationError::Malformed),
            ("+3m", DurationError::Malformed),
            ("1.5ms", DurationError::FinerThanMillisecond),
            ("0.0001s", DurationError::FinerThanMillisecond),
            ("36500d1ms", DurationError::TooLong),
            ("99999999999999999999999d", DurationError::TooLong),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn long_fractions_are_exact() {
        assert_eq!(
            parse_duration("0.001000000000000000000000000000000s"),
            Ok(1)
        );
        assert_eq!(
            parse_duration("0.0000000000000000000000000000001d"),
            Err(DurationError::FinerThanMillisecond)
        );
    }
}
