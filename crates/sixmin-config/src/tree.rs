//! A TOML document as a tree that keeps the byte span of every key and value.
//!
//! The pack is not deserialized straight into a struct: serde stops at the first wrong type
//! or unknown key, and a user fixing a pack wants every problem at once. So the document is
//! first read into this shape-agnostic tree, which accepts any valid TOML, and the checks
//! run over it afterwards. Only a syntax error stops the reading.
//!
//! Spans come from `toml::Spanned`. Two corners of TOML have no span to give, and this
//! module reads them without one instead of failing:
//! - the implicit table behind a dotted key (`a.b = 1` makes a table `a` with no span of
//!   its own): its entry keeps the key's span and an empty value slot;
//! - a date or time: the parser hands it over as a one-entry map whose key has no span, so
//!   a map with a key that has no span is a date.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// A value and where it is in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Byte range of the value in the source, quotes and brackets included.
    pub(crate) span: Range<usize>,
    /// The value.
    pub(crate) value: Value,
}

/// A TOML value, with spans all the way down.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// A date, time or date-time; its text is the source at the node's span.
    Datetime,
    /// Elements without a span of their own are `None`.
    Array(Vec<Option<Node>>),
    Table(Vec<Entry>),
}

/// One `key = value` of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    /// Byte range of the key in the source.
    pub(crate) key_span: Range<usize>,
    /// `None` when the value has no span: the implicit table of a dotted key.
    pub(crate) value: Option<Node>,
}

impl Entry {
    /// Where a problem with this entry's value points: the value, or the key when the value
    /// has no span.
    pub(crate) fn value_offset(&self) -> usize {
        match &self.value {
            Some(node) => node.span.start,
            None => self.key_span.start,
        }
    }
}

/// Reads a document into its root table; the error is the parser's (syntax) error.
pub(crate) fn parse_document(source: &str) -> Result<Vec<Entry>, toml::de::Error> {
    match toml::from_str::<Value>(source)? {
        Value::Table(entries) => Ok(entries),
        // The root of a TOML document is always a table.
        _ => Ok(Vec::new()),
    }
}

/// A value slot: the spanned value, or `None` where TOML has no span to give.
struct Slot(Option<Node>);

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A failure here means the value carries no span (see the module docs); the value
        // itself is consumed either way, so reading continues with the next one.
        let node = Spanned::<Value>::deserialize(deserializer)
            .ok()
            .map(|spanned| Node {
                span: spanned.span(),
                value: spanned.into_inner(),
            });
        Ok(Slot(node))
    }
}

/// A table key with its span, or `None` for the span-less key of a date's inner map.
struct TableKey(Option<Spanned<String>>);

impl<'de> Deserialize<'de> for TableKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(TableKey(Spanned::<String>::deserialize(deserializer).ok()))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any TOML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Boolean(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Integer(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value, E> {
        i64::try_from(value)
            .map(Value::Integer)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut elements = Vec::new();
        while let Some(Slot(element)) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Value::Array(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        let mut is_datetime = false;
        while let Some(TableKey(key)) = map.next_key()? {
            match key {
                Some(key) => {
                    let Slot(value) = map.next_value()?;
                    entries.push(Entry {
                        key_span: key.span(),
                        key: key.into_inner(),
                        value,
                    });
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    is_datetime = true;
                }
            }
        }
        Ok(if is_datetime {
            Value::Datetime
        } else {
            Value::Table(entries)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'e>(entries: &'e [Entry], key: &str) -> &'e Entry {
        entries.iter().find(|entry| entry.key == key).unwrap()
    }

    #[test]
    fn keeps_spans_of_keys_values_and_array_elements() {
        let source = "name = \"x\"\n\n[[topic]]\nid = \"fault\"\naliases = [\"a\", 'b']\n";
        let root = parse_document(source).unwrap();
        let name = entry(&root, "name");
        assert_eq!(&source[name.key_span.clone()], "name");
        assert_eq!(&source[name.value.as_ref().unwrap().span.clone()], "\"x\"");
        let topics = entry(&root, "topic").value.as_ref().unwrap();
        let Value::Array(topics) = &topics.value else {
            panic!("not an array")
        };
        let first = topics[0].as_ref().unwrap();
        assert!(source[first.span.clone()].starts_with("[[topic]]"));
        let Value::Table(fields) = &first.value else {
            panic!("not a table")
        };
        let aliases = entry(fields, "aliases").value.as_ref().unwrap();
        let Value::Array(aliases) = &aliases.value else {
            panic!("not an array")
        };
        let second = aliases[1].as_ref().unwrap();
        assert_eq!(&source[second.span.clone()], "'b'");
        assert_eq!(second.value, Value::String("b".into()));
    }

    #[test]
    fn reads_dates_and_dotted_keys_without_failing() {
        let source = "version = 2019-07-01\nlist = [1979-05-27, { x = 1 }]\nlimit.x = 2\n";
        let root = parse_document(source).unwrap();
        let version = entry(&root, "version").value.as_ref().unwrap();
        assert_eq!(version.value, Value::Datetime);
        assert_eq!(&source[version.span.clone()], "2019-07-01");
        let list = entry(&root, "list").value.as_ref().unwrap();
        let Value::Array(list) = &list.value else {
            panic!("not an array")
        };
        assert_eq!(list[0].as_ref().unwrap().value, Value::Datetime);
        assert!(matches!(list[1].as_ref().unwrap().value, Value::Table(_)));
        let dotted = entry(&root, "limit");
        assert_eq!(&source[dotted.key_span.clone()], "limit");
    }

    #[test]
    fn syntax_errors_carry_a_span() {
        let error = parse_document("name = \"x").unwrap_err();
        assert_eq!(error.span(), Some(9..9));
    }
}
