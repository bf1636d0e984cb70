//! `yipanqi report delivery|paper|coverage`: the coordination group's reports from the
//! hub's database (from `--config` and the `YIPANQI_…` environment, like `run`), for a
//! month, a half-year, a year or any dates, as HTML, CSV, XLSX or JSON.

use crate::clock::{Clock, OffsetFileClock, SystemClock};
use crate::config::Config;
use crate::reports::{self, Context, Format, Period, PeriodSpec, ReportKind};
use crate::store::Store;
use anyhow::{bail, Context as _};
use chrono::Datelike;
use std::path::PathBuf;
use std::process::ExitCode;
use yipanqi_adapters::Registry;

/// Arguments of `yipanqi report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Which report: delivery (who delivers, who answers in time), paper (check results
    /// that retired the paper contraception report), coverage (free checks a year).
    #[arg(value_enum)]
    pub report: ReportKind,
    /// A month, e.g. 2026-11.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// A half-year, e.g. 2026H2.
    #[arg(long, value_name = "YYYYH1|YYYYH2")]
    pub half: Option<String>,
    /// A year (the annual joint meeting), e.g. 2026.
    #[arg(long, value_name = "YYYY")]
    pub year: Option<String>,
    /// First day of a range of dates (with --to).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// Last day of the range, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
    /// Add this province's follow-up list, with subjects in full (delivery, coverage).
    #[arg(long, value_name = "PROVINCE")]
    pub province: Option<String>,
    /// Output format (default: from the --out file's extension, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// TOML configuration file (for the database URL and the calendar folder).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Writes a report.
pub async fn run(registry: &Registry, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    if let Some(p) = &args.province {
        super::province_name(registry, p)?;
    }
    let format = match (args.format, &args.out) {
        (Some(f), _) => f,
        (None, Some(out)) => {
            let extension = out.extension().and_then(|e| e.to_str()).unwrap_or("");
            Format::parse(&extension.to_ascii_lowercase()).with_context(|| {
                format!(
                    "cannot tell the format of {}: name it .html, .csv, .xlsx or .json, or give --format",
                    out.display()
                )
            })?
        }
        (None, None) => Format::Json,
    };
    if format == Format::Xlsx && args.out.is_none() {
        bail!("an XLSX workbook is written to a file: give --out FILE.xlsx");
    }
    // Like `run`: the tests' clock offset moves "now" here too.
    let clock: Box<dyn Clock> = match &config.testing.clock_offset_file {
        Some(path) => Box::new(OffsetFileClock::new(path.clone())),
        None => Box::new(SystemClock),
    };
    let now = clock.now();
    let today = reports::period::beijing_date(now);
    let default = match args.report {
        ReportKind::Coverage => Period::of_year(today.year()).unwrap_or(Period::month_of(today)),
        _ => Period::month_of(today),
    };
    let period = PeriodSpec {
        month: args.month,
        half: args.half,
        year: args.year,
        from: args.from,
        to: args.to,
    }
    .resolve(default)?;
    let store = super::open_hub_store(&config).await?;
    let calendar = crate::deadlines::load_calendar(config.calendar_dir.as_deref(), &store).await?;
    let ctx = Context {
        store: &store,
        registry,
        calendar: &calendar,
        now,
    };
    let report = reports::build(&ctx, args.report, period, args.province.as_deref()).await?;
    let scope = match &args.province {
        Some(p) => format!(" follow-up {p}"),
        None => String::new(),
    };
    super::audit_cli(
        &store,
        "report",
        format!("{} {}{scope}", args.report.as_str(), period.slug()),
        None,
        if args.province.is_some() {
            "with the province's follow-up list, subjects in full"
        } else {
            "subjects masked"
        },
    )
    .await?;
    let bytes = report.render(&ctx, format)?;
    match &args.out {
        Some(out) => {
            std::fs::write(out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "{} {} report ({}): {}",
                period.label_zh(),
                args.report.as_str(),
                report.headline_line(),
                out.display()
            );
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of `yipanqi demo`'s summary: the three reports over everything the demo
/// exchanged (from its first message to the demo clock's today), their headline figures,
/// and the HTML files written beside the demo's store (`<store>.delivery.html`, …).
pub(super) async fn demo_summary(
    store: &Store,
    registry: &Registry,
    now: chrono::DateTime<chrono::FixedOffset>,
    store_path: &std::path::Path,
) -> anyhow::Result<Vec<String>> {
    use sqlx::Row;
    let first: Option<i64> = sqlx::query("SELECT MIN(received_ms) FROM messages")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let today = reports::period::beijing_date(now);
    let from = first.map(reports::period::beijing_date_of_ms).unwrap_or(today);
    let period = Period::range(from.min(today), today)?;
    let calendar = crate::deadlines::load_calendar(None, store).await?;
    let ctx = Context {
        store,
        registry,
        calendar: &calendar,
        now,
    };
    let mut lines = vec![format!(
        "reports for {} – {} (demo time), as the coordination group would read them \
         (they count delivered copies: a message to two owners counts for each):",
        period.from, period.to
    )];
    let mut written = Vec::new();
    for (kind, label) in [
        (ReportKind::Delivery, "送达与答复 delivery"),
        (ReportKind::Paper, "纸质报告单取代 paper"),
        (ReportKind::Coverage, "免费检查覆盖 coverage"),
    ] {
        let report = reports::build(&ctx, kind, period, None).await?;
        let path = store_path.with_extension(format!("{}.html", kind.as_str()));
        std::fs::write(&path, report.render(&ctx, Format::Html)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        lines.push(format!("  {label}: {}", report.headline_line()));
        written.push(path);
    }
    lines.push(format!(
        "HTML report: {} (also {} and {})",
        written[0].display(),
        written[1].display(),
        written[2].display()
    ));
    Ok(lines)
}
