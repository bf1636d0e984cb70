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
use yipanqi_tests::{http_get, valid_fixtures, wait_ready, Db, InProcessHub, TestEnv};

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
