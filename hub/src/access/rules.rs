//! What each role may see (DOMAIN.md §6, the information-sharing plan):
//!
//! | question | province | coordination | ops |
//! |---|---|---|---|
//! | a person's profile | if a message from another province names it her registration or residence province, or her spouse's | never | never |
//! | 《婚育证明》 records | those it issued, received, or whose holder is its resident or registrant, in full | all, holders masked | never |
//! | message traces, expectations | messages it sent or owns | all | all (they carry no person) |
//! | reports | with its own follow-up list; overdue items it sent or owes | masked, no follow-up lists | never (they list people) |
//! | the audit report | never | yes | yes |
//!
//! Each decision is either the scope the caller may see or a [`Refusal`] whose reason
//! code and sentence go back to the caller and into the audit.

use super::{Caller, Role};
use serde::Serialize;

/// Why a request was refused: a bounded set, in answers and in the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// No credentials, or credentials the hub does not know.
    Unauthenticated,
    /// The caller's role may never ask this.
    RoleNotPermitted,
    /// The hub's records do not relate the caller's province to this person or message.
    NotEntitled,
    /// The request is malformed (an ID number that is not one, an unknown parameter).
    InvalidRequest,
}

impl RefusalReason {
    /// The reason code.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Unauthenticated => "unauthenticated",
            RefusalReason::RoleNotPermitted => "role_not_permitted",
            RefusalReason::NotEntitled => "not_entitled",
            RefusalReason::InvalidRequest => "invalid_request",
        }
    }

    /// The HTTP status that goes with it.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalReason::Unauthenticated => 401,
            RefusalReason::RoleNotPermitted | RefusalReason::NotEntitled => 403,
            RefusalReason::InvalidRequest => 400,
        }
    }
}

/// A refused request: the reason code and one sentence, never personal data in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The reason code.
    pub reason: RefusalReason,
    /// What was refused and why.
    pub detail: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(reason: RefusalReason, detail: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            detail: detail.into(),
        }
    }

    fn role(caller: &Caller, what: &str) -> Refusal {
        let why = match caller.role {
            Role::Coordination => {
                "the coordination group sees aggregates and lists with subjects masked, never a person's records"
            }
            Role::Ops => "ops staff see the hub's workings, never personal data",
            Role::Province => "a province's clients may not",
        };
        Refusal::new(
            RefusalReason::RoleNotPermitted,
            format!("{} ({}) may not {what}: {why}", caller.name, caller.role.as_str()),
        )
    }
}

/// What a caller may see of a list: everything, or what concerns one province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// Records sent by or owned by (delivered to) the province with this code.
    Province(String),
}

impl Scope {
    /// Whether a record sent by `sender` (a province code) and delivered to `owners`
    /// (province codes) is in scope.
    pub fn covers<'a>(&self, sender: &str, mut owners: impl Iterator<Item = &'a str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Province(code) => sender == code || owners.any(|o| o == code),
        }
    }
}

/// Which of a person's places a statement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Her registration place (户籍地).
    Registration,
    /// Her residence place (现居住地).
    Residence,
    /// Her spouse's registration place.
    SpouseRegistration,
    /// Her spouse's residence place.
    SpouseResidence,
}

impl Place {
    fn phrase(self) -> &'static str {
        match self {
            Place::Registration => "her registration province",
            Place::Residence => "her residence province",
            Place::SpouseRegistration => "her spouse's registration province",
            Place::SpouseResidence => "her spouse's residence province",
        }
    }
}

/// One stored message's word on one of her places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Which place.
    pub place: Place,
    /// The division the message gives.
    pub division: String,
    /// The province (code) that sent the message.
    pub stated_by: String,
    /// When the hub received it (milliseconds).
    pub received_ms: i64,
}

/// What the hub's records say of a person's places, for the profile rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// Every statement of her places and her spouse's, from every stored message.
    pub claims: Vec<Claim>,
}

/// How long a statement of her places entitles a province: a place she left years ago
/// is no longer one.
pub const ENTITLEMENT_WINDOW_MS: i64 = 3 * 366 * 24 * 3600 * 1000;

/// May the caller read this person's profile? A province is entitled when a message
/// *another* province sent in the last three years names it as her registration or
/// residence place, or her spouse's. What a province says of itself does not count: any
/// province could otherwise make itself entitled to anyone by sending one document; nor
/// does an answer's person block, which repeats the message it answers (the claims given
/// here leave answers out).
/// `Ok` names the relation and who stated it.
pub fn profile(caller: &Caller, relations: &Relations, now_ms: i64) -> Result<String, Refusal> {
    let Some(code) = caller.province_code() else {
        return Err(Refusal::role(caller, "read a person's profile"));
    };
    let province = caller.province_name().unwrap_or(code);
    let entitling = relations.claims.iter().find(|c| {
        c.division.starts_with(code)
            && c.stated_by != code
            && c.received_ms >= now_ms - ENTITLEMENT_WINDOW_MS
    });
    if let Some(c) = entitling {
        return Ok(format!(
            "{province} is {} (as province {} stated)",
            c.place.phrase(),
            c.stated_by
        ));
    }
    Err(Refusal::new(
        RefusalReason::NotEntitled,
        format!(
            "no message from another province in the last three years makes {province} this \
             person's registration or residence province, nor her spouse's"
        ),
    ))
}

/// Which 《婚育证明》 records the caller may list, and whether holders are masked.
pub fn certificates(caller: &Caller) -> Result<(Scope, bool), Refusal> {
    match (caller.role, caller.province_code()) {
        (Role::Province, Some(code)) => Ok((Scope::Province(code.to_string()), false)),
        (Role::Coordination, _) => Ok((Scope::All, true)),
        _ => Err(Refusal::role(caller, "list marriage-and-childbearing certificates")),
    }
}

/// Which messages and expectations the caller may trace: its own, or all. No role is
/// refused: traces carry ids, kinds, divisions and times, never a person.
pub fn traces(caller: &Caller) -> Scope {
    match caller.province_code() {
        Some(code) => Scope::Province(code.to_string()),
        None => Scope::All,
    }
}

/// What a report request may show: the province whose follow-up list (subjects in
/// full) it carries, and the scope of its overdue list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAccess {
    /// The province (code) whose follow-up list is added.
    pub follow_up: Option<String>,
    /// Whose overdue items the region-wide (masked) list shows.
    pub overdue_items: Scope,
}

/// May the caller fetch a coordination report, with `requested` (a province code) for a
/// follow-up list? A province gets its own follow-up list whether or not it asks.
pub fn report(caller: &Caller, requested: Option<&str>) -> Result<ReportAccess, Refusal> {
    match (caller.role, caller.province_code()) {
        (Role::Province, Some(code)) => match requested {
            Some(other) if other != code => Err(Refusal::new(
                RefusalReason::NotEntitled,
                format!(
                    "{} may fetch only its own province's follow-up list, not province {other}'s",
                    caller.name
                ),
            )),
            _ => Ok(ReportAccess {
                follow_up: Some(code.to_string()),
                overdue_items: Scope::Province(code.to_string()),
            }),
        },
        (Role::Coordination, _) => match requested {
            Some(_) => Err(Refusal::role(
                caller,
                "fetch a province's follow-up list with subjects in full",
            )),
            None => Ok(ReportAccess {
                follow_up: None,
                overdue_items: Scope::All,
            }),
        },
        _ => Err(Refusal::role(caller, "fetch the coordination reports, which list people")),
    }
}

/// May the caller read the audit of lookups?
pub fn audit(caller: &Caller) -> Result<(), Refusal> {
    match caller.role {
        Role::Coordination | Role::Ops => Ok(()),
        Role::Province => Err(Refusal::role(caller, "read the audit of lookups")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yipanqi_adapters::Registry;

    fn province(name: &str) -> Caller {
        let registry = Registry::builtin();
        let info = registry.get(name).expect("a province").province().clone();
        Caller::province(format!("{name}-portal"), info)
    }

    fn role(role: Role) -> Caller {
        Caller {
            name: role.as_str().into(),
            role,
            province: None,
        }
    }

    const NOW: i64 = 1_796_000_000_000;

    fn claim(place: Place, division: &str, stated_by: &str, age_days: i64) -> Claim {
        Claim {
            place,
            division: division.into(),
            stated_by: stated_by.into(),
            received_ms: NOW - age_days * 86_400_000,
        }
    }

    /// Registered in Anhui, living in Shanghai, husband registered in Jiangsu — as
    /// Shanghai and Anhui stated.
    fn her() -> Relations {
        Relations {
            claims: vec![
                claim(Place::Registration, "341302", "31", 10),
                claim(Place::Residence, "310104011", "34", 10),
                claim(Place::SpouseRegistration, "320102", "34", 5),
                claim(Place::SpouseResidence, "310104", "34", 5),
            ],
        }
    }

    #[test]
    fn a_profile_goes_to_her_places_and_her_spouses() {
        assert_eq!(
            profile(&province("shanghai"), &her(), NOW).as_deref(),
            Ok("shanghai is her residence province (as province 34 stated)")
        );
        assert_eq!(
            profile(&province("anhui"), &her(), NOW).as_deref(),
            Ok("anhui is her registration province (as province 31 stated)")
        );
        assert_eq!(
            profile(&province("jiangsu"), &her(), NOW).as_deref(),
            Ok("jiangsu is her spouse's registration province (as province 34 stated)")
        );
        let refused = profile(&province("hubei"), &her(), NOW).expect_err("unrelated");
        assert_eq!(refused.reason, RefusalReason::NotEntitled);
        assert_eq!(refused.reason.http_status(), 403);
        // Nobody is entitled to a person the hub knows nothing of; the answer is the
        // same as for a stranger, so it does not tell whether the hub knows her.
        let unknown = profile(&province("anhui"), &Relations::default(), NOW).expect_err("unknown");
        assert_eq!(unknown.detail.replace("anhui", "hubei"), refused.detail);
        for r in [Role::Coordination, Role::Ops] {
            let refused = profile(&role(r), &her(), NOW).expect_err("never a profile");
            assert_eq!(refused.reason, RefusalReason::RoleNotPermitted);
        }
    }

    #[test]
    fn a_province_cannot_entitle_itself() {
        // Hubei says she lives in Hubei, and that her husband is registered there.
        let mut claims = her();
        claims.claims.push(claim(Place::Residence, "420102", "42", 0));
        claims.claims.push(claim(Place::SpouseRegistration, "420102", "42", 0));
        assert_eq!(
            profile(&province("hubei"), &claims, NOW).map_err(|r| r.reason),
            Err(RefusalReason::NotEntitled)
        );
        // …and does not take her real places' access away.
        assert!(profile(&province("shanghai"), &claims, NOW).is_ok());
        // A statement from years ago entitles no more.
        let old = Relations {
            claims: vec![claim(Place::Residence, "330106", "34", 4 * 366)],
        };
        assert!(profile(&province("zhejiang"), &old, NOW).is_err());
    }

    #[test]
    fn lists_are_scoped() {
        assert_eq!(certificates(&role(Role::Coordination)), Ok((Scope::All, true)));
        assert_eq!(
            certificates(&province("anhui")),
            Ok((Scope::Province("34".into()), false))
        );
        assert!(certificates(&role(Role::Ops)).is_err());
        assert_eq!(traces(&role(Role::Ops)), Scope::All);
        let anhui = traces(&province("anhui"));
        assert!(anhui.covers("34", std::iter::empty()));
        assert!(anhui.covers("31", ["32", "34"].into_iter()));
        assert!(!anhui.covers("31", ["32"].into_iter()));
    }

    #[test]
    fn reports_carry_follow_up_lists_only_for_their_province() {
        let own = report(&province("anhui"), None).expect("allowed");
        assert_eq!(own.follow_up.as_deref(), Some("34"));
        assert_eq!(own.overdue_items, Scope::Province("34".into()));
        assert!(report(&province("anhui"), Some("34")).is_ok());
        let other = report(&province("anhui"), Some("32")).expect_err("not its own");
        assert_eq!(other.reason, RefusalReason::NotEntitled);
        let coord = report(&role(Role::Coordination), None).expect("allowed");
        assert_eq!(coord.follow_up, None);
        assert_eq!(coord.overdue_items, Scope::All);
        assert!(report(&role(Role::Coordination), Some("34")).is_err());
        assert!(report(&role(Role::Ops), None).is_err());
        assert!(audit(&role(Role::Ops)).is_ok());
        assert!(audit(&province("anhui")).is_err());
    }
}
