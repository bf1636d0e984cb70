//! The closed code sets of `yipanqi/1`: GB/T 2261 sex and marital status, and the
//! enumerated body fields of DOMAIN.md §3 (change, check items, results,
//! contraception, marital home, offense, receipt status).
//!
//! Each set is declared once through [`code_enum!`], which derives the wire code, the
//! list of codes, `FromStr`, `Display` and serde from the same table, so the Rust type
//! and the JSON can never disagree. The JSON Schemas repeat these lists; a test keeps
//! them in step.

/// Declares a closed set serialised as fixed code strings.
///
/// `enum Name (Error, value => make_error) { Variant = "code", … }` generates the enum,
/// `ALL` (every variant, table order), `CODES` (the wire strings, same order),
/// `as_str`, `FromStr` (unknown strings give `make_error`), `Display` and serde
/// (as the code string).
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($err:ty, $value:ident => $make_err:expr) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order of the reference table.
            pub const ALL: [$name; [$($code),+].len()] = [$($name::$variant),+];
            /// The wire codes of [`Self::ALL`], in the same order.
            pub const CODES: [&'static str; [$($code),+].len()] = [$($code),+];

            /// The code as it appears in the canonical JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $err;

            fn from_str($value: &str) -> Result<Self, Self::Err> {
                match $value {
                    $( $code => Ok($name::$variant), )+
                    _ => Err($make_err),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                code.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use code_enum;

/// A string that is not one of the codes of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {set} code \"{value}\"")]
pub struct UnknownCode {
    /// Which set was being parsed (`sex`, `change`, …).
    pub set: &'static str,
    /// The rejected string.
    pub value: String,
}

impl UnknownCode {
    fn new(set: &'static str, value: &str) -> Self {
        // Codes are short; cap what is echoed so a hostile value cannot flood a log line.
        let value = value.chars().take(40).collect();
        Self { set, value }
    }
}

code_enum! {
    /// Sex, GB/T 2261.1.
    pub enum Sex (UnknownCode, v => UnknownCode::new("sex", v)) {
        /// `1` male.
        Male = "1",
        /// `2` female.
        Female = "2",
    }
}

code_enum! {
    /// Marital status, GB/T 2261.2.
    pub enum MaritalStatus (UnknownCode, v => UnknownCode::new("marital_status", v)) {
        /// `10` unmarried (未婚).
        Unmarried = "10",
        /// `20` married (已婚).
        Married = "20",
        /// `21` first marriage (初婚).
        FirstMarriage = "21",
        /// `22` remarried (再婚).
        Remarried = "22",
        /// `23` re-married to the same spouse (复婚).
        RemarriedSameSpouse = "23",
        /// `30` widowed (丧偶).
        Widowed = "30",
        /// `40` divorced (离婚).
        Divorced = "40",
        /// `90` not stated (未说明).
        NotStated = "90",
    }
}

code_enum! {
    /// `migration_notice.change`: what happened to the migrant's residence.
    pub enum Change (UnknownCode, v => UnknownCode::new("change", v)) {
        /// Moved into the sender's area (流入).
        Inflow = "inflow",
        /// Moved out of the sender's area (流出).
        Outflow = "outflow",
        /// Returned to the registration place (返回).
        Return = "return",
        /// Moved to another place, given in `new_division` (变更).
        Move = "move",
        /// Left the country or the programme (注销).
        Exit = "exit",
    }
}

code_enum! {
    /// `checkup_result.items`: what was checked.
    pub enum CheckItem (UnknownCode, v => UnknownCode::new("items", v)) {
        /// A pregnancy check (孕检); its result is `pregnancy`.
        Pregnancy = "pregnancy",
        /// An IUD check (环检); its result is `iud`.
        Iud = "iud",
    }
}

code_enum! {
    /// `checkup_result.pregnancy`: the pregnancy check result.
    pub enum Pregnancy (UnknownCode, v => UnknownCode::new("pregnancy", v)) {
        /// Not pregnant.
        NotPregnant = "not_pregnant",
        /// Pregnant.
        Pregnant = "pregnant",
    }
}

code_enum! {
    /// `checkup_result.iud`: the IUD check result.
    pub enum Iud (UnknownCode, v => UnknownCode::new("iud", v)) {
        /// In place (环在位).
        InPlace = "in_place",
        /// Displaced (环下移).
        Displaced = "displaced",
        /// Absent (无环).
        Absent = "absent",
        /// Not applicable (e.g. another method is used).
        NotApplicable = "not_applicable",
    }
}

code_enum! {
    /// `contraception`: the contraceptive method in use.
    pub enum Contraception (UnknownCode, v => UnknownCode::new("contraception", v)) {
        /// Intra-uterine device.
        Iud = "iud",
        /// Female sterilisation.
        FemaleSterilization = "female_sterilization",
        /// Male sterilisation.
        MaleSterilization = "male_sterilization",
        /// Implant.
        Implant = "implant",
        /// Oral contraceptives.
        Oral = "oral",
        /// Injection.
        Injection = "injection",
        /// Condom.
        Condom = "condom",
        /// Another method.
        Other = "other",
        /// No method.
        None = "none",
    }
}

code_enum! {
    /// `fee_collection.marital_home`: the spouse at whose registration place the couple
    /// usually lives after marriage, which decides who collects across provinces.
    pub enum MaritalHome (UnknownCode, v => UnknownCode::new("marital_home", v)) {
        /// The female spouse (sex `2`).
        Wife = "wife",
        /// The male spouse (sex `1`).
        Husband = "husband",
    }
}

code_enum! {
    /// `case_referral.offense`: the "two illegals" (两非).
    pub enum Offense (UnknownCode, v => UnknownCode::new("offense", v)) {
        /// Non-medical fetal sex determination.
        SexDetermination = "sex_determination",
        /// Sex-selective termination of pregnancy.
        SexSelectiveAbortion = "sex_selective_abortion",
    }
}

code_enum! {
    /// `receipt.status`: whether the owner accepted the message it acknowledges.
    pub enum ReceiptStatus (UnknownCode, v => UnknownCode::new("status", v)) {
        /// Accepted.
        Accepted = "accepted",
        /// Rejected by the owner (reason in `remarks`).
        Rejected = "rejected",
    }
}

/// The allowed codes of an enumerated field, by canonical field name: the body fields
/// of type [`crate::FieldType::Code`] or [`crate::FieldType::CodeList`], and the
/// person fields `sex` and `marital_status`. `None` for any other name.
///
/// Lets a mapping engine tell a mapping author which target codes exist without
/// hard-coding the lists a second time.
pub fn code_values(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "sex" => &Sex::CODES,
        "marital_status" => &MaritalStatus::CODES,
        "change" => &Change::CODES,
        "items" => &CheckItem::CODES,
        "pregnancy" => &Pregnancy::CODES,
        "iud" => &Iud::CODES,
        "contraception" => &Contraception::CODES,
        "marital_home" => &MaritalHome::CODES,
        "offense" => &Offense::CODES,
        "status" => &ReceiptStatus::CODES,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_serde_and_from_str() {
        for status in MaritalStatus::ALL {
            let json = serde_json::to_value(status).expect("serialises");
            assert_eq!(json, serde_json::Value::from(status.as_str()));
            assert_eq!(
                serde_json::from_value::<MaritalStatus>(json).ok(),
                Some(status)
            );
        }
        assert_eq!("2".parse::<Sex>(), Ok(Sex::Female));
        assert_eq!(Contraception::None.to_string(), "none");
        let err = "3".parse::<Sex>().expect_err("3 is not a sex code");
        assert_eq!(err.to_string(), "unknown sex code \"3\"");
    }

    #[test]
    fn code_values_lists_the_enumerated_fields() {
        assert_eq!(code_values("items"), Some(&["pregnancy", "iud"][..]));
        assert_eq!(code_values("sex"), Some(&["1", "2"][..]));
        assert_eq!(code_values("checked_on"), None);
    }
}
