//! JSON documents read strictly: a key that appears twice in one object makes the
//! document malformed. serde_json would keep the last value silently, so that a
//! province's system sending `"sfzh"` twice would have the hub deliver whichever came
//! second without anyone knowing.

use serde::de::{self, Deserialize, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Parses a JSON text, refusing duplicate keys. The error names no value.
pub(crate) fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|s| s.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        Strict::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element_seed(StrictSeed)? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value_seed(StrictSeed)?;
            if object.contains_key(&key) {
                // A key is a field name of the format, but a hostile document's could be
                // anything: quoted only when it looks like one.
                let shown = if key.len() <= 32
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    format!(" \"{key}\"")
                } else {
                    String::new()
                };
                return Err(de::Error::custom(format!(
                    "the key{shown} appears twice in one object"
                )));
            }
            object.insert(key, value);
        }
        Ok(Strict(Value::Object(object)))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Strict;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        Strict::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_refused_and_the_rest_reads_as_serde_json_does() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": {}}}"#;
        assert_eq!(parse(text).ok(), serde_json::from_str(text).ok());
        let err = parse(r#"{"ryxx": {"sfzh": "1", "sfzh": "2"}}"#).expect_err("duplicate");
        assert!(err.to_string().contains("\"sfzh\" appears twice"), "{err}");
        let err = parse(r#"{"李秀英": 1, "李秀英": 2}"#).expect_err("duplicate");
        assert!(!err.to_string().contains("李"), "{err}");
        assert!(parse(&format!("{}1{}", "[".repeat(200), "]".repeat(200))).is_err(), "depth limit kept");
    }
}
