//! Citizen ID numbers (GB 11643-1999): 6-digit issuing division, 8-digit birth date,
//! 3-digit sequence (odd = male, even = female), check character.
//!
//! The issuing division is deliberately never checked against the division table:
//! it is where the number was issued, which may since have been abolished. Whether a
//! wrong check character is rejected is a per-province policy applied by
//! [`crate::validate`]; this type only says whether the character is right.
//! Error messages carry the masked number only: they reach logs and provinces.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::masking::mask_id_number;

/// Weights of the first 17 digits (GB 11643-1999 §8.2).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Why a string is not an acceptable ID number. Each variant holds the masked number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Neither 17 digits plus a digit or `X`, nor 15 digits.
    #[error("ID number {0} is not 18 characters (17 digits and a digit or X) or 15 digits")]
    Format(String),
    /// The embedded birth date is not a calendar date.
    #[error("ID number {0} does not contain a valid birth date")]
    BirthDate(String),
    /// The check character does not match the first 17 digits.
    #[error("ID number {masked} has a wrong check character (expected {expected})")]
    CheckChar {
        /// The masked number.
        masked: String,
        /// The check character the first 17 digits give.
        expected: char,
    },
}

/// A citizen ID number, always in 18-character form with an upper-case `X`.
///
/// Its shape and embedded birth date are always valid. Its check character is valid
/// too when it came from [`IdNumber::parse`]; a number accepted under the `warn`
/// policy ([`IdNumber::parse_lenient`], and deserialisation, which must read back what
/// was accepted) may carry a wrong one: see [`IdNumber::has_valid_check_char`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses an 18-character number with the right check character (a lower-case
    /// `x` is accepted and upper-cased), or a 15-digit legacy number, which is upgraded.
    pub fn parse(s: &str) -> Result<Self, IdNumberError> {
        let (number, wrong_check) = Self::parse_lenient(s)?;
        if wrong_check {
            return Err(IdNumberError::CheckChar {
                masked: number.masked(),
                expected: number.expected_check_char(),
            });
        }
        Ok(number)
    }

    /// Like [`IdNumber::parse`], but accepts a wrong check character and says so
    /// (`true`), for provinces whose mapping sets the `warn` policy.
    pub fn parse_lenient(s: &str) -> Result<(Self, bool), IdNumberError> {
        let normalised = match s.len() {
            15 => Self::upgrade_15(s).ok_or_else(|| IdNumberError::Format(mask_id_number(s)))?,
            18 => s.to_ascii_uppercase(),
            _ => return Err(IdNumberError::Format(mask_id_number(s))),
        };
        let bytes = normalised.as_bytes();
        let well_formed = bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if !well_formed {
            return Err(IdNumberError::Format(mask_id_number(s)));
        }
        if birth_date_of(&normalised).is_none() {
            return Err(IdNumberError::BirthDate(mask_id_number(&normalised)));
        }
        let number = Self(normalised);
        let wrong_check = !number.has_valid_check_char();
        Ok((number, wrong_check))
    }

    /// Upgrades a 15-digit legacy number: `19` inserted after the six division digits,
    /// check character appended. `None` unless `s` is exactly 15 ASCII digits.
    pub fn upgrade_15(s: &str) -> Option<String> {
        if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let first17 = format!("{}19{}", &s[..6], &s[6..]);
        let check = Self::check_char(&first17)?;
        Some(format!("{first17}{check}"))
    }

    /// The check character of the first 17 digits; `None` unless `first17` is exactly
    /// 17 ASCII digits.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (byte, weight) in first17.bytes().zip(WEIGHTS) {
            if !byte.is_ascii_digit() {
                return None;
            }
            sum += u32::from(byte - b'0') * weight;
        }
        Some(CHECK_CHARS[(sum % 11) as usize])
    }

    /// The number, 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date inside the number.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.0).expect("an IdNumber's birth date is checked at parse time")
    }

    /// Whether the sequence number is even, which GB 11643-1999 assigns to women.
    pub fn is_female(&self) -> bool {
        // ASCII digits have the parity of their value.
        self.0.as_bytes()[16] & 1 == 0
    }

    /// Whether the check character matches the first 17 digits.
    pub fn has_valid_check_char(&self) -> bool {
        self.0.ends_with(self.expected_check_char())
    }

    /// The masked form for logs and reports: `3413**********002X`.
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }

    fn expected_check_char(&self) -> char {
        Self::check_char(&self.0[..17]).expect("an IdNumber starts with 17 digits")
    }
}

/// The `YYYYMMDD` at positions 7–14 of an 18-character number, if it is a real date.
fn birth_date_of(number: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(number.get(6..14)?, "%Y%m%d").ok()
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;

    /// Lenient on the check character: a stored message may hold a number accepted
    /// under the `warn` policy, and reading it back must not fail.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_lenient(&value).map(|(number, _)| number)
    }
}

impl From<IdNumber> for String {
    fn from(number: IdNumber) -> Self {
        number.0
    }
}

/// Displays the **masked** number, so that formatting one into a log line or an error
/// can never leak it; use [`IdNumber::as_str`] where the full number is due.
impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_chars_of_known_numbers() {
        assert_eq!(IdNumber::check_char("11010519491231002"), Some('X'));
        assert_eq!(IdNumber::check_char("44052418800101001"), Some('4'));
        assert_eq!(IdNumber::check_char("1101051949123100"), None);
        assert_eq!(IdNumber::check_char("1101051949123100a"), None);
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("440524188001010014").is_ok());
    }

    #[test]
    fn fifteen_digit_numbers_are_upgraded() {
        assert_eq!(
            IdNumber::upgrade_15("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(
            IdNumber::upgrade_15("360102830609896").as_deref(),
            Some("360102198306098968")
        );
        assert_eq!(IdNumber::upgrade_15("11010549123100X"), None);
        let number = IdNumber::parse("360102830609896").expect("valid 15-digit number");
        assert_eq!(number.as_str(), "360102198306098968");
    }

    #[test]
    fn lower_case_x_is_upper_cased() {
        let number = IdNumber::parse("11010519491231002x").expect("valid");
        assert_eq!(number.as_str(), "11010519491231002X");
    }

    #[test]
    fn wrong_check_char_is_rejected_strictly_and_flagged_leniently() {
        let err = IdNumber::parse("110105194912310021").expect_err("wrong check char");
        assert_eq!(
            err,
            IdNumberError::CheckChar {
                masked: "1101**********0021".to_owned(),
                expected: 'X'
            }
        );
        assert!(!err.to_string().contains("110105194912310021"));
        let (number, wrong) = IdNumber::parse_lenient("110105194912310021").expect("lenient");
        assert!(wrong);
        assert!(!number.has_valid_check_char());
        let (_, wrong) = IdNumber::parse_lenient("11010519491231002X").expect("lenient");
        assert!(!wrong);
    }

    #[test]
    fn malformed_numbers_and_impossible_birth_dates() {
        assert!(matches!(
            IdNumber::parse("1101051949123100"),
            Err(IdNumberError::Format(_))
        ));
        assert!(matches!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::Format(_))
        ));
        assert!(matches!(
            IdNumber::parse("1101051949123100X2"),
            Err(IdNumberError::Format(_))
        ));
        // 1949-13-31 does not exist; the check char is right for the 17 digits.
        let first17 = "11010519491331002";
        let check = IdNumber::check_char(first17).expect("17 digits");
        let number = format!("{first17}{check}");
        assert!(matches!(
            IdNumber::parse(&number),
            Err(IdNumberError::BirthDate(_))
        ));
    }

    #[test]
    fn birth_date_sex_and_masking() {
        let number = IdNumber::parse("34130219920517002X").expect("valid");
        assert_eq!(
            number.birth_date(),
            NaiveDate::from_ymd_opt(1992, 5, 17).expect("date")
        );
        assert!(number.is_female());
        assert!(!IdNumber::parse("440524188001010014")
            .expect("valid")
            .is_female());
        assert_eq!(number.masked(), "3413**********002X");
        assert_eq!(number.to_string(), "3413**********002X");
    }

    #[test]
    fn serde_reads_back_a_number_accepted_under_warn() {
        let number: IdNumber =
            serde_json::from_str("\"110105194912310021\"").expect("lenient read");
        assert_eq!(number.as_str(), "110105194912310021");
        assert_eq!(
            serde_json::to_string(&number).expect("serialises"),
            "\"110105194912310021\""
        );
    }
}
