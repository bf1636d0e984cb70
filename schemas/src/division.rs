//! GB/T 2260 division codes and the shipped 2023 table (`data/divisions/`, WTFPL).
//!
//! A code is known iff it is a county in `areas.csv` (6 digits) or a township in
//! `streets.csv` (9 digits). The CSV files are embedded at compile time so that the
//! binary needs no data folder, and parsed once, on first use, into borrowed slices
//! of the embedded text. Aliases for codes merged away live in the provinces' mapping
//! files, not here.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

const AREAS_CSV: &str = include_str!("../data/divisions/areas.csv");
const STREETS_CSV: &str = include_str!("../data/divisions/streets.csv");
const PROVINCES_CSV: &str = include_str!("../data/divisions/provinces.csv");

/// Code → name for every county and township.
static DIVISIONS: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut table = HashMap::with_capacity(45_000);
    table.extend(csv_code_names(AREAS_CSV, 6));
    table.extend(csv_code_names(STREETS_CSV, 9));
    table
});

/// Every known code, sorted, for listing a province's divisions.
static SORTED_CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut codes: Vec<&'static str> = DIVISIONS.keys().copied().collect();
    codes.sort_unstable();
    codes
});

/// Two-digit code → name for every province.
static PROVINCES: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| csv_code_names(PROVINCES_CSV, 2).collect());

/// The `code,"name",…` rows of an embedded table, header skipped.
///
/// The files are ours and fixed at compile time, so a row of another shape is a
/// packaging bug: it panics with the offending line instead of silently shrinking
/// the set of known codes.
fn csv_code_names(
    csv: &'static str,
    digits: usize,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(move |line| {
            let line = line.trim_end_matches('\r');
            let (code, rest) = line
                .split_once(',')
                .expect("embedded division table: every row has a name column");
            assert!(
                code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()),
                "embedded division table: bad code in row {line:?}"
            );
            let name = rest
                .strip_prefix('"')
                .and_then(|quoted| quoted.split_once('"'))
                .map(|(name, _)| name)
                .expect("embedded division table: the name column is quoted");
            (code, name)
        })
}

/// Whether `code` is a known 6-digit county or 9-digit township code.
pub fn division_exists(code: &str) -> bool {
    is_division_shape(code) && DIVISIONS.contains_key(code)
}

/// The name of a known county or township (`"310104"` → `"徐汇区"`).
pub fn division_name(code: &str) -> Option<&'static str> {
    if !is_division_shape(code) {
        return None;
    }
    DIVISIONS.get(code).copied()
}

/// Every known county and township code of a province (`"34"`), in code order.
pub fn divisions_in_province(code2: &str) -> Vec<&'static str> {
    SORTED_CODES
        .iter()
        .copied()
        .filter(|c| c.starts_with(code2) && code2.len() == 2)
        .collect()
}

/// The name of a province by its two-digit code (`"34"` → `"安徽省"`).
pub fn province_name(code2: &str) -> Option<&'static str> {
    PROVINCES.get(code2).copied()
}

fn is_division_shape(code: &str) -> bool {
    matches!(code.len(), 6 | 9) && code.bytes().all(|b| b.is_ascii_digit())
}

/// Why a string is not a [`DivisionCode`]. Division codes are not personal data, so
/// the messages name the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not 6 or 9 ASCII digits.
    #[error("division code \"{0}\" is not 6 or 9 digits")]
    Format(String),
    /// Well formed, but in neither the county nor the township table.
    #[error("division code {0} is not in the 2023 GB/T 2260 table")]
    Unknown(String),
}

/// A GB/T 2260 division code known to the shipped 2023 table (6-digit county or
/// 9-digit township). Holding one means the code exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Parses a known 6- or 9-digit code.
    pub fn parse(s: &str) -> Result<Self, DivisionError> {
        if !is_division_shape(s) {
            // Cap the echo: the value may be anything a province sent.
            return Err(DivisionError::Format(s.chars().take(20).collect()));
        }
        if !DIVISIONS.contains_key(s) {
            return Err(DivisionError::Unknown(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The code as given (6 or 9 digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit province code.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    /// The six-digit county code (the code itself for a county).
    pub fn county(&self) -> &str {
        &self.0[..6]
    }

    /// Whether this is a 9-digit township code.
    pub fn is_township(&self) -> bool {
        self.0.len() == 9
    }

    /// The name in the table (`徐汇区`, `天平路街道`).
    pub fn name(&self) -> &'static str {
        division_name(&self.0).expect("a DivisionCode is in the table by construction")
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = DivisionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DivisionCode> for String {
    fn from(code: DivisionCode) -> Self {
        code.0
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = DivisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DivisionCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_province_lists_its_counties_and_townships() {
        let anhui = super::divisions_in_province("34");
        assert!(anhui.contains(&"341302"));
        assert!(anhui.iter().any(|c| c.len() == 9));
        assert!(anhui.iter().all(|c| c.starts_with("34")));
        assert!(super::divisions_in_province("3").is_empty());
    }

    use super::*;

    #[test]
    fn known_counties_and_townships_exist() {
        assert!(division_exists("310104"));
        assert!(division_exists("310104011"));
        assert!(division_exists("341302"));
        assert!(!division_exists("999999"));
        assert!(!division_exists("31"));
        assert!(!division_exists("3101040"));
        assert!(!division_exists("31010401a"));
    }

    #[test]
    fn every_row_of_both_tables_is_loaded() {
        let rows = |csv: &str| csv.lines().skip(1).filter(|l| !l.is_empty()).count();
        assert_eq!(DIVISIONS.len(), rows(AREAS_CSV) + rows(STREETS_CSV));
        assert_eq!(PROVINCES.len(), rows(PROVINCES_CSV));
    }

    #[test]
    fn names() {
        assert_eq!(division_name("310104"), Some("徐汇区"));
        assert_eq!(division_name("341302"), Some("埇桥区"));
        assert_eq!(division_name("999999"), None);
        assert_eq!(province_name("34"), Some("安徽省"));
        assert_eq!(province_name("31"), Some("上海市"));
        assert_eq!(province_name("99"), None);
    }

    #[test]
    fn parse_distinguishes_format_from_unknown() {
        let code = DivisionCode::parse("310104011").expect("known township");
        assert_eq!(code.province(), "31");
        assert_eq!(code.county(), "310104");
        assert!(code.is_township());
        assert_eq!(
            DivisionCode::parse("31010"),
            Err(DivisionError::Format("31010".to_owned()))
        );
        assert_eq!(
            DivisionCode::parse("999999"),
            Err(DivisionError::Unknown("999999".to_owned()))
        );
        assert_eq!(
            DivisionError::Unknown("999999".to_owned()).to_string(),
            "division code 999999 is not in the 2023 GB/T 2260 table"
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        let code: DivisionCode = serde_json::from_str("\"341302\"").expect("known county");
        assert_eq!(
            serde_json::to_string(&code).expect("serialises"),
            "\"341302\""
        );
        assert!(serde_json::from_str::<DivisionCode>("\"999999\"").is_err());
    }
}
