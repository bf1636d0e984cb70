//! Reports for the regional coordination group (DOMAIN.md §6): does the chessboard work?
//!
//! - `delivery.rs` — who delivers, who answers in time, who lets items go overdue;
//! - `paper.rs` — check results delivered with an accepted receipt: paper reports retired;
//! - `coverage.rs` — women with fewer than the two free checks a year;
//! - `audit.rs` — who looked people up, and what was refused.
//!
//! Each computes its figures by SQL aggregation in the store's database (SQLite or
//! PostgreSQL, through the store's read pool) — grouped counts and histograms, never every
//! message in memory — into a serialisable struct (the JSON form), and lays it out as a
//! [`Document`] that `html.rs`, `csv.rs` and `xlsx.rs` render. This module owns no
//! access control: the follow-up lists with subjects in full are produced per province,
//! and who may fetch them is decided by `access::rules::report`; [`Report::restrict`]
//! narrows the masked lists to what a province sent or owns.

pub mod audit;
pub mod coverage;
pub mod csv;
pub mod delivery;
pub mod document;
pub mod html;
pub mod labels;
pub mod paper;
pub mod period;
pub mod stats;
pub mod xlsx;

pub use document::{Cell, Document};
pub use period::{Period, PeriodError, PeriodSpec};

use crate::deadlines::calendar::Calendar;
use crate::store::{Store, StoreError};
use chrono::{DateTime, FixedOffset};
use yipanqi_adapters::Registry;

/// What a report is computed against.
pub struct Context<'a> {
    /// The hub's database.
    pub store: &'a Store,
    /// The region's provinces (names and labels).
    pub registry: &'a Registry,
    /// The working-day calendar (working days overdue; answer times recorded before
    /// migration 0003).
    pub calendar: &'a Calendar,
    /// The moment the report describes: whether an open expectation is overdue.
    pub now: DateTime<FixedOffset>,
}

/// A report that could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The spreadsheet could not be written.
    #[error("the spreadsheet could not be written: {0}")]
    Xlsx(String),
    /// A province that is not in the region.
    #[error("unknown province '{0}'")]
    UnknownProvince(String),
}

impl From<sqlx::Error> for ReportError {
    fn from(e: sqlx::Error) -> Self {
        ReportError::Store(StoreError::from(e))
    }
}

/// The three reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Delivery and answers.
    Delivery,
    /// Paper contraception reports retired.
    Paper,
    /// Free-check coverage.
    Coverage,
    /// The audit of lookups.
    Audit,
}

impl ReportKind {
    /// Its name in URLs and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Delivery => "delivery",
            ReportKind::Paper => "paper",
            ReportKind::Coverage => "coverage",
            ReportKind::Audit => "audit",
        }
    }

    /// By name.
    pub fn parse(s: &str) -> Option<ReportKind> {
        match s {
            "delivery" => Some(ReportKind::Delivery),
            "paper" => Some(ReportKind::Paper),
            "coverage" => Some(ReportKind::Coverage),
            "audit" => Some(ReportKind::Audit),
            _ => None,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A self-contained, printable page with SVG charts.
    Html,
    /// UTF-8 with a byte-order mark, one section per table.
    Csv,
    /// A workbook, one sheet per table.
    Xlsx,
    /// The data, for programs.
    Json,
}

impl Format {
    /// By name.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "html" => Some(Format::Html),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
        }
    }
}

/// A computed report.
#[derive(Debug, Clone)]
pub enum Report {
    /// The delivery report.
    Delivery(delivery::DeliveryReport),
    /// Paper retirement.
    Paper(paper::PaperReport),
    /// Free-check coverage.
    Coverage(coverage::CoverageReport),
    /// The audit of lookups.
    Audit(audit::AuditReport),
}

/// Computes a report. `province` (pinyin name or code) adds that province's follow-up
/// list with subjects in full (delivery and coverage).
pub async fn build(
    ctx: &Context<'_>,
    kind: ReportKind,
    period: Period,
    province: Option<&str>,
) -> Result<Report, ReportError> {
    let code = match province {
        Some(p) => Some(
            ctx.registry
                .get(p)
                .map(|m| m.province().code.clone())
                .ok_or_else(|| ReportError::UnknownProvince(p.to_string()))?,
        ),
        None => None,
    };
    let started = std::time::Instant::now();
    let report = match kind {
        ReportKind::Delivery => {
            Report::Delivery(delivery::compute(ctx, period, code.as_deref()).await?)
        }
        ReportKind::Paper => Report::Paper(paper::compute(ctx, period).await?),
        ReportKind::Coverage => {
            Report::Coverage(coverage::compute(ctx, period, code.as_deref()).await?)
        }
        ReportKind::Audit => Report::Audit(audit::compute(ctx, period).await?),
    };
    tracing::info!(
        report = kind.as_str(),
        period = %period.slug(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report computed"
    );
    Ok(report)
}

impl Report {
    /// Which report.
    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Delivery(_) => ReportKind::Delivery,
            Report::Paper(_) => ReportKind::Paper,
            Report::Coverage(_) => ReportKind::Coverage,
            Report::Audit(_) => ReportKind::Audit,
        }
    }

    /// Keeps, of the lists with subjects masked, only the items `scope` covers: for a
    /// province, the overdue items it sent or owes and the women registered or living
    /// in it. Aggregate figures stay the region's.
    pub fn restrict(&mut self, scope: &crate::access::rules::Scope) {
        match self {
            Report::Delivery(r) => r.overdue.retain(|i| {
                scope.covers(
                    i.sender_division.get(..2).unwrap_or_default(),
                    std::iter::once(i.owner_province.as_str()),
                )
            }),
            Report::Coverage(r) => r.short.retain(|w| {
                scope.covers(
                    w.residence_province.as_str(),
                    std::iter::once(w.registration_division.get(..2).unwrap_or_default()),
                )
            }),
            Report::Paper(_) | Report::Audit(_) => {}
        }
    }

    /// The headline figures.
    pub fn headline(&self) -> Vec<(labels::Label, Cell)> {
        match self {
            Report::Delivery(r) => r.headline(),
            Report::Paper(r) => r.headline(),
            Report::Coverage(r) => r.headline(),
            Report::Audit(r) => r.headline(),
        }
    }

    /// The headline in one line: `送达 delivered 14 · 按时答复率 on-time rate 71.4% · …`.
    pub fn headline_line(&self) -> String {
        self.headline()
            .iter()
            .map(|(l, c)| {
                let v = c.text();
                format!("{} {}", l.both(), if v.is_empty() { "—".into() } else { v })
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The report laid out for people.
    pub fn document(&self, ctx: &Context<'_>) -> Document {
        match self {
            Report::Delivery(r) => r.document(ctx),
            Report::Paper(r) => r.document(ctx),
            Report::Coverage(r) => r.document(ctx),
            Report::Audit(r) => r.document(ctx),
        }
    }

    /// The data as JSON, with `report` naming which.
    pub fn json(&self) -> serde_json::Value {
        let mut v = match self {
            Report::Delivery(r) => serde_json::to_value(r),
            Report::Paper(r) => serde_json::to_value(r),
            Report::Coverage(r) => serde_json::to_value(r),
            Report::Audit(r) => serde_json::to_value(r),
        }
        .unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("report".into(), self.kind().as_str().into());
        }
        v
    }

    /// The report in a format.
    pub fn render(&self, ctx: &Context<'_>, format: Format) -> Result<Vec<u8>, ReportError> {
        Ok(match format {
            Format::Json => serde_json::to_vec_pretty(&self.json()).unwrap_or_default(),
            Format::Html => html::render(&self.document(ctx)).into_bytes(),
            Format::Csv => csv::render(&self.document(ctx)),
            Format::Xlsx => xlsx::render(&self.document(ctx))?,
        })
    }
}

/// A file name for a report: `yipanqi-delivery-2026-11[-anhui].html`.
pub fn file_name(kind: ReportKind, period: &Period, province: Option<&str>, format: Format) -> String {
    let scope = province.map(|p| format!("-{p}")).unwrap_or_default();
    format!(
        "yipanqi-{}-{}{scope}.{}",
        kind.as_str(),
        period.slug(),
        format.extension()
    )
}

/// Records the answer times of expectations answered before migration 0003 added the
/// column, so that every report counts them. Usually finds nothing.
pub async fn backfill_answer_days(ctx: &Context<'_>) -> Result<(), ReportError> {
    loop {
        let rows = ctx.store.answers_without_working_days(1000).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let days: Vec<(i64, i64)> = rows
            .iter()
            .map(|(id, received, answered)| {
                let date = |s: &str| {
                    DateTime::parse_from_rfc3339(s)
                        .map(period::beijing_date)
                        .ok()
                };
                let n = match (date(received), date(answered)) {
                    (Some(r), Some(a)) => i64::from(ctx.calendar.working_days_between(r, a).0),
                    _ => 0,
                };
                (*id, n)
            })
            .collect();
        ctx.store.record_answer_working_days(&days).await?;
        tracing::info!(
            expectations = days.len(),
            "answer times in working days recorded for answers stored before reports existed"
        );
    }
}
