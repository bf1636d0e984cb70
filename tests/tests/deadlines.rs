//! End to end, on the real broker and both databases, with the hub's clock in the
//! test's hand: a check result delivered to Anhui opens an expectation due on the right
//! date; Anhui's receipt, in Anhui's own format, closes it on time; a receipt from a
//! province it was not delivered to is `unauthorized_reply`, one about another person
//! `subject_mismatch`; an unanswered one turns overdue when the clock passes its deadline
//! and exactly one reminder and one escalation go out per step — also with two hub
//! instances on one PostgreSQL database.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use yipanqi::clock::ManualClock;
use yipanqi::config::Config;
use yipanqi_adapters::Registry;
use yipanqi_schemas::{CanonicalMessage, Kind};
use yipanqi_tests::world::World;
use yipanqi_tests::{http_get_as, Db, InProcessHub, TestEnv};

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("time")
}

/// A check result from Shanghai (310104) about a woman registered at `registration`.
fn checkup_about(
    world: &mut World,
    registration: &str,
    now: DateTime<FixedOffset>,
) -> (CanonicalMessage, Vec<u8>) {
    let woman = world.woman(registration, "310104");
    world.message("shanghai", "310104", Kind::CheckupResult, &woman, now)
}

/// `province`'s receipt for `original`, sent by `division`, in its own format.
fn receipt_for(
    world: &mut World,
    province: &str,
    division: &str,
    original: &CanonicalMessage,
    now: DateTime<FixedOffset>,
) -> (CanonicalMessage, Vec<u8>) {
    world.answer(province, division, original, now, json!({}))
}

async fn expectations(hub: &InProcessHub, query: &str) -> Vec<Value> {
    let (status, body) = http_get_as(hub.http, &format!("/api/expectations?{query}"), "ops")
        .await
        .expect("GET");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["expectations"].as_array().cloned().unwrap_or_default()
}

async fn expectation_of(hub: &InProcessHub, message_id: &str) -> Value {
    let (status, body) = http_get_as(hub.http, &format!("/api/messages/{message_id}"), "ops")
        .await
        .expect("GET");
    assert_eq!(status, 200, "{body}");
    let trace: Value = serde_json::from_str(&body).expect("JSON");
    trace["expectations"][0].clone()
}

/// Waits until the expectation of `message_id` has `state`.
async fn wait_state(hub: &InProcessHub, message_id: &str, state: &str) -> Value {
    for _ in 0..200 {
        let e = expectation_of(hub, message_id).await;
        if e["state"] == state {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expectation of {message_id} never became {state}: {}",
        expectation_of(hub, message_id).await
    );
}

fn config(env: &TestEnv) -> Config {
    let mut c = env.config();
    c.deadlines.scan_interval_secs = 1;
    c
}

async fn deadlines_are_held(db: Db, instances: usize) -> anyhow::Result<()> {
    let env = TestEnv::new(&format!("deadlines{instances}"), db).await?;
    // Friday 13 February 2026, before the Spring Festival: 15 working days → 12 March.
    let clock = Arc::new(ManualClock::new(at("2026-02-13T10:00:00+08:00")));
    let mut hubs = Vec::new();
    for _ in 0..instances {
        hubs.push(InProcessHub::start_with_clock(config(&env), clock.clone()).await?);
    }
    let hub = &hubs[0];
    let broker = env.connect().await?;
    let mut world = World::new();

    // Delivered to Anhui: an expectation due at the end of 12 March.
    let (answered, bytes) = checkup_about(&mut world, "341302", clock.now_at());
    broker.publish("shanghai", &bytes).await?;
    let got = broker
        .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(got.len(), 1);
    let e = wait_state(hub, &answered.message_id.to_string(), "open").await;
    assert_eq!(e["due_at"], "2026-03-12T23:59:59+08:00");
    assert_eq!(e["owner_division"], "341302");
    assert_eq!(e["calendar_uncovered"], false);
    let (unanswered, bytes) = checkup_about(&mut world, "340104", clock.now_at());
    broker.publish("shanghai", &bytes).await?;
    assert_eq!(
        broker
            .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
            .await?
            .len(),
        1
    );
    wait_state(hub, &unanswered.message_id.to_string(), "open").await;
    let open = expectations(hub, "state=open&province=anhui").await;
    assert_eq!(open.len(), 2);

    // Anhui answers the first within the deadline, in Anhui's format: closed on time, and
    // the receipt goes back to Shanghai's sending division.
    clock.set(at("2026-02-27T15:00:00+08:00"));
    let (receipt, bytes) = receipt_for(&mut world, "anhui", "341302", &answered, clock.now_at());
    broker.publish("anhui", &bytes).await?;
    let back = broker
        .take("yipanqi.out.shanghai", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].routing_key, "31.310104.receipt");
    assert_eq!(
        back[0].correlation_id.as_deref(),
        Some(answered.message_id.to_string().as_str())
    );
    let e = wait_state(hub, &answered.message_id.to_string(), "answered_on_time").await;
    assert_eq!(e["answer_id"], receipt.message_id.to_string());

    // A second answer to the closed expectation is delivered and changes nothing.
    let (_, bytes) = receipt_for(&mut world, "anhui", "341302", &answered, clock.now_at());
    broker.publish("anhui", &bytes).await?;
    assert_eq!(
        broker
            .take("yipanqi.out.shanghai", 1, Duration::from_secs(30))
            .await?
            .len(),
        1
    );
    assert_eq!(
        expectation_of(hub, &answered.message_id.to_string()).await["answer_id"],
        receipt.message_id.to_string()
    );

    // A receipt from Jiangsu, which was never sent the message: unauthorized_reply.
    let (_, bytes) = receipt_for(&mut world, "jiangsu", "320583", &unanswered, clock.now_at());
    broker.publish("jiangsu", &bytes).await?;
    let dead = broker
        .take("yipanqi.dead", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(
        dead[0].headers.get("x-yipanqi-reason").map(String::as_str),
        Some("unauthorized_reply")
    );
    let notice = broker
        .take("yipanqi.out.jiangsu", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(notice[0].json()["body"]["reason"], "unauthorized_reply");

    // A receipt from Anhui about somebody else: subject_mismatch.
    let (other, _) = checkup_about(&mut world, "340104", clock.now_at());
    let mut wrong = unanswered.clone();
    wrong.subject = other.subject.clone();
    let (_, bytes) = receipt_for(&mut world, "anhui", "340104", &wrong, clock.now_at());
    broker.publish("anhui", &bytes).await?;
    let dead = broker
        .take("yipanqi.dead", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(
        dead[0].headers.get("x-yipanqi-reason").map(String::as_str),
        Some("subject_mismatch")
    );
    assert_eq!(
        broker
            .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
            .await?[0]
            .json()["body"]["reason"],
        "subject_mismatch"
    );
    assert_eq!(
        expectation_of(hub, &unanswered.message_id.to_string()).await["state"],
        "open"
    );

    // Nothing is overdue on the deadline day itself…
    clock.set(at("2026-03-12T23:59:00+08:00"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(broker.depth("yipanqi.out.coordination").await?, 0);
    // …and the first scan after it sends one reminder and one escalation.
    clock.set(at("2026-03-13T09:00:00+08:00"));
    let e = wait_state(hub, &unanswered.message_id.to_string(), "overdue").await;
    assert_eq!(e["step"], 1);
    tokio::time::sleep(Duration::from_millis(3000)).await; // more scans, by every instance
    let reminders = broker
        .drain(
            "yipanqi.out.anhui",
            Duration::from_millis(500),
            Duration::from_secs(10),
        )
        .await?;
    let escalations = broker
        .drain(
            "yipanqi.out.coordination",
            Duration::from_millis(500),
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(reminders.len(), 1, "exactly one reminder: {reminders:?}");
    assert_eq!(
        escalations.len(),
        1,
        "exactly one escalation: {escalations:?}"
    );
    let r = reminders[0].json();
    assert_eq!(reminders[0].routing_key, "34.340104.reminder");
    assert_eq!(r["kind"], "reminder");
    assert_eq!(r["body"]["concerning"], unanswered.message_id.to_string());
    assert_eq!(r["body"]["step"], 1);
    assert_eq!(r["body"]["due_at"], "2026-03-12T23:59:59+08:00");
    let x = escalations[0].json();
    assert_eq!(escalations[0].routing_key, "coord.escalation");
    assert_eq!(x["body"]["days_overdue"], 1);
    assert_eq!(x["body"]["owner_division"], "340104");

    // Five working days after the deadline (19 March), step 2 — once.
    clock.set(at("2026-03-19T12:00:00+08:00"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        broker.depth("yipanqi.out.coordination").await?,
        0,
        "step 2 is not due before the end of 19 March"
    );
    clock.set(at("2026-03-20T09:00:00+08:00"));
    let mut step2 = Vec::new();
    for _ in 0..100 {
        step2 = broker
            .drain(
                "yipanqi.out.coordination",
                Duration::from_millis(300),
                Duration::from_secs(5),
            )
            .await?;
        if !step2.is_empty() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    step2.extend(
        broker
            .drain(
                "yipanqi.out.coordination",
                Duration::from_millis(300),
                Duration::from_secs(5),
            )
            .await?,
    );
    assert_eq!(step2.len(), 1, "exactly one step-2 escalation");
    assert_eq!(step2[0].json()["body"]["step"], 2);
    assert_eq!(step2[0].json()["body"]["days_overdue"], 6);
    assert_eq!(
        broker
            .drain(
                "yipanqi.out.anhui",
                Duration::from_millis(300),
                Duration::from_secs(5)
            )
            .await?
            .len(),
        1
    );

    // Late answer: closes it as answered late.
    let (_, bytes) = receipt_for(&mut world, "anhui", "340104", &unanswered, clock.now_at());
    broker.publish("anhui", &bytes).await?;
    wait_state(hub, &unanswered.message_id.to_string(), "answered_late").await;

    for hub in hubs {
        hub.stop().await?;
    }
    Ok(())
}

trait NowAt {
    fn now_at(&self) -> DateTime<FixedOffset>;
}

impl NowAt for ManualClock {
    fn now_at(&self) -> DateTime<FixedOffset> {
        yipanqi::clock::Clock::now(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_held_sqlite() -> anyhow::Result<()> {
    deadlines_are_held(Db::Sqlite, 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_held_postgres() -> anyhow::Result<()> {
    deadlines_are_held(Db::Postgres, 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_held_by_two_instances_on_postgres() -> anyhow::Result<()> {
    deadlines_are_held(Db::Postgres, 2).await
}

#[test]
fn the_example_dates_agree() {
    // The dates this test relies on, from DOMAIN.md §5.
    let cal = yipanqi::deadlines::calendar::Calendar::builtin();
    let d = NaiveDate::from_ymd_opt(2026, 2, 13).expect("date");
    assert_eq!(
        cal.add_working_days(d, 15).date,
        NaiveDate::from_ymd_opt(2026, 3, 12).expect("date")
    );
    let deadline = NaiveDate::from_ymd_opt(2026, 3, 12).expect("date");
    assert_eq!(
        cal.add_working_days(deadline, 5).date,
        NaiveDate::from_ymd_opt(2026, 3, 19).expect("date")
    );
}

/// Two scanners on one PostgreSQL database, scanning at the same moment over the same
/// overdue expectations: each step is taken, stored and published exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_scanners_take_each_step_once() -> anyhow::Result<()> {
    use lapin::options::ConfirmSelectOptions;
    use yipanqi::deadlines::{scanner::Scanner, Deadlines};

    let env = TestEnv::new("scanrace", Db::Postgres).await?;
    let clock = Arc::new(ManualClock::new(at("2026-02-13T10:00:00+08:00")));
    let mut c = env.config();
    c.deadlines.scan_interval_secs = 3600; // the hub's own scanner stays out of the way
    let hub = InProcessHub::start_with_clock(c, clock.clone()).await?;
    let broker = env.connect().await?;
    let mut world = World::new();
    const N: usize = 30;
    for _ in 0..N {
        let (_, bytes) = checkup_about(&mut world, "341302", clock.now_at());
        broker.publish("shanghai", &bytes).await?;
    }
    assert_eq!(
        broker
            .take("yipanqi.out.anhui", N, Duration::from_secs(60))
            .await?
            .len(),
        N
    );
    for _ in 0..100 {
        if expectations(&hub, "state=open").await.len() == N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    clock.set(at("2026-03-13T09:00:00+08:00"));

    let registry = Arc::new(Registry::builtin());
    let mut scanners = Vec::new();
    for _ in 0..2 {
        let store = yipanqi::store::Store::connect(&env.database_url).await?;
        let deadlines = Arc::new(Deadlines::new(
            Default::default(),
            yipanqi::deadlines::calendar::Calendar::builtin(),
        ));
        let connection =
            lapin::Connection::connect(&env.amqp_url, lapin::ConnectionProperties::default())
                .await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        scanners.push((
            Scanner::new(store, clock.clone(), deadlines, registry.clone()),
            channel,
            connection,
        ));
    }
    let (a, b) = (&scanners[0], &scanners[1]);
    let (ra, rb) = tokio::join!(a.0.scan(&a.1), b.0.scan(&b.1));
    let (ra, rb) = (ra?, rb?);
    assert_eq!(
        ra.steps + rb.steps,
        N,
        "each expectation's step 1 taken once: {ra:?} {rb:?}"
    );
    let reminders = broker
        .drain(
            "yipanqi.out.anhui",
            Duration::from_millis(500),
            Duration::from_secs(20),
        )
        .await?;
    let escalations = broker
        .drain(
            "yipanqi.out.coordination",
            Duration::from_millis(500),
            Duration::from_secs(20),
        )
        .await?;
    assert_eq!(reminders.len(), N);
    assert_eq!(escalations.len(), N);
    let distinct: std::collections::BTreeSet<_> =
        reminders.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(distinct.len(), N);
    hub.stop().await?;
    Ok(())
}

/// A deadline in a year the calendar does not cover is counted Monday–Friday and
/// flagged; importing that year's schedule (`yipanqi calendar import`) recomputes it.
async fn an_uncovered_year_is_flagged_until_imported(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("uncovered", db).await?;
    let clock = Arc::new(ManualClock::new(at("2026-12-15T10:00:00+08:00")));
    let hub = InProcessHub::start_with_clock(config(&env), clock.clone()).await?;
    let broker = env.connect().await?;
    let mut world = World::new();
    let (msg, bytes) = checkup_about(&mut world, "341302", clock.now_at());
    broker.publish("shanghai", &bytes).await?;
    assert_eq!(
        broker
            .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
            .await?
            .len(),
        1
    );
    // 12 working days left in December, then 1, 4 and 5 January counted as weekdays.
    let e = wait_state(&hub, &msg.message_id.to_string(), "open").await;
    assert_eq!(e["due_at"], "2027-01-05T23:59:59+08:00");
    assert_eq!(e["calendar_uncovered"], true);

    let file = env.dir.join("2027.json");
    std::fs::write(
        &file,
        r#"{"year": 2027, "papers": [], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-02", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-03", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-04", "isOffDay": true}]}"#,
    )?;
    let out = std::process::Command::new(yipanqi_tests::hub_binary())
        .args(["calendar", "import"])
        .arg(&file)
        .env("YIPANQI_DATABASE_URL", &env.database_url)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "imported 2027: 4 days off, 0 make-up working days; 1 open expectation(s) rescheduled"
        ),
        "{stdout}"
    );
    let e = expectation_of(&hub, &msg.message_id.to_string()).await;
    assert_eq!(e["due_at"], "2027-01-07T23:59:59+08:00");
    assert_eq!(e["calendar_uncovered"], false);
    // The running hub picks the year up too: a new message is no longer flagged.
    clock.set(at("2026-12-16T10:00:00+08:00"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (later, bytes) = checkup_about(&mut world, "341302", clock.now_at());
    broker.publish("shanghai", &bytes).await?;
    assert_eq!(
        broker
            .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
            .await?
            .len(),
        1
    );
    let e = wait_state(&hub, &later.message_id.to_string(), "open").await;
    assert_eq!(e["calendar_uncovered"], false);
    assert_eq!(e["due_at"], "2027-01-08T23:59:59+08:00");
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncovered_year_is_flagged_until_imported_sqlite() -> anyhow::Result<()> {
    an_uncovered_year_is_flagged_until_imported(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncovered_year_is_flagged_until_imported_postgres() -> anyhow::Result<()> {
    an_uncovered_year_is_flagged_until_imported(Db::Postgres).await
}
