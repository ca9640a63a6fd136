//! Decoding of one JSON event (a JSONL line or a Kafka message) into an [`Event`].
//!
//! Valid events take a fast path that borrows strings from the input. Anything serde
//! refuses is re-read as a generic JSON value to say precisely what is wrong, so every
//! invalid event gets one reason from a small fixed set ([`InvalidReason`]) and a detail
//! that names the field but never repeats its value (values may be personal data).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::event::{CallbackOutcome, Event, EventKind};
use crate::time::parse_rfc3339;

/// The largest event accepted by default, in bytes.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;
/// Longest `event_id` and `call_id`, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Longest `tenant`, `queue`, `topic` and `agent`, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why an event is invalid. The names are stable: they are metric label values and
/// dead-letter reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvalidReason {
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The text is not JSON (truncated, garbage).
    NotJson,
    /// The JSON is not an object.
    NotAnObject,
    /// A required field is missing.
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// A string field is empty.
    EmptyField,
    /// A string field is longer than its limit.
    FieldTooLong,
    /// `ts` is not RFC 3339 with an offset.
    BadTimestamp,
    /// `type` is not one of the contract's types.
    UnknownType,
    /// `v` is not 1.
    UnsupportedVersion,
    /// `outcome` is neither `reached` nor `no_answer`.
    BadOutcome,
    /// The event is larger than the configured maximum.
    TooLarge,
}

impl InvalidReason {
    /// Every reason, in a fixed order.
    pub const ALL: [InvalidReason; 12] = [
        InvalidReason::NotUtf8,
        InvalidReason::NotJson,
        InvalidReason::NotAnObject,
        InvalidReason::MissingField,
        InvalidReason::WrongType,
        InvalidReason::EmptyField,
        InvalidReason::FieldTooLong,
        InvalidReason::BadTimestamp,
        InvalidReason::UnknownType,
        InvalidReason::UnsupportedVersion,
        InvalidReason::BadOutcome,
        InvalidReason::TooLarge,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::NotUtf8 => "not_utf8",
            InvalidReason::NotJson => "not_json",
            InvalidReason::NotAnObject => "not_an_object",
            InvalidReason::MissingField => "missing_field",
            InvalidReason::WrongType => "wrong_type",
            InvalidReason::EmptyField => "empty_field",
            InvalidReason::FieldTooLong => "field_too_long",
            InvalidReason::BadTimestamp => "bad_timestamp",
            InvalidReason::UnknownType => "unknown_type",
            InvalidReason::UnsupportedVersion => "unsupported_version",
            InvalidReason::BadOutcome => "bad_outcome",
            InvalidReason::TooLarge => "too_large",
        }
    }

    /// Parses a stable name back.
    pub fn from_name(name: &str) -> Option<InvalidReason> {
        InvalidReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == name)
    }
}

/// An invalid event: the reason and a detail for people (field names, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The reason, from a fixed set.
    pub reason: InvalidReason,
    /// What exactly, e.g. "field `ts` is not RFC 3339 with an offset".
    pub detail: String,
}

impl Invalid {
    /// An event of `bytes` bytes, over the limit of `max_bytes`: for sources that measure
    /// an event without reading all of it (a line reader that stops at the limit).
    pub fn too_large(bytes: usize, max_bytes: usize) -> Self {
        Invalid::new(
            InvalidReason::TooLarge,
            format!("event of {bytes} bytes is over the limit of {max_bytes} bytes"),
        )
    }

    fn new(reason: InvalidReason, detail: impl Into<String>) -> Self {
        Invalid {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.reason.as_str(), self.detail)
    }
}

/// The fast path: the contract's shape with borrowed strings.
#[derive(Deserialize)]
struct WireEvent<'a> {
    v: u64,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    call_id: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(default, borrow)]
    tenant: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    queue: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    topic: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    agent: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    outcome: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    attrs: Option<&'a RawValue>,
}

/// An optional field as read: absent, a value, or of the wrong JSON type (reported only
/// when the checks reach that field, so the reason order never depends on the path).
type OptionalField<'a> = Result<Option<Cow<'a, str>>, Invalid>;

/// The fields of an event whose required fields have the right JSON types, before the
/// value checks.
struct Fields<'a> {
    version_is_one: bool,
    event_id: Cow<'a, str>,
    call_id: Cow<'a, str>,
    kind: Cow<'a, str>,
    ts: Cow<'a, str>,
    tenant: OptionalField<'a>,
    queue: OptionalField<'a>,
    topic: OptionalField<'a>,
    agent: OptionalField<'a>,
    outcome: OptionalField<'a>,
    attrs: OptionalField<'a>,
}

fn attrs_not_an_object() -> Invalid {
    Invalid::new(InvalidReason::WrongType, "field `attrs` is not an object")
}

/// Decodes one event of at most [`DEFAULT_MAX_EVENT_BYTES`].
pub fn decode_event(bytes: &[u8]) -> Result<Event<'_>, Invalid> {
    decode_event_with_limit(bytes, DEFAULT_MAX_EVENT_BYTES)
}

/// Decodes one event, refusing any larger than `max_bytes`.
pub fn decode_event_with_limit(bytes: &[u8], max_bytes: usize) -> Result<Event<'_>, Invalid> {
    if bytes.len() > max_bytes {
        return Err(Invalid::too_large(bytes.len(), max_bytes));
    }
    match serde_json::from_slice::<WireEvent<'_>>(bytes) {
        Ok(wire) => check_fields(Fields {
            version_is_one: wire.v == 1,
            event_id: wire.event_id,
            call_id: wire.call_id,
            kind: wire.kind,
            ts: wire.ts,
            tenant: Ok(wire.tenant),
            queue: Ok(wire.queue),
            topic: Ok(wire.topic),
            agent: Ok(wire.agent),
            outcome: Ok(wire.outcome),
            attrs: match wire.attrs {
                Some(raw) if !raw.get().starts_with('{') => Err(attrs_not_an_object()),
                Some(raw) => Ok(Some(Cow::Borrowed(raw.get()))),
                None => Ok(None),
            },
        }),
        Err(_) => decode_slow_path(bytes),
    }
}

/// Re-reads an event serde refused, to find the precise reason.
fn decode_slow_path(bytes: &[u8]) -> Result<Event<'static>, Invalid> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        Invalid::new(
            InvalidReason::NotUtf8,
            format!("invalid UTF-8 at byte {}", error.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|error| Invalid::new(InvalidReason::NotJson, error.to_string()))?;
    let Value::Object(object) = value else {
        return Err(Invalid::new(
            InvalidReason::NotAnObject,
            "the event is not a JSON object",
        ));
    };
    let version_is_one = match object.get("v") {
        None | Some(Value::Null) => {
            return Err(Invalid::new(
                InvalidReason::MissingField,
                "field `v` is missing",
            ))
        }
        Some(Value::Number(number)) if number.is_u64() || number.is_i64() => {
            number.as_u64() == Some(1)
        }
        Some(_) => {
            return Err(Invalid::new(
                InvalidReason::WrongType,
                "field `v` is not an integer",
            ))
        }
    };
    let event_id = required_string(&object, "event_id")?;
    let call_id = required_string(&object, "call_id")?;
    let kind = required_string(&object, "type")?;
    let ts = required_string(&object, "ts")?;
    let tenant = optional_string(&object, "tenant");
    let queue = optional_string(&object, "queue");
    let topic = optional_string(&object, "topic");
    let agent = optional_string(&object, "agent");
    let outcome = optional_string(&object, "outcome");
    let attrs = match object.get("attrs") {
        None | Some(Value::Null) => Ok(None),
        Some(attrs @ Value::Object(_)) => Ok(Some(Cow::Owned(attrs.to_string()))),
        Some(_) => Err(attrs_not_an_object()),
    };
    check_fields(Fields {
        version_is_one,
        event_id,
        call_id,
        kind,
        ts,
        tenant,
        queue,
        topic,
        agent,
        outcome,
        attrs,
    })
    .map(Event::into_owned)
}

fn required_string<'v>(
    object: &'v Map<String, Value>,
    field: &str,
) -> Result<Cow<'v, str>, Invalid> {
    match object.get(field) {
        None => Err(Invalid::new(
            InvalidReason::MissingField,
            format!("field `{field}` is missing"),
        )),
        Some(Value::String(text)) => Ok(Cow::Borrowed(text)),
        Some(_) => Err(Invalid::new(
            InvalidReason::WrongType,
            format!("field `{field}` is not a string"),
        )),
    }
}

fn optional_string<'v>(
    object: &'v Map<String, Value>,
    field: &str,
) -> Result<Option<Cow<'v, str>>, Invalid> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(Cow::Borrowed(text))),
        Some(_) => Err(Invalid::new(
            InvalidReason::WrongType,
            format!("field `{field}` is not a string"),
        )),
    }
}

fn check_length(field: &str, text: &str, max_chars: usize) -> Result<(), Invalid> {
    if text.is_empty() {
        return Err(Invalid::new(
            InvalidReason::EmptyField,
            format!("field `{field}` is empty"),
        ));
    }
    // Characters, not bytes: a Hebrew topic of 64 letters is 128 bytes.
    if text.len() > max_chars && text.chars().count() > max_chars {
        return Err(Invalid::new(
            InvalidReason::FieldTooLong,
            format!("field `{field}` is longer than {max_chars} characters"),
        ));
    }
    Ok(())
}

/// Checks an optional field's type, emptiness and length, in that order.
fn check_optional<'a>(field: &str, value: OptionalField<'a>) -> OptionalField<'a> {
    let value = value?;
    if let Some(text) = &value {
        check_length(field, text, MAX_NAME_CHARS)?;
    }
    Ok(value)
}

/// The value checks shared by both paths, in one fixed order so that an event with
/// several problems always gets the same reason.
fn check_fields(fields: Fields<'_>) -> Result<Event<'_>, Invalid> {
    if !fields.version_is_one {
        return Err(Invalid::new(
            InvalidReason::UnsupportedVersion,
            "field `v` is not 1 (this is contract v1)",
        ));
    }
    check_length("event_id", &fields.event_id, MAX_ID_CHARS)?;
    check_length("call_id", &fields.call_id, MAX_ID_CHARS)?;
    let kind = EventKind::from_wire(&fields.kind).ok_or_else(|| {
        Invalid::new(
            InvalidReason::UnknownType,
            "field `type` is not one of the contract's event types",
        )
    })?;
    let ts = parse_rfc3339(&fields.ts).ok_or_else(|| {
        Invalid::new(
            InvalidReason::BadTimestamp,
            "field `ts` is not an RFC 3339 timestamp with an offset",
        )
    })?;
    let tenant = check_optional("tenant", fields.tenant)?;
    let queue = check_optional("queue", fields.queue)?;
    let topic = check_optional("topic", fields.topic)?;
    let agent = check_optional("agent", fields.agent)?;
    let outcome = match fields.outcome? {
        None => None,
        Some(name) => Some(CallbackOutcome::from_wire(&name).ok_or_else(|| {
            Invalid::new(
                InvalidReason::BadOutcome,
                "field `outcome` is neither `reached` nor `no_answer`",
            )
        })?),
    };
    let attrs = fields.attrs?;
    Ok(Event {
        event_id: fields.event_id,
        call_id: fields.call_id,
        kind,
        ts,
        tenant,
        queue,
        topic,
        agent,
        outcome,
        attrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_of(line: &[u8]) -> InvalidReason {
        decode_event(line).unwrap_err().reason
    }

    const VALID: &str = r#"{"v":1,"event_id":"e1","call_id":"c-1001","type":"call_started","ts":"2026-10-04T09:00:00Z","tenant":"acme","queue":"ivr"}"#;

    #[test]
    fn decodes_the_contract_example() {
        let event = decode_event(VALID.as_bytes()).unwrap();
        assert_eq!(event.event_id, "e1");
        assert_eq!(event.kind, EventKind::CallStarted);
        assert_eq!(event.tenant.as_deref(), Some("acme"));
        assert_eq!(event.queue.as_deref(), Some("ivr"));
        assert!(matches!(event.call_id, Cow::Borrowed(_)));
    }

    #[test]
    fn ignores_unknown_fields_and_null_optionals() {
        let line = r#"{"v":1,"event_id":"e1","call_id":"c","type":"answered","ts":"2026-10-04T09:00:00Z","future":{"x":[1,2]},"agent":null,"attrs":{"crm":"x"}}"#;
        let event = decode_event(line.as_bytes()).unwrap();
        assert_eq!(event.agent, None);
        assert_eq!(event.attrs.as_deref(), Some(r#"{"crm":"x"}"#));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let line = r#"{"v":1,"event_id":"e\"1","call_id":"c","type":"topic_selected","ts":"2026-10-04T09:00:00Z","topic":"\u05ea\u05e7\u05dc\u05d4"}"#;
        let event = decode_event(line.as_bytes()).unwrap();
        assert_eq!(event.event_id, "e\"1");
        assert_eq!(event.topic.as_deref(), Some("תקלה"));
    }

    #[test]
    fn classifies_each_kind_of_invalid_event() {
        let cases: &[(&[u8], InvalidReason)] = &[
            (b"{\"v\":1,\"event_id\":\"e1\"", InvalidReason::NotJson),
            (b"not json at all", InvalidReason::NotJson),
            (b"[1,2,3]", InvalidReason::NotAnObject),
            (b"{\"v\":1,\"event_id\":\"\xff\xfe\"}", InvalidReason::NotUtf8),
            (br#"{"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::MissingField),
            (br#"{"v":2,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::UnsupportedVersion),
            (br#"{"v":"1","event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::WrongType),
            (br#"{"v":1.0,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::WrongType),
            (br#"{"v":1,"call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::MissingField),
            (br#"{"v":1,"event_id":7,"call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::WrongType),
            (br#"{"v":1,"event_id":"","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::EmptyField),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"hung_up","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::UnknownType),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04 09:00"}"#, InvalidReason::BadTimestamp),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00"}"#, InvalidReason::BadTimestamp),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z","tenant":5}"#, InvalidReason::WrongType),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"callback_attempted","ts":"2026-10-04T09:00:00Z","outcome":"busy"}"#, InvalidReason::BadOutcome),
            (br#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z","attrs":[1]}"#, InvalidReason::WrongType),
            (br#"{"v":1,"event_id":null,"call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#, InvalidReason::WrongType),
        ];
        for (line, expected) in cases {
            assert_eq!(
                reason_of(line),
                *expected,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let hebrew_64 = "ת".repeat(64);
        let line = format!(
            r#"{{"v":1,"event_id":"e","call_id":"c","type":"topic_selected","ts":"2026-10-04T09:00:00Z","topic":"{hebrew_64}"}}"#
        );
        assert!(decode_event(line.as_bytes()).is_ok());
        let line = line.replace(&hebrew_64, &"ת".repeat(65));
        assert_eq!(reason_of(line.as_bytes()), InvalidReason::FieldTooLong);
        let long_id = "x".repeat(129);
        let line = format!(
            r#"{{"v":1,"event_id":"{long_id}","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}}"#
        );
        assert_eq!(reason_of(line.as_bytes()), InvalidReason::FieldTooLong);
    }

    #[test]
    fn oversized_events_are_refused_before_parsing() {
        let invalid = decode_event_with_limit(VALID.as_bytes(), 10).unwrap_err();
        assert_eq!(invalid.reason, InvalidReason::TooLarge);
    }

    #[test]
    fn duplicate_keys_fall_back_to_the_last_value() {
        let line = r#"{"v":1,"event_id":"e","event_id":"f","call_id":"c","type":"ended","ts":"2026-10-04T09:00:00Z"}"#;
        assert_eq!(decode_event(line.as_bytes()).unwrap().event_id, "f");
    }

    #[test]
    fn details_never_repeat_values() {
        let line = br#"{"v":1,"event_id":"e","call_id":"c","type":"ended","ts":"+972-50-1234567"}"#;
        let invalid = decode_event(line).unwrap_err();
        assert!(!invalid.detail.contains("972"));
    }

    #[test]
    fn reason_names_round_trip() {
        for reason in InvalidReason::ALL {
            assert_eq!(InvalidReason::from_name(reason.as_str()), Some(reason));
        }
    }
}
