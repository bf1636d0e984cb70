//! Which deliveries owe an answer, by when, and what answers them (DOMAIN.md §3): the
//! rules are configuration (`[deadlines] rules` in the hub's TOML file), with DOMAIN.md's
//! table as the default.
//!
//! Pure: given a message and its routes, [`owed`] says which expectations delivering it
//! opens. Deliveries to PADIS open none (the hub cannot see national answers), and an
//! assisting jurisdiction owes nothing: the lead answers.

use crate::routing::{Destination, Role, Route};
use serde::Deserialize;
use yipanqi_schemas::{CanonicalMessage, Kind};

/// One rule: delivering `kind` obliges its owner (or lead) to answer with one of
/// `answers` within `working_days`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectationRule {
    /// The kind that expects an answer.
    pub kind: Kind,
    /// The kinds that answer it.
    pub answers: Vec<Kind>,
    /// The deadline, in working days (DOMAIN.md §5).
    #[serde(default = "fifteen")]
    pub working_days: u32,
    /// Only when the message says so (a verified `birth_verify_reply`).
    #[serde(default)]
    pub when: Option<Condition>,
}

/// A condition on the message's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// `body.verified` is true.
    Verified,
}

fn fifteen() -> u32 {
    15
}

fn sixty() -> u64 {
    60
}

fn five() -> u32 {
    5
}

/// The deadline settings of the hub (`[deadlines]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    /// Which kinds expect which answers; DOMAIN.md's table by default.
    #[serde(default = "default_rules")]
    pub rules: Vec<ExpectationRule>,
    /// How often the overdue scanner runs, in seconds.
    #[serde(default = "sixty")]
    pub scan_interval_secs: u64,
    /// Reminders repeat every this many working days after the deadline.
    #[serde(default = "five")]
    pub reminder_every_working_days: u32,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        DeadlineSettings {
            rules: default_rules(),
            scan_interval_secs: sixty(),
            reminder_every_working_days: five(),
        }
    }
}

/// DOMAIN.md §3: who answers what within 15 working days.
pub fn default_rules() -> Vec<ExpectationRule> {
    use Kind::*;
    let rule = |kind, answers: &[Kind]| ExpectationRule {
        kind,
        answers: answers.to_vec(),
        working_days: 15,
        when: None,
    };
    vec![
        rule(BirthVerifyRequest, &[BirthVerifyReply]),
        ExpectationRule {
            when: Some(Condition::Verified),
            ..rule(BirthVerifyReply, &[BirthRegistrationResult])
        },
        rule(BirthRegistrationResult, &[Receipt]),
        rule(SecondBirthConsult, &[SecondBirthOpinion]),
        rule(HonorCertRequest, &[Receipt]),
        rule(
            MarriageCertMissing,
            &[MarriageCertReissued, MarriageCertDelegated],
        ),
        rule(MigrationNotice, &[Receipt]),
        rule(CheckupResult, &[Receipt]),
        rule(FeeCollection, &[Receipt]),
        rule(CaseReferral, &[Receipt]),
    ]
}

/// An answer owed by one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// The division that must answer.
    pub owner_division: String,
    /// Its province code.
    pub owner_province: String,
    /// The kinds that answer.
    pub answers: Vec<Kind>,
    /// Within how many working days.
    pub working_days: u32,
}

/// The expectations that delivering `msg` over `routes` opens.
pub fn owed(rules: &[ExpectationRule], msg: &CanonicalMessage, routes: &[Route]) -> Vec<Owed> {
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| r.kind == msg.kind) {
        let applies = match rule.when {
            None => true,
            Some(Condition::Verified) => msg.body.verified == Some(true),
        };
        if !applies {
            continue;
        }
        for route in routes {
            let answers = matches!(route.role, Role::Owner | Role::Lead)
                && matches!(route.destination, Destination::Region(_));
            if answers
                && !out
                    .iter()
                    .any(|o: &Owed| o.owner_division == route.target.as_str())
            {
                out.push(Owed {
                    owner_division: route.target.as_str().to_string(),
                    owner_province: route.target.province().to_string(),
                    answers: rule.answers.clone(),
                    working_days: rule.working_days,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use yipanqi_schemas::DivisionCode;

    fn route(target: &str, role: Role, padis: bool) -> Route {
        let target = DivisionCode::parse(target).expect("known division");
        Route {
            destination: if padis {
                Destination::Padis
            } else {
                Destination::Region(target.province().to_string())
            },
            routing_key: String::new(),
            why: String::new(),
            target,
            role,
        }
    }

    fn message(kind: Kind, verified: Option<bool>) -> CanonicalMessage {
        let mut m: CanonicalMessage = serde_json::from_value(serde_json::json!({
            "schema": "yipanqi/1",
            "message_id": "fdecf3b3-57e9-5746-ba8f-54ace962a8ad",
            "kind": kind.as_str(),
            "source": {"province": "31", "division": "310104", "message_id": "X", "record": 0},
            "sent_at": "2026-11-03T09:12:00+08:00",
            "received_at": "2026-11-03T09:12:01.532+08:00",
            "in_reply_to": null, "subject": null, "spouse": null, "body": {}
        }))
        .expect("a message");
        m.body.verified = verified;
        m
    }

    #[test]
    fn owners_and_leads_owe_answers_assistants_and_padis_do_not() {
        let rules = default_rules();
        let routes = [
            route("341302", Role::Lead, false),
            route("420106", Role::Assist, false),
            route("110105", Role::Assist, true),
        ];
        let owed = owed(&rules, &message(Kind::CaseReferral, None), &routes);
        assert_eq!(owed.len(), 1);
        assert_eq!(owed[0].owner_division, "341302");
        assert_eq!(owed[0].owner_province, "34");
        assert_eq!(owed[0].answers, vec![Kind::Receipt]);
        assert_eq!(owed[0].working_days, 15);
        let to_padis = [route("110105", Role::Owner, true)];
        assert!(super::owed(&rules, &message(Kind::CheckupResult, None), &to_padis).is_empty());
    }

    #[test]
    fn both_spouses_places_owe_a_receipt_for_an_honor_certificate() {
        let routes = [
            route("341302", Role::Owner, false),
            route("420106", Role::Owner, false),
        ];
        let owed = owed(
            &default_rules(),
            &message(Kind::HonorCertRequest, None),
            &routes,
        );
        assert_eq!(
            owed.iter()
                .map(|o| o.owner_division.as_str())
                .collect::<Vec<_>>(),
            vec!["341302", "420106"]
        );
    }

    #[test]
    fn only_a_verified_reply_opens_the_registration_result() {
        let routes = [route("310104", Role::Owner, false)];
        let rules = default_rules();
        assert_eq!(
            owed(
                &rules,
                &message(Kind::BirthVerifyReply, Some(true)),
                &routes
            )[0]
            .answers,
            vec![Kind::BirthRegistrationResult]
        );
        assert!(owed(
            &rules,
            &message(Kind::BirthVerifyReply, Some(false)),
            &routes
        )
        .is_empty());
        assert!(owed(&rules, &message(Kind::Receipt, None), &routes).is_empty());
        assert!(owed(&rules, &message(Kind::MarriageCertIssued, None), &routes).is_empty());
    }

    #[test]
    fn rules_are_configuration() {
        let s: DeadlineSettings = toml::from_str(
            "scan_interval_secs = 5\n[[rules]]\nkind = \"checkup_result\"\nanswers = [\"receipt\"]\nworking_days = 10\n",
        )
        .expect("valid");
        assert_eq!(s.rules.len(), 1);
        assert_eq!(s.rules[0].working_days, 10);
        assert_eq!(s.reminder_every_working_days, 5);
        assert!(
            toml::from_str::<DeadlineSettings>("[[rules]]\nkind = \"nonsense\"\nanswers = []")
                .is_err()
        );
    }
}
