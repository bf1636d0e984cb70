//! How long the coordination group's reports take over a big store: loads N synthetic
//! stored messages (1,000,000 by default) straight into a fresh database through SQL —
//! the rows the pipeline would have written: documents, messages with their subjects,
//! confirmed routes, expectations answered on time, late or not at all, receipts,
//! rejections, spread over 2026 — then times each report: the SQL aggregation, and the
//! rendering of each format. Not a test: it prints figures (and the machine) to quote.
//!
//! ```sh
//! cargo bench -p yipanqi --bench reports                         # SQLite, 1,000,000 messages
//! cargo bench -p yipanqi --bench reports -- --messages 100000
//! cargo bench -p yipanqi --bench reports -- --postgres postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! `--postgres URL` names a server whose database `yq_bench_reports` is dropped and made
//! anew; `--sqlite FILE` (default: target/bench-reports.db, replaced) the SQLite file.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::time::Instant;
use yipanqi::deadlines::calendar::Calendar;
use yipanqi::reports::{self, Context, Format, Period, ReportKind};
use yipanqi::store::Store;
use yipanqi_adapters::Registry;

/// Rows per INSERT statement (25 parameters a message: 200 × 25 = 5,000, well under
/// SQLite's 32,766 and PostgreSQL's 65,535).
const ROWS: usize = 200;
/// Rows per transaction.
const COMMIT_EVERY: usize = 20_000;

struct Args {
    messages: usize,
    sqlite: Option<String>,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        messages: 1_000_000,
        sqlite: None,
        postgres: None,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned();
        match argv[i].as_str() {
            "--messages" => {
                a.messages = value.and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(a.messages);
                i += 1;
            }
            "--sqlite" => {
                a.sqlite = value;
                i += 1;
            }
            "--postgres" => {
                a.postgres = value;
                i += 1;
            }
            _ => {} // `cargo bench` passes --bench
        }
        i += 1;
    }
    a
}

fn beijing() -> FixedOffset {
    yipanqi::clock::beijing_offset()
}

/// A woman of the synthetic population.
struct Woman {
    id: String,
    name: String,
    registration: String,
    residence: String,
}

/// A value for the multi-row INSERTs: text, integer or NULL.
#[derive(Clone)]
enum V {
    T(String),
    I(i64),
    B(&'static [u8]),
    /// A text NULL.
    N,
    /// An integer NULL (PostgreSQL types its parameters).
    NI,
}

struct Batch {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<V>>,
    /// Rows written so far.
    written: usize,
}

impl Batch {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Batch {
        Batch {
            table,
            columns,
            rows: Vec::with_capacity(ROWS),
            written: 0,
        }
    }

    async fn push(&mut self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, row: Vec<V>) -> anyhow::Result<()> {
        // Flushed by the loader, parents before children (foreign keys).
        let _ = tx;
        self.rows.push(row);
        Ok(())
    }

    async fn flush(&mut self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.columns.len();
        let tuples: Vec<String> = (0..self.rows.len())
            .map(|r| {
                let params: Vec<String> = (0..n).map(|c| format!("${}", r * n + c + 1)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.columns.join(", "),
            tuples.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in &self.rows {
            for v in row {
                q = match v {
                    V::T(s) => q.bind(s.clone()),
                    V::I(i) => q.bind(*i),
                    V::B(b) => q.bind(b.to_vec()),
                    V::N => q.bind(None::<String>),
                    V::NI => q.bind(None::<i64>),
                };
            }
        }
        q.execute(&mut **tx).await?;
        self.written += self.rows.len();
        self.rows.clear();
        Ok(())
    }
}

const MESSAGE_COLUMNS: &[&str] = &[
    "message_id", "document_id", "province", "source_message_id", "record", "kind",
    "source_division", "in_reply_to", "subject_id", "content_hash", "canonical", "outcome",
    "warnings", "received_at", "received_ms", "spouse_id", "subject_name", "subject_sex",
    "subject_registration", "subject_residence", "spouse_name", "spouse_sex",
    "spouse_registration", "spouse_residence", "receipt_status",
];
const ROUTE_COLUMNS: &[&str] = &[
    "message_id", "target_division", "role", "destination", "routing_key", "why", "confirmed_at",
];
const EXPECTATION_COLUMNS: &[&str] = &[
    "message_id", "kind", "sender_province", "sender_division", "owner_province",
    "owner_division", "answer_kinds", "working_days", "received_at", "received_ms", "due_at",
    "due_ms", "calendar_uncovered", "state", "step", "next_step_ms", "answer_id", "answered_at",
    "answered_ms", "answer_working_days",
];
const DOCUMENT_COLUMNS: &[&str] = &[
    "id", "province", "sha256", "raw", "source_message_id", "received_at", "received_ms",
];
const REJECTION_COLUMNS: &[&str] = &[
    "document_id", "record_key", "province", "source_message_id", "message_id", "rejection_id",
    "reason", "detail", "notice", "notice_key", "received_at", "received_ms",
];

/// Kinds the provinces send unprompted, by share, with the answer each expects.
const KINDS: &[(&str, u32, Option<&str>)] = &[
    ("checkup_result", 40, Some("receipt")),
    ("migration_notice", 18, Some("receipt")),
    ("birth_verify_request", 10, Some("birth_verify_reply")),
    ("marriage_cert_issued", 10, None),
    ("marriage_cert_missing", 6, Some("marriage_cert_reissued")),
    ("birth_registration_result", 6, Some("receipt")),
    ("honor_cert_request", 4, Some("receipt")),
    ("case_referral", 3, Some("receipt")),
    ("fee_collection", 3, Some("receipt")),
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "欧阳"];
const GIVEN: &[&str] = &["秀英", "桂英", "丽", "敏", "静", "婷", "雪梅", "海燕", "红霞", "晓燕", "芳", "娜"];
const REASONS: &[&str] = &["malformed", "schema_violation", "invalid_id_number", "unknown_division", "unknown_reference"];

async fn load(store: &Store, n: usize, calendar: &Calendar, registry: &Registry) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(2026);
    let region: Vec<(String, String)> = registry
        .provinces()
        .map(|p| (p.code.clone(), p.name.clone()))
        .collect();
    let counties = |code: &str| -> Vec<String> {
        yipanqi_schemas::divisions_in_province(code)
            .into_iter()
            .filter(|d| d.len() == 6)
            .map(str::to_string)
            .collect()
    };
    let divisions: Vec<Vec<String>> = region.iter().map(|(c, _)| counties(c)).collect();
    let outside = counties("44");
    // About one woman per five messages: most appear in several.
    let women: Vec<Woman> = (0..(n / 5).max(10))
        .map(|i| {
            let res_p = rng.random_range(0..region.len());
            let mut reg_p = rng.random_range(0..region.len());
            if reg_p == res_p {
                reg_p = (reg_p + 1) % region.len();
            }
            let registration = if rng.random_bool(0.05) {
                outside.choose(&mut rng).cloned().unwrap_or_default()
            } else {
                divisions[reg_p].choose(&mut rng).cloned().unwrap_or_default()
            };
            Woman {
                id: format!("{}{:08}{:03}{}", &registration, 19_750_101 + (i % 250_000) as i64, (i % 500) * 2, i % 10),
                name: format!(
                    "{}{}",
                    SURNAMES.choose(&mut rng).copied().unwrap_or("王"),
                    GIVEN.choose(&mut rng).copied().unwrap_or("芳")
                ),
                registration,
                residence: divisions[res_p].choose(&mut rng).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let weights: u32 = KINDS.iter().map(|k| k.1).sum();
    let year_start = beijing().with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("time");
    let now = beijing().with_ymd_and_hms(2026, 12, 31, 12, 0, 0).single().expect("time");
    let rfc = |t: DateTime<FixedOffset>| t.to_rfc3339_opts(SecondsFormat::Millis, false);
    let pool = store.pool();

    let mut messages = Batch::new("messages", MESSAGE_COLUMNS);
    let mut routes = Batch::new("routes", ROUTE_COLUMNS);
    let mut expectations = Batch::new("expectations", EXPECTATION_COLUMNS);
    let mut documents = Batch::new("documents", DOCUMENT_COLUMNS);
    let mut rejections = Batch::new("rejections", REJECTION_COLUMNS);
    let mut tx = pool.begin().await?;
    let mut serial = 0usize;
    let mut doc_id = 0i64;
    let mut since_commit = 0usize;
    let mut reported = 0usize;
    let started = Instant::now();
    while messages.written + messages.rows.len() < n {
        if [&documents, &messages, &routes, &expectations, &rejections]
            .iter()
            .any(|b| b.rows.len() >= ROWS)
        {
            for b in [&mut documents, &mut messages, &mut routes, &mut expectations, &mut rejections] {
                b.flush(&mut tx).await?;
            }
        }
        since_commit += 1;
        if since_commit >= COMMIT_EVERY {
            since_commit = 0;
            for b in [&mut documents, &mut messages, &mut routes, &mut expectations, &mut rejections] {
                b.flush(&mut tx).await?;
            }
            tx.commit().await?;
            tx = pool.begin().await?;
            if messages.written / 100_000 > reported {
                reported = messages.written / 100_000;
                eprintln!(
                    "  {} messages loaded ({:.0} s)",
                    messages.written,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        serial += 1;
        // One document per message (and a rejected one now and then).
        doc_id += 1;
        let received = year_start
            + Duration::milliseconds(rng.random_range(0..365 * 86_400_000i64 - 40 * 86_400_000));
        let w = women.choose(&mut rng).expect("women");
        let mut pick = rng.random_range(0..weights);
        let &(kind, _, answer) = KINDS
            .iter()
            .find(|k| {
                if pick < k.1 {
                    true
                } else {
                    pick -= k.1;
                    false
                }
            })
            .expect("a kind");
        // Sent by the residence (issued certificates by the registration place).
        let (sender, owner) = if kind == "marriage_cert_issued" {
            (&w.registration, &w.residence)
        } else {
            (&w.residence, &w.registration)
        };
        if sender.len() < 2 || !region.iter().any(|(c, _)| *c == sender[..2]) {
            continue; // an outside registration place sends through PADIS, not to us
        }
        let sender_p = sender[..2].to_string();
        let owner_p = owner[..2].to_string();
        let owner_in_region = region.iter().any(|(c, _)| *c == owner_p);
        let id = uuid::Uuid::from_u128(serial as u128 | (1u128 << 100)).to_string();
        let source_id = format!("B{sender_p}{serial:010}");
        let province_name = region
            .iter()
            .find(|(c, _)| *c == sender_p)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        documents
            .push(&mut tx, vec![
                V::I(doc_id),
                V::T(province_name.clone()),
                V::T(format!("{serial:064x}")),
                V::B(b"<doc/>"),
                V::T(source_id.clone()),
                V::T(rfc(received)),
                V::I(received.timestamp_millis()),
            ])
            .await?;
        if rng.random_bool(0.01) {
            let reason = REASONS.choose(&mut rng).copied().unwrap_or("malformed");
            rejections
                .push(&mut tx, vec![
                    V::I(doc_id), V::I(-1), V::T(province_name.clone()), V::T(source_id.clone()), V::N,
                    V::T(uuid::Uuid::from_u128(serial as u128 | (3u128 << 100)).to_string()),
                    V::T(reason.into()), V::T("bench".into()), V::T("{}".into()),
                    V::T(format!("{sender_p}.{sender}.rejection")), V::T(rfc(received)),
                    V::I(received.timestamp_millis()),
                ])
                .await?;
            continue;
        }
        let canonical = |kind: &str, id: &str, reply: Option<&str>, status: Option<&str>, t: DateTime<FixedOffset>| {
            serde_json::json!({
                "schema": "yipanqi/1", "message_id": id, "kind": kind,
                "source": {"province": sender_p, "division": sender, "message_id": source_id, "record": 0},
                "sent_at": rfc(t), "received_at": rfc(t), "in_reply_to": reply,
                "subject": {"id_number": w.id, "name": w.name, "sex": "2", "birth_date": "1990-01-01",
                            "registration_division": w.registration, "residence_division": w.residence,
                            "marital_status": "20"},
                "spouse": null,
                "body": match status { Some(s) => serde_json::json!({"status": s}), None => serde_json::json!({"checked_on": "2026-01-01", "items": ["pregnancy", "iud"], "pregnancy": "not_pregnant", "iud": "in_place", "institution": "社区卫生服务中心"}) },
            })
            .to_string()
        };
        let message_row = |id: &str, kind: &str, province: &str, division: &str, reply: Option<&str>, t: DateTime<FixedOffset>, status: Option<&str>, doc: i64, src: &str| {
            vec![
                V::T(id.to_string()), V::I(doc), V::T(province.to_string()), V::T(src.to_string()), V::I(0),
                V::T(kind.to_string()), V::T(division.to_string()),
                reply.map(|r| V::T(r.to_string())).unwrap_or(V::N),
                V::T(w.id.clone()), V::T(format!("{:x}", doc)),
                V::T(canonical(kind, id, reply, status, t)), V::T("routed".into()), V::T("[]".into()),
                V::T(rfc(t)), V::I(t.timestamp_millis()), V::N, V::T(w.name.clone()), V::T("2".into()),
                V::T(w.registration.clone()), V::T(w.residence.clone()), V::N, V::N, V::N, V::N,
                status.map(|s| V::T(s.to_string())).unwrap_or(V::N),
            ]
        };
        messages
            .push(&mut tx, message_row(&id, kind, &sender_p, sender, None, received, None, doc_id, &source_id))
            .await?;
        let destination = if owner_in_region {
            region.iter().find(|(c, _)| *c == owner_p).map(|(_, n)| n.clone()).unwrap_or_default()
        } else {
            "padis".to_string()
        };
        routes
            .push(&mut tx, vec![
                V::T(id.clone()), V::T(owner.clone()), V::T("owner".into()), V::T(destination),
                V::T(format!("{owner_p}.{owner}.{kind}")), V::T("bench".into()),
                if rng.random_bool(0.995) { V::T(rfc(received)) } else { V::N },
            ])
            .await?;
        let (Some(answer_kind), true) = (answer, owner_in_region) else {
            continue;
        };
        let deadline = calendar.deadline(received, 15);
        let due_ms = deadline.due_at.timestamp_millis();
        // 88% answered: most within a few working days, some late; the rest open or overdue.
        let answered = if rng.random_bool(0.88) {
            let days = if rng.random_bool(0.9) { rng.random_range(0..20) } else { rng.random_range(20..45) };
            let at = received + Duration::days(days) + Duration::minutes(rng.random_range(0..600));
            (at < now).then_some(at)
        } else {
            None
        };
        let answer_id = uuid::Uuid::from_u128(serial as u128 | (2u128 << 100)).to_string();
        let (state, answered_cols) = match answered {
            Some(at) => {
                let status = if rng.random_bool(0.95) { "accepted" } else { "rejected" };
                let receipt_status = (answer_kind == "receipt").then_some(status);
                doc_id += 1;
                let src = format!("A{owner_p}{serial:010}");
                documents
                    .push(&mut tx, vec![
                        V::I(doc_id), V::T("bench-answers".into()), V::T(format!("a{serial:063x}")),
                        V::B(b"<doc/>"), V::T(src.clone()), V::T(rfc(at)), V::I(at.timestamp_millis()),
                    ])
                    .await?;
                messages
                    .push(&mut tx, message_row(&answer_id, answer_kind, &owner_p, owner, Some(&id), at, receipt_status, doc_id, &src))
                    .await?;
                routes
                    .push(&mut tx, vec![
                        V::T(answer_id.clone()), V::T(sender.clone()), V::T("owner".into()),
                        V::T(province_name.clone()), V::T(format!("{sender_p}.{sender}.{answer_kind}")),
                        V::T("bench".into()), V::T(rfc(at)),
                    ])
                    .await?;
                let to_date = |t: DateTime<FixedOffset>| t.with_timezone(&beijing()).date_naive();
                let days = calendar.working_days_between(to_date(received), to_date(at)).0;
                (
                    if at.timestamp_millis() <= due_ms { "answered_on_time" } else { "answered_late" },
                    vec![V::T(answer_id.clone()), V::T(rfc(at)), V::I(at.timestamp_millis()), V::I(i64::from(days))],
                )
            }
            None => (
                if due_ms < now.timestamp_millis() { "overdue" } else { "open" },
                vec![V::N, V::N, V::NI, V::NI],
            ),
        };
        let mut row = vec![
            V::T(id.clone()), V::T(kind.into()), V::T(sender_p.clone()), V::T(sender.clone()),
            V::T(owner_p.clone()), V::T(owner.clone()), V::T(answer_kind.into()), V::I(15),
            V::T(rfc(received)), V::I(received.timestamp_millis()), V::T(deadline.due_at.to_rfc3339()),
            V::I(due_ms), V::I(0), V::T(state.into()), V::I(i64::from(state == "overdue")), V::I(due_ms),
        ];
        row.extend(answered_cols);
        expectations.push(&mut tx, row).await?;

    }
    for b in [&mut documents, &mut messages, &mut routes, &mut expectations, &mut rejections] {
        b.flush(&mut tx).await?;
    }
    tx.commit().await?;
    eprintln!(
        "loaded {} messages, {} routes, {} expectations, {} rejections in {:.0} s",
        messages.written,
        routes.written,
        expectations.written,
        rejections.written,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn time_reports(label: &str, store: &Store) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let calendar = Calendar::builtin();
    let now: DateTime<FixedOffset> = beijing().with_ymd_and_hms(2026, 12, 31, 12, 0, 0).single().expect("time");
    let ctx = Context {
        store,
        registry: &registry,
        calendar: &calendar,
        now,
    };
    let month = Period::month("2026-11")?;
    let year = Period::year("2026")?;
    let cases = [
        (ReportKind::Delivery, month, None, "delivery --month 2026-11"),
        (ReportKind::Delivery, year, None, "delivery --year 2026"),
        (ReportKind::Delivery, year, Some("anhui"), "delivery --year 2026 --province anhui"),
        (ReportKind::Paper, month, None, "paper --month 2026-11"),
        (ReportKind::Paper, year, None, "paper --year 2026"),
        (ReportKind::Coverage, year, None, "coverage --year 2026"),
        (ReportKind::Coverage, year, Some("anhui"), "coverage --year 2026 --province anhui"),
    ];
    println!();
    println!("{label}");
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}   list rows",
        "report", "SQL s", "json s", "html s", "csv s", "xlsx s"
    );
    for (kind, period, province, name) in cases {
        let t = Instant::now();
        let report = reports::build(&ctx, kind, period, province).await?;
        let sql = t.elapsed().as_secs_f64();
        let mut times = Vec::new();
        for format in [Format::Json, Format::Html, Format::Csv, Format::Xlsx] {
            let t = Instant::now();
            let bytes = report.render(&ctx, format)?;
            std::hint::black_box(bytes.len());
            times.push(t.elapsed().as_secs_f64());
        }
        let rows = match &report {
            reports::Report::Delivery(d) => d.overdue.len() + d.follow_up.as_ref().map_or(0, Vec::len),
            reports::Report::Paper(p) => p.pairs.len() + p.trend.len(),
            reports::Report::Coverage(c) => c.short.len() + c.follow_up.as_ref().map_or(0, Vec::len),
            reports::Report::Audit(a) => a.askers.len() + a.refusals.len(),
        };
        println!(
            "{name:<40} {sql:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   {rows}",
            times[0], times[1], times[2], times[3]
        );
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1_048_576.0))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores, {mem} memory")
}

async fn run_on(url: &str, label: &str, n: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let t = Instant::now();
    load(&store, n, &Calendar::builtin(), &Registry::builtin()).await?;
    // Fresh statistics for the planner, as a long-running database would have.
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    eprintln!("(load and analyze: {:.0} s)", t.elapsed().as_secs_f64());
    time_reports(label, &store).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let a = args();
    println!(
        "yipanqi report benchmark: {} synthetic stored messages (2026), on {}",
        a.messages,
        machine()
    );
    let sqlite = a.sqlite.clone().unwrap_or_else(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        dir.join("bench-reports.db").display().to_string()
    });
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{sqlite}{suffix}"));
    }
    run_on(&format!("sqlite://{sqlite}"), &format!("SQLite ({sqlite})"), a.messages).await?;
    if let Some(server) = &a.postgres {
        use sqlx::Connection as _;
        let mut admin = sqlx::AnyConnection::connect(server).await?;
        sqlx::raw_sql("DROP DATABASE IF EXISTS yq_bench_reports WITH (FORCE)")
            .execute(&mut admin)
            .await?;
        sqlx::raw_sql("CREATE DATABASE yq_bench_reports").execute(&mut admin).await?;
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
        let url = format!("{base}/yq_bench_reports");
        run_on(&url, "PostgreSQL", a.messages).await?;
    }
    Ok(())
}
