//! The dead-letter record: one shape for every source. An event that is invalid or late
//! is never dropped; it is kept with where it came from, why it was refused and its
//! original bytes (or their first [`DEAD_LETTER_MAX_BYTES`]).
//!
//! A file sink writes the record as one JSON line ([`DeadLetter::to_json_line`]); a Kafka
//! sink writes the original bytes as the payload and every other field as a header
//! ([`DeadLetter::headers`]). Both are built from the same record, so the same bad event
//! carries the same reason and detail whichever way it arrived.

use std::borrow::Cow;

use base64::Engine as _;
use serde::Serialize;

/// A dead letter keeps at most this many bytes of its event; the whole event stays in its
/// source (the input file's line, the events topic's offset).
pub const DEAD_LETTER_MAX_BYTES: usize = 512 * 1024;

/// Where an event was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A line of an input file, standard input or the simulator's stream (lines count
    /// from 1).
    Line {
        /// The input's name (a file name, `stdin`, `simulator`).
        source: &'a str,
        /// The line number.
        line: u64,
    },
    /// A message of a Kafka topic.
    Message {
        /// The topic.
        topic: &'a str,
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
    },
}

impl Origin<'_> {
    /// The source as one text: the input's name, or `topic[partition]@offset`.
    pub fn source(&self) -> Cow<'_, str> {
        match self {
            Origin::Line { source, .. } => Cow::Borrowed(source),
            Origin::Message {
                topic,
                partition,
                offset,
            } => Cow::Owned(format!("{topic}[{partition}]@{offset}")),
        }
    }
}

/// One refused event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter<'a> {
    /// Where it was read.
    pub origin: Origin<'a>,
    /// The reason: an invalid reason's stable name, or `late`.
    pub reason: &'a str,
    /// What exactly, for people: field names, never values.
    pub detail: &'a str,
    /// The event's bytes as kept: at most [`DEAD_LETTER_MAX_BYTES`].
    pub kept: &'a [u8],
    /// The event's whole length in bytes (more than `kept` when it was cut).
    pub bytes: usize,
}

/// The JSON line of a dead letter (`docs/semantics.md`, "Dead letters").
#[derive(Serialize)]
struct DeadLetterLine<'a> {
    source: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    reason: &'a str,
    detail: &'a str,
    bytes: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    raw: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

impl<'a> DeadLetter<'a> {
    /// A dead letter of `event` (all of it as read; only its first
    /// [`DEAD_LETTER_MAX_BYTES`] are kept) whose whole length is `bytes`.
    pub fn new(
        origin: Origin<'a>,
        reason: &'a str,
        detail: &'a str,
        event: &'a [u8],
        bytes: usize,
    ) -> DeadLetter<'a> {
        let kept = &event[..event.len().min(DEAD_LETTER_MAX_BYTES)];
        DeadLetter {
            origin,
            reason,
            detail,
            kept,
            bytes: bytes.max(event.len()),
        }
    }

    /// Whether the kept bytes are less than the event.
    pub fn is_truncated(&self) -> bool {
        self.kept.len() < self.bytes
    }

    /// The record as one JSON line, without its newline. The kept bytes are `raw` (as
    /// text, invalid UTF-8 replaced) and, only when they are not UTF-8, `raw_base64`
    /// (exactly).
    pub fn to_json_line(&self) -> serde_json::Result<Vec<u8>> {
        let (line, topic, partition, offset) = match self.origin {
            Origin::Line { line, .. } => (Some(line), None, None, None),
            Origin::Message {
                topic,
                partition,
                offset,
            } => (None, Some(topic), Some(partition), Some(offset)),
        };
        let is_utf8 = std::str::from_utf8(self.kept).is_ok();
        let record = DeadLetterLine {
            source: self.origin.source(),
            line,
            topic,
            partition,
            offset,
            reason: self.reason,
            detail: self.detail,
            bytes: self.bytes,
            truncated: self.is_truncated(),
            raw: String::from_utf8_lossy(self.kept),
            raw_base64: (!is_utf8)
                .then(|| base64::engine::general_purpose::STANDARD.encode(self.kept)),
        };
        serde_json::to_vec(&record)
    }

    /// The record's fields other than the event's bytes, as Kafka headers: `sixmin.source`,
    /// `sixmin.reason`, `sixmin.detail`, `sixmin.bytes` and, when cut,
    /// `sixmin.truncated-from-bytes`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("sixmin.source", self.origin.source().into_owned()),
            ("sixmin.reason", self.reason.to_owned()),
            ("sixmin.detail", self.detail.to_owned()),
            ("sixmin.bytes", self.bytes.to_string()),
        ];
        if let Origin::Line { line, .. } = self.origin {
            headers.push(("sixmin.line", line.to_string()));
        }
        if self.is_truncated() {
            headers.push(("sixmin.truncated-from-bytes", self.bytes.to_string()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(letter: &DeadLetter<'_>) -> serde_json::Value {
        let line = letter.to_json_line().expect("a dead letter serialises");
        serde_json::from_slice(&line).expect("a dead letter is JSON")
    }

    #[test]
    fn a_line_dead_letter_names_its_file_and_line_and_keeps_the_text() {
        let origin = Origin::Line {
            source: "day.jsonl",
            line: 7,
        };
        let letter = DeadLetter::new(origin, "not_json", "not JSON", b"nope", 4);
        let record = parse(&letter);
        assert_eq!(record["source"], "day.jsonl");
        assert_eq!(record["line"], 7);
        assert_eq!(record["reason"], "not_json");
        assert_eq!(record["raw"], "nope");
        assert_eq!(record["bytes"], 4);
        assert!(record.get("raw_base64").is_none());
        assert!(record.get("truncated").is_none());
        assert!(record.get("offset").is_none());
    }

    #[test]
    fn a_message_dead_letter_names_topic_partition_and_offset() {
        let origin = Origin::Message {
            topic: "events",
            partition: 3,
            offset: 42,
        };
        let letter = DeadLetter::new(origin, "late", "too late", b"{}", 2);
        let record = parse(&letter);
        assert_eq!(record["source"], "events[3]@42");
        assert_eq!(record["topic"], "events");
        assert_eq!(record["partition"], 3);
        assert_eq!(record["offset"], 42);
        assert!(record.get("line").is_none());
        let headers = letter.headers();
        assert!(headers.contains(&("sixmin.source", "events[3]@42".to_owned())));
        assert!(headers.contains(&("sixmin.reason", "late".to_owned())));
        assert!(headers.contains(&("sixmin.detail", "too late".to_owned())));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_exactly_in_base64() {
        let bytes = [b'{', 0xff, 0xfe, b'}'];
        let origin = Origin::Line {
            source: "stdin",
            line: 1,
        };
        let letter = DeadLetter::new(origin, "not_utf8", "not UTF-8", &bytes, bytes.len());
        let record = parse(&letter);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(record["raw_base64"].as_str().expect("base64 is there"))
            .expect("valid base64");
        assert_eq!(decoded, bytes);
    }

    #[test]
    fn a_large_event_keeps_its_first_half_mebibyte_and_says_how_long_it_was() {
        let event = vec![b'x'; DEAD_LETTER_MAX_BYTES + 10];
        let origin = Origin::Message {
            topic: "events",
            partition: 0,
            offset: 1,
        };
        let whole = event.len() + 1000;
        let letter = DeadLetter::new(origin, "too_large", "big", &event, whole);
        assert_eq!(letter.kept.len(), DEAD_LETTER_MAX_BYTES);
        assert!(letter.is_truncated());
        let record = parse(&letter);
        assert_eq!(record["bytes"], whole);
        assert_eq!(record["truncated"], true);
        assert_eq!(
            record["raw"].as_str().map(str::len),
            Some(DEAD_LETTER_MAX_BYTES)
        );
        assert!(letter
            .headers()
            .contains(&("sixmin.truncated-from-bytes", whole.to_string())));
    }
}
