//! A JSON tree that keeps object keys in insertion order, and its text forms.
//!
//! nft builds its output with jansson, which keeps keys in the order they were added and
//! dumps them as `{"key": value, …}` with `", "` and `": "` separators. `serde_json`'s own
//! map sorts keys unless its `preserve_order` feature (and `indexmap`) is enabled, so the
//! printer builds this small tree instead and writes the text itself.

use std::fmt::Write as _;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// Integers; nft prints numbers that do not fit 64 bits as `"0x…"` strings instead.
    Int(i128),
    Str(String),
    Array(Vec<Json>),
    /// Keys in output order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs, in order.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// `{"key": value}`.
    pub fn single(key: impl Into<String>, value: Json) -> Json {
        Json::Object(vec![(key.into(), value)])
    }

    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    pub fn int(n: impl Into<i128>) -> Json {
        Json::Int(n.into())
    }

    /// Add a key to an object (no effect on other values).
    pub fn push(&mut self, key: impl Into<String>, value: Json) {
        if let Json::Object(pairs) = self {
            pairs.push((key.into(), value));
        }
    }

    /// Add an array under `key` unless it is empty (nft's `json_add_array_new`).
    pub fn push_nonempty(&mut self, key: &str, items: Vec<Json>) {
        if !items.is_empty() {
            self.push(key, Json::Array(items));
        }
    }

    /// The value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// True for an object without keys.
    pub fn is_empty_object(&self) -> bool {
        matches!(self, Json::Object(p) if p.is_empty())
    }

    /// The object itself, or `null` when it has no keys (nft's statements without options).
    pub fn or_null(self) -> Json {
        if self.is_empty_object() { Json::Null } else { self }
    }

    /// One line, as `nft -j` prints it (jansson's default separators).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    /// Indented by four spaces per level (`--pretty`).
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(out, k);
                    out.push_str(": ");
                    v.write_compact(out);
                }
                out.push('}');
            }
            scalar => scalar.write_scalar(out),
        }
    }

    fn write_pretty(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| {
            out.push('\n');
            out.push_str(&"    ".repeat(d));
        };
        match self {
            Json::Array(items) if !items.is_empty() => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    v.write_pretty(out, depth + 1);
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Object(pairs) if !pairs.is_empty() => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    write_string(out, k);
                    out.push_str(": ");
                    v.write_pretty(out, depth + 1);
                }
                pad(out, depth);
                out.push('}');
            }
            other => other.write_compact(out),
        }
    }

    fn write_scalar(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => write_string(out, s),
            Json::Array(_) => out.push_str("[]"),
            Json::Object(_) => out.push_str("{}"),
        }
    }
}

/// A JSON string literal: `"`, `\` and control characters escaped, everything else as is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_text_keeps_key_order_and_escapes() {
        let j = Json::object([
            ("z", Json::Null),
            ("a", Json::Array(vec![Json::int(1), Json::Bool(true)])),
            ("s", Json::str("q\"\\\n\u{1}")),
        ]);
        let text = j.to_text();
        assert_eq!(text, r#"{"z": null, "a": [1, true], "s": "q\"\\\n\u0001"}"#);
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["s"], "q\"\\\n\u{1}");
        let pretty: serde_json::Value = serde_json::from_str(&j.to_pretty()).expect("valid JSON");
        assert_eq!(parsed, pretty);
    }
}
