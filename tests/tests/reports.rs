//! The coordination group's reports, end to end on the real broker and both databases:
//! a known set of check results, a verification request, answers on time and late, a
//! rejected document and a rejected answer go through the hub in the provinces' own
//! formats while the test moves the hub's clock from late October to 10 December 2026;
//! then every number of the delivery, paper-retirement and coverage reports is checked
//! against values computed by hand below — in JSON, CSV (with its byte-order mark), XLSX
//! (read back cell by cell, with its frozen header rows) and HTML (rendered by headless
//! Chromium, its tables and SVG charts read from the DOM), over HTTP and on the command
//! line.
//!
//! The scenario (2026; November has no public holiday):
//!
//! | when (+08:00)   | what                                                                 |
//! |-----------------|----------------------------------------------------------------------|
//! | 10-30 23:30     | O1: Shanghai check result about W1 (registered Anhui) — October      |
//! | 11-02 10:00 Mon | C1 (W2 → Anhui), C2 (W3 → Anhui), C3 (W4 → Jiangsu), C4 (W5 → Anhui) |
//! |                 | from Shanghai; B1: Zhejiang verification request about W6 → Anhui;  |
//! |                 | R1: a malformed Jiangsu document; Anhui's receipt for C2, "rejected" |
//! | 11-04 09:00     | Anhui's receipt for C1, accepted: 2 working days                     |
//! | 11-05 14:00     | Anhui's verification reply to B1 (not verified): 3 working days      |
//! | 11-10 11:00     | J1: Jiangsu check result about W7 → Zhejiang; receipt the same day  |
//! | 11-11 11:00     | J2: Jiangsu check result about W7 again; R2: Anhui receipt for a    |
//! |                 | message the hub never saw (unknown_reference)                        |
//! | 11-20 16:00     | Zhejiang's receipt for J2: 7 working days                            |
//! | 11-25 10:00     | Anhui's receipt for C4, accepted: 17 working days, late (due 11-23)  |
//! | 11-30 23:59     | C5: Shanghai check result about W8 → Anhui, due 12-21 (last minute   |
//! |                 | of the month: in November's report)                                  |
//! | 12-01 00:10     | D1: Shanghai check result about W2 again — December                  |
//! | 12-10 10:00     | the reports, as of now: C3 overdue 13 working days, C5 still open    |

use calamine::{Data, Reader};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use yipanqi::clock::{Clock, ManualClock};
use yipanqi::config::Config;
use yipanqi_schemas::{mask_id_number, mask_name, CanonicalMessage, Kind};
use yipanqi_tests::world::World;
use yipanqi_tests::{http_get, http_get_as, Db, InProcessHub, TestEnv};

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("time")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

async fn trace(hub: &InProcessHub, id: &str) -> Option<Value> {
    let (status, body) = http_get_as(hub.http, &format!("/api/messages/{id}"), "ops")
        .await
        .ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// Waits until the hub has stored `msg` and the broker confirmed all its copies.
async fn wait_delivered(hub: &InProcessHub, msg: &CanonicalMessage) {
    let id = msg.message_id.to_string();
    for _ in 0..400 {
        if let Some(t) = trace(hub, &id).await {
            let routes = t["routes"].as_array().cloned().unwrap_or_default();
            if !routes.is_empty() && routes.iter().all(|r| !r["confirmed_at"].is_null()) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} ({}) was never delivered", msg.kind);
}

/// Waits until the expectation of `msg` has `state`.
async fn wait_state(hub: &InProcessHub, msg: &CanonicalMessage, state: &str) {
    let id = msg.message_id.to_string();
    for _ in 0..400 {
        if let Some(t) = trace(hub, &id).await {
            if t["expectations"][0]["state"] == state {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the expectation of {id} never became {state}");
}

/// Who fetches a report: a province's follow-up list goes to that province's client,
/// everything else to the coordination group's.
fn reader_of(query: &str) -> String {
    query
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("province="))
        .unwrap_or("coordination")
        .to_string()
}

/// GET as the report's reader, returning the status, the raw header block and the body.
async fn fetch(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    let auth = format!("Bearer {}", yipanqi_tests::token(&reader_of(path)));
    let r = yipanqi_tests::http_request(addr, "GET", path, &[("Authorization", &auth)], None)
        .await
        .expect("GET");
    (r.status, r.head, r.body)
}

async fn report(hub: &InProcessHub, query: &str) -> (String, Vec<u8>) {
    let (status, head, body) = fetch(hub.http, &format!("/api/reports/{query}")).await;
    assert_eq!(status, 200, "{query}: {}", String::from_utf8_lossy(&body));
    (head, body)
}

async fn report_json(hub: &InProcessHub, query: &str) -> Value {
    let (head, body) = report(hub, query).await;
    assert!(head.contains("application/json"), "{head}");
    serde_json::from_slice(&body).expect("JSON")
}

// ---------------------------------------------------------------------------------
// Expected cells, and how each format shows them.

#[derive(Debug, Clone)]
enum E {
    /// Text.
    T(String),
    /// A count.
    I(i64),
    /// Working days, or none.
    D(Option<f64>),
    /// A share, or none.
    R(Option<f64>),
    /// A date, or none.
    Dt(Option<NaiveDate>),
}

fn t(s: &str) -> E {
    E::T(s.to_string())
}

fn ints(values: &[i64]) -> Vec<E> {
    values.iter().map(|n| E::I(*n)).collect()
}

impl E {
    /// As CSV and HTML show it (`missing` for an empty number).
    fn text(&self, missing: &str) -> String {
        match self {
            E::T(s) => s.clone(),
            E::I(n) => n.to_string(),
            E::D(Some(d)) if d.fract() == 0.0 => format!("{d:.0}"),
            E::D(Some(d)) => format!("{d:.1}"),
            E::R(Some(r)) => format!("{:.1}%", r * 100.0),
            E::Dt(Some(d)) => d.to_string(),
            E::D(None) | E::R(None) => missing.to_string(),
            E::Dt(None) => String::new(),
        }
    }

    /// Checks a spreadsheet cell: numbers are number cells, dates date cells.
    fn check_xlsx(&self, cell: Option<&Data>, at: &str) {
        let empty = matches!(cell, None | Some(Data::Empty));
        match self {
            E::T(s) if s.is_empty() => assert!(empty, "{at}: {cell:?} should be empty"),
            E::T(s) => assert_eq!(cell, Some(&Data::String(s.clone())), "{at}"),
            E::I(n) => assert_eq!(number(cell, at), *n as f64, "{at}"),
            E::D(Some(v)) | E::R(Some(v)) => {
                assert!((number(cell, at) - v).abs() < 1e-9, "{at}: {cell:?} ≠ {v}")
            }
            E::D(None) | E::R(None) | E::Dt(None) => assert!(empty, "{at}: {cell:?} should be empty"),
            E::Dt(Some(d)) => match cell {
                Some(Data::DateTime(x)) => {
                    assert!(x.is_datetime(), "{at}");
                    assert_eq!(x.as_datetime().map(|t| t.date()), Some(*d), "{at}");
                }
                other => panic!("{at}: {other:?} is not a date cell"),
            },
        }
    }
}

fn number(cell: Option<&Data>, at: &str) -> f64 {
    match cell {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("{at}: {other:?} is not a number cell"),
    }
}

/// One expected table: its HTML id and its rows.
struct Expected {
    id: &'static str,
    rows: Vec<Vec<E>>,
}

// ---------------------------------------------------------------------------------
// Reading each format back.

/// CSV → sections (separated by empty lines) of rows of fields.
fn csv_sections(bytes: &[u8]) -> Vec<Vec<Vec<String>>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "CSV starts with a UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    let mut sections = vec![Vec::new()];
    for line in text.split("\r\n") {
        if line.is_empty() {
            sections.push(Vec::new());
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        if let Some(s) = sections.last_mut() {
            s.push(fields);
        }
    }
    sections.retain(|s| !s.is_empty());
    sections
}

fn check_csv(bytes: &[u8], tables: &[Expected]) {
    let sections = csv_sections(bytes);
    // Heading, headline, the tables in order, notes.
    assert_eq!(sections.len(), tables.len() + 3, "{sections:?}");
    for (i, table) in tables.iter().enumerate() {
        let section = &sections[i + 2];
        let rows = &section[2..];
        assert_eq!(rows.len(), table.rows.len(), "CSV {}: {rows:?}", table.id);
        for (r, (got, want)) in rows.iter().zip(&table.rows).enumerate() {
            let want: Vec<String> = want.iter().map(|e| e.text("")).collect();
            assert_eq!(got, &want, "CSV {} row {r}", table.id);
        }
    }
}

fn check_xlsx(bytes: &[u8], tables: &[Expected]) {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX workbook");
    let names = book.sheet_names();
    assert_eq!(names.len(), tables.len() + 1, "{names:?}");
    assert_eq!(names[0], "概要 Summary");
    for (i, table) in tables.iter().enumerate() {
        let range = book.worksheet_range(&names[i + 1]).expect("sheet");
        // Row 1 the title, row 2 the header, then the rows.
        assert!(matches!(range.get_value((1, 0)), Some(Data::String(_))), "header of {}", names[i + 1]);
        assert_eq!(
            range.height(),
            table.rows.len() + 2,
            "rows of sheet {}",
            names[i + 1]
        );
        for (r, row) in table.rows.iter().enumerate() {
            for (c, want) in row.iter().enumerate() {
                let at = format!("sheet {} cell ({}, {c})", names[i + 1], r + 2);
                want.check_xlsx(range.get_value((r as u32 + 2, c as u32)), &at);
            }
        }
    }
    // Every sheet freezes its title and header rows.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    for n in 1..=names.len() {
        let mut xml = String::new();
        zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
            .expect("sheet XML")
            .read_to_string(&mut xml)
            .expect("read");
        assert!(
            xml.contains("ySplit=\"2\"") && xml.contains("state=\"frozen\""),
            "sheet {n} freezes two header rows"
        );
    }
}

/// The rendered DOM of a page, from headless Chromium.
fn chromium_dom(url: &str) -> String {
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium is installed (apt-get install -y chromium; .ci/run does it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    unescape(out.trim())
}

/// The body rows of `<table id="…">` as cell texts.
fn html_rows(dom: &str, id: &str) -> Vec<Vec<String>> {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("table {id} in the page"));
    let end = start + dom[start..].find("</table>").expect("table end");
    let table = &dom[start..end];
    let body = &table[table.find("<tbody>").expect("tbody")..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let content = &cell[cell.find('>').expect(">") + 1..];
                    strip_tags(&content[..content.find("</td>").expect("</td>")])
                })
                .collect()
        })
        .collect()
}

fn check_html(dom: &str, tables: &[Expected]) {
    for table in tables {
        let rows = html_rows(dom, table.id);
        assert_eq!(rows.len(), table.rows.len(), "HTML {}: {rows:?}", table.id);
        for (r, (got, want)) in rows.iter().zip(&table.rows).enumerate() {
            let want: Vec<String> = want.iter().map(|e| e.text("—")).collect();
            assert_eq!(got, &want, "HTML {} row {r}", table.id);
        }
    }
    // Self-contained: nothing is fetched from anywhere.
    for needle in ["<script", "<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!dom.contains(needle), "the page is self-contained: found {needle}");
    }
}

/// The bars of an SVG chart: (label, value) in order.
fn svg_bars(dom: &str, id: &str) -> Vec<(String, Option<f64>)> {
    let start = dom
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("chart {id} in the page"));
    let end = start + dom[start..].find("</svg>").expect("svg end");
    dom[start..end]
        .split("<g class=\"bar\"")
        .skip(1)
        .map(|g| {
            let attr = |name: &str| {
                let from = g.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                unescape(&g[from..from + g[from..].find('"').expect("quote")])
            };
            (attr("data-label"), attr("data-value").parse().ok())
        })
        .collect()
}

async fn check_formats(hub: &InProcessHub, query: &str, tables: &[Expected]) -> String {
    let (head, csv) = report(hub, &format!("{query}&format=csv")).await;
    assert!(head.contains("text/csv; charset=utf-8"), "{head}");
    assert!(head.contains("attachment; filename=\"yipanqi-"), "{head}");
    check_csv(&csv, tables);
    let (head, xlsx) = report(hub, &format!("{query}&format=xlsx")).await;
    assert!(head.contains("spreadsheetml"), "{head}");
    check_xlsx(&xlsx, tables);
    // The page is self-contained: saved to a file, it renders the same.
    let (head, html) = report(hub, &format!("{query}&format=html")).await;
    assert!(head.contains("text/html"), "{head}");
    let file = std::env::temp_dir().join(format!(
        "yipanqi-report-{}-{}.html",
        std::process::id(),
        query.replace(['?', '&', '='], "_")
    ));
    std::fs::write(&file, &html).expect("write the HTML report");
    let dom = chromium_dom(&format!("file://{}", file.display()));
    let _ = std::fs::remove_file(&file);
    check_html(&dom, tables);
    dom
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

// ---------------------------------------------------------------------------------

async fn reports_add_up(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("reports", db).await?;
    let clock = Arc::new(ManualClock::new(at("2026-10-30T23:30:00+08:00")));
    let mut config: Config = env.config();
    config.deadlines.scan_interval_secs = 1;
    let hub = InProcessHub::start_with_clock(config, clock.clone()).await?;
    let broker = env.connect().await?;
    let mut w = World::new();
    let now = || clock.now();

    let w1 = w.woman("341302", "310104");
    let w2 = w.woman("341302", "310115");
    let w3 = w.woman("340104", "310104");
    let w4 = w.woman("320583", "310104");
    let w5 = w.woman("341302", "310104");
    let w6 = w.woman("341302", "330106");
    let w7 = w.woman("330106", "320583");
    let w8 = w.woman("341302", "310104");

    let send = |bytes: Vec<u8>, province: &'static str| {
        let broker = &broker;
        async move { broker.publish(province, &bytes).await.expect("publish") }
    };

    // 30 October, late evening: October's only check result.
    let (o1, b) = w.message("shanghai", "310104", Kind::CheckupResult, &w1, now());
    send(b, "shanghai").await;
    wait_delivered(&hub, &o1).await;

    // Monday 2 November.
    clock.set(at("2026-11-02T10:00:00+08:00"));
    let mut sent = Vec::new();
    for subject in [&w2, &w3, &w4, &w5] {
        let (m, b) = w.message("shanghai", "310104", Kind::CheckupResult, subject, now());
        send(b, "shanghai").await;
        wait_delivered(&hub, &m).await;
        sent.push(m);
    }
    let [c1, c2, c3, c4] = <[CanonicalMessage; 4]>::try_from(sent).expect("four");
    let (b1, b) = w.message("zhejiang", "330106", Kind::BirthVerifyRequest, &w6, now());
    send(b, "zhejiang").await;
    wait_delivered(&hub, &b1).await;
    send(b"<<<not xml".to_vec(), "jiangsu").await;
    assert_eq!(
        broker.take("yipanqi.dead", 1, Duration::from_secs(30)).await?.len(),
        1
    );
    let (r, b) = w.answer("anhui", "340104", &c2, now(), json!({"status": "rejected"}));
    send(b, "anhui").await;
    wait_delivered(&hub, &r).await;
    wait_state(&hub, &c2, "answered_on_time").await;

    clock.set(at("2026-11-04T09:00:00+08:00"));
    let (r, b) = w.answer("anhui", "341302", &c1, now(), json!({"status": "accepted"}));
    send(b, "anhui").await;
    wait_delivered(&hub, &r).await;

    clock.set(at("2026-11-05T14:00:00+08:00"));
    let (r, b) = w.answer("anhui", "341302", &b1, now(), json!({"verified": false}));
    send(b, "anhui").await;
    wait_delivered(&hub, &r).await;
    wait_state(&hub, &b1, "answered_on_time").await;

    clock.set(at("2026-11-10T11:00:00+08:00"));
    let (j1, b) = w.message("jiangsu", "320583", Kind::CheckupResult, &w7, now());
    send(b, "jiangsu").await;
    wait_delivered(&hub, &j1).await;
    let (r, b) = w.answer("zhejiang", "330106", &j1, now(), json!({"status": "accepted"}));
    send(b, "zhejiang").await;
    wait_delivered(&hub, &r).await;

    clock.set(at("2026-11-11T11:00:00+08:00"));
    let (j2, b) = w.message("jiangsu", "320583", Kind::CheckupResult, &w7, now());
    send(b, "jiangsu").await;
    wait_delivered(&hub, &j2).await;
    // An answer to a message the hub never saw.
    let stranger = w.woman("341302", "310104");
    let (never, _) = w.message("shanghai", "310104", Kind::CheckupResult, &stranger, now());
    let (_, b) = w.answer("anhui", "341302", &never, now(), json!({"status": "accepted"}));
    send(b, "anhui").await;
    let dead = broker.take("yipanqi.dead", 1, Duration::from_secs(30)).await?;
    assert_eq!(
        dead[0].headers.get("x-yipanqi-reason").map(String::as_str),
        Some("unknown_reference")
    );

    clock.set(at("2026-11-20T16:00:00+08:00"));
    let (r, b) = w.answer("zhejiang", "330106", &j2, now(), json!({"status": "accepted"}));
    send(b, "zhejiang").await;
    wait_delivered(&hub, &r).await;

    clock.set(at("2026-11-25T10:00:00+08:00"));
    let (r, b) = w.answer("anhui", "341302", &c4, now(), json!({"status": "accepted"}));
    send(b, "anhui").await;
    wait_delivered(&hub, &r).await;
    wait_state(&hub, &c4, "answered_late").await;

    clock.set(at("2026-11-30T23:59:00+08:00"));
    let (c5, b) = w.message("shanghai", "310104", Kind::CheckupResult, &w8, now());
    send(b, "shanghai").await;
    wait_delivered(&hub, &c5).await;

    clock.set(at("2026-12-01T00:10:00+08:00"));
    let (d1, b) = w.message("shanghai", "310104", Kind::CheckupResult, &w2, now());
    send(b, "shanghai").await;
    wait_delivered(&hub, &d1).await;

    clock.set(at("2026-12-10T10:00:00+08:00"));
    wait_state(&hub, &c3, "overdue").await;
    wait_state(&hub, &o1, "overdue").await;
    wait_state(&hub, &c5, "open").await;

    // ---- The delivery report, November 2026, as of 10 December 10:00. ----
    let d = report_json(&hub, "delivery?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(d["report"], "delivery");
    assert_eq!(d["period"], json!({"from": "2026-11-01", "to": "2026-11-30"}));
    assert_eq!(d["as_of"], "2026-12-10T10:00:00+08:00");
    // (sender, owner, kind): delivered, owed, on time, late, open, overdue, median, p90.
    let pairs: Vec<(&str, &str, &str, [i64; 6], Option<f64>, Option<i64>)> = vec![
        ("31", "32", "checkup_result", [1, 1, 0, 0, 0, 1], None, None),
        // C1 2 days, C2 0 days, C4 17 days late, C5 open: median 2, 90th ⌈2.7⌉ = 3rd = 17.
        ("31", "34", "checkup_result", [4, 4, 2, 1, 1, 0], Some(2.0), Some(17)),
        // J1 0 days, J2 7 days: median 3.5, 90th ⌈1.8⌉ = 2nd = 7.
        ("32", "33", "checkup_result", [2, 2, 2, 0, 0, 0], Some(3.5), Some(7)),
        ("33", "32", "receipt", [2, 0, 0, 0, 0, 0], None, None),
        ("33", "34", "birth_verify_request", [1, 1, 1, 0, 0, 0], Some(3.0), Some(3)),
        ("34", "31", "receipt", [3, 0, 0, 0, 0, 0], None, None),
        ("34", "33", "birth_verify_reply", [1, 0, 0, 0, 0, 0], None, None),
    ];
    let got = d["pairs"].as_array().expect("pairs");
    assert_eq!(got.len(), pairs.len(), "{got:#?}");
    for (g, (s, o, k, n, median, p90)) in got.iter().zip(&pairs) {
        assert_eq!((g["sender_province"].as_str(), g["owner_province"].as_str(), g["kind"].as_str()), (Some(*s), Some(*o), Some(*k)));
        let fields = ["delivered", "owed", "answered_on_time", "answered_late", "open", "overdue"];
        for (f, v) in fields.iter().zip(n) {
            assert_eq!(g[*f], *v, "{s}→{o} {k} {f}");
        }
        assert_eq!(g["median_working_days"], json!(median), "{s}→{o} {k}");
        assert_eq!(g["p90_working_days"], json!(p90), "{s}→{o} {k}");
    }
    // Per province: sent, rejected, out, in, owed, on time, late, open, overdue, due.
    let provinces: Vec<(&str, [i64; 10], Option<f64>, Option<f64>, Option<i64>)> = vec![
        ("31", [5, 0, 5, 3, 0, 0, 0, 0, 0, 0], None, None, None),
        ("32", [2, 1, 2, 3, 1, 0, 0, 0, 1, 1], Some(0.0), None, None),
        ("33", [3, 0, 3, 3, 2, 2, 0, 0, 0, 2], Some(1.0), Some(3.5), Some(7)),
        // Anhui's answers: 0, 2, 3, 17 → median 2.5, 90th ⌈3.6⌉ = 4th = 17.
        ("34", [4, 1, 4, 5, 5, 3, 1, 1, 0, 4], Some(0.75), Some(2.5), Some(17)),
        ("36", [0; 10], None, None, None),
        ("41", [0; 10], None, None, None),
        ("42", [0; 10], None, None, None),
    ];
    let fields = [
        "sent", "rejected", "delivered_out", "delivered_in", "owed", "answered_on_time",
        "answered_late", "open", "overdue", "due",
    ];
    let got = d["provinces"].as_array().expect("provinces");
    assert_eq!(got.len(), provinces.len());
    for (g, (code, n, rate, median, p90)) in got.iter().zip(&provinces) {
        assert_eq!(g["province"], *code);
        for (f, v) in fields.iter().zip(n) {
            assert_eq!(g[*f], *v, "{code} {f}");
        }
        assert_eq!(g["on_time_rate"], json!(rate), "{code}");
        assert_eq!(g["median_working_days"], json!(median), "{code}");
        assert_eq!(g["p90_working_days"], json!(p90), "{code}");
    }
    let region = &d["region"];
    for (f, v) in fields.iter().zip([14, 2, 14, 14, 8, 5, 1, 1, 1, 7]) {
        assert_eq!(region[*f], v, "region {f}");
    }
    assert!(close(&region["on_time_rate"], 5.0 / 7.0));
    // All answers: 0, 0, 2, 3, 7, 17 → median 2.5, 90th ⌈5.4⌉ = 6th = 17.
    assert_eq!(region["median_working_days"], json!(2.5));
    assert_eq!(region["p90_working_days"], json!(17));
    let ranking: Vec<(Value, &str)> = d["ranking"]
        .as_array()
        .expect("ranking")
        .iter()
        .map(|r| (r["rank"].clone(), r["province"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        ranking,
        vec![
            (json!(1), "33"),
            (json!(2), "34"),
            (json!(3), "32"),
            (Value::Null, "31"),
            (Value::Null, "36"),
            (Value::Null, "41"),
            (Value::Null, "42"),
        ]
    );
    assert_eq!(
        d["rejected"],
        json!([
            {"province": "32", "reason": "malformed", "count": 1},
            {"province": "34", "reason": "unknown_reference", "count": 1},
        ])
    );
    // C3: due 23 November; 24–27 November, 30 November, 1–4 and 7–10 December.
    let w4_id = w4["id_number"].as_str().unwrap_or_default();
    let w4_name = w4["name"].as_str().unwrap_or_default();
    assert_eq!(
        d["overdue"],
        json!([{
            "message_id": c3.message_id.to_string(),
            "source_message_id": c3.source.message_id,
            "kind": "checkup_result",
            "sender_division": "310104",
            "owner_province": "32",
            "owner_division": "320583",
            "received_date": "2026-11-02",
            "due_date": "2026-11-23",
            "state": "overdue",
            "working_days_overdue": 13,
            "subject_id": mask_id_number(w4_id),
            "subject_name": mask_name(w4_name),
        }])
    );
    assert!(d["follow_up"].is_null());
    // Anhui's own follow-up list: C5, in full.
    let a = report_json(&hub, "delivery?month=2026-11&province=anhui").await;
    assert_eq!(a["province"], "34");
    assert_eq!(
        a["follow_up"],
        json!([{
            "message_id": c5.message_id.to_string(),
            "source_message_id": c5.source.message_id,
            "kind": "checkup_result",
            "sender_division": "310104",
            "owner_province": "34",
            "owner_division": "341302",
            "received_date": "2026-11-30",
            "due_date": "2026-12-21",
            "state": "open",
            "working_days_overdue": 0,
            "subject_id": w8["id_number"],
            "subject_name": w8["name"],
        }])
    );
    let js = report_json(&hub, "delivery?month=2026-11&province=jiangsu").await;
    assert_eq!(js["follow_up"][0]["subject_id"], w4["id_number"]);
    assert_eq!(js["follow_up"][0]["working_days_overdue"], 13);
    // The same figures for the whole year include October's overdue check result.
    let y = report_json(&hub, "delivery?year=2026").await;
    assert_eq!(y["region"]["owed"], 10);
    assert_eq!(y["region"]["overdue"], 2);

    let p = |code: &str| {
        t(&match code {
            "31" => "上海 shanghai",
            "32" => "江苏 jiangsu",
            "33" => "浙江 zhejiang",
            "34" => "安徽 anhui",
            "36" => "江西 jiangxi",
            "41" => "河南 henan",
            _ => "湖北 hubei",
        }
        .to_string())
    };
    let mut province_rows: Vec<Vec<E>> = provinces
        .iter()
        .map(|(code, n, rate, median, p90)| {
            let mut row = vec![p(code)];
            row.extend(ints(n));
            row.push(E::R(*rate));
            row.push(E::D(*median));
            row.push(E::D(p90.map(|v| v as f64)));
            row
        })
        .collect();
    let mut region_row = vec![t("全区域 region")];
    region_row.extend(ints(&[14, 2, 14, 14, 8, 5, 1, 1, 1, 7]));
    region_row.extend([E::R(Some(5.0 / 7.0)), E::D(Some(2.5)), E::D(Some(17.0))]);
    province_rows.push(region_row);
    let kind = |k: &str| {
        t(match k {
            "checkup_result" => "孕环情检查结果通报 checkup_result",
            "receipt" => "回执 receipt",
            "birth_verify_request" => "一孩生育服务登记核查请求 birth_verify_request",
            _ => "核查反馈 birth_verify_reply",
        })
    };
    let delivery_tables = vec![
        Expected {
            id: "provinces",
            rows: province_rows,
        },
        Expected {
            id: "ranking",
            rows: vec![
                vec![E::I(1), p("33"), E::I(2), E::I(2), E::R(Some(1.0))],
                vec![E::I(2), p("34"), E::I(3), E::I(4), E::R(Some(0.75))],
                vec![E::I(3), p("32"), E::I(0), E::I(1), E::R(Some(0.0))],
                vec![t(""), p("31"), E::I(0), E::I(0), E::R(None)],
                vec![t(""), p("36"), E::I(0), E::I(0), E::R(None)],
                vec![t(""), p("41"), E::I(0), E::I(0), E::R(None)],
                vec![t(""), p("42"), E::I(0), E::I(0), E::R(None)],
            ],
        },
        Expected {
            id: "pairs",
            rows: pairs
                .iter()
                .map(|(s, o, k, n, median, p90)| {
                    let mut row = vec![p(s), p(o), kind(k)];
                    row.extend(ints(n));
                    row.push(E::D(*median));
                    row.push(E::D(p90.map(|v| v as f64)));
                    row
                })
                .collect(),
        },
        Expected {
            id: "rejected",
            rows: vec![
                vec![p("32"), t("格式错误 malformed"), E::I(1)],
                vec![p("34"), t("引用的消息不存在 unknown_reference"), E::I(1)],
            ],
        },
        Expected {
            id: "overdue",
            rows: vec![vec![
                t(&c3.message_id.to_string()),
                t(&c3.source.message_id),
                kind("checkup_result"),
                t("310104"),
                t("320583"),
                E::Dt(Some(date("2026-11-02"))),
                E::Dt(Some(date("2026-11-23"))),
                E::I(13),
                t(&mask_id_number(w4_id)),
                t(&mask_name(w4_name)),
            ]],
        },
    ];
    let dom = check_formats(&hub, "delivery?from=2026-11-01&to=2026-11-30", &delivery_tables).await;
    // The on-time chart: one bar per province, best first, as long as its rate.
    let bars = svg_bars(&dom, "chart-on-time");
    assert_eq!(
        bars,
        vec![
            ("浙江 zhejiang".to_string(), Some(1.0)),
            ("安徽 anhui".to_string(), Some(0.75)),
            ("江苏 jiangsu".to_string(), Some(0.0)),
            ("上海 shanghai".to_string(), None),
            ("江西 jiangxi".to_string(), None),
            ("河南 henan".to_string(), None),
            ("湖北 hubei".to_string(), None),
        ]
    );
    assert!(dom.contains("width=\"300.0\""), "Anhui's bar is 75% of 400 px");
    assert!(dom.contains("2026年11月"), "the period in Chinese");
    assert!(!dom.contains(w4_name), "names are masked in the coordination group's report");

    // ---- Paper reports retired, November 2026. ----
    let paper = report_json(&hub, "paper?from=2026-11-01&to=2026-11-30").await;
    let counts = |v: &Value| -> [i64; 5] {
        ["results", "delivered", "acknowledged", "acknowledged_in_time", "retired"]
            .map(|f| v[f].as_i64().unwrap_or(-1))
    };
    let paper_pairs: Vec<(&str, &str, [i64; 5], f64)> = vec![
        ("32", "31", [1, 1, 0, 0, 0], 0.0),
        ("33", "32", [2, 2, 2, 2, 2], 1.0),
        // C1 accepted on time, C2 rejected on time, C4 accepted late, C5 open.
        ("34", "31", [4, 4, 3, 2, 2], 0.5),
    ];
    let got = paper["pairs"].as_array().expect("pairs");
    assert_eq!(got.len(), paper_pairs.len(), "{got:#?}");
    for (g, (reg, res, n, share)) in got.iter().zip(&paper_pairs) {
        assert_eq!(g["registration_province"], *reg);
        assert_eq!(g["residence_province"], *res);
        assert_eq!(counts(g), *n, "{reg}/{res}");
        assert!(close(&g["retired_rate"], *share));
    }
    assert_eq!(counts(&paper["region"]), [7, 7, 5, 4, 4]);
    assert!(close(&paper["region"]["retired_rate"], 4.0 / 7.0));
    let trend = paper["trend"].as_array().expect("trend");
    let months: Vec<&str> = trend.iter().filter_map(|m| m["month"].as_str()).collect();
    assert_eq!(months.len(), 12);
    assert_eq!((months[0], months[11]), ("2025-12", "2026-11"));
    for m in trend {
        match m["month"].as_str() {
            Some("2026-10") => assert_eq!(counts(m), [1, 1, 0, 0, 0]),
            Some("2026-11") => assert_eq!(counts(m), [7, 7, 5, 4, 4]),
            _ => {
                assert_eq!(counts(m), [0; 5]);
                assert!(m["retired_rate"].is_null());
            }
        }
    }
    let mut pair_rows: Vec<Vec<E>> = paper_pairs
        .iter()
        .map(|(reg, res, n, share)| {
            let mut row = vec![p(reg), p(res)];
            row.extend(ints(n));
            row.push(E::R(Some(*share)));
            row
        })
        .collect();
    let mut total = vec![t("全区域 region"), t("")];
    total.extend(ints(&[7, 7, 5, 4, 4]));
    total.push(E::R(Some(4.0 / 7.0)));
    pair_rows.push(total);
    let trend_rows: Vec<Vec<E>> = months
        .iter()
        .map(|m| {
            let (n, share) = match *m {
                "2026-10" => ([1, 1, 0, 0, 0], Some(0.0)),
                "2026-11" => ([7, 7, 5, 4, 4], Some(4.0 / 7.0)),
                _ => ([0; 5], None),
            };
            let mut row = vec![t(m)];
            row.extend(ints(&n));
            row.push(E::R(share));
            row
        })
        .collect();
    let paper_tables = vec![
        Expected {
            id: "pairs",
            rows: pair_rows,
        },
        Expected {
            id: "trend",
            rows: trend_rows,
        },
    ];
    let dom = check_formats(&hub, "paper?from=2026-11-01&to=2026-11-30", &paper_tables).await;
    let bars = svg_bars(&dom, "chart-trend");
    assert_eq!(bars.len(), 12);
    assert_eq!(bars[10], ("2026-10".to_string(), Some(0.0)));
    assert_eq!(bars[11].0, "2026-11");
    assert!(bars[11].1.is_some_and(|v| (v - 0.5714).abs() < 1e-9));
    assert_eq!(bars[0], ("2025-12".to_string(), None));

    // ---- Free-check coverage, 2026. ----
    let cov = report_json(&hub, "coverage?year=2026").await;
    let figures = |v: &Value| -> [i64; 4] {
        ["women", "no_check", "one_check", "fewer_than_two"].map(|f| v[f].as_i64().unwrap_or(-1))
    };
    let coverage: Vec<(&str, [i64; 4], Option<f64>)> = vec![
        // W1, W2 (two checks), W3, W4, W5, W8.
        ("31", [6, 0, 5, 5], Some(5.0 / 6.0)),
        // W7: two checks.
        ("32", [1, 0, 0, 0], Some(0.0)),
        // W6: known from the verification request only.
        ("33", [1, 1, 0, 1], Some(1.0)),
        ("34", [0; 4], None),
        ("36", [0; 4], None),
        ("41", [0; 4], None),
        ("42", [0; 4], None),
    ];
    let got = cov["provinces"].as_array().expect("provinces");
    assert_eq!(got.len(), coverage.len());
    for (g, (code, n, share)) in got.iter().zip(&coverage) {
        assert_eq!(g["residence_province"], *code);
        assert_eq!(figures(g), *n, "{code}");
        match share {
            Some(s) => assert!(close(&g["fewer_than_two_share"], *s), "{code}"),
            None => assert!(g["fewer_than_two_share"].is_null()),
        }
    }
    assert_eq!(figures(&cov["region"]), [8, 1, 5, 6]);
    assert!(close(&cov["region"]["fewer_than_two_share"], 0.75));
    // The women short of two checks: Shanghai's by ID number, then Zhejiang's.
    let mut shanghai: Vec<(&Value, &str, &str)> = vec![
        (&w1, "341302", "2026-10-30"),
        (&w3, "340104", "2026-11-02"),
        (&w4, "320583", "2026-11-02"),
        (&w5, "341302", "2026-11-02"),
        (&w8, "341302", "2026-11-30"),
    ];
    shanghai.sort_by_key(|(wm, _, _)| wm["id_number"].as_str().unwrap_or_default().to_string());
    let woman = |wm: &Value, res: &str, reg: &str, checks: i64, last: Option<&str>, masked: bool| {
        let id = wm["id_number"].as_str().unwrap_or_default();
        let name = wm["name"].as_str().unwrap_or_default();
        json!({
            "residence_province": &res[..2],
            "residence_division": res,
            "registration_division": reg,
            "id_number": if masked { mask_id_number(id) } else { id.to_string() },
            "name": if masked { mask_name(name) } else { name.to_string() },
            "checks": checks,
            "last_check": last,
        })
    };
    let mut short: Vec<Value> = shanghai
        .iter()
        .map(|(wm, reg, last)| woman(wm, "310104", reg, 1, Some(last), true))
        .collect();
    short.push(woman(&w6, "330106", "341302", 0, None, true));
    assert_eq!(cov["short"], json!(short));
    assert!(cov["follow_up"].is_null(), "the coordination group gets no follow-up list");
    // Shanghai's client: the same figures, its own follow-up list in full, and of the
    // masked list only the women living or registered in Shanghai (not Zhejiang's W6).
    let sh = report_json(&hub, "coverage?year=2026&province=shanghai").await;
    assert_eq!(sh["provinces"], cov["provinces"]);
    let full: Vec<Value> = shanghai
        .iter()
        .map(|(wm, reg, last)| woman(wm, "310104", reg, 1, Some(last), false))
        .collect();
    assert_eq!(sh["follow_up"], json!(full));
    assert_eq!(sh["short"], json!(short[..short.len() - 1]));

    let mut cov_rows: Vec<Vec<E>> = coverage
        .iter()
        .map(|(code, n, share)| {
            let mut row = vec![p(code)];
            row.extend(ints(n));
            row.push(E::R(*share));
            row
        })
        .collect();
    let mut total = vec![t("全区域（每人计一次） region (each woman once)")];
    total.extend(ints(&[8, 1, 5, 6]));
    total.push(E::R(Some(0.75)));
    cov_rows.push(total);
    let list_rows: Vec<Vec<E>> = short
        .iter()
        .map(|v| {
            vec![
                p(v["residence_province"].as_str().unwrap_or_default()),
                t(v["residence_division"].as_str().unwrap_or_default()),
                t(v["registration_division"].as_str().unwrap_or_default()),
                t(v["id_number"].as_str().unwrap_or_default()),
                t(v["name"].as_str().unwrap_or_default()),
                E::I(v["checks"].as_i64().unwrap_or(-1)),
                E::Dt(v["last_check"].as_str().map(date)),
            ]
        })
        .collect();
    let coverage_tables = vec![
        Expected {
            id: "provinces",
            rows: cov_rows,
        },
        Expected {
            id: "short",
            rows: list_rows,
        },
    ];
    let dom = check_formats(&hub, "coverage?from=2026-01-01&to=2026-12-31", &coverage_tables).await;
    let bars = svg_bars(&dom, "chart-coverage");
    assert_eq!(bars.len(), 7);
    assert_eq!(bars[2], ("浙江 zhejiang".to_string(), Some(1.0)));

    // ---- The index page links this month's and last month's reports. ----
    let (status, index) = http_get(hub.http, "/reports").await?;
    assert_eq!(status, 200);
    assert!(index.contains("/api/reports/delivery?from=2026-12-01&amp;to=2026-12-31&amp;format=html"), "{index}");
    assert!(index.contains("/api/reports/delivery?from=2026-11-01&amp;to=2026-11-30&amp;format=xlsx"), "{index}");
    assert!(index.contains("/api/reports/paper?from=2026-11-01&amp;to=2026-11-30&amp;format=csv"), "{index}");
    assert!(index.contains("/api/reports/coverage?from=2026-01-01&amp;to=2026-12-31&amp;format=json"), "{index}");
    let (status, body) = http_get_as(hub.http, "/api/reports/delivery?month=2026-13", "coordination").await?;
    assert_eq!(status, 400, "{body}");
    let (status, _) = http_get_as(hub.http, "/api/reports/nonsense", "coordination").await?;
    assert_eq!(status, 404);

    // ---- The same report on the command line, with the hub's clock. ----
    let offset = at("2026-12-10T10:00:00+08:00") - yipanqi::clock::SystemClock.now();
    let offset_file = env.dir.join("clock-offset");
    std::fs::write(&offset_file, offset.num_seconds().to_string())?;
    let out_file = env.dir.join("delivery.xlsx");
    let cli = |args: &[&str]| {
        std::process::Command::new(yipanqi_tests::hub_binary())
            .arg("report")
            .args(args)
            .env("YIPANQI_DATABASE_URL", &env.database_url)
            .env("YIPANQI_TESTING_CLOCK_OFFSET_FILE", &offset_file)
            .output()
            .expect("run yipanqi")
    };
    let out = cli(&["delivery", "--month", "2026-11", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut from_cli: Value = serde_json::from_slice(&out.stdout)?;
    let mut from_http = d.clone();
    for v in [&mut from_cli, &mut from_http] {
        if let Some(o) = v.as_object_mut() {
            o.remove("as_of");
        }
    }
    assert_eq!(from_cli, from_http);
    let out = cli(&["delivery", "--month", "2026-11", "--out", &out_file.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("按时答复率 on-time rate 71.4%"), "{stdout}");
    check_xlsx(&std::fs::read(&out_file)?, &delivery_tables);

    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_add_up_sqlite() -> anyhow::Result<()> {
    reports_add_up(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_add_up_postgres() -> anyhow::Result<()> {
    reports_add_up(Db::Postgres).await
}
