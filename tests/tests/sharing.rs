//! Information sharing end to end, on the real broker and both databases, with the
//! broker set up from `yipanqi topology --definitions` (least-privilege users) and the
//! hub itself connecting as its own user:
//!
//! - traffic about W (registered in Anhui 341302, living in Shanghai 310104) in three
//!   provinces' formats — a check result, a 《婚育证明》 issued and verified, an honor
//!   certificate request from her husband H's registration place in Jiangsu — and about
//!   an unrelated woman U (Hubei / Henan);
//! - W's residence (Shanghai) and registration (Anhui) provinces get her profile, with
//!   the right facts and the message each came from, by her 18- or 15-digit number;
//!   Jiangsu, her husband's registration place, only once another province (Anhui's
//!   consult) has said so, not on its own word; Hubei is refused (403, not_entitled) —
//!   also after claiming she lives in Hubei — the coordination group and ops too
//!   (role_not_permitted), no token is 401;
//! - the same profile over AMQP to Shanghai's broker user (direct reply-to and its own
//!   reply queue); a query claiming another province's user is refused by the broker,
//!   one without a user by the hub; a reply_to naming another province's queue is never
//!   answered;
//! - 《婚育证明》 lists in full for a province, masked for the coordination group;
//!   traces, expectations and reports within each role;
//! - every lookup in the audit (keyed hashes only), `yipanqi audit --id-number` finds
//!   hers, the audit report counts them, and the database refuses to change a row;
//! - the hub's log holds no ID number, name, token or password that the test used.

use base64::Engine as _;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::BasicProperties;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use yipanqi_schemas::{CanonicalMessage, Kind};
use yipanqi_tests::ops::HubProcess;
use yipanqi_tests::world::World;
use yipanqi_tests::{
    hub_binary, http_get, http_get_as, http_request, rabbitmqctl, test_clients, token, wait_ready,
    Broker, Db, TestEnv, PROVINCES,
};

/// Broker users of one test: global on the broker, so each test has its own prefix.
struct BrokerUsers {
    prefix: String,
    passwords: BTreeMap<String, String>,
}

impl BrokerUsers {
    fn user(&self, party: &str) -> String {
        format!("{}{party}", self.prefix)
    }

    fn password(&self, party: &str) -> &str {
        self.passwords.get(party).map(String::as_str).unwrap_or_default()
    }

    async fn connect(&self, env: &TestEnv, party: &str) -> anyhow::Result<Broker> {
        env.connect_as(&self.user(party), self.password(party)).await
    }
}

impl Drop for BrokerUsers {
    fn drop(&mut self) {
        for party in self.passwords.keys() {
            let _ = rabbitmqctl(&["delete_user", &format!("{}{party}", self.prefix)]);
        }
    }
}

/// Writes the definitions with the hub's own command and imports them into the test's
/// vhost; waits until Anhui's user can log in (the import is asynchronous).
async fn import_definitions(env: &TestEnv, prefix: &str) -> anyhow::Result<BrokerUsers> {
    let passwords_file = env.dir.join("broker-passwords.toml");
    let definitions = env.dir.join("definitions.json");
    let out = std::process::Command::new(hub_binary())
        .args(["topology", "--definitions", "--vhost", &env.vhost, "--passwords"])
        .arg(&passwords_file)
        .arg("--out")
        .arg(&definitions)
        .env("YIPANQI_BROKER_USER_PREFIX", prefix)
        .env("RUST_LOG", "off")
        .output()?;
    anyhow::ensure!(out.status.success(), "topology: {}", String::from_utf8_lossy(&out.stderr));
    let passwords: BTreeMap<String, String> =
        toml::from_str(&std::fs::read_to_string(&passwords_file)?)?;
    let users = BrokerUsers {
        prefix: prefix.to_string(),
        passwords,
    };
    // Through standard input: Debian's rabbitmqctl runs as the rabbitmq user, who may not
    // read files under the checkout (a clone in a private temporary folder, say).
    let mut import = std::process::Command::new("rabbitmqctl")
        .arg("import_definitions")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = import.stdin.take() {
        use std::io::Write as _;
        stdin.write_all(&std::fs::read(&definitions)?)?;
    }
    let out = import.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "rabbitmqctl import_definitions (standard input): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    while users.connect(env, "anhui").await.is_err() {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(20), "the definitions were not imported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(users)
}

/// Where a query's answer should come back.
enum ReplyTo<'a> {
    /// RabbitMQ's direct reply-to.
    Direct,
    /// A named queue, read after the query.
    Queue(&'a str),
}

/// Publishes a query to `yipanqi.query` and returns the answer (or `None` if none came
/// within a few seconds).
async fn ask(
    broker: &Broker,
    user_id: Option<&str>,
    reply: ReplyTo<'_>,
    query: &Value,
    correlation: &str,
) -> anyhow::Result<Option<Value>> {
    ask_within(broker, user_id, reply, query, correlation, Duration::from_secs(8)).await
}

/// [`ask`], waiting at most `wait` for the answer.
async fn ask_within(
    broker: &Broker,
    user_id: Option<&str>,
    reply: ReplyTo<'_>,
    query: &Value,
    correlation: &str,
    wait: Duration,
) -> anyhow::Result<Option<Value>> {
    let channel = broker.connection.create_channel().await?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await?;
    let reply_to = match reply {
        ReplyTo::Direct => "amq.rabbitmq.reply-to".to_string(),
        ReplyTo::Queue(q) => q.to_string(),
    };
    let mut consumer = channel
        .basic_consume(
            reply_to.as_str().into(),
            format!("asker-{correlation}").as_str().into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let mut props = BasicProperties::default()
        .with_reply_to(reply_to.as_str().into())
        .with_correlation_id(correlation.into())
        .with_content_type("application/json".into());
    if let Some(u) = user_id {
        props = props.with_user_id(u.into());
    }
    channel
        .basic_publish(
            "yipanqi.query".into(),
            "".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(query)?,
            props,
        )
        .await?
        .await?;
    let answer = match tokio::time::timeout(wait, consumer.next()).await {
        Ok(Some(delivery)) => {
            let delivery = delivery?;
            assert_eq!(
                delivery.properties.correlation_id().as_ref().map(|c| c.to_string()).as_deref(),
                Some(correlation),
                "the answer carries the query's correlation_id"
            );
            Some(serde_json::from_slice(&delivery.data)?)
        }
        Ok(None) | Err(_) => None,
    };
    let _ = channel.close(200, "done".into()).await;
    Ok(answer)
}

/// Publishes a query with a `reply_to` of the test's choosing, without waiting for an
/// answer, and waits until the hub has taken it from `yipanqi.query`.
async fn send_and_see_taken(
    asker: &Broker,
    guest: &Broker,
    user_id: &str,
    reply_to: &str,
    query: &Value,
) -> anyhow::Result<()> {
    let channel = asker.connection.create_channel().await?;
    channel
        .basic_publish(
            "yipanqi.query".into(),
            "".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(query)?,
            BasicProperties::default()
                .with_reply_to(reply_to.into())
                .with_user_id(user_id.into()),
        )
        .await?;
    let start = Instant::now();
    while guest.depth("yipanqi.query").await? > 0 {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(10), "the query to {reply_to} was not taken");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn profile_query(id: &str) -> Value {
    json!({ "schema": "yipanqi/1", "query": "profile", "id_number": id })
}

fn without_as_of(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("as_of");
    }
    v
}

/// Waits until every message is stored and each of its copies confirmed by the broker.
async fn wait_delivered(hub: std::net::SocketAddr, messages: &[&CanonicalMessage]) -> anyhow::Result<()> {
    let start = Instant::now();
    for m in messages {
        loop {
            let (status, body) =
                http_get_as(hub, &format!("/api/messages/{}", m.message_id), "ops").await?;
            if status == 200 {
                let trace: Value = serde_json::from_str(&body)?;
                let routes = trace["routes"].as_array().cloned().unwrap_or_default();
                if !routes.is_empty() && routes.iter().all(|r| r["confirmed_at"].is_string()) {
                    break;
                }
            }
            anyhow::ensure!(start.elapsed() < Duration::from_secs(60), "{} {} not delivered", m.kind, m.message_id);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn get(hub: std::net::SocketAddr, path: &str, who: &str) -> anyhow::Result<(u16, Value)> {
    let (status, body) = http_get_as(hub, path, who).await?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

async fn information_is_shared_only_with_those_entitled(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("sharing", db).await?;
    let prefix = format!("{}-", env.vhost);
    let users = import_definitions(&env, &prefix).await?;
    let hub = HubProcess::start(
        &env,
        "hub.log",
        &[
            ("YIPANQI_AMQP_URL", &env.amqp_url_as(&users.user("hub"), users.password("hub"))),
            ("YIPANQI_BROKER_USER_PREFIX", &prefix),
        ],
    )?;
    wait_ready(hub.http, Duration::from_secs(60)).await?;

    // ---- Traffic about W and U, each province publishing as its own broker user. ----
    let mut world = World::new();
    // W born in the 1900s, so that her number has a 15-digit legacy form.
    let w = loop {
        let w = world.woman("341302", "310104");
        if w["id_number"].as_str().is_some_and(|id| &id[6..8] == "19") {
            break w;
        }
    };
    let w_id = w["id_number"].as_str().unwrap_or_default().to_string();
    let w_id15 = format!("{}{}", &w_id[..6], &w_id[8..17]);
    let h = world.synth.person("320102", Some("310104"), false);
    let u = world.woman("420102", "410102");
    let now = chrono::Utc::now().with_timezone(&yipanqi::clock::beijing_offset());
    let (checkup, checkup_bytes) = world.message("shanghai", "310104", Kind::CheckupResult, &w, now);
    let (issued, issued_bytes) = world.message("anhui", "341302", Kind::MarriageCertIssued, &w, now);
    let (verified, verified_bytes) = {
        let (mut m, _) = world.message("shanghai", "310104", Kind::MarriageCertVerified, &w, now);
        m.body.cert_no = issued.body.cert_no.clone();
        let registry = yipanqi_adapters::Registry::builtin();
        let bytes = registry
            .get("shanghai")
            .expect("shanghai")
            .render(std::slice::from_ref(&m), &yipanqi_adapters::RenderOptions { variant: 0 })
            .expect("render");
        (m, bytes)
    };
    let (honor, honor_bytes) =
        world.couple_message("jiangsu", "320102", Kind::HonorCertRequest, &h, Some(&w), now);
    let (other, other_bytes) = world.message("henan", "410102", Kind::CheckupResult, &u, now);
    // The provinces' queues are consumed side by side: the honor request goes last, once
    // the others are in, so that it is the latest word on her places.
    for (party, bytes) in [
        ("shanghai", &checkup_bytes),
        ("anhui", &issued_bytes),
        ("shanghai", &verified_bytes),
        ("henan", &other_bytes),
    ] {
        users.connect(&env, party).await?.publish(party, bytes).await?;
    }
    wait_delivered(hub.http, &[&checkup, &issued, &verified, &other]).await?;
    users.connect(&env, "jiangsu").await?.publish("jiangsu", &honor_bytes).await?;
    wait_delivered(hub.http, &[&honor]).await?;
    let cert_no = issued.body.cert_no.clone().expect("a certificate number");

    // ---- Her residence province reads her profile: the facts and their sources. ----
    let (status, p) = get(hub.http, &format!("/api/people/{w_id}"), "shanghai").await?;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["id_number"], w_id);
    assert_eq!(p["name"], w["name"]);
    assert_eq!(p["sources"], 4, "four messages are about her");
    assert_eq!(p["registration"]["division"], "341302");
    assert_eq!(p["residence"]["division"], "310104");
    assert_eq!(p["residence"]["division_name"], "徐汇区");
    // The latest message that told her places: the honor request, where she is the spouse.
    assert_eq!(p["residence"]["source"]["message_id"], honor.message_id.to_string());
    assert_eq!(p["residence"]["source"]["kind"], "honor_cert_request");
    assert_eq!(p["residence"]["source"]["province"], "32");
    assert_eq!(p["spouse"]["id_number"], h["id_number"]);
    let cert = &p["marriage_certificate"];
    assert_eq!(cert["cert_no"], json!(cert_no));
    assert_eq!(cert["issued_on"], json!(issued.body.issued_on.map(|d| d.to_string())));
    assert_eq!(cert["issued_by"], "341302");
    assert_eq!(cert["source"]["message_id"], issued.message_id.to_string());
    assert_eq!(cert["source"]["province_name"], "anhui");
    assert_eq!(cert["last_verified"]["division"], "310104");
    assert_eq!(
        cert["last_verified"]["verified_on"],
        json!(verified.body.verified_on.map(|d| d.to_string()))
    );
    assert_eq!(cert["last_verified"]["source"]["message_id"], verified.message_id.to_string());
    assert_eq!(p["checkups"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        p["checkups"][0]["checked_on"],
        json!(checkup.body.checked_on.map(|d| d.to_string()))
    );
    assert_eq!(p["checkups"][0]["source"]["message_id"], checkup.message_id.to_string());
    assert_eq!(p["honor_certificates"][0]["source"]["message_id"], honor.message_id.to_string());
    // Answers owed about her: the check result's receipt (Anhui), the verification's, the
    // honor request's from both places.
    let owed: Vec<&str> = p["expectations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(owed.contains(&"checkup_result") && owed.contains(&"honor_cert_request"), "{owed:?}");
    let answer = json!({ "schema": "yipanqi/1", "answer": "profile", "profile": p });
    assert_eq!(yipanqi_schemas::validate_answer(&answer), Ok(()), "the profile follows answer.schema.json");

    // The 15-digit form finds the same person.
    let (status, p15) = get(hub.http, &format!("/api/people/{w_id15}"), "shanghai").await?;
    assert_eq!(status, 200);
    assert_eq!(without_as_of(p15), without_as_of(p.clone()));
    let mut profile_lookups_of_w: usize = 2;

    // Her registration province may read it too.
    let (status, body) = get(hub.http, &format!("/api/people/{w_id}"), "anhui").await?;
    assert_eq!(status, 200, "anhui: {body}");
    profile_lookups_of_w += 1;
    // Jiangsu, her husband's registration place — but only Jiangsu itself has said so (in
    // its honor request), and what a province says of itself entitles it to nothing.
    let (status, body) = get(hub.http, &format!("/api/people/{w_id}"), "jiangsu").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("not_entitled")), "{body}");
    profile_lookups_of_w += 1;
    // Anhui consults Jiangsu about a second birth, naming the husband registered there:
    // now another province has said it, and Jiangsu may read her profile.
    let (consult, consult_bytes) =
        world.couple_message("anhui", "341302", Kind::SecondBirthConsult, &w, Some(&h), now);
    users.connect(&env, "anhui").await?.publish("anhui", &consult_bytes).await?;
    wait_delivered(hub.http, &[&consult]).await?;
    let (status, body) = get(hub.http, &format!("/api/people/{w_id}"), "jiangsu").await?;
    assert_eq!(status, 200, "jiangsu after Anhui's consult: {body}");
    assert!(body["spouse"]["id_number"] == h["id_number"]);
    profile_lookups_of_w += 1;
    // The profile as it stands now, for the comparisons below.
    let (status, p) = get(hub.http, &format!("/api/people/{w_id}"), "shanghai").await?;
    assert_eq!(status, 200);
    assert_eq!(p["sources"], 5);
    assert_eq!(p["second_birth"][0]["consult"]["source"]["message_id"], consult.message_id.to_string());
    profile_lookups_of_w += 1;
    // An unrelated province is refused, with the reason; so are the other roles.
    for (who, status, reason) in [
        ("hubei", 403, "not_entitled"),
        ("coordination", 403, "role_not_permitted"),
        ("ops", 403, "role_not_permitted"),
    ] {
        let (got, body) = get(hub.http, &format!("/api/people/{w_id}"), who).await?;
        assert_eq!((got, body["reason"].as_str()), (status, Some(reason)), "{who}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.contains(&w_id[..10])), "{body}");
        profile_lookups_of_w += 1;
    }
    // A stranger and someone the hub does not know get the same answer.
    let (status, stranger) = get(hub.http, &format!("/api/people/{}", u["id_number"].as_str().unwrap_or_default()), "shanghai").await?;
    assert_eq!((status, stranger["reason"].as_str()), (403, Some("not_entitled")));
    let unknown = world.woman("330106", "330106");
    let (status, nobody) = get(hub.http, &format!("/api/people/{}", unknown["id_number"].as_str().unwrap_or_default()), "zhejiang").await?;
    assert_eq!((status, nobody["reason"].as_str()), (403, Some("not_entitled")));
    let (status, bad) = get(hub.http, "/api/people/12345", "shanghai").await?;
    assert_eq!((status, bad["reason"].as_str()), (400, Some("invalid_request")));
    // No token, or one the hub does not know: 401, and the browser may ask for it.
    let none = http_request(hub.http, "GET", &format!("/api/people/{w_id}"), &[], None).await?;
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").is_some_and(|h| h.contains("Basic")), "{}", none.head);
    let wrong = http_request(hub.http, "GET", &format!("/api/people/{w_id}"), &[("Authorization", "Bearer yq_not_a_token")], None).await?;
    assert_eq!(wrong.status, 401);
    profile_lookups_of_w += 2;
    // HTTP Basic with the token as the password, as a browser sends it.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("someone:{}", token("shanghai")))
    );
    let by_basic = http_request(hub.http, "GET", &format!("/api/people/{w_id}"), &[("Authorization", &basic)], None).await?;
    assert_eq!(by_basic.status, 200, "{}", by_basic.text());
    profile_lookups_of_w += 1;

    // ---- The same over the broker, as Shanghai's broker user. ----
    let shanghai = users.connect(&env, "shanghai").await?;
    let a = ask(&shanghai, Some(&users.user("shanghai")), ReplyTo::Direct, &profile_query(&w_id), "q-1")
        .await?
        .expect("an answer on direct reply-to");
    assert_eq!(a["answer"], "profile", "{a}");
    assert_eq!(yipanqi_schemas::validate_answer(&a), Ok(()));
    assert_eq!(without_as_of(a["profile"].clone()), without_as_of(p.clone()), "the same profile as over HTTP");
    let a = ask(&shanghai, Some(&users.user("shanghai")), ReplyTo::Queue("yipanqi.reply.shanghai"), &profile_query(&w_id15), "q-2")
        .await?
        .expect("an answer on Shanghai's reply queue");
    assert_eq!(a["answer"], "profile");
    profile_lookups_of_w += 2;
    // Hubei's user asks honestly: refused by the hub.
    let hubei = users.connect(&env, "hubei").await?;
    let a = ask(&hubei, Some(&users.user("hubei")), ReplyTo::Direct, &profile_query(&w_id), "q-3")
        .await?
        .expect("a refusal");
    assert_eq!(a["refused"]["reason"], "not_entitled", "{a}");
    assert_eq!(yipanqi_schemas::validate_answer(&a), Ok(()));
    profile_lookups_of_w += 1;
    // Hubei's user claims to be Shanghai's: the broker refuses the publish.
    let claimed = ask(&hubei, Some(&users.user("shanghai")), ReplyTo::Direct, &profile_query(&w_id), "q-4").await;
    let refused_by_broker = match &claimed {
        Err(e) => format!("{e:#}").contains("user_id property"),
        Ok(_) => false,
    };
    assert!(refused_by_broker, "a forged user_id is refused by the broker: {claimed:?}");
    // No user_id at all: refused by the hub, which cannot tell who asks.
    let hubei = users.connect(&env, "hubei").await?;
    let a = ask(&hubei, None, ReplyTo::Direct, &profile_query(&w_id), "q-5")
        .await?
        .expect("a refusal");
    assert_eq!(a["refused"]["reason"], "unauthenticated", "{a}");
    // A query that does not follow the schema.
    let a = ask(&hubei, Some(&users.user("hubei")), ReplyTo::Direct, &json!({"schema": "yipanqi/1", "query": "everything"}), "q-6")
        .await?
        .expect("a refusal");
    assert_eq!(a["refused"]["reason"], "invalid_request", "{a}");
    // Shanghai asks for the answer to go into Jiangsu's outbound queue: never answered.
    let guest = env.connect().await?;
    let before = guest.depth("yipanqi.out.jiangsu").await?;
    // The hub takes the query (the queue empties) and sends nothing to Jiangsu.
    send_and_see_taken(&shanghai, &guest, &users.user("shanghai"), "yipanqi.out.jiangsu", &profile_query(&w_id)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(guest.depth("yipanqi.out.jiangsu").await?, before, "nothing answered into Jiangsu's queue");
    // A forged direct reply-to address (RabbitMQ closes the connection that publishes to
    // it): the hub stays ready, takes the query once, and answers the next one.
    send_and_see_taken(&shanghai, &guest, &users.user("shanghai"), "amq.rabbitmq.reply-to.AAAA.AAAA", &profile_query(&w_id)).await?;
    profile_lookups_of_w += 1;
    for _ in 0..10 {
        let (status, body) = http_get(hub.http, "/health/ready").await?;
        assert_eq!(status, 200, "still ready after a forged reply_to: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a = ask(&shanghai, Some(&users.user("shanghai")), ReplyTo::Queue("yipanqi.reply.shanghai"), &profile_query(&w_id), "q-7")
        .await?
        .expect("the next query is answered");
    assert_eq!(a["answer"], "profile");
    profile_lookups_of_w += 1;
    // By direct reply-to, the same asker waits a few seconds: a forged address costs the
    // hub a connection, and so at most one each pause.
    let paused = ask_within(
        &shanghai,
        Some(&users.user("shanghai")),
        ReplyTo::Direct,
        &profile_query(&w_id),
        "q-8",
        Duration::from_secs(2),
    )
    .await?;
    assert!(paused.is_none(), "{paused:?}");

    // ---- A province claims her for itself: Hubei says she now lives in Hubei. ----
    let hubei_residence = {
        let mut claimed = w.clone();
        claimed["residence_division"] = json!("420102");
        claimed
    };
    let (claim, claim_bytes) = world.message("hubei", "420102", Kind::CheckupResult, &hubei_residence, now);
    users.connect(&env, "hubei").await?.publish("hubei", &claim_bytes).await?;
    wait_delivered(hub.http, &[&claim]).await?;
    // Anhui's system receipts it, repeating the subject as Hubei gave it: an echo, not
    // Anhui's word.
    let (echo, echo_bytes) = world.answer("anhui", "341302", &claim, now, json!({"status": "accepted"}));
    assert_eq!(echo.subject.as_ref().and_then(|s| s.residence_division.as_ref()).map(|d| d.as_str()), Some("420102"));
    users.connect(&env, "anhui").await?.publish("anhui", &echo_bytes).await?;
    wait_delivered(hub.http, &[&echo]).await?;
    let (status, body) = get(hub.http, &format!("/api/people/{w_id}"), "hubei").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("not_entitled")), "self-claimed: {body}");
    profile_lookups_of_w += 1;
    let (status, body) = get(hub.http, &format!("/api/people/{w_id}"), "shanghai").await?;
    assert_eq!(status, 200, "her real residence keeps its access: {body}");
    // The latest word is shown, with its source: Anhui's receipt repeating Hubei's claim.
    assert_eq!(body["residence"]["division"], "420102");
    assert_eq!(body["residence"]["source"]["message_id"], echo.message_id.to_string());
    profile_lookups_of_w += 1;

    // ---- 《婚育证明》 lists. ----
    let (status, list) = get(hub.http, &format!("/api/certificates?cert_no={cert_no}"), "shanghai").await?;
    assert_eq!(status, 200, "{list}");
    let certs = list["certificates"].as_array().cloned().unwrap_or_default();
    assert_eq!(certs.len(), 1, "{list}");
    assert_eq!(certs[0]["holder"]["id_number"], w_id);
    assert_eq!(certs[0]["issued"][0]["division"], "341302");
    assert_eq!(certs[0]["verifications"][0]["division"], "310104");
    let (status, by_division) = get(hub.http, "/api/certificates?division=3413&issued_from=2000-01-01", "anhui").await?;
    assert_eq!(status, 200);
    assert_eq!(by_division["certificates"][0]["cert_no"], json!(cert_no));
    let (status, masked) = get(hub.http, &format!("/api/certificates?cert_no={cert_no}"), "coordination").await?;
    assert_eq!(status, 200);
    assert_eq!(masked["masked"], true);
    assert_eq!(masked["certificates"][0]["holder"]["id_number"], yipanqi_schemas::mask_id_number(&w_id));
    let (status, none) = get(hub.http, &format!("/api/certificates?cert_no={cert_no}"), "hubei").await?;
    assert_eq!(status, 200);
    assert_eq!(none["certificates"], json!([]), "nothing of W's is Hubei's");
    let (status, ops) = get(hub.http, &format!("/api/certificates?cert_no={cert_no}"), "ops").await?;
    assert_eq!((status, ops["reason"].as_str()), (403, Some("role_not_permitted")));
    let (status, bad) = get(hub.http, "/api/certificates?division=3x", "anhui").await?;
    assert_eq!((status, bad["reason"].as_str()), (400, Some("invalid_request")));

    // ---- Traces, expectations and reports within each role. ----
    let trace_of = format!("/api/messages/{}", checkup.message_id);
    for (who, status) in [("shanghai", 200), ("anhui", 200), ("coordination", 200), ("ops", 200), ("hubei", 403)] {
        let (got, body) = get(hub.http, &trace_of, who).await?;
        assert_eq!(got, status, "{who}: {body}");
    }
    let by_source = format!(
        "/api/messages?province=shanghai&source_message_id={}",
        checkup.source.message_id
    );
    let (status, found) = get(hub.http, &by_source, "anhui").await?;
    assert_eq!(status, 200, "the owner finds it by the sender's id");
    assert_eq!(found["messages"][0]["message_id"], checkup.message_id.to_string());
    let (status, _) = get(hub.http, &by_source, "hubei").await?;
    assert_eq!(status, 404, "another province finds nothing");
    let (status, list) = get(hub.http, "/api/expectations", "shanghai").await?;
    assert_eq!(status, 200);
    let listed = list["expectations"].as_array().cloned().unwrap_or_default();
    assert!(!listed.is_empty());
    for e in &listed {
        assert!(e["owner_province"] == "31" || e["sender_province"] == "31", "{e}");
    }
    let (status, body) = get(hub.http, "/api/expectations?province=anhui", "hubei").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("not_entitled")));
    let (status, body) = get(hub.http, "/api/reports/delivery?province=jiangsu", "anhui").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("not_entitled")));
    let (status, body) = get(hub.http, "/api/reports/delivery?province=anhui", "coordination").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("role_not_permitted")));
    let (status, _) = get(hub.http, "/api/reports/delivery", "ops").await?;
    assert_eq!(status, 403);
    let (status, own) = get(hub.http, "/api/reports/delivery", "anhui").await?;
    assert_eq!(status, 200);
    assert_eq!(own["province"], "34", "a province gets its own follow-up list");
    // The open pages stay open and carry no person.
    for path in ["/", "/metrics", "/health/ready", "/api/status", "/reports"] {
        let (status, body) = http_get(hub.http, path).await?;
        assert_eq!(status, 200, "{path}");
        assert!(!body.contains(&w_id[..17]) && !body.contains(w["name"].as_str().unwrap_or("?")), "{path}");
    }

    // ---- The audit: every lookup, no ID number in it. ----
    let today = chrono::Utc::now().with_timezone(&yipanqi::clock::beijing_offset()).date_naive();
    let window = format!("from={}&to={}", today.pred_opt().unwrap_or(today), today.succ_opt().unwrap_or(today));
    let (status, audit) = get(hub.http, &format!("/api/audit?{window}"), "coordination").await?;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    let text = audit.to_string();
    assert!(!text.contains(&w_id[..17]) && !text.contains(&w_id15), "the audit holds no ID number");
    let find = |client: &str, action: &str, reason: &str| {
        entries
            .iter()
            .filter(|e| e["client"] == client && e["action"] == action && e["reason"] == reason)
            .count()
    };
    assert_eq!(find("hubei-test", "profile", "not_entitled"), 2, "the refusals are audited");
    assert_eq!(find("jiangsu-test", "profile", "not_entitled"), 1);
    assert_eq!(find("jiangsu-test", "profile", "allowed"), 1);
    assert_eq!(find("shanghai-test", "profile", "allowed"), 5);
    assert_eq!(find(&users.user("shanghai"), "profile", "allowed"), 4, "over AMQP too");
    assert_eq!(
        find(&users.user("shanghai"), "query", "invalid_request"),
        3,
        "a reply_to into another province's queue is refused before any lookup, an answer \
         the broker would not take is recorded as not delivered, and so is the paused one"
    );
    assert_eq!(find(&users.user("hubei"), "query", "invalid_request"), 1);
    assert_eq!(find(&users.user("hubei"), "profile", "not_entitled"), 1);
    assert_eq!(find("-", "query", "unauthenticated"), 1);
    assert_eq!(find("-", "profile", "unauthenticated"), 2);
    assert!(entries.iter().any(|e| e["channel"] == "amqp"));
    let her_hash = entries
        .iter()
        .find(|e| e["client"] == "hubei-test" && e["action"] == "profile")
        .and_then(|e| e["subject_hash"].as_str())
        .unwrap_or_default()
        .to_string();
    assert_eq!(her_hash.len(), 64, "a keyed hash stands for her");
    // On the command line, by her 15-digit number: every lookup of her, and only hers.
    let out = std::process::Command::new(hub_binary())
        .args(["audit", "--json", "--id-number", &w_id15])
        .env("YIPANQI_DATABASE_URL", &env.database_url)
        .env("RUST_LOG", "off")
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(rows.iter().all(|r| r["subject_hash"] == her_hash.as_str()));
    // The command line's own lookup is in the audit too.
    let (_, after) = get(hub.http, &format!("/api/audit?{window}"), "coordination").await?;
    let cli = after["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["channel"] == "cli" && e["action"] == "audit" && e["subject_hash"] == her_hash.as_str())
        .count();
    assert_eq!(cli, 1, "yipanqi audit --id-number is itself audited");
    let unauthenticated = 2; // no token and an unknown token: refused before her number was read
    assert_eq!(rows.len(), profile_lookups_of_w - unauthenticated, "{rows:#?}");
    // The coordination group's audit report.
    let (status, report) = get(hub.http, &format!("/api/reports/audit?{window}"), "coordination").await?;
    assert_eq!(status, 200, "{report}");
    let hubei_row = report["askers"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["who"] == "hubei"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(hubei_row["profiles_refused"], 3, "{report}");
    let (status, _) = get(hub.http, &format!("/api/reports/audit?{window}"), "shanghai").await?;
    assert_eq!(status, 403, "a province does not read the audit");
    // Nothing in the hub changes the audit: no such route, and the database refuses.
    for method in ["DELETE", "PUT", "POST", "PATCH"] {
        let auth = format!("Bearer {}", token("coordination"));
        let r = http_request(hub.http, method, "/api/audit", &[("Authorization", &auth)], Some(b"{}")).await?;
        assert_eq!(r.status, 405, "{method} /api/audit");
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        assert_eq!(body["reason"], "method_not_allowed", "{method}: {}", r.text());
    }
    let (status, body) = get(hub.http, "/api/audit/1", "coordination").await?;
    assert_eq!((status, body["reason"].as_str()), (404, Some("not_found")));
    let (status, body) = get(hub.http, "/api/expectations?state=bogus", "ops").await?;
    assert_eq!((status, body["reason"].as_str()), (400, Some("invalid_request")));
    // The role is told before the query is read.
    let (status, body) = get(hub.http, "/api/audit?x=1", "anhui").await?;
    assert_eq!((status, body["reason"].as_str()), (403, Some("role_not_permitted")));
    let store = yipanqi::store::Store::connect(&env.database_url).await?;
    for sql in ["UPDATE audit SET allowed = 1", "DELETE FROM audit"] {
        let result = sqlx::query(sql).execute(store.pool()).await;
        assert!(
            result.as_ref().is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {result:?}"
        );
    }

    // ---- The log of the whole run: no ID number, name, token or password. ----
    let status = hub.terminate()?;
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(env.dir.join("hub.log"))?;
    assert!(log.contains("query answered"), "the run was logged");
    for person in [&w, &h, &u] {
        let id = person["id_number"].as_str().unwrap_or_default();
        assert!(!log.contains(&id[..17]), "the log holds an ID number ({})", &id[..4]);
        let name = person["name"].as_str().unwrap_or_default();
        assert!(!log.contains(name), "the log holds a name");
    }
    assert!(!log.contains(&w_id15));
    for client in test_clients() {
        let who = client.province.unwrap_or_else(|| client.name.trim_end_matches("-test").to_string());
        assert!(!log.contains(&token(&who)), "the log holds {who}'s token");
    }
    for party in users.passwords.keys() {
        assert!(!log.contains(users.password(party)), "the log holds {party}'s broker password");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_is_shared_only_with_those_entitled_sqlite() -> anyhow::Result<()> {
    information_is_shared_only_with_those_entitled(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_is_shared_only_with_those_entitled_postgres() -> anyhow::Result<()> {
    information_is_shared_only_with_those_entitled(Db::Postgres).await
}

/// With the definitions imported into a fresh vhost, each province's broker user may
/// write only to its own inbound exchange (and `yipanqi.query`) and read only its own
/// outbound and reply queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_users_reach_only_their_own_queues() -> anyhow::Result<()> {
    let env = TestEnv::new("definitions", Db::Sqlite).await?;
    let users = import_definitions(&env, &format!("{}-", env.vhost)).await?;
    let refused = |r: &anyhow::Result<()>| {
        r.as_ref().is_err_and(|e| {
            let text = format!("{e:#}");
            text.contains("ACCESS_REFUSED") || text.contains("refused for user")
        })
    };
    for p in PROVINCES {
        let other = if p == "jiangsu" { "anhui" } else { "jiangsu" };
        let broker = users.connect(&env, p).await?;
        assert!(broker.publish(p, b"<own/>").await.is_ok(), "{p} publishes to its own exchange");
        let r = users.connect(&env, p).await?.publish(other, b"<not mine/>").await;
        assert!(refused(&r), "{p} may not publish to yipanqi.in.{other}: {r:?}");
        let own = users.connect(&env, p).await?;
        assert!(own.drain(&format!("yipanqi.out.{p}"), Duration::ZERO, Duration::from_millis(10)).await.is_ok());
        let r = users
            .connect(&env, p)
            .await?
            .drain(&format!("yipanqi.out.{other}"), Duration::ZERO, Duration::from_millis(10))
            .await
            .map(|_| ());
        assert!(refused(&r), "{p} may not read yipanqi.out.{other}: {r:?}");
    }
    // The default exchange is closed to them too (no way around their exchange).
    let anhui = users.connect(&env, "anhui").await?;
    let r = anhui
        .channel
        .basic_publish("".into(), "yipanqi.in.jiangsu".into(), BasicPublishOptions::default(), b"x", BasicProperties::default())
        .await;
    let r = match r {
        Ok(confirm) => confirm.await.map(|_| ()).map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    assert!(refused(&r), "the default exchange: {r:?}");
    // The coordination group's user reads only its queue and writes nowhere.
    let coordination = users.connect(&env, "coordination").await?;
    let r = coordination.publish("anhui", b"x").await;
    assert!(refused(&r), "{r:?}");
    let r = users
        .connect(&env, "coordination")
        .await?
        .drain("yipanqi.out.anhui", Duration::ZERO, Duration::from_millis(10))
        .await
        .map(|_| ());
    assert!(refused(&r), "{r:?}");
    Ok(())
}
