//! [`ProvinceInfo`]: who a mapping file speaks for — the province's pinyin name, its
//! GB/T 2260 code and its Chinese label, as declared in `[province]`.
//!
//! The region is the set of provinces with a mapping, so this is also how the hub
//! learns the names of its inbound queues. It holds no routing knowledge.

use serde::{Deserialize, Serialize};

/// A province of the region, as its mapping file's `[province]` section declares it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceInfo {
    /// Lower-case pinyin name (`anhui`): queue names, metric labels, command arguments.
    pub name: String,
    /// Two-digit GB/T 2260 province code (`34`): `source.province`, the sender check.
    pub code: String,
    /// Chinese label (`安徽`) for reports.
    pub label: String,
}

impl ProvinceInfo {
    /// The inbound queue (and fanout exchange) this province publishes to.
    pub fn queue(&self) -> String {
        format!("yipanqi.in.{}", self.name)
    }

    /// Checks the declared values, so that a queue name or a code built from them is
    /// always well formed. Returns the offending field and why.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.is_empty() || !self.name.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err((
                "province.name",
                format!(
                    "\"{}\" is not a lower-case pinyin name (a–z only)",
                    self.name
                ),
            ));
        }
        if self.code.len() != 2 || !self.code.bytes().all(|b| b.is_ascii_digit()) {
            return Err((
                "province.code",
                format!(
                    "\"{}\" is not a two-digit GB/T 2260 province code",
                    self.code
                ),
            ));
        }
        if self.label.trim().is_empty() {
            return Err(("province.label", "must not be empty".to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_name_uses_the_pinyin_name() {
        let anhui = ProvinceInfo {
            name: "anhui".into(),
            code: "34".into(),
            label: "安徽".into(),
        };
        assert_eq!(anhui.queue(), "yipanqi.in.anhui");
        assert!(anhui.check().is_ok());
        let bad = ProvinceInfo {
            code: "340".into(),
            ..anhui
        };
        assert_eq!(
            bad.check().map_err(|(field, _)| field),
            Err("province.code")
        );
    }
}
