//! `yipanqi calendar`: ask the working-day calendar what the hub will compute — the
//! date of working day N, whether a date is a working day, which years are known.
//! Offline: the built-in years plus any `YYYY.json` files from `--calendar-dir`.
//!
//! A year the calendar does not cover still gets an answer (Monday–Friday), with one
//! warning line on stderr, the same fallback the hub flags on deadlines.

use crate::deadlines::calendar::Calendar;
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `yipanqi calendar`.
#[derive(Debug, clap::Args)]
pub struct CalendarArgs {
    /// What to ask.
    #[command(subcommand)]
    pub command: CalendarCommand,
}

/// The questions `yipanqi calendar` answers.
#[derive(Debug, clap::Subcommand)]
pub enum CalendarCommand {
    /// Print the date (YYYY-MM-DD) of working day N after DATE (day 1 is the first working day after it).
    AddDays {
        /// The start date, YYYY-MM-DD (e.g. the Beijing date a message was received).
        #[arg(value_name = "DATE", allow_hyphen_values = true)]
        date: String,
        /// How many working days, 0 or more.
        #[arg(value_name = "N", allow_hyphen_values = true)]
        n: String,
        #[command(flatten)]
        source: CalendarSource,
    },
    /// Print `true` if DATE is a working day, `false` if not.
    IsWorkday {
        /// The date, YYYY-MM-DD.
        #[arg(value_name = "DATE", allow_hyphen_values = true)]
        date: String,
        #[command(flatten)]
        source: CalendarSource,
    },
    /// Print the years the calendar covers, one a line.
    Years {
        #[command(flatten)]
        source: CalendarSource,
    },
    /// Import a year's schedule (holiday-cn YYYY.json) into the hub's database: every hub
    /// instance uses it from its next scan, and open expectations whose due dates were
    /// counted Monday–Friday only are recomputed.
    Import {
        /// The schedule file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// TOML configuration file (for the database URL and calendar folder).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Where the calendar comes from.
#[derive(Debug, clap::Args)]
pub struct CalendarSource {
    /// Load every DIR/YYYY.json (holiday-cn format) over the built-in years.
    #[arg(long, env = "YIPANQI_CALENDAR_DIR", value_name = "DIR")]
    pub calendar_dir: Option<PathBuf>,
}

/// Runs the command.
pub async fn run(args: CalendarArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CalendarCommand::Import { file, config } => return import(&file, config.as_deref()).await,
        CalendarCommand::AddDays { date, n, source } => {
            let from = parse_date(&date)?;
            let n = parse_count(&n)?;
            let calendar = load(&source)?;
            let reached = calendar.add_working_days(from, n);
            if reached.uncovered {
                // Every year from the first day counted to the last that the calendar lacks.
                let first = from.succ_opt().unwrap_or(from).year();
                warn_uncovered(&calendar, first..=reached.date.year());
            }
            println!("{}", reached.date.format("%Y-%m-%d"));
        }
        CalendarCommand::IsWorkday { date, source } => {
            let date = parse_date(&date)?;
            let calendar = load(&source)?;
            let day = calendar.is_workday(date);
            if !day.covered {
                warn_uncovered(&calendar, date.year()..=date.year());
            }
            println!("{}", day.working);
        }
        CalendarCommand::Years { source } => {
            for year in load(&source)?.years() {
                println!("{year}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `yipanqi calendar import FILE`.
async fn import(
    file: &std::path::Path,
    config: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let schedule = Calendar::parse_year(&text)
        .with_context(|| format!("{} is not a valid calendar file", file.display()))?;
    let year = schedule.year();
    let (off, make_up) = (
        schedule.off_days().count(),
        schedule.make_up_working_days().count(),
    );
    let config = crate::config::Config::load(config)?;
    let store = crate::store::Store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the hub's database {}",
                crate::store::redact_url(&config.database_url)
            )
        })?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    store
        .import_calendar_year(i64::from(year), &text, now)
        .await?;
    let calendar = crate::deadlines::load_calendar(config.calendar_dir.as_deref(), &store).await?;
    let changed = crate::deadlines::recompute_uncovered(&store, &calendar).await?;
    println!(
        "imported {year}: {off} days off, {make_up} make-up working days; {changed} open expectation(s) rescheduled"
    );
    Ok(ExitCode::SUCCESS)
}

/// The built-in calendar with the `--calendar-dir` years over it.
fn load(source: &CalendarSource) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::builtin();
    if let Some(dir) = &source.calendar_dir {
        let loaded = calendar.load_dir(dir)?;
        if loaded.is_empty() {
            eprintln!(
                "yipanqi: warning: {} holds no YYYY.json calendar files; using the built-in years only",
                dir.display()
            );
        }
    }
    Ok(calendar)
}

/// One stderr line naming the uncovered years among `years`.
fn warn_uncovered(calendar: &Calendar, years: std::ops::RangeInclusive<i32>) {
    // Consecutive years as one range: 2027–2031.
    let mut missing: Vec<String> = Vec::new();
    let mut run: Option<(i32, i32)> = None;
    for y in years.filter(|y| !calendar.covers(*y)) {
        run = match run {
            Some((first, last)) if last + 1 == y => Some((first, y)),
            Some((first, last)) => {
                missing.push(span(first, last));
                Some((y, y))
            }
            None => Some((y, y)),
        };
    }
    if let Some((first, last)) = run {
        missing.push(span(first, last));
    }
    let (list, is, its) = match missing.as_slice() {
        [] => return,
        [one] if !one.contains('–') => (one.clone(), "is", "that year's"),
        _ => (missing.join(", "), "are", "those years'"),
    };
    eprintln!(
        "yipanqi: warning: {list} {is} not in the calendar; counted Monday–Friday only, \
         without {its} holidays (load YYYY.json files with --calendar-dir)"
    );
}

fn span(first: i32, last: i32) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}–{last}")
    }
}

fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .with_context(|| format!("'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-02-13"))
}

/// The most working days `add-days` counts: about forty years, far past any deadline.
const MAX_WORKING_DAYS: u32 = 10_000;

fn parse_count(text: &str) -> anyhow::Result<u32> {
    let n: u32 = text.parse().ok().with_context(|| {
        format!("'{text}' is not a number of working days; N must be a whole number, 0 or more")
    })?;
    if n > MAX_WORKING_DAYS {
        anyhow::bail!("{n} working days is more than the calendar counts (at most {MAX_WORKING_DAYS}, about forty years)");
    }
    Ok(n)
}
