//! End to end: answers travel back. Each province sends the kinds that expect an answer,
//! in its own legacy format; the owning province answers in *its* format, referring to
//! the canonical id it received; the hub routes every answer kind back to the division
//! that sent the original, with `correlation_id` = the original's id.

use chrono::{DateTime, FixedOffset, NaiveDate};
use std::collections::BTreeSet;
use std::time::Duration;
use yipanqi::synthetic::{finish, Synth};
use yipanqi_adapters::{Registry, RenderOptions};
use yipanqi_schemas::{CanonicalMessage, Kind};
use yipanqi_tests::{Db, InProcessHub, TestEnv};

const ASKING: [Kind; 5] = [
    Kind::BirthVerifyRequest,
    Kind::SecondBirthConsult,
    Kind::MarriageCertMissing,
    Kind::CheckupResult,
    Kind::MigrationNotice,
];

async fn answers_go_back_to_the_sender(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("answers", db).await?;
    let hub = InProcessHub::start(env.config()).await?;
    let broker = env.connect().await?;
    let registry = Registry::builtin();
    let region: Vec<_> = registry.provinces().cloned().collect();
    let today = NaiveDate::from_ymd_opt(2026, 11, 3).expect("date");
    let sent: DateTime<FixedOffset> = DateTime::parse_from_rfc3339("2026-11-03T09:12:00+08:00")?;
    let mut synth = Synth::new(42, region.clone());

    // Originals: every asking kind from every province, owned inside the region.
    let mut originals: Vec<CanonicalMessage> = Vec::new();
    for sender in &region {
        let mapping = registry.get(&sender.name).expect("mapping");
        for kind in ASKING {
            let msg = loop {
                let division = synth.division(&sender.code);
                let draft = synth.draft(sender, &division, kind, today);
                let id = mapping.render_message_id(&division, sent, synth.next_serial());
                let msg = finish(sender, &id, sent, vec![draft])
                    .map_err(|r| anyhow::anyhow!("{r:?}"))?
                    .remove(0);
                if owner_province(&msg).is_some_and(|p| registry.contains_code(&p)) {
                    break msg;
                }
            };
            broker
                .publish(
                    &sender.name,
                    &mapping.render(std::slice::from_ref(&msg), &RenderOptions { variant: 0 })?,
                )
                .await?;
            originals.push(msg);
        }
    }

    // Each owner takes its deliveries (all of them first: answers go to the same queues)…
    let mut inboxes = Vec::new();
    for owner in &region {
        let queue = format!("yipanqi.out.{}", owner.name);
        let wanted = originals
            .iter()
            .filter(|m| owner_province(m).as_deref() == Some(owner.code.as_str()))
            .count();
        let delivered = broker.take(&queue, wanted, Duration::from_secs(30)).await?;
        assert_eq!(
            delivered.len(),
            wanted,
            "{queue}: every original owned by {} arrives",
            owner.name
        );
        inboxes.push((owner, delivered));
    }
    // …and answers them in its own format.
    let mut answered = Vec::new();
    for (owner, delivered) in inboxes {
        let mapping = registry.get(&owner.name).expect("mapping");
        for d in delivered {
            let original: CanonicalMessage = serde_json::from_slice(&d.body)?;
            let target = d
                .headers
                .get("x-yipanqi-target")
                .cloned()
                .expect("target header");
            let draft = synth
                .answer_draft(&original, &target, today)
                .expect("an answer is owed");
            let id = mapping.render_message_id(&target, sent, synth.next_serial());
            let answer = finish(owner, &id, sent, vec![draft])
                .map_err(|r| anyhow::anyhow!("{r:?}"))?
                .remove(0);
            broker
                .publish(
                    &owner.name,
                    &mapping
                        .render(std::slice::from_ref(&answer), &RenderOptions { variant: 1 })?,
                )
                .await?;
            answered.push((original, answer));
        }
    }
    assert_eq!(answered.len(), originals.len());

    // Every answer lands on the original sender's queue, at the sending division.
    let mut kinds = BTreeSet::new();
    for sender in &region {
        let queue = format!("yipanqi.out.{}", sender.name);
        let mine: Vec<_> = answered
            .iter()
            .filter(|(o, _)| o.source.province == sender.code)
            .collect();
        let got = broker
            .take(&queue, mine.len(), Duration::from_secs(30))
            .await?;
        assert_eq!(
            got.len(),
            mine.len(),
            "{queue}: every answer to {} comes back",
            sender.name
        );
        for r in got {
            let body = r.json();
            let (original, answer) = mine
                .iter()
                .find(|(_, a)| body["message_id"] == a.message_id.to_string())
                .unwrap_or_else(|| panic!("unexpected message on {queue}: {body}"));
            assert_eq!(
                r.routing_key,
                format!(
                    "{}.{}.{}",
                    sender.code,
                    original.source.division.as_str(),
                    answer.kind
                )
            );
            assert_eq!(
                r.correlation_id.as_deref(),
                Some(original.message_id.to_string().as_str())
            );
            assert_eq!(body["in_reply_to"], original.message_id.to_string());
            assert_eq!(
                r.headers.get("x-yipanqi-role").map(String::as_str),
                Some("owner")
            );
            kinds.insert(answer.kind);
        }
    }
    for kind in [
        Kind::BirthVerifyReply,
        Kind::SecondBirthOpinion,
        Kind::Receipt,
    ] {
        assert!(kinds.contains(&kind), "no {kind} travelled");
    }
    assert!(
        kinds.contains(&Kind::MarriageCertReissued) || kinds.contains(&Kind::MarriageCertDelegated),
        "no answer to a missing certificate travelled"
    );
    assert_eq!(
        broker.depth("yipanqi.dead").await?,
        0,
        "nothing was rejected"
    );
    hub.stop().await?;
    Ok(())
}

/// The province that owns an asking message (DOMAIN.md §3), for choosing test data.
fn owner_province(m: &CanonicalMessage) -> Option<String> {
    let subject = m.subject.as_ref()?;
    let division = match m.kind {
        Kind::SecondBirthConsult => {
            let spouse = m.spouse.as_ref()?;
            if subject.registration_division.province() != m.source.province {
                &subject.registration_division
            } else {
                &spouse.registration_division
            }
        }
        Kind::MigrationNotice if subject.registration_division.province() == m.source.province => {
            subject.residence_division.as_ref()?
        }
        _ => &subject.registration_division,
    };
    Some(division.province().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_back_to_the_sender_sqlite() -> anyhow::Result<()> {
    answers_go_back_to_the_sender(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_back_to_the_sender_postgres() -> anyhow::Result<()> {
    answers_go_back_to_the_sender(Db::Postgres).await
}
