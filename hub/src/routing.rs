//! Routing: which jurisdictions own a canonical message, and why (DOMAIN.md §3–§4).
//!
//! Pure: the caller supplies the message, what the store knows of the message it
//! answers, and which provinces make up the region. The result is one [`Route`] per
//! delivery, each carrying the sentence that explains the choice — the trace an
//! integrator reads when a province says "we never got it".

use yipanqi_schemas::{CanonicalMessage, DivisionCode, Kind, MaritalHome, Person, Sex};

/// The role of a delivery (AMQP header `x-yipanqi-role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The single owner of the message.
    Owner,
    /// The jurisdiction that leads a shared case.
    Lead,
    /// A jurisdiction that assists the lead.
    Assist,
}

impl Role {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Lead => "lead",
            Role::Assist => "assist",
        }
    }
}

/// Where a delivery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A region province's outbound queue, by province code.
    Region(String),
    /// Outside the region: the national PADIS subsystem.
    Padis,
}

/// One delivery of a message to one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The target division.
    pub target: DivisionCode,
    /// Its role.
    pub role: Role,
    /// Region province or PADIS.
    pub destination: Destination,
    /// Routing key on `yipanqi.deliver`.
    pub routing_key: String,
    /// Why this route was chosen, in one sentence.
    pub why: String,
}

/// What the store knows of the message an answer refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Its kind.
    pub kind: String,
    /// The division that sent it: answers go back there.
    pub source_division: DivisionCode,
}

/// Why a message has no route at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrouted {
    /// Stored and not delivered (a `marriage_cert_issued` with no known residence).
    Held(String),
}

/// Routes a message. `original` is the message it answers, when it carries
/// `in_reply_to` and the store knows it; `in_region` says whether a province code
/// belongs to the region.
pub fn route(
    msg: &CanonicalMessage,
    original: Option<&Original>,
    in_region: &dyn Fn(&str) -> bool,
) -> Result<Vec<Route>, Unrouted> {
    let kind = msg.kind;
    let mut plan = Plan {
        kind,
        routes: Vec::new(),
        in_region,
    };
    let subject = msg.subject.as_ref();
    match kind {
        Kind::BirthVerifyRequest
        | Kind::BirthRegistrationResult
        | Kind::MarriageCertVerified
        | Kind::MarriageCertMissing
        | Kind::CheckupResult => {
            if let Some(s) = subject {
                plan.add(
                    &s.registration_division,
                    Role::Owner,
                    format!("{kind} goes to the subject's registration place"),
                );
            }
        }
        Kind::BirthVerifyReply
        | Kind::SecondBirthOpinion
        | Kind::MarriageCertReissued
        | Kind::MarriageCertDelegated
        | Kind::Receipt => {
            if let Some(o) = original {
                plan.add(
                    &o.source_division,
                    Role::Owner,
                    format!(
                        "{kind} answers {} {} and goes back to the division that sent it",
                        o.kind,
                        msg.in_reply_to.map(|u| u.to_string()).unwrap_or_default()
                    ),
                );
            }
        }
        Kind::SecondBirthConsult => {
            if let (Some(s), Some(sp)) = (subject, msg.spouse.as_ref()) {
                let sender = msg.source.province.as_str();
                let (other, who) = if s.registration_division.province() != sender {
                    (s, "subject")
                } else {
                    (sp, "spouse")
                };
                plan.add(
                    &other.registration_division,
                    Role::Owner,
                    format!(
                        "second_birth_consult goes to the registration place of the other spouse \
                         (the {who}, registered outside the sender's province {sender})"
                    ),
                );
            }
        }
        Kind::HonorCertRequest => {
            for (p, who) in [(subject, "subject"), (msg.spouse.as_ref(), "spouse")] {
                if let Some(p) = p {
                    plan.add(
                        &p.registration_division,
                        Role::Owner,
                        format!("honor_cert_request goes to the registration places of both spouses ({who})"),
                    );
                }
            }
        }
        Kind::MarriageCertIssued => match subject.and_then(|s| s.residence_division.as_ref()) {
            Some(residence) => plan.add(
                residence,
                Role::Owner,
                "marriage_cert_issued goes to the subject's residence place".to_string(),
            ),
            None => {
                return Err(Unrouted::Held(
                    "marriage_cert_issued with no known residence is stored and not delivered"
                        .to_string(),
                ))
            }
        },
        Kind::MigrationNotice => {
            if let Some(s) = subject {
                let from_registration =
                    s.registration_division.province() == msg.source.province.as_str();
                match (from_registration, s.residence_division.as_ref()) {
                    (true, Some(residence)) => plan.add(
                        residence,
                        Role::Owner,
                        "migration_notice from the registration province goes to the residence place"
                            .to_string(),
                    ),
                    _ => plan.add(
                        &s.registration_division,
                        Role::Owner,
                        "migration_notice from the residence side goes to the registration place"
                            .to_string(),
                    ),
                }
            }
        }
        Kind::FeeCollection => {
            if let (Some(s), Some(sp)) = (subject, msg.spouse.as_ref()) {
                fee_collection(&mut plan, s, sp, msg.body.marital_home);
            }
        }
        Kind::CaseReferral => {
            if let Some(occurred) = msg.body.occurred_division.as_ref() {
                plan.add(
                    occurred,
                    Role::Lead,
                    "case_referral is led by the place where the act occurred".to_string(),
                );
                for related in msg.body.related_divisions.iter().flatten() {
                    if related != occurred {
                        plan.add(
                            related,
                            Role::Assist,
                            "case_referral: a related place assists".to_string(),
                        );
                    }
                }
            }
        }
        Kind::Rejection | Kind::Reminder | Kind::Escalation => {}
    }
    Ok(plan.routes)
}

/// The social maintenance fee is collected by a registration place (DOMAIN.md §3).
fn fee_collection(
    plan: &mut Plan<'_>,
    subject: &Person,
    spouse: &Person,
    home: Option<MaritalHome>,
) {
    let (wife, husband) = if subject.sex == Sex::Female || spouse.sex == Sex::Male {
        (subject, spouse)
    } else {
        (spouse, subject)
    };
    let (w, h) = (&wife.registration_division, &husband.registration_division);
    if w == h {
        plan.add(
            w,
            Role::Lead,
            "fee_collection: both spouses are registered here, so this place leads alone"
                .to_string(),
        );
        return;
    }
    let (lead, assist, why) = match home {
        Some(MaritalHome::Husband) => (h, w, "marital_home names the husband"),
        Some(MaritalHome::Wife) => (w, h, "marital_home names the wife"),
        None => (
            w,
            h,
            "no marital_home given, so the wife's registration place leads",
        ),
    };
    plan.add(
        lead,
        Role::Lead,
        format!("fee_collection is led by a registration place: {why}"),
    );
    plan.add(
        assist,
        Role::Assist,
        "fee_collection: the other spouse's registration place assists".to_string(),
    );
}

struct Plan<'a> {
    kind: Kind,
    routes: Vec<Route>,
    in_region: &'a dyn Fn(&str) -> bool,
}

impl Plan<'_> {
    /// Adds a delivery unless the same target already has one (one delivery if equal).
    fn add(&mut self, target: &DivisionCode, role: Role, why: String) {
        if self.routes.iter().any(|r| &r.target == target) {
            return;
        }
        let province = target.province().to_string();
        let (destination, routing_key, why) = if (self.in_region)(&province) {
            let key = format!("{province}.{}.{}", target.as_str(), self.kind);
            (
                Destination::Region(province),
                key,
                format!("{why} {}", target.as_str()),
            )
        } else {
            let key = format!("padis.{province}.{}.{}", target.as_str(), self.kind);
            let why = format!(
                "{why} {}, outside the region: delivered through PADIS",
                target.as_str()
            );
            (Destination::Padis, key, why)
        };
        self.routes.push(Route {
            target: target.clone(),
            role,
            destination,
            routing_key,
            why,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use yipanqi_schemas::{
        canonical_message_id, validate, IdCheckPolicy, IdNumber, ValidateOptions,
    };

    fn in_region(code: &str) -> bool {
        ["31", "32", "33", "34", "36", "41", "42"].contains(&code)
    }

    /// A valid ID number for a birth date and sex, issued in `county`.
    fn id(county: &str, birth: &str, female: bool) -> String {
        let seq = if female { "002" } else { "001" };
        let first17 = format!("{county}{}{seq}", birth.replace('-', ""));
        format!(
            "{first17}{}",
            IdNumber::check_char(&first17).expect("digits")
        )
    }

    fn person(reg: &str, res: Option<&str>, female: bool) -> Value {
        let mut p = json!({
            "id_number": id("340104", "1990-05-17", female),
            "name": if female { "李秀英" } else { "王伟" },
            "sex": if female { "2" } else { "1" },
            "birth_date": "1990-05-17",
            "registration_division": reg,
            "marital_status": "21",
        });
        if let Some(r) = res {
            p["residence_division"] = json!(r);
        }
        p
    }

    fn message(
        kind: &str,
        sender: &str,
        subject: Value,
        spouse: Value,
        body: Value,
    ) -> CanonicalMessage {
        let province = &sender[..2];
        let mut in_reply_to = Value::Null;
        if ["receipt", "birth_verify_reply"].contains(&kind) {
            in_reply_to = json!("5b0c2f3e-8d1a-5f4e-9a27-3c6d1e0b7f42");
        }
        let candidate = json!({
            "schema": "yipanqi/1",
            "message_id": canonical_message_id(province, "T1", 0),
            "kind": kind,
            "source": { "province": province, "division": sender, "message_id": "T1", "record": 0 },
            "sent_at": "2026-11-03T09:12:00+08:00",
            "received_at": "2026-11-03T09:12:01.532+08:00",
            "in_reply_to": in_reply_to,
            "subject": subject,
            "spouse": spouse,
            "body": body,
        });
        let opts = ValidateOptions {
            expected_province: None,
            id_check: IdCheckPolicy::Reject,
        };
        validate(candidate, &opts)
            .unwrap_or_else(|r| panic!("{kind}: {r:?}"))
            .message
    }

    fn keys(routes: &[Route]) -> Vec<(String, &'static str)> {
        routes
            .iter()
            .map(|r| (r.routing_key.clone(), r.role.as_str()))
            .collect()
    }

    #[test]
    fn a_checkup_result_goes_to_the_registration_place() {
        let m = message(
            "checkup_result",
            "310104",
            person("341302", Some("310104011"), true),
            Value::Null,
            json!({"checked_on": "2026-10-24", "items": ["pregnancy"], "pregnancy": "not_pregnant"}),
        );
        let routes = route(&m, None, &in_region).expect("routed");
        assert_eq!(
            keys(&routes),
            vec![("34.341302.checkup_result".to_string(), "owner")]
        );
        assert!(routes[0].why.contains("registration place"));
    }

    #[test]
    fn outside_the_region_goes_through_padis() {
        let m = message(
            "checkup_result",
            "310104",
            person("110105", Some("310104011"), true),
            Value::Null,
            json!({"checked_on": "2026-10-24", "items": ["pregnancy"], "pregnancy": "not_pregnant"}),
        );
        let routes = route(&m, None, &in_region).expect("routed");
        assert_eq!(
            keys(&routes),
            vec![("padis.11.110105.checkup_result".to_string(), "owner")]
        );
        assert_eq!(routes[0].destination, Destination::Padis);
    }

    #[test]
    fn a_receipt_goes_back_to_the_original_sender_division() {
        let m = message(
            "receipt",
            "341302",
            person("341302", Some("310104011"), true),
            Value::Null,
            json!({"status": "accepted"}),
        );
        let original = Original {
            kind: "checkup_result".into(),
            source_division: DivisionCode::parse("310104").expect("known"),
        };
        let routes = route(&m, Some(&original), &in_region).expect("routed");
        assert_eq!(
            keys(&routes),
            vec![("31.310104.receipt".to_string(), "owner")]
        );
    }

    #[test]
    fn honor_certificates_go_to_both_registration_places_once_each() {
        let body = json!({"child_birth_date": "2015-03-02"});
        let both = message(
            "honor_cert_request",
            "320583",
            person("341302", Some("320583104"), true),
            person("420106", Some("320583104"), false),
            body.clone(),
        );
        assert_eq!(
            keys(&route(&both, None, &in_region).expect("routed")),
            vec![
                ("34.341302.honor_cert_request".to_string(), "owner"),
                ("42.420106.honor_cert_request".to_string(), "owner")
            ]
        );
        let same = message(
            "honor_cert_request",
            "320583",
            person("341302", Some("320583104"), true),
            person("341302", Some("320583104"), false),
            body,
        );
        assert_eq!(route(&same, None, &in_region).expect("routed").len(), 1);
    }

    #[test]
    fn fee_collection_lead_follows_marital_home_then_the_wife() {
        let wife = person("341302", Some("320583104"), true);
        let husband = person("420106", Some("320583104"), false);
        let m = message(
            "fee_collection",
            "341302",
            wife.clone(),
            husband.clone(),
            json!({"case_no": "ZS1", "marital_home": "husband"}),
        );
        assert_eq!(
            keys(&route(&m, None, &in_region).expect("routed")),
            vec![
                ("42.420106.fee_collection".to_string(), "lead"),
                ("34.341302.fee_collection".to_string(), "assist")
            ]
        );
        // Same province, different places, no marital_home: the wife's place leads.
        let husband_same_province = person("340104", Some("320583104"), false);
        let m = message(
            "fee_collection",
            "341302",
            husband_same_province,
            wife.clone(),
            json!({"case_no": "ZS2"}),
        );
        assert_eq!(
            keys(&route(&m, None, &in_region).expect("routed")),
            vec![
                ("34.341302.fee_collection".to_string(), "lead"),
                ("34.340104.fee_collection".to_string(), "assist")
            ]
        );
        // Same place: it leads alone.
        let m = message(
            "fee_collection",
            "341302",
            wife.clone(),
            person("341302", None, false),
            json!({"case_no": "ZS3"}),
        );
        assert_eq!(
            keys(&route(&m, None, &in_region).expect("routed")),
            vec![("34.341302.fee_collection".to_string(), "lead")]
        );
    }

    #[test]
    fn case_referral_is_led_where_it_occurred() {
        let m = message(
            "case_referral",
            "330106",
            person("341302", Some("330106005"), true),
            Value::Null,
            json!({"case_no": "LF1", "offense": "sex_determination", "occurred_division": "330106", "related_divisions": ["341302", "330106", "110105"]}),
        );
        assert_eq!(
            keys(&route(&m, None, &in_region).expect("routed")),
            vec![
                ("33.330106.case_referral".to_string(), "lead"),
                ("34.341302.case_referral".to_string(), "assist"),
                ("padis.11.110105.case_referral".to_string(), "assist")
            ]
        );
    }

    #[test]
    fn second_birth_consult_goes_to_the_spouse_registered_elsewhere() {
        let m = message(
            "second_birth_consult",
            "341302",
            person("341302", Some("341302001"), true),
            person("420106", Some("341302001"), false),
            json!({"children_count": 1}),
        );
        assert_eq!(
            keys(&route(&m, None, &in_region).expect("routed")),
            vec![("42.420106.second_birth_consult".to_string(), "owner")]
        );
    }

    #[test]
    fn migration_notices_go_to_the_other_side() {
        let body = json!({"change": "outflow", "effective_on": "2026-10-01"});
        let from_registration = message(
            "migration_notice",
            "341302",
            person("341302", Some("320583104"), true),
            Value::Null,
            body.clone(),
        );
        assert_eq!(
            keys(&route(&from_registration, None, &in_region).expect("routed")),
            vec![("32.320583104.migration_notice".to_string(), "owner")]
        );
        let from_residence = message(
            "migration_notice",
            "320583",
            person("341302", Some("320583104"), true),
            Value::Null,
            body,
        );
        assert_eq!(
            keys(&route(&from_residence, None, &in_region).expect("routed")),
            vec![("34.341302.migration_notice".to_string(), "owner")]
        );
    }

    #[test]
    fn a_certificate_with_no_known_residence_is_held() {
        let m = message(
            "marriage_cert_issued",
            "341302",
            person("341302", None, true),
            Value::Null,
            json!({"cert_no": "HY1", "issued_on": "2026-10-01"}),
        );
        assert!(matches!(
            route(&m, None, &in_region),
            Err(Unrouted::Held(_))
        ));
    }
}
