//! Synthetic but realistic canonical messages, for `simulate` and `demo`: valid ID
//! numbers with check characters, real division codes, Chinese names, every kind sent
//! from the side that sends it in the plan, and answers that refer to real deliveries.
//!
//! Pure and seeded: the same seed gives the same traffic. Rendering into a province's
//! legacy format is the mapping engine's job (`yipanqi_adapters::render`).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, SecondsFormat};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use yipanqi_adapters::ProvinceInfo;
use yipanqi_schemas::{
    canonical_message_id, divisions_in_province, validate, CanonicalMessage, IdCheckPolicy,
    IdNumber, Kind, ValidateOptions,
};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "欧阳", "司马",
];
const FEMALE_GIVEN: &[&str] = &[
    "秀英", "桂英", "秀兰", "玉兰", "丽", "敏", "静", "婷", "雪梅", "海燕", "红霞", "晓燕", "丽娟",
    "梦瑶", "欣怡", "芳", "娜", "琳", "洁", "玲",
];
const MALE_GIVEN: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "建国", "志强", "海波", "文博",
];
const INSTITUTIONS: &[&str] = &[
    "社区卫生服务中心",
    "妇幼保健院",
    "计划生育服务站",
    "街道卫生院",
];
/// Provinces outside the region that migrants come from, for PADIS traffic.
const OUTSIDE: &[&str] = &["11", "44", "51", "50", "43"];

/// Which side of the exchange sends a kind (DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The current-residence place: the subject is registered elsewhere.
    Residence,
    /// The household-registration place: the subject lives elsewhere.
    Registration,
}

/// The kinds a provincial system sends unprompted (answers come from `answer`).
pub const UNPROMPTED: [Kind; 11] = [
    Kind::BirthVerifyRequest,
    Kind::BirthRegistrationResult,
    Kind::SecondBirthConsult,
    Kind::HonorCertRequest,
    Kind::MarriageCertIssued,
    Kind::MarriageCertVerified,
    Kind::MarriageCertMissing,
    Kind::MigrationNotice,
    Kind::CheckupResult,
    Kind::FeeCollection,
    Kind::CaseReferral,
];

/// A seeded generator of canonical messages.
pub struct Synth {
    rng: StdRng,
    region: Vec<ProvinceInfo>,
    serial: u64,
}

/// A record before it has a legacy id: the candidate canonical JSON without `source`.
pub type Draft = Map<String, Value>;

impl Synth {
    /// A generator over the region's provinces.
    pub fn new(seed: u64, region: Vec<ProvinceInfo>) -> Synth {
        Synth::with_serials_from(seed, region, 0)
    }

    /// A generator whose serial numbers start after `first`, so that two generators
    /// acting for one province (its sender and its answerer) never issue the same
    /// legacy id.
    pub fn with_serials_from(seed: u64, region: Vec<ProvinceInfo>, first: u64) -> Synth {
        Synth {
            rng: StdRng::seed_from_u64(seed),
            region,
            serial: first,
        }
    }

    /// The next serial number, for legacy message ids.
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// The region's provinces.
    pub fn region(&self) -> &[ProvinceInfo] {
        &self.region
    }

    /// Draws from the generator's randomness.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// A random division of a province (township form sometimes).
    pub fn division(&mut self, province: &str) -> String {
        let all = divisions_in_province(province);
        all.choose(&mut self.rng)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("{province}0101"))
    }

    /// A county-level division of a province.
    pub fn county(&mut self, province: &str) -> String {
        let counties: Vec<&str> = divisions_in_province(province)
            .into_iter()
            .filter(|c| c.len() == 6)
            .collect();
        counties
            .choose(&mut self.rng)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// A province of the region other than `not`, or (sometimes) one outside it.
    fn elsewhere(&mut self, not: &str, outside_share: f64) -> String {
        if self.chance(outside_share) {
            return OUTSIDE
                .choose(&mut self.rng)
                .map(|s| s.to_string())
                .unwrap_or_default();
        }
        let others: Vec<&ProvinceInfo> = self.region.iter().filter(|p| p.code != not).collect();
        others
            .choose(&mut self.rng)
            .map(|p| p.code.clone())
            .unwrap_or_else(|| not.to_string())
    }

    /// A person with a valid ID number whose birth date and sex agree with it.
    pub fn person(&mut self, registration: &str, residence: Option<&str>, female: bool) -> Value {
        let birth = NaiveDate::from_ymd_opt(1975, 1, 1).expect("valid date")
            + Duration::days(self.rng.random_range(0..(28 * 365)));
        let issued_at = self.county(&registration[..2]);
        let mut seq: u32 = self.rng.random_range(0..500) * 2;
        if !female {
            seq += 1;
        }
        let first17 = format!("{issued_at}{}{seq:03}", birth.format("%Y%m%d"));
        let check = IdNumber::check_char(&first17).unwrap_or('0');
        let given = if female { FEMALE_GIVEN } else { MALE_GIVEN };
        let name = format!(
            "{}{}",
            SURNAMES.choose(&mut self.rng).copied().unwrap_or("王"),
            given.choose(&mut self.rng).copied().unwrap_or("芳")
        );
        let marital = ["20", "21", "21", "21", "22", "23"]
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("21");
        let mut p = json!({
            "id_number": format!("{first17}{check}"),
            "name": name,
            "sex": if female { "2" } else { "1" },
            "birth_date": birth.to_string(),
            "registration_division": registration,
            "marital_status": marital,
        });
        if let Some(r) = residence {
            p["residence_division"] = json!(r);
        }
        p
    }

    /// A draft of an unprompted message of `kind` sent from `sender`'s division `division`.
    pub fn draft(
        &mut self,
        sender: &ProvinceInfo,
        division: &str,
        kind: Kind,
        today: NaiveDate,
    ) -> Draft {
        let side = match kind {
            Kind::MarriageCertIssued | Kind::SecondBirthConsult | Kind::FeeCollection => {
                Side::Registration
            }
            Kind::MigrationNotice | Kind::HonorCertRequest | Kind::CaseReferral => {
                if self.chance(0.5) {
                    Side::Registration
                } else {
                    Side::Residence
                }
            }
            _ => Side::Residence,
        };
        let home = sender.code.as_str();
        let away = self.elsewhere(home, 0.06);
        let (reg, res) = match side {
            Side::Residence => (self.division(&away), self.division(home)),
            Side::Registration => (self.division(home), self.division(&away)),
        };
        let known_residence = !(kind == Kind::MarriageCertIssued && self.chance(0.05));
        let subject = self.person(&reg, known_residence.then_some(res.as_str()), true);
        let days_ago =
            |rng: &mut StdRng, max: i64| today - Duration::days(rng.random_range(0..max));
        let mut spouse = Value::Null;
        let mut body = json!({});
        match kind {
            Kind::BirthVerifyRequest => {
                body = json!({
                    "marriage_date": days_ago(&mut self.rng, 3000).to_string(),
                    "children_count": 0,
                });
            }
            Kind::BirthRegistrationResult => {
                body = json!({
                    "service_cert_no": format!("FWZ{}{:06}", today.year(), self.next_serial()),
                    "registered_on": days_ago(&mut self.rng, 20).to_string(),
                });
            }
            Kind::SecondBirthConsult => {
                let spouse_reg = self.division(&away);
                spouse = self.person(&spouse_reg, Some(&res), false);
                body = json!({ "children_count": 1 });
            }
            Kind::HonorCertRequest => {
                let spouse_reg = if self.chance(0.5) {
                    reg.clone()
                } else {
                    self.division(&away)
                };
                spouse = self.person(&spouse_reg, Some(&res), false);
                body = json!({ "child_birth_date": days_ago(&mut self.rng, 5000).to_string() });
            }
            Kind::MarriageCertIssued => {
                let issued = days_ago(&mut self.rng, 30);
                let method = ["iud", "condom", "oral", "none"]
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("iud");
                body = json!({
                    "cert_no": format!("HY{}{:07}", home, self.next_serial()),
                    "issued_on": issued.to_string(),
                    "valid_until": (issued + Duration::days(3 * 365)).to_string(),
                    "children_count": self.rng.random_range(0..3),
                    "contraception": method,
                });
            }
            Kind::MarriageCertVerified => {
                body = json!({
                    "cert_no": format!("HY{}{:07}", &reg[..2], self.next_serial()),
                    "verified_on": days_ago(&mut self.rng, 10).to_string(),
                });
            }
            Kind::MarriageCertMissing => {
                body = json!({ "arrived_on": days_ago(&mut self.rng, 60).to_string() });
            }
            Kind::MigrationNotice => {
                let change = match side {
                    Side::Residence => ["inflow", "move", "exit"],
                    Side::Registration => ["outflow", "return", "move"],
                }
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("inflow");
                body = json!({
                    "change": change,
                    "effective_on": days_ago(&mut self.rng, 30).to_string(),
                    "address": format!("{}路{}号", ["人民", "解放", "中山", "建设"].choose(&mut self.rng).copied().unwrap_or("人民"), self.rng.random_range(1..300)),
                });
                if change == "move" {
                    body["new_division"] = json!(self.division(home));
                }
            }
            Kind::CheckupResult => {
                let iud = self.chance(0.7);
                let mut items = vec!["pregnancy"];
                if iud {
                    items.push("iud");
                }
                body = json!({
                    "checked_on": days_ago(&mut self.rng, 14).to_string(),
                    "items": items,
                    "pregnancy": if self.chance(0.05) { "pregnant" } else { "not_pregnant" },
                    "contraception": if iud { "iud" } else { "condom" },
                    "institution": format!("{}{}", divisions_name(&res), INSTITUTIONS.choose(&mut self.rng).copied().unwrap_or("卫生院")),
                });
                if iud {
                    body["iud"] = json!(if self.chance(0.9) {
                        "in_place"
                    } else {
                        "displaced"
                    });
                }
            }
            Kind::FeeCollection => {
                let spouse_reg = self.division(&away);
                spouse = self.person(&spouse_reg, Some(&res), false);
                body = json!({
                    "case_no": format!("ZS{}{:06}", today.year(), self.next_serial()),
                    "marital_home": if self.chance(0.6) { "wife" } else { "husband" },
                });
            }
            Kind::CaseReferral => {
                let related = self.division(&away);
                body = json!({
                    "case_no": format!("LF{}{:06}", today.year(), self.next_serial()),
                    "offense": if self.chance(0.6) { "sex_determination" } else { "sex_selective_abortion" },
                    "occurred_division": self.county(home),
                    "related_divisions": [related],
                });
            }
            _ => {}
        }
        let mut draft = Map::new();
        draft.insert("kind".into(), json!(kind.as_str()));
        draft.insert("in_reply_to".into(), Value::Null);
        draft.insert("subject".into(), subject);
        draft.insert("spouse".into(), spouse);
        draft.insert("body".into(), body);
        draft.insert("division".into(), json!(division));
        draft
    }

    /// A draft of the answer `responder` owes to a delivered `original`, if its kind
    /// expects one.
    pub fn answer_draft(
        &mut self,
        original: &CanonicalMessage,
        division: &str,
        today: NaiveDate,
    ) -> Option<Draft> {
        let (kind, body) = match original.kind {
            Kind::BirthVerifyRequest => (
                Kind::BirthVerifyReply,
                json!({ "verified": self.chance(0.9), "remarks": "经核查，情况属实。" }),
            ),
            Kind::SecondBirthConsult => (
                Kind::SecondBirthOpinion,
                json!({ "approved": self.chance(0.85), "remarks": "同意协作。" }),
            ),
            Kind::MarriageCertMissing => {
                if self.chance(0.5) {
                    (
                        Kind::MarriageCertReissued,
                        json!({
                            "cert_no": format!("HY{}{:07}", &division[..2], self.next_serial()),
                            "issued_on": today.to_string(),
                            "remarks": "已补办。",
                        }),
                    )
                } else {
                    (
                        Kind::MarriageCertDelegated,
                        json!({
                            "authorization_no": format!("WT{}{:06}", today.year(), self.next_serial()),
                            "remarks": "委托现居住地代办。",
                        }),
                    )
                }
            }
            Kind::BirthRegistrationResult
            | Kind::HonorCertRequest
            | Kind::MigrationNotice
            | Kind::CheckupResult
            | Kind::FeeCollection
            | Kind::CaseReferral => (
                Kind::Receipt,
                json!({ "status": if self.chance(0.95) { "accepted" } else { "rejected" }, "remarks": "已接收。" }),
            ),
            _ => return None,
        };
        let mut draft = Map::new();
        draft.insert("kind".into(), json!(kind.as_str()));
        draft.insert("in_reply_to".into(), json!(original.message_id));
        draft.insert(
            "subject".into(),
            serde_json::to_value(&original.subject).unwrap_or(Value::Null),
        );
        draft.insert("spouse".into(), Value::Null);
        draft.insert("body".into(), body);
        draft.insert("division".into(), json!(division));
        Some(draft)
    }
}

fn divisions_name(code: &str) -> String {
    yipanqi_schemas::division_name(code)
        .unwrap_or("")
        .to_string()
}

/// Completes drafts into canonical messages of one legacy document: its id, sender
/// division and send time are shared; `source.record` counts the records.
pub fn finish(
    sender: &ProvinceInfo,
    source_message_id: &str,
    sent_at: DateTime<FixedOffset>,
    drafts: Vec<Draft>,
) -> Result<Vec<CanonicalMessage>, yipanqi_schemas::Rejection> {
    let mut out = Vec::with_capacity(drafts.len());
    for (record, mut draft) in drafts.into_iter().enumerate() {
        let record = record as u32;
        let division = draft.remove("division").unwrap_or(Value::Null);
        draft.insert("schema".into(), json!(yipanqi_schemas::SCHEMA_ID));
        draft.insert(
            "message_id".into(),
            json!(canonical_message_id(
                &sender.code,
                source_message_id,
                record
            )),
        );
        draft.insert(
            "source".into(),
            json!({ "province": sender.code, "division": division, "message_id": source_message_id, "record": record }),
        );
        let stamp = sent_at.to_rfc3339_opts(SecondsFormat::Secs, false);
        draft.insert("sent_at".into(), json!(stamp));
        draft.insert(
            "received_at".into(),
            json!(sent_at.to_rfc3339_opts(SecondsFormat::Millis, false)),
        );
        let opts = ValidateOptions {
            expected_province: Some(sender.code.clone()),
            id_check: IdCheckPolicy::Reject,
        };
        out.push(validate(Value::Object(draft), &opts)?.message);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Vec<ProvinceInfo> {
        yipanqi_adapters::Registry::builtin()
            .provinces()
            .cloned()
            .collect()
    }

    #[test]
    fn every_unprompted_kind_is_valid_from_every_province() {
        let region = region();
        let mut synth = Synth::new(7, region.clone());
        let today = NaiveDate::from_ymd_opt(2026, 11, 3).expect("date");
        let sent = DateTime::parse_from_rfc3339("2026-11-03T09:12:00+08:00").expect("time");
        for p in &region {
            for kind in UNPROMPTED {
                for _ in 0..5 {
                    let division = synth.division(&p.code);
                    let draft = synth.draft(p, &division, kind, today);
                    let id = format!("T{}{}", p.code, synth.next_serial());
                    let msgs = finish(p, &id, sent, vec![draft])
                        .unwrap_or_else(|r| panic!("{kind} from {}: {r:?}", p.name));
                    assert_eq!(msgs[0].kind, kind);
                    assert_eq!(msgs[0].source.division.province(), p.code);
                }
            }
        }
    }

    #[test]
    fn answers_refer_to_the_original_and_are_valid() {
        let region = region();
        let mut synth = Synth::new(9, region.clone());
        let today = NaiveDate::from_ymd_opt(2026, 11, 3).expect("date");
        let sent = DateTime::parse_from_rfc3339("2026-11-03T09:12:00+08:00").expect("time");
        let anhui = region
            .iter()
            .find(|p| p.code == "34")
            .expect("anhui")
            .clone();
        let division = synth.division("34");
        let draft = synth.draft(&anhui, &division, Kind::CheckupResult, today);
        let original = finish(&anhui, "AH1", sent, vec![draft])
            .expect("valid")
            .remove(0);
        let owner_code = original
            .subject
            .as_ref()
            .expect("subject")
            .registration_division
            .province()
            .to_string();
        let Some(owner) = region.iter().find(|p| p.code == owner_code) else {
            return; // registered outside the region: answered by PADIS, not simulated
        };
        let owner_division = synth.division(&owner.code);
        let answer = synth
            .answer_draft(&original, &owner_division, today)
            .expect("receipt owed");
        let answer = finish(owner, "R1", sent, vec![answer])
            .expect("valid")
            .remove(0);
        assert_eq!(answer.kind, Kind::Receipt);
        assert_eq!(answer.in_reply_to, Some(original.message_id));
    }
}
