//! The status page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven over WebDriver by `fantoccini`, opens `/` during a run,
//! finds the seven province tiles with the same numbers as `/api/status`, the latest
//! rejections, no person anywhere and no request leaving the hub; a screenshot lands in
//! the test's folder under `target/test-output/`.

use fantoccini::{ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yipanqi_tests::ops::{synthetic_traffic, Outcome};
use yipanqi_tests::{free_addr, http_get, Db, InProcessHub, TestEnv, PROVINCES};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, killed when the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_driver(log: &Path) -> anyhow::Result<(Driver, SocketAddr)> {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        anyhow::ensure!(
            Path::new(tool).exists(),
            "{tool} is missing: apt-get install -y chromium chromium-driver (.ci/run does)"
        );
    }
    let addr = free_addr();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={}", addr.port()))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let start = Instant::now();
    while http_get(addr, "/status").await.is_err() {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((driver, addr))
}

async fn api_status(hub: SocketAddr) -> anyhow::Result<Value> {
    let (status, body) = http_get(hub, "/api/status").await?;
    anyhow::ensure!(status == 200, "/api/status answered {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// A tile's number as the page writes it.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".to_string(),
        Value::Number(n) if n.is_f64() => format!("{:.1}", n.as_f64().unwrap_or_default()),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_the_provinces_as_the_api_does() -> anyhow::Result<()> {
    let env = TestEnv::new("status_page", Db::Sqlite).await?;
    let hub = InProcessHub::start(env.config()).await?;

    // Traffic from every province, a few documents defective.
    let traffic = synthetic_traffic(777, 8, 3)?;
    let broker = env.connect().await?;
    for doc in &traffic {
        broker.publish(&doc.province, &doc.bytes).await?;
    }
    let records: usize = traffic.iter().map(|d| d.outcomes.len()).sum();
    let rejected = traffic
        .iter()
        .flat_map(|d| &d.outcomes)
        .filter(|o| matches!(o, Outcome::Rejected(..)))
        .count();
    assert!(rejected > 0, "the traffic holds defective documents");

    // Wait until the hub has stored everything, then until the queues have been read
    // after the last batch was published.
    let start = Instant::now();
    loop {
        let s = api_status(hub.http).await?;
        let seen: i64 = s["provinces"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["accepted_1h"].as_i64().unwrap_or(0) + p["rejected_1h"].as_i64().unwrap_or(0))
            .sum();
        if seen as usize == records {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "the hub did not take the traffic: {seen} of {records} records, {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored_by = chrono::Utc::now();
    let api = loop {
        let s = api_status(hub.http).await?;
        let read_at = s["queues_read_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if read_at.is_some_and(|t| t > stored_by) {
            break s;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(90),
            "the queues were not read again: {s}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(api["dead_letters"], json!(rejected), "one dead letter per rejection");
    for p in api["provinces"].as_array().into_iter().flatten() {
        assert_eq!(p["backlog"], json!(0), "{p}");
    }
    assert_eq!(api["ready"], true);
    assert_eq!(api["provinces"].as_array().map(Vec::len), Some(7));

    let (driver, driver_addr) = start_driver(&env.dir.join("chromedriver.log")).await?;
    let profile = env.dir.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1400,1900", "--lang=zh-CN",
            ],
        }),
    );
    let client = ClientBuilder::new(
        hyper_util::client::legacy::connect::HttpConnector::new(),
    )
    .capabilities(caps)
    .connect(&format!("http://{driver_addr}"))
    .await?;
    let result = check_page(&client, hub.http, &api, &traffic, &env.dir).await;
    let _ = client.close().await;
    drop(driver);
    result?;
    hub.stop().await?;
    Ok(())
}

async fn check_page(
    client: &fantoccini::Client,
    hub: SocketAddr,
    before: &Value,
    traffic: &[yipanqi_tests::ops::TrafficDoc],
    dir: &Path,
) -> anyhow::Result<()> {
    client.goto(&format!("http://{hub}/")).await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body[data-loaded='true']"))
        .await?;
    let after = api_status(hub).await?;
    let title = client.title().await?;
    assert!(title.contains("yipanqi") && title.contains("一盘棋"), "{title}");

    // Seven tiles, in the API's order, with the API's numbers (those that cannot move
    // while nothing is sent: the rate can, as its five minutes slide).
    let tiles = client.find_all(Locator::Css(".tile[data-province]")).await?;
    assert_eq!(tiles.len(), 7, "one tile per province");
    let mut seen = Vec::new();
    for (tile, (b, a)) in tiles.iter().zip(
        before["provinces"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(after["provinces"].as_array().into_iter().flatten()),
    ) {
        let province = tile.attr("data-province").await?.unwrap_or_default();
        assert_eq!(Value::String(province.clone()), b["province"]);
        seen.push(province.clone());
        let text = tile.text().await?;
        assert!(text.contains(b["label"].as_str().unwrap_or("?")), "{province}: {text}");
        for field in ["accepted_1h", "rejected_1h", "backlog", "outbound", "open", "overdue"] {
            let cell = tile
                .find(Locator::Css(&format!("[data-field='{field}']")))
                .await?
                .text()
                .await?;
            assert_eq!(b[field], a[field], "{province}.{field} moved during the test");
            assert_eq!(cell, shown(&b[field]), "{province}.{field}");
        }
        let rate = tile
            .find(Locator::Css("[data-field='per_minute']"))
            .await?
            .text()
            .await?;
        if b["per_minute"] == a["per_minute"] {
            assert_eq!(rate, shown(&b["per_minute"]), "{province}.per_minute");
        }
        let sending = tile.find(Locator::Css("[data-field='sending']")).await?;
        assert_eq!(sending.attr("data-value").await?.as_deref(), Some("true"), "{province}");
        let last = tile.find(Locator::Css("[data-field='last_message_at']")).await?;
        assert_eq!(
            last.attr("data-value").await?.as_deref(),
            b["last_message_at"].as_str(),
            "{province}.last_message_at"
        );
    }
    assert_eq!(seen, PROVINCES.map(String::from).to_vec());

    // The latest rejections: reason and id of each, as the API lists them.
    let rows = client.find_all(Locator::Css("#rejections tr[data-rejection]")).await?;
    let listed = after["rejections"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), listed.len());
    assert!(!listed.is_empty());
    for (row, r) in rows.iter().zip(&listed) {
        let reason = row.find(Locator::Css("[data-field='reason']")).await?;
        assert_eq!(reason.attr("data-value").await?.as_deref(), r["reason"].as_str());
        let id = row.find(Locator::Css("[data-field='message_id']")).await?.text().await?;
        let expected = r["message_id"].as_str().or(r["rejection_id"].as_str()).unwrap_or("?");
        assert_eq!(id, expected);
    }
    // Every id listed can be looked up, as the page says.
    for r in &listed {
        let id = r["message_id"].as_str().or(r["rejection_id"].as_str()).unwrap_or("?");
        let (status, body) = yipanqi_tests::http_get_as(hub, &format!("/api/messages/{id}"), "ops").await?;
        assert_eq!(status, 200, "{id}: {body}");
        let trace: Value = serde_json::from_str(&body)?;
        let reasons: Vec<&str> = trace["rejections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["reason"].as_str())
            .collect();
        assert!(
            trace["kind"] == "rejection" && reasons.contains(&r["reason"].as_str().unwrap_or("?"))
                || trace["message_id"] == id,
            "{id}: {trace}"
        );
    }
    let dead = client.find(Locator::Css("[data-field='dead_letters']")).await?.text().await?;
    assert_eq!(dead, shown(&after["dead_letters"]));

    // No person on the page, and nothing fetched from anywhere but the hub.
    let page = client.source().await?;
    for doc in traffic {
        for id in &doc.id_numbers {
            assert!(!page.contains(&id[..17]), "the page shows an ID number");
        }
        for name in &doc.names {
            assert!(!page.contains(name.as_str()), "the page shows a name");
        }
    }
    let resources = client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await?;
    let origin = format!("http://{hub}/");
    for r in resources.as_array().into_iter().flatten() {
        let url = r.as_str().unwrap_or_default();
        assert!(url.starts_with(&origin), "the page fetched {url}");
    }

    let png = client.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = dir.join("status-page.png");
    std::fs::write(&path, png)?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}
