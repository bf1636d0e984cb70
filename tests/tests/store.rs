//! One store test-suite, run against SQLite and PostgreSQL alike: what the pipeline
//! relies on for "nothing lost, nothing twice" must hold on both.

use chrono::DateTime;
use std::sync::Arc;
use uuid::Uuid;
use yipanqi::store::{MessageInsert, NewDocument, NewMessage, NewRejection, NewRoute, Store};
use yipanqi_tests::{Db, TestEnv};

fn doc(raw: &[u8]) -> NewDocument {
    NewDocument {
        province: "anhui".into(),
        raw: raw.to_vec(),
        source_message_id: Some("AH1".into()),
        received_at: DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    }
}

fn message(id: Uuid, hash: &str) -> NewMessage {
    NewMessage {
        message_id: id,
        province: "34".into(),
        source_message_id: "AH1".into(),
        record: 0,
        kind: "checkup_result".into(),
        source_division: "340104".into(),
        in_reply_to: None,
        subject_id: Some("34130219920517002X".into()),
        spouse_id: None,
        content_hash: hash.into(),
        canonical: format!("{{\"hash\":\"{hash}\"}}"),
        outcome: "routed",
        warnings: "[]".into(),
        received_at: DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    }
}

fn route(target: &str, role: &str) -> NewRoute {
    NewRoute {
        target_division: target.into(),
        role: role.into(),
        destination: "shanghai".into(),
        routing_key: format!("31.{target}.checkup_result"),
        why: "test".into(),
    }
}

fn rejection(record: Option<u32>, reason: &str) -> NewRejection {
    NewRejection {
        record,
        province: "anhui".into(),
        source_message_id: Some("AH1".into()),
        message_id: None,
        kind: Some("checkup_result".into()),
        rejection_id: Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("test:{reason}:{record:?}").as_bytes(),
        ),
        reason: reason.into(),
        detail: "detail".into(),
        notice: "{}".into(),
        notice_key: "34.340104.rejection".into(),
        received_at: DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    }
}

async fn store(name: &str, db: Db) -> anyhow::Result<Store> {
    let env = TestEnv::new(name, db).await?;
    let store = Store::connect(&env.database_url).await?;
    // Connecting again runs the migrations again: a no-op.
    Store::connect(&env.database_url).await?;
    Ok(store)
}

async fn suite(db: Db) -> anyhow::Result<()> {
    let store = store("store", db).await?;
    store.ping().await?;
    let at = DateTime::parse_from_rfc3339("2026-11-03T09:13:00+08:00")?;
    let id = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"test:message");

    // A document and its message; the same bytes again are the same document.
    let mut tx = store.begin().await?;
    let d1 = tx.insert_document(&doc(b"one")).await?;
    assert_eq!(tx.insert_document(&doc(b"one")).await?, d1);
    let d2 = tx.insert_document(&doc(b"two")).await?;
    assert_ne!(d1, d2);
    assert_eq!(
        tx.insert_message(d1, &message(id, "h1")).await?,
        MessageInsert::Inserted
    );
    tx.insert_routes(id, &[route("310104", "lead"), route("310105", "assist")])
        .await?;
    tx.insert_routes(id, &[route("310104", "lead")]).await?; // again: left as it is
    tx.commit().await?;

    // A second insert of the id says what was stored.
    let mut tx = store.begin().await?;
    assert_eq!(
        tx.insert_message(d2, &message(id, "h1")).await?,
        MessageInsert::Existing {
            content_hash: "h1".into()
        }
    );
    assert_eq!(
        tx.insert_message(d2, &message(id, "h2")).await?,
        MessageInsert::Existing {
            content_hash: "h1".into()
        }
    );
    let (pending, canonical) = tx.pending_routes(id).await?;
    assert_eq!(pending.len(), 2);
    assert_eq!(canonical.as_deref(), Some("{\"hash\":\"h1\"}"));
    let found = tx.message_ref(id).await?.expect("stored");
    assert_eq!(found.source_division, "340104");
    assert_eq!(found.subject_id.as_deref(), Some("34130219920517002X"));
    assert!(tx.message_ref(Uuid::nil()).await?.is_none());
    drop(tx); // rolled back: nothing above changed anything

    // Confirms are recorded, and only the confirmed route stops being pending.
    store
        .confirm_routes(&[(id, "310104".into(), "lead".into())], at)
        .await?;
    let mut tx = store.begin().await?;
    let (pending, _) = tx.pending_routes(id).await?;
    assert_eq!(
        pending
            .iter()
            .map(|p| p.route.target_division.as_str())
            .collect::<Vec<_>>(),
        vec!["310105"]
    );
    drop(tx);
    store
        .confirm_routes(&[(id, "310105".into(), "assist".into())], at)
        .await?;
    let mut tx = store.begin().await?;
    let (pending, canonical) = tx.pending_routes(id).await?;
    assert!(pending.is_empty() && canonical.is_none());

    // Rejections: once per document and record, with what is still to publish.
    let r = tx
        .insert_rejection(d2, &rejection(Some(1), "schema_violation"))
        .await?;
    assert!(r.dead_pending && r.notice_pending);
    let whole = tx
        .insert_rejection(d2, &rejection(None, "malformed"))
        .await?;
    assert_ne!(whole.id, r.id);
    let again = tx
        .insert_rejection(d2, &rejection(Some(1), "other"))
        .await?;
    assert_eq!(again.id, r.id);
    assert_eq!(
        again.rejection.reason, "schema_violation",
        "the first rejection stands"
    );
    tx.commit().await?;
    store.confirm_rejections(&[r.id], &[], at).await?;
    let mut tx = store.begin().await?;
    let after = tx
        .insert_rejection(d2, &rejection(Some(1), "schema_violation"))
        .await?;
    assert!(!after.dead_pending && after.notice_pending);
    tx.commit().await?;

    // Summaries count what is stored.
    let counts = store.province_counts().await?;
    let anhui = counts.get("anhui").expect("anhui counted");
    assert_eq!(
        (anhui.messages, anhui.delivered, anhui.held, anhui.rejected),
        (1, 1, 0, 2)
    );
    let reasons = store.rejection_counts().await?;
    assert_eq!(
        reasons,
        vec![
            ("anhui".to_string(), "malformed".to_string(), 1),
            ("anhui".to_string(), "schema_violation".to_string(), 1)
        ]
    );
    Ok(())
}

#[tokio::test]
async fn store_suite_sqlite() -> anyhow::Result<()> {
    suite(Db::Sqlite).await
}

#[tokio::test]
async fn store_suite_postgres() -> anyhow::Result<()> {
    suite(Db::Postgres).await
}

#[tokio::test]
async fn an_unsupported_database_url_is_refused_with_a_sentence() {
    let err = Store::connect("mysql://root@localhost/x")
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("unsupported database URL"),
        "{err}"
    );
}

/// Requests without a known token cannot grow the append-only audit without bound: 60
/// a minute are written one by one, the rest counted into one row when the next minute
/// begins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_refusals_are_audited_within_bounds() -> anyhow::Result<()> {
    use yipanqi::access::rules::{Refusal, RefusalReason};
    use yipanqi::access::{AccessSettings, AuditEntry, Channel};
    use yipanqi::clock::ManualClock;
    use yipanqi::store::AuditFilter;
    let env = TestEnv::new("anonymous", Db::Sqlite).await?;
    let store = Store::connect(&env.database_url).await?;
    let clock = Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339("2026-12-03T10:00:05+08:00")?,
    ));
    let sharing = yipanqi::sharing::Sharing::new(
        store.clone(),
        Arc::new(yipanqi_adapters::Registry::builtin()),
        clock.clone(),
        &AccessSettings::default(),
    )
    .await?;
    let refusal = Refusal::new(RefusalReason::Unauthenticated, "send Authorization: Bearer <token>");
    let entry = AuditEntry::anonymous("-", Channel::Http, "profile").refused(&refusal);
    for _ in 0..100 {
        sharing.record_unauthenticated(&entry).await?;
    }
    let rows = store.audit(&AuditFilter::default()).await?;
    assert_eq!(rows.len(), yipanqi::sharing::ANONYMOUS_ROWS_PER_MINUTE as usize);
    clock.set(DateTime::parse_from_rfc3339("2026-12-03T10:01:05+08:00")?);
    sharing.record_unauthenticated(&entry).await?;
    let rows = store.audit(&AuditFilter::default()).await?;
    assert_eq!(rows.len(), 62, "the 40 counted, in one row, and the new minute's first");
    let summary = &rows[60];
    assert_eq!((summary.allowed, summary.reason.as_str()), (false, "unauthenticated"));
    assert!(summary.detail.starts_with("40 more requests"), "{}", summary.detail);
    assert!(summary.detail.contains("10:00"), "{}", summary.detail);
    // What is counted in a minute is written when the hub stops, without waiting.
    for _ in 0..70 {
        sharing.record_unauthenticated(&entry).await?;
    }
    sharing.flush_unauthenticated(false).await?;
    assert_eq!(store.audit(&AuditFilter::default()).await?.len(), 121, "the minute is not over");
    sharing.flush_unauthenticated(true).await?;
    let rows = store.audit(&AuditFilter::default()).await?;
    assert_eq!(rows.len(), 122);
    assert!(rows[121].detail.starts_with("11 more requests"), "{}", rows[121].detail);
    Ok(())
}
