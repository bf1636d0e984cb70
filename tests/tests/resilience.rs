//! The hub against an unfriendly world: it starts before the broker and the database
//! exist and waits for them (not ready meanwhile), comes back after the broker drops its
//! connections, and refuses, naming the object, a queue declared with other arguments.

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use yipanqi_tests::{http_get, http_get_as, valid_fixtures, wait_ready, Db, InProcessHub, TestEnv};

fn rabbitmqctl(args: &[&str]) {
    let status = std::process::Command::new("rabbitmqctl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("rabbitmqctl");
    assert!(status.success(), "rabbitmqctl {args:?}");
}

async fn readiness(addr: std::net::SocketAddr) -> (u16, Value) {
    match http_get(addr, "/health/ready").await {
        Ok((status, body)) => (status, serde_json::from_str(&body).unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_declared_with_other_arguments_is_named() -> anyhow::Result<()> {
    let env = TestEnv::new("conflict", Db::Sqlite).await?;
    let conn = Connection::connect(&env.amqp_url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-max-length"),
        AMQPValue::LongLongInt(10),
    );
    channel
        .queue_declare(
            "yipanqi.in.anhui".into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await?;
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        yipanqi::hub::run(
            env.config(),
            Arc::new(yipanqi_adapters::Registry::builtin()),
            Arc::new(yipanqi::clock::SystemClock),
            CancellationToken::new(),
        ),
    )
    .await
    .expect("the hub stops instead of retrying a configuration problem");
    let err = format!("{:#}", result.expect_err("the hub refuses to run"));
    assert!(err.contains("queue yipanqi.in.anhui"), "{err}");
    assert!(err.contains("other arguments"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_waits_for_the_database_and_the_broker() -> anyhow::Result<()> {
    let env = TestEnv::new("waiting", Db::Postgres).await?;
    // Neither exists yet: the database is dropped, the vhost deleted.
    let db_name = env
        .database_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    drop_database(&db_name).await?;
    rabbitmqctl(&["delete_vhost", &env.vhost]);

    let config = env.config();
    let addr = config.http_addr;
    let cancel = CancellationToken::new();
    let hub = tokio::spawn(yipanqi::hub::run(
        config,
        Arc::new(yipanqi_adapters::Registry::builtin()),
        Arc::new(yipanqi::clock::SystemClock),
        cancel.clone(),
    ));
    let start = Instant::now();
    let (status, body) = loop {
        let r = readiness(addr).await;
        if r.0 != 0 || start.elapsed() > Duration::from_secs(20) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["database"], "unreachable");
    assert_eq!(body["checks"]["broker"], "disconnected");

    create_database(&db_name).await?;
    let start = Instant::now();
    loop {
        let (_, body) = readiness(addr).await;
        if body["checks"]["database"] == "answering" {
            assert_eq!(body["checks"]["broker"], "disconnected");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the hub never connected to the database: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rabbitmqctl(&["add_vhost", &env.vhost]);
    rabbitmqctl(&[
        "set_permissions",
        "-p",
        &env.vhost,
        "guest",
        ".*",
        ".*",
        ".*",
    ]);
    wait_ready(addr, Duration::from_secs(60)).await?;

    // And it works: a document goes through.
    let broker = env.connect().await?;
    let (_, bytes, expected) = valid_fixtures("shanghai")
        .into_iter()
        .find(|(n, _, _)| n.contains("checkup"))
        .expect("fixture");
    broker.publish("shanghai", &bytes).await?;
    let owner = expected[0]["subject"]["registration_division"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let queue = queue_for(&owner);
    let got = broker.take(&queue, 1, Duration::from_secs(30)).await?;
    assert_eq!(got.len(), 1, "delivered to {queue}");
    cancel.cancel();
    hub.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_reconnects_when_the_broker_drops_it() -> anyhow::Result<()> {
    let env = TestEnv::new("reconnect", Db::Sqlite).await?;
    let hub = InProcessHub::start(env.config()).await?;
    rabbitmqctl(&[
        "close_all_connections",
        "-p",
        &env.vhost,
        "test: broker restart",
    ]);
    let start = Instant::now();
    let mut saw_not_ready = false;
    while start.elapsed() < Duration::from_secs(10) {
        let (status, _) = readiness(hub.http).await;
        if status == 503 {
            saw_not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        saw_not_ready,
        "/health/ready turned 503 while the connection was gone"
    );
    hub.wait_ready(Duration::from_secs(60)).await?;

    let broker = env.connect().await?;
    let (_, bytes, expected) = valid_fixtures("anhui")
        .into_iter()
        .find(|(n, _, _)| n.contains("checkup"))
        .expect("fixture");
    broker.publish("anhui", &bytes).await?;
    let owner = expected[0]["subject"]["registration_division"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let got = broker
        .take(&queue_for(&owner), 1, Duration::from_secs(30))
        .await?;
    assert_eq!(got.len(), 1, "delivered after the reconnect");
    hub.stop().await?;
    Ok(())
}

fn queue_for(division: &str) -> String {
    let name = match &division[..2] {
        "31" => "shanghai",
        "32" => "jiangsu",
        "33" => "zhejiang",
        "34" => "anhui",
        "36" => "jiangxi",
        "41" => "henan",
        "42" => "hubei",
        _ => "padis",
    };
    format!("yipanqi.out.{name}")
}

async fn admin() -> anyhow::Result<sqlx::PgConnection> {
    use sqlx::Connection as _;
    Ok(sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await?)
}

async fn drop_database(name: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin().await?)
        .await?;
    Ok(())
}

async fn create_database(name: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin().await?)
        .await?;
    Ok(())
}

/// Anhui's fixture `name`, as JSON to vary.
fn anhui_fixture(name: &str) -> Value {
    let (_, bytes, _) = valid_fixtures("anhui")
        .into_iter()
        .find(|(n, ..)| n == name)
        .expect("the fixture exists");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Makes the test's database refuse any document whose bytes hold `marker`, as a
/// database might refuse something the hub did not foresee.
async fn refuse_documents_holding(env: &TestEnv, db: Db, marker: &str) -> anyhow::Result<()> {
    let store = yipanqi::store::Store::connect(&env.database_url).await?;
    let statements: Vec<String> = match db {
        Db::Sqlite => vec![format!(
            "CREATE TRIGGER test_refuses BEFORE INSERT ON documents \
             WHEN instr(CAST(NEW.raw AS TEXT), '{marker}') > 0 \
             BEGIN SELECT RAISE(ABORT, 'the test database refuses this document'); END"
        )],
        Db::Postgres => vec![
            format!(
                "CREATE FUNCTION test_refuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF position(convert_to('{marker}', 'UTF8') in NEW.raw) > 0 THEN \
                 RAISE EXCEPTION 'the test database refuses this document'; END IF; \
                 RETURN NEW; END; $$"
            ),
            "CREATE TRIGGER test_refuses BEFORE INSERT ON documents FOR EACH ROW \
             EXECUTE FUNCTION test_refuses()"
                .to_string(),
        ],
    };
    for sql in statements {
        sqlx::raw_sql(&sql).execute(store.pool()).await?;
    }
    Ok(())
}

/// Documents that once stopped a province, or the whole hub, arriving in one batch: a
/// 300 KB legacy id (once copied into a header larger than the broker's frame), a NUL
/// (which PostgreSQL cannot store), the same bytes twice, and a document the database
/// refuses. Each is rejected or delivered once, the rest of the batch goes through, the
/// queue keeps flowing and the hub stays connected.
async fn hostile_documents_never_stall_a_province(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("hostile", db).await?;
    let marker = "REFUSE-ME-7319";
    refuse_documents_holding(&env, db, marker).await?;

    let valid = anhui_fixture("icd_sample_checkup_result.json");
    let mut long_id = valid.clone();
    long_id["bwbh"] = Value::String(format!("AH{}", "9".repeat(300_000)));
    long_id["ywlx"] = Value::String("ZZZ".into());
    let mut nul_id = valid.clone();
    nul_id["bwbh"] = Value::String("AH340104202611030\u{0}8899".into());
    let mut refused = anhui_fixture("marriage_cert_verified.json");
    refused["ryxx"]["xm"] = Value::String(format!("王{marker}"));
    let later = anhui_fixture("migration_notice_move.json");
    let bytes = |v: &Value| serde_json::to_vec(v).expect("JSON");
    let valid_id = yipanqi_schemas::canonical_message_id(
        "34",
        valid["bwbh"].as_str().unwrap_or_default(),
        0,
    );
    let later_id = yipanqi_schemas::canonical_message_id(
        "34",
        later["bwbh"].as_str().unwrap_or_default(),
        0,
    );

    // Everything waits in the queue before the hub starts: one batch.
    let broker = env.connect().await?;
    let topology = InProcessHub::start(env.config()).await?;
    topology.stop().await?;
    for doc in [&long_id, &nul_id, &valid, &valid] {
        broker.publish("anhui", &bytes(doc)).await?;
    }
    let hub = InProcessHub::start(env.config()).await?;
    let dead = broker.take("yipanqi.dead", 2, Duration::from_secs(30)).await?;
    let reason = |d: &yipanqi_tests::Received| d.headers.get("x-yipanqi-reason").cloned().unwrap_or_default();
    assert_eq!(dead.iter().map(reason).collect::<Vec<_>>(), ["unknown_kind", "schema_violation"], "{dead:#?}");
    assert!(dead.iter().all(|d| d.headers.values().all(|v| v.len() <= 1024)), "headers are bounded");
    assert_eq!(dead[0].body.len(), bytes(&long_id).len(), "the original bytes are kept");
    // Neither names itself usably, so both rejections have the id DOMAIN.md §3 gives a
    // document without one; the document header tells them apart.
    assert_eq!(dead[0].message_id, dead[1].message_id);
    let document = |d: &yipanqi_tests::Received| d.headers.get("x-yipanqi-document").cloned();
    assert!(document(&dead[0]).is_some());
    assert_ne!(document(&dead[0]), document(&dead[1]));
    let notices = broker.take("yipanqi.out.anhui", 2, Duration::from_secs(10)).await?;
    assert!(notices.iter().all(|n| n.json()["kind"] == "rejection"), "{notices:#?}");
    // The valid document, sent twice in the batch, is delivered once.
    let mut copies = Vec::new();
    for p in yipanqi_tests::PROVINCES.iter().filter(|p| **p != "anhui") {
        let got = broker
            .drain(&format!("yipanqi.out.{p}"), Duration::from_millis(300), Duration::from_secs(5))
            .await?;
        copies.extend(got.into_iter().filter(|m| m.message_id.as_deref() == Some(valid_id.to_string().as_str())));
    }
    assert_eq!(copies.len(), 1, "delivered once: {copies:#?}");

    // A document the database refuses, then another: the first goes to the dead letters
    // unstored, with a notice to Anhui; the second is taken as usual.
    broker.publish("anhui", &bytes(&refused)).await?;
    let dead = broker.take("yipanqi.dead", 1, Duration::from_secs(30)).await?;
    assert_eq!(reason(&dead[0]), "malformed");
    assert!(
        dead[0].headers.get("x-yipanqi-detail").is_some_and(|d| d.contains("refused to store")),
        "{:?}",
        dead[0].headers
    );
    let notice = broker.take("yipanqi.out.anhui", 1, Duration::from_secs(10)).await?;
    assert_eq!(notice[0].json()["body"]["reason"], "malformed");

    // The queue keeps flowing, and the hub never lost its connection.
    broker.publish("anhui", &bytes(&later)).await?;
    let start = Instant::now();
    loop {
        let (status, _) = http_get_as(hub.http, &format!("/api/messages/{later_id}"), "ops").await?;
        if status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the next document was not taken");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(broker.depth("yipanqi.in.anhui").await?, 0);
    let (status, _) = readiness(hub.http).await;
    assert_eq!(status, 200);
    let (_, metrics) = http_get(hub.http, "/metrics").await?;
    assert!(
        !metrics.lines().any(|l| l.starts_with("yipanqi_reconnects_total") && !l.ends_with(" 0")),
        "no reconnect: {}",
        metrics.lines().filter(|l| l.contains("reconnects")).collect::<Vec<_>>().join("\n")
    );
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_never_stall_a_province_sqlite() -> anyhow::Result<()> {
    hostile_documents_never_stall_a_province(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_never_stall_a_province_postgres() -> anyhow::Result<()> {
    hostile_documents_never_stall_a_province(Db::Postgres).await
}

/// Slow and idle HTTP clients cannot starve the hub's pages: connections that never
/// finish their headers are closed after the header timeout, one address cannot hold
/// more than its share, and another address is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_http_clients_do_not_starve_the_pages() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = TestEnv::new("slowloris", Db::Sqlite).await?;
    let hub = InProcessHub::start(env.config()).await?;
    // From 127.0.0.1: more stalled connections than one address may hold.
    let mut stalled = Vec::new();
    for _ in 0..(yipanqi::api::MAX_CONNECTIONS_PER_PEER + 16) {
        let mut s = tokio::net::TcpStream::connect(hub.http).await?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await?;
        stalled.push(s);
    }
    // Another address (the loopback network is all local) is served at once.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.2:0".parse()?)?;
    let mut other = socket.connect(hub.http).await?;
    other
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), other.read_to_end(&mut answer))
        .await
        .expect("another address is answered while one stalls")?;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // The stalled ones are closed once the header timeout passes.
    let started = Instant::now();
    let mut closed = 0;
    for s in &mut stalled {
        let mut buf = [0u8; 512];
        let left = (yipanqi::api::HEADER_READ_TIMEOUT + Duration::from_secs(5)).saturating_sub(started.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, stalled.len(), "every stalled connection was closed by the hub");
    // And 127.0.0.1 is served again.
    let (status, _) = http_get(hub.http, "/health/ready").await?;
    assert_eq!(status, 200);
    hub.stop().await?;
    Ok(())
}
