//! Support for the end-to-end tests: each test gets its own RabbitMQ vhost and its own
//! database (an SQLite file or a fresh PostgreSQL database), runs the real hub against
//! them, publishes legacy documents and reads what lands on the queues.
//!
//! Needs RabbitMQ on 127.0.0.1:5672 (guest/guest, `rabbitmqctl` on the PATH to make
//! vhosts) and PostgreSQL on 127.0.0.1:5432 with trust auth; `.ci/run` starts both.

use anyhow::{bail, Context};
use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use yipanqi::access::{tokens, ClientConfig, Role};
use yipanqi::clock::Clock;
use yipanqi::config::Config;

pub mod ops;
pub mod world;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// An SQLite file in the test's folder.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A test's private broker vhost and database.
pub struct TestEnv {
    /// The test's name (vhost and database are named after it).
    pub name: String,
    /// AMQP URL into the test's vhost.
    pub amqp_url: String,
    /// The test's database URL.
    pub database_url: String,
    /// The test's folder for files and logs.
    pub dir: PathBuf,
    /// The vhost.
    pub vhost: String,
}

/// A short tag of this checkout's folder, in every vhost and database name: two
/// checkouts testing on one machine never delete each other's.
pub fn checkout_tag() -> String {
    // FNV-1a over the path: stable across runs, no dependency.
    let mut hash: u32 = 0x811c_9dc5;
    for b in workspace_root().to_string_lossy().bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{:06x}", hash & 0xff_ffff)
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The built `yipanqi` binary (the test command builds it first).
pub fn hub_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/yipanqi
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps");
    profile_dir.join("yipanqi")
}

/// Runs `rabbitmqctl` with these arguments; its error output becomes the error.
pub fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("rabbitmqctl is not on the PATH")?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl TestEnv {
    /// A fresh vhost (deleted and made again, so nothing is left from an earlier run)
    /// and a fresh database.
    pub async fn new(name: &str, db: Db) -> anyhow::Result<TestEnv> {
        let suffix = match db {
            Db::Sqlite => "sqlite",
            Db::Postgres => "pg",
        };
        let name = format!("{name}_{suffix}");
        let vhost = format!("yipanqi-test-{}-{name}", checkout_tag());
        let _ = rabbitmqctl(&["delete_vhost", &vhost]);
        rabbitmqctl(&["add_vhost", &vhost])?;
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"])?;
        let amqp_url = format!("amqp://guest:guest@127.0.0.1:5672/{vhost}");
        let dir = workspace_root()
            .join("target")
            .join("test-output")
            .join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.join("hub.db").display()),
            Db::Postgres => fresh_postgres(&format!("yq_{}_{name}", checkout_tag())).await?,
        };
        // The API clients of every test hub, for hub processes (in-process hubs get them
        // in `config()`).
        #[derive(serde::Serialize)]
        struct ClientsFile {
            clients: Vec<ClientConfig>,
        }
        std::fs::write(
            dir.join("clients.toml"),
            toml::to_string(&ClientsFile {
                clients: test_clients(),
            })?,
        )?;
        Ok(TestEnv {
            name,
            amqp_url,
            database_url,
            dir,
            vhost,
        })
    }

    /// The hub's configuration for this environment, on a free local port.
    pub fn config(&self) -> Config {
        Config {
            amqp_url: self.amqp_url.clone(),
            database_url: self.database_url.clone(),
            http_addr: free_addr(),
            batch_linger_ms: 5,
            reconnect_max_secs: 2,
            shutdown_grace_secs: 10,
            access: yipanqi::access::AccessSettings {
                clients: test_clients(),
                ..Default::default()
            },
            ..Config::default()
        }
    }

    /// The clients file of every test hub (`YIPANQI_CLIENTS_FILE` for hub processes).
    pub fn clients_file(&self) -> PathBuf {
        self.dir.join("clients.toml")
    }

    /// A connection to the test's vhost.
    pub async fn connect(&self) -> anyhow::Result<Broker> {
        Self::connect_url(&self.amqp_url).await
    }

    /// A connection to the test's vhost as another broker user.
    pub async fn connect_as(&self, user: &str, password: &str) -> anyhow::Result<Broker> {
        Self::connect_url(&self.amqp_url_as(user, password)).await
    }

    /// The AMQP URL of the test's vhost for another broker user.
    pub fn amqp_url_as(&self, user: &str, password: &str) -> String {
        let encode = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    other => format!("%{other:02X}"),
                })
                .collect::<String>()
        };
        format!(
            "amqp://{}:{}@127.0.0.1:5672/{}",
            encode(user),
            encode(password),
            encode(&self.vhost)
        )
    }

    async fn connect_url(url: &str) -> anyhow::Result<Broker> {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .context("cannot connect to the test vhost")?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Broker {
            connection,
            channel,
        })
    }
}

async fn fresh_postgres(db: &str) -> anyhow::Result<String> {
    use sqlx::Connection as _;
    let admin = "postgres://postgres@127.0.0.1:5432/postgres";
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .context("cannot reach PostgreSQL on 127.0.0.1:5432")?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await?;
    Ok(format!("postgres://postgres@127.0.0.1:5432/{db}"))
}

/// A free port on the loopback interface.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address")
}

/// A test's own connection to the broker, with a confirming channel.
pub struct Broker {
    /// The connection.
    pub connection: Connection,
    /// A channel in confirm mode.
    pub channel: Channel,
}

/// A message read from a queue.
#[derive(Debug, Clone)]
pub struct Received {
    /// The routing key it was published with.
    pub routing_key: String,
    /// Body.
    pub body: Vec<u8>,
    /// AMQP message id.
    pub message_id: Option<String>,
    /// AMQP correlation id.
    pub correlation_id: Option<String>,
    /// Header values (string ones).
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Broker {
    /// Publishes a legacy document to a province's inbound exchange and waits for the confirm.
    pub async fn publish(&self, province: &str, body: &[u8]) -> anyhow::Result<()> {
        self.channel
            .basic_publish(
                format!("yipanqi.in.{province}").as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        Ok(())
    }

    /// How many messages a queue holds.
    pub async fn depth(&self, queue: &str) -> anyhow::Result<u32> {
        let channel = self.connection.create_channel().await?;
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let _ = channel.close(200, "ok".into()).await;
        Ok(q.message_count())
    }

    /// Takes every message from a queue until it has been empty for `quiet`, or `limit` passed.
    pub async fn drain(
        &self,
        queue: &str,
        quiet: Duration,
        limit: Duration,
    ) -> anyhow::Result<Vec<Received>> {
        let start = Instant::now();
        let mut last = Instant::now();
        let mut out = Vec::new();
        while start.elapsed() < limit {
            match self
                .channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await?
            {
                Some(m) => {
                    out.push(received(m));
                    last = Instant::now();
                }
                None => {
                    if last.elapsed() >= quiet {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Ok(out)
    }

    /// Takes at least `min` messages (waiting up to `limit`), then everything that follows
    /// until the queue has been empty for `quiet`.
    pub async fn take_settled(
        &self,
        queue: &str,
        min: usize,
        quiet: Duration,
        limit: Duration,
    ) -> anyhow::Result<Vec<Received>> {
        let mut out = self.take(queue, min, limit).await?;
        out.extend(self.drain(queue, quiet, limit).await?);
        Ok(out)
    }

    /// Takes messages from a queue until `n` have arrived or `limit` passed.
    pub async fn take(
        &self,
        queue: &str,
        n: usize,
        limit: Duration,
    ) -> anyhow::Result<Vec<Received>> {
        let start = Instant::now();
        let mut out = Vec::new();
        while out.len() < n && start.elapsed() < limit {
            match self
                .channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await?
            {
                Some(m) => out.push(received(m)),
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        Ok(out)
    }
}

fn received(m: BasicGetMessage) -> Received {
    let d = m.delivery;
    let headers = d
        .properties
        .headers()
        .as_ref()
        .map(|h| {
            h.inner()
                .iter()
                .filter_map(|(k, v)| v.as_long_string().map(|s| (k.to_string(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Received {
        routing_key: d.routing_key.to_string(),
        message_id: d.properties.message_id().as_ref().map(|s| s.to_string()),
        correlation_id: d
            .properties
            .correlation_id()
            .as_ref()
            .map(|s| s.to_string()),
        body: d.data,
        headers,
    }
}

/// The hub running in this process.
pub struct InProcessHub {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Its HTTP address.
    pub http: SocketAddr,
}

impl InProcessHub {
    /// Starts the hub with the built-in mappings and waits until it is ready.
    pub async fn start(config: Config) -> anyhow::Result<InProcessHub> {
        Self::start_with_clock(config, Arc::new(yipanqi::clock::SystemClock)).await
    }

    /// Starts the hub with a given clock and waits until it is ready.
    pub async fn start_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<InProcessHub> {
        let registry = Arc::new(yipanqi_adapters::Registry::builtin());
        let cancel = CancellationToken::new();
        let http = config.http_addr;
        let handle = tokio::spawn(yipanqi::hub::run(config, registry, clock, cancel.clone()));
        let hub = InProcessHub {
            cancel,
            handle,
            http,
        };
        hub.wait_ready(Duration::from_secs(60)).await?;
        Ok(hub)
    }

    /// Waits until `/health/ready` answers 200.
    pub async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        wait_ready(self.http, limit).await
    }

    /// Stops the hub gracefully and returns what it returned.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        self.handle.await.context("hub task panicked")?
    }
}

/// Waits until the hub at `addr` answers 200 on `/health/ready`.
pub async fn wait_ready(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        if let Ok((200, _)) = http_get(addr, "/health/ready").await {
            return Ok(());
        }
        if start.elapsed() > limit {
            let last = http_get(addr, "/health/ready").await;
            bail!("hub not ready within {limit:?}: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The API token of a test client: `who` is a province's pinyin name, `coordination`
/// or `ops`. Tokens never appear in logs: the log tests grep for them.
pub fn token(who: &str) -> String {
    format!("yq_test_{who}_7f3a9c0d41e2b85a")
}

/// The API clients every test hub knows: one per province, the coordination group, ops.
pub fn test_clients() -> Vec<ClientConfig> {
    let mut clients: Vec<ClientConfig> = PROVINCES
        .iter()
        .map(|p| ClientConfig {
            name: format!("{p}-test"),
            role: Role::Province,
            province: Some(p.to_string()),
            token_sha256: tokens::hash(&token(p)),
        })
        .collect();
    for (who, role) in [("coordination", Role::Coordination), ("ops", Role::Ops)] {
        clients.push(ClientConfig {
            name: format!("{who}-test"),
            role,
            province: None,
            token_sha256: tokens::hash(&token(who)),
        });
    }
    clients
}

/// A GET with a test client's bearer token: status and body.
pub async fn http_get_as(addr: SocketAddr, path: &str, who: &str) -> anyhow::Result<(u16, String)> {
    let auth = format!("Bearer {}", token(who));
    let response = http_request(addr, "GET", path, &[("Authorization", &auth)], None).await?;
    Ok((response.status, response.text()))
}

/// A minimal HTTP/1.1 GET: status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let response = http_request(addr, "GET", path, &[], None).await?;
    Ok((response.status, String::from_utf8_lossy(&response.body).to_string()))
}

/// An HTTP response as a test reads it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body bytes (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    /// The value of a header (case-insensitive name), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP/1.1 request on a fresh connection. The body is read by its
/// `Content-Length` (or chunk by chunk), not to the end of the stream: some servers
/// (chromedriver) keep the connection open whatever the request says.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> anyhow::Result<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    if let Some(body) = body {
        stream.write_all(body).await?;
    }
    let mut buf = Vec::new();
    let split = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the connection closed before the headers ended");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut rest = buf[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let mut response = HttpResponse {
        status,
        head,
        body: Vec::new(),
    };
    let length = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if let Some(length) = length {
        while rest.len() < length {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the connection closed {} bytes into a {length}-byte body", rest.len());
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(length);
        response.body = rest;
    } else {
        stream.read_to_end(&mut rest).await?;
        response.body = if chunked { dechunk(&rest)? } else { rest };
    }
    Ok(response)
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("a hexadecimal chunk size")?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        anyhow::ensure!(raw.len() >= size + 2, "a truncated chunk");
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// A province's fixture inputs with the expectation file of each that has one with
/// `suffix` ("expected" or "rejected"): (file name, bytes, expectation JSON).
fn fixtures_with(province: &str, suffix: &str) -> Vec<(String, Vec<u8>, serde_json::Value)> {
    let dir = workspace_root()
        .join("mappings")
        .join(province)
        .join("fixtures");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            if name.ends_with(".expected.json") || name.ends_with(".rejected.json") {
                return None;
            }
            let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
            let expectation =
                std::fs::read_to_string(dir.join(format!("{stem}.{suffix}.json"))).ok()?;
            let value = serde_json::from_str(&expectation).ok()?;
            Some((name, std::fs::read(&path).ok()?, value))
        })
        .collect()
}

/// The golden fixtures of a province: (file name, bytes, expected JSON) for each valid one.
pub fn valid_fixtures(province: &str) -> Vec<(String, Vec<u8>, serde_json::Value)> {
    fixtures_with(province, "expected")
}

/// The failing fixtures of a province: (file name, bytes, expected rejection JSON).
pub fn failing_fixtures(province: &str) -> Vec<(String, Vec<u8>, serde_json::Value)> {
    fixtures_with(province, "rejected")
}

/// The seven launch provinces.
pub const PROVINCES: [&str; 7] = [
    "shanghai", "jiangsu", "zhejiang", "anhui", "jiangxi", "henan", "hubei",
];
