//! The working-day calendar (DOMAIN.md §5): Monday–Friday, minus the public holidays,
//! plus the weekend days declared working days (调休), one State Council schedule per
//! year. It owns reading the holiday-cn JSON files, counting working days and turning
//! "N working days after receipt" into a deadline. It does no I/O except
//! [`Calendar::load_dir`], reads no clock, and never fails a count: a year it does not
//! know is counted Monday–Friday and the result says so (`uncovered`), so callers can
//! flag it loudly instead of trusting it.
//!
//! 2024–2026 are built in (`hub/data/holidays/`, MIT, from the holiday-cn data set);
//! later years are data the operator loads, not a new release.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in schedules, embedded so the binary runs from any folder.
const BUILTIN: [(&str, &str); 3] = [
    ("2024.json", include_str!("../../data/holidays/2024.json")),
    ("2025.json", include_str!("../../data/holidays/2025.json")),
    ("2026.json", include_str!("../../data/holidays/2026.json")),
];

/// The years a schedule file may name; anything else is a typo, not a calendar.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1949..=9999;

/// The working-day calendar: weekends, public holidays and make-up working days, per year.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, YearSchedule>,
}

/// One year's official schedule: the days that differ from the Monday–Friday rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    year: i32,
    days: BTreeMap<NaiveDate, Declared>,
}

/// What the schedule declares a day to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    /// A public-holiday day off (which may fall on a weekend inside a holiday block).
    Off,
    /// A make-up working day (调休), normally a Saturday or Sunday.
    Working,
}

/// Whether a date is a working day, and whether the calendar actually knows its year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workday {
    /// A working day.
    pub working: bool,
    /// The date's year is in the calendar; when false, `working` is Monday–Friday only.
    pub covered: bool,
}

/// A date reached by counting working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    /// The date.
    pub date: NaiveDate,
    /// Some day counted lay in a year the calendar does not cover (counted Monday–Friday).
    pub uncovered: bool,
}

/// A deadline of N working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The end (23:59:59 +08:00) of the last working day.
    pub due_at: DateTime<FixedOffset>,
    /// Some day counted lay in a year the calendar does not cover (counted Monday–Friday).
    pub uncovered: bool,
}

/// Why a schedule file or folder cannot be used. Every message names the file or the
/// year and says what is wrong, because an operator fixes it by hand.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Not JSON, or not the holiday-cn shape (`year`, `days[].date`, `days[].isOffDay` a boolean).
    #[error("not a holiday-cn calendar file (expected {{\"year\": 2027, \"days\": [{{\"date\": \"2027-01-01\", \"isOffDay\": true}}, …]}})")]
    Json(#[source] serde_json::Error),
    /// The `year` field is not a plausible year.
    #[error("calendar year {year} is not a plausible year")]
    ImplausibleYear {
        /// The year field.
        year: i32,
    },
    /// A `date` that is not a YYYY-MM-DD calendar date.
    #[error("calendar {year}: '{date}' is not a date in the form YYYY-MM-DD")]
    BadDate {
        /// The year field.
        year: i32,
        /// The text found.
        date: String,
    },
    /// A date neither in the year nor in the December before it.
    #[error("calendar {year}: {date} is outside {year} (a year's file lists only days of that year, and of the December before it when a New Year holiday starts there)")]
    OutsideYear {
        /// The year field.
        year: i32,
        /// The date found.
        date: NaiveDate,
    },
    /// The same date listed twice.
    #[error("calendar {year}: {date} is listed more than once")]
    Duplicate {
        /// The year field.
        year: i32,
        /// The repeated date.
        date: NaiveDate,
    },
    /// A file with no days: holiday-cn writes one before the State Council publishes the
    /// year, and loading it would pass weekends-only counting off as an official calendar.
    #[error("calendar {year} lists no days at all: the State Council's schedule for {year} is not in it yet (holiday-cn writes such an empty file before publication); use the file once it lists the holidays")]
    NoDays {
        /// The year field.
        year: i32,
    },
    /// A YYYY.json whose `year` field names another year.
    #[error("{} is named for {named} but its year field says {year}", file.display())]
    YearMismatch {
        /// The file.
        file: PathBuf,
        /// The year in the file name.
        named: i32,
        /// The year field.
        year: i32,
    },
    /// The calendar folder cannot be listed.
    #[error("cannot read the calendar folder {}", dir.display())]
    ReadDir {
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A calendar file cannot be read.
    #[error("cannot read the calendar file {}", file.display())]
    ReadFile {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A calendar file is invalid.
    #[error("invalid calendar file {}", file.display())]
    InFile {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<CalendarError>,
    },
}

/// The holiday-cn file as written (`$schema`, `$id`, `papers` and `name` are ignored).
#[derive(Deserialize)]
struct RawYear {
    year: i32,
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl YearSchedule {
    /// The year this schedule is for.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The public-holiday days off, in date order.
    pub fn off_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.declared(Declared::Off)
    }

    /// The make-up working days (调休), in date order.
    pub fn make_up_working_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.declared(Declared::Working)
    }

    fn declared(&self, kind: Declared) -> impl Iterator<Item = NaiveDate> + '_ {
        self.days
            .iter()
            .filter(move |(_, d)| **d == kind)
            .map(|(date, _)| *date)
    }
}

impl Calendar {
    /// The built-in calendar: 2024–2026, embedded in the binary.
    pub fn builtin() -> Calendar {
        let mut calendar = Calendar::default();
        for (name, json) in BUILTIN {
            // The embedded files are checked by the tests below; a failure here is a
            // broken build, not an operator's mistake.
            let year = Calendar::parse_year(json)
                .unwrap_or_else(|e| panic!("built-in calendar {name} is invalid: {e}"));
            calendar.with_year(year);
        }
        calendar
    }

    /// Reads one year's holiday-cn JSON.
    ///
    /// Only what is certainly wrong is rejected: malformed JSON or dates, an implausible
    /// year, a date outside the year (the December before it is allowed: when New Year's
    /// Day falls early in the week the holiday block starts in December, and holiday-cn's
    /// 2019.json lists 2018-12-29…31), a date listed twice, and a file with no days. Off
    /// days on weekends are normal (2026-02-15 is a Sunday inside the Spring Festival
    /// block), and a "working" weekday is harmless (holiday-cn's 2020.json marks Monday
    /// 2020-02-03 so), so neither is rejected.
    pub fn parse_year(json: &str) -> Result<YearSchedule, CalendarError> {
        let raw: RawYear = serde_json::from_str(json).map_err(CalendarError::Json)?;
        let year = raw.year;
        if !PLAUSIBLE_YEARS.contains(&year) {
            return Err(CalendarError::ImplausibleYear { year });
        }
        if raw.days.is_empty() {
            return Err(CalendarError::NoDays { year });
        }
        let mut days = BTreeMap::new();
        for day in raw.days {
            let date = NaiveDate::parse_from_str(&day.date, "%Y-%m-%d").map_err(|_| {
                CalendarError::BadDate {
                    year,
                    date: day.date.clone(),
                }
            })?;
            let december_before = date.year() == year - 1 && date.month() == 12;
            if date.year() != year && !december_before {
                return Err(CalendarError::OutsideYear { year, date });
            }
            let declared = if day.is_off_day {
                Declared::Off
            } else {
                Declared::Working
            };
            if days.insert(date, declared).is_some() {
                return Err(CalendarError::Duplicate { year, date });
            }
        }
        Ok(YearSchedule { year, days })
    }

    /// Adds a year, or replaces the schedule already held for it.
    pub fn with_year(&mut self, year: YearSchedule) {
        self.years.insert(year.year, year);
    }

    /// Loads every `YYYY.json` in `dir` over what the calendar holds (other files are
    /// ignored) and returns the years loaded, in order. Nothing is added unless every
    /// file is valid, so a half-loaded folder never passes for a whole one.
    pub fn load_dir(&mut self, dir: &Path) -> Result<Vec<i32>, CalendarError> {
        let read_dir = |source| CalendarError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_dir)? {
            let path = entry.map_err(read_dir)?.path();
            if let Some(named) = year_file_name(&path) {
                files.push((named, path));
            }
        }
        files.sort();
        let mut loaded = Vec::with_capacity(files.len());
        for (named, file) in files {
            let json =
                std::fs::read_to_string(&file).map_err(|source| CalendarError::ReadFile {
                    file: file.clone(),
                    source,
                })?;
            let schedule = Calendar::parse_year(&json).map_err(|e| CalendarError::InFile {
                file: file.clone(),
                source: Box::new(e),
            })?;
            if schedule.year != named {
                return Err(CalendarError::YearMismatch {
                    file,
                    named,
                    year: schedule.year,
                });
            }
            loaded.push(schedule);
        }
        let years = loaded.iter().map(YearSchedule::year).collect();
        for schedule in loaded {
            self.with_year(schedule);
        }
        Ok(years)
    }

    /// The calendar holds the official schedule for `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The years the calendar covers, in order.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `date` is a working day. An uncovered year falls back to Monday–Friday.
    pub fn is_workday(&self, date: NaiveDate) -> Workday {
        let working = match self.declared(date) {
            Some(Declared::Off) => false,
            Some(Declared::Working) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        };
        Workday {
            working,
            covered: self.covers(date.year()),
        }
    }

    /// What a schedule says about `date`: its own year's file first, then the next
    /// year's, which may list the start of a New Year holiday in December.
    fn declared(&self, date: NaiveDate) -> Option<Declared> {
        let in_year = |year: i32| self.years.get(&year)?.days.get(&date).copied();
        in_year(date.year()).or_else(|| in_year(date.year() + 1))
    }

    /// DOMAIN.md §5: day 1 is the first working day strictly after `from`.
    ///
    /// `n = 0` is `from` itself, with no day counted and so never uncovered.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Dated {
        let mut date = from;
        let mut counted = 0;
        let mut uncovered = false;
        while counted < n {
            // Only the last representable date has no successor; stop there rather than panic.
            let Some(next) = date.succ_opt() else { break };
            date = next;
            let day = self.is_workday(date);
            uncovered |= !day.covered;
            if day.working {
                counted += 1;
            }
        }
        Dated { date, uncovered }
    }

    /// The deadline of N working days for something received at `received` (any offset):
    /// end (23:59:59 +08:00) of working day N after the Beijing date of `received`.
    ///
    /// The Beijing date is taken at a fixed UTC+8 ([`crate::clock::beijing_offset`]):
    /// China has had no summer time since 1991, so no time-zone database is needed, and a
    /// message received at 01:00 Beijing time (17:00 UTC the day before) counts from the
    /// Beijing day the province's staff see.
    pub fn deadline(&self, received: DateTime<FixedOffset>, n: u32) -> Deadline {
        let beijing = crate::clock::beijing_offset();
        let day = received.with_timezone(&beijing).date_naive();
        let Dated { date, uncovered } = self.add_working_days(day, n);
        let end_of_day = date
            .and_hms_opt(23, 59, 59)
            .expect("23:59:59 is a valid time")
            .and_local_timezone(beijing)
            .single()
            .expect("a fixed offset maps every local time exactly once");
        Deadline {
            due_at: end_of_day,
            uncovered,
        }
    }

    /// Working days after `from` up to and including `to` (same day = 0; `to` before
    /// `from` = 0) — DOMAIN.md §6 answer time. The flag says some day counted lay in an
    /// uncovered year.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> (u32, bool) {
        let mut count = 0;
        let mut uncovered = false;
        for date in from.iter_days().skip(1).take_while(|d| *d <= to) {
            let day = self.is_workday(date);
            uncovered |= !day.covered;
            if day.working {
                count += 1;
            }
        }
        (count, uncovered)
    }
}

/// The year of a `YYYY.json` file name (exactly four digits), if it is one.
fn year_file_name(path: &Path) -> Option<i32> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".json")?;
    if stem.len() == 4 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("test time")
    }

    /// A made-up 2027 (the real one is published around November 2026): New Year's Day
    /// off and Saturday 2027-01-09 worked, plus a December-before day.
    const SYNTHETIC_2027: &str = r#"{"year": 2027, "papers": [], "days": [
        {"name": "元旦", "date": "2026-12-31", "isOffDay": true},
        {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
        {"name": "元旦", "date": "2027-01-09", "isOffDay": false}
    ]}"#;

    /// The State Council schedules, written out by hand from the notices (not from the
    /// JSON files): (days off, make-up working days), as "M/D" or "M/D-M/D".
    fn official(year: i32) -> (&'static [&'static str], &'static [&'static str]) {
        match year {
            // 国办发明电〔2023〕7号
            2024 => (
                &[
                    "1/1",
                    "2/10-2/17",
                    "4/4-4/6",
                    "5/1-5/5",
                    "6/10",
                    "9/15-9/17",
                    "10/1-10/7",
                ],
                &[
                    "2/4", "2/18", "4/7", "4/28", "5/11", "9/14", "9/29", "10/12",
                ],
            ),
            // 国办发明电〔2024〕12号
            2025 => (
                &[
                    "1/1",
                    "1/28-2/4",
                    "4/4-4/6",
                    "5/1-5/5",
                    "5/31-6/2",
                    "10/1-10/8",
                ],
                &["1/26", "2/8", "4/27", "9/28", "10/11"],
            ),
            // DOMAIN.md §5
            2026 => (
                &[
                    "1/1-1/3",
                    "2/15-2/23",
                    "4/4-4/6",
                    "5/1-5/5",
                    "6/19-6/21",
                    "9/25-9/27",
                    "10/1-10/7",
                ],
                &["1/4", "2/14", "2/28", "5/9", "9/20", "10/10"],
            ),
            _ => panic!("no official schedule written out for {year}"),
        }
    }

    /// Expands "M/D" and "M/D-M/D" within `year`.
    fn expand(year: i32, ranges: &[&str]) -> Vec<NaiveDate> {
        let md = |s: &str| {
            let (m, d) = s.split_once('/').expect("M/D");
            NaiveDate::from_ymd_opt(year, m.parse().expect("month"), d.parse().expect("day"))
                .expect("valid M/D")
        };
        let mut out = Vec::new();
        for range in ranges {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let (first, last) = (md(first), md(last));
            assert!(first <= last, "{range}");
            out.extend(first.iter_days().take_while(|d| *d <= last));
        }
        out
    }

    #[test]
    fn every_day_of_2024_to_2026_matches_the_state_council_schedules() {
        let calendar = Calendar::builtin();
        let mut wrong = Vec::new();
        let mut checked = 0;
        for year in [2024, 2025, 2026] {
            let (off, make_up) = official(year);
            let off = expand(year, off);
            let make_up = expand(year, make_up);
            for d in &make_up {
                assert!(
                    matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
                    "official make-up day {d} written out wrong: not a weekend"
                );
            }
            let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January");
            for d in first.iter_days().take_while(|d| d.year() == year) {
                let expected = if off.contains(&d) {
                    false
                } else if make_up.contains(&d) {
                    true
                } else {
                    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
                };
                let got = calendar.is_workday(d);
                assert!(got.covered, "{d} should be covered");
                if got.working != expected {
                    wrong.push(format!(
                        "{d} ({}): official {expected}, calendar {}",
                        d.weekday(),
                        got.working
                    ));
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 366 + 365 + 365);
        assert!(
            wrong.is_empty(),
            "calendar disagrees with the official schedules:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn domain_examples_of_fifteen_working_days() {
        let calendar = Calendar::builtin();
        for (from, due) in [
            ("2026-02-13", "2026-03-12"),
            ("2026-09-18", "2026-10-15"),
            ("2025-09-26", "2025-10-23"),
        ] {
            let got = calendar.add_working_days(date(from), 15);
            assert_eq!(
                got,
                Dated {
                    date: date(due),
                    uncovered: false
                },
                "{from} + 15"
            );
        }
    }

    #[test]
    fn day_one_is_the_first_working_day_strictly_after() {
        let calendar = Calendar::builtin();
        // Friday before the Spring Festival: Saturday 2/14 is a make-up working day.
        assert_eq!(
            calendar.add_working_days(date("2026-02-13"), 1).date,
            date("2026-02-14")
        );
        // Received on a working day: the same day never counts.
        assert_eq!(
            calendar.add_working_days(date("2026-03-10"), 1).date,
            date("2026-03-11")
        );
        // Received on a holiday: the next working day after the block.
        assert_eq!(
            calendar.add_working_days(date("2026-10-03"), 1).date,
            date("2026-10-08")
        );
        assert_eq!(
            calendar.add_working_days(date("2026-03-10"), 0).date,
            date("2026-03-10")
        );
    }

    #[test]
    fn builtin_covers_2024_to_2026_only() {
        let calendar = Calendar::builtin();
        assert_eq!(calendar.years(), vec![2024, 2025, 2026]);
        assert!(calendar.covers(2026));
        assert!(!calendar.covers(2023));
        assert!(!calendar.covers(2027));
    }

    #[test]
    fn an_uncovered_year_counts_weekends_only_and_says_so() {
        let calendar = Calendar::builtin();
        // 2027-01-01 is a Friday: certainly a holiday, but the calendar does not know 2027.
        assert_eq!(
            calendar.is_workday(date("2027-01-01")),
            Workday {
                working: true,
                covered: false
            }
        );
        assert_eq!(
            calendar.is_workday(date("2027-01-02")),
            Workday {
                working: false,
                covered: false
            }
        );
        assert_eq!(
            calendar.add_working_days(date("2027-01-04"), 5),
            Dated {
                date: date("2027-01-11"),
                uncovered: true
            }
        );
    }

    #[test]
    fn a_deadline_crossing_into_an_uncovered_year_is_flagged_until_the_year_is_loaded() {
        let mut calendar = Calendar::builtin();
        assert!(
            !calendar.add_working_days(date("2026-12-01"), 15).uncovered,
            "ends 2026-12-22"
        );
        let crossing = calendar.add_working_days(date("2026-12-20"), 15);
        assert!(crossing.uncovered);
        assert_eq!(crossing.date, date("2027-01-08"), "Monday–Friday only");
        let deadline = calendar.deadline(at("2026-12-20T10:00:00+08:00"), 15);
        assert!(deadline.uncovered);

        calendar.with_year(Calendar::parse_year(SYNTHETIC_2027).expect("2027"));
        let known = calendar.add_working_days(date("2026-12-20"), 15);
        // 12/31 (December-before day in 2027's file) and 1/1 off, Saturday 1/9 worked.
        assert_eq!(
            known,
            Dated {
                date: date("2027-01-11"),
                uncovered: false
            }
        );
        assert!(
            !calendar
                .deadline(at("2026-12-20T10:00:00+08:00"), 15)
                .uncovered
        );
        assert_eq!(calendar.years(), vec![2024, 2025, 2026, 2027]);
    }

    #[test]
    fn a_december_day_in_next_years_file_applies_but_its_own_year_file_wins() {
        let mut calendar = Calendar::builtin();
        assert!(
            calendar.is_workday(date("2026-12-31")).working,
            "a Thursday"
        );
        calendar.with_year(Calendar::parse_year(SYNTHETIC_2027).expect("2027"));
        assert_eq!(
            calendar.is_workday(date("2026-12-31")),
            Workday {
                working: false,
                covered: true
            }
        );
        let own = r#"{"year": 2026, "days": [{"date": "2026-12-31", "isOffDay": false}]}"#;
        calendar.with_year(Calendar::parse_year(own).expect("2026"));
        assert!(calendar.is_workday(date("2026-12-31")).working);
    }

    #[test]
    fn with_year_replaces_a_year() {
        let mut calendar = Calendar::builtin();
        assert!(!calendar.is_workday(date("2026-10-01")).working);
        let replacement = r#"{"year": 2026, "days": [{"date": "2026-01-01", "isOffDay": true}]}"#;
        calendar.with_year(Calendar::parse_year(replacement).expect("2026"));
        assert!(
            calendar.is_workday(date("2026-10-01")).working,
            "old 2026 days gone"
        );
        assert!(!calendar.is_workday(date("2026-01-01")).working);
    }

    #[test]
    fn deadline_is_the_end_of_the_beijing_day() {
        let calendar = Calendar::builtin();
        let expected = at("2026-03-12T23:59:59+08:00");
        // 17:00 UTC on 2/12 is 01:00 on 2/13 in Beijing: counted from 2/13, not 2/12.
        let late_utc = calendar.deadline(at("2026-02-12T17:00:00Z"), 15);
        assert_eq!(late_utc.due_at, expected);
        assert_eq!(late_utc.due_at.offset().local_minus_utc(), 8 * 3600);
        assert_eq!(late_utc.due_at.to_rfc3339(), "2026-03-12T23:59:59+08:00");
        assert!(!late_utc.uncovered);
        // One second earlier in Beijing is still 2/12, whose 15th working day is earlier.
        let earlier = calendar.deadline(at("2026-02-12T23:59:59+08:00"), 15);
        assert_eq!(earlier.due_at, at("2026-03-11T23:59:59+08:00"));
        // The same instant in another offset gives the same deadline.
        assert_eq!(
            calendar
                .deadline(at("2026-02-12T12:00:00-05:00"), 15)
                .due_at,
            expected
        );
    }

    #[test]
    fn working_days_between_counts_after_from_up_to_and_including_to() {
        let calendar = Calendar::builtin();
        let wdb = |a: &str, b: &str| calendar.working_days_between(date(a), date(b));
        assert_eq!(wdb("2026-03-10", "2026-03-10"), (0, false), "same day");
        assert_eq!(
            wdb("2026-03-10", "2026-03-09"),
            (0, false),
            "to before from"
        );
        assert_eq!(
            wdb("2026-03-06", "2026-03-09"),
            (1, false),
            "Friday to Monday"
        );
        assert_eq!(
            wdb("2026-03-06", "2026-03-07"),
            (0, false),
            "Friday to Saturday"
        );
        assert_eq!(
            wdb("2026-09-30", "2026-10-09"),
            (2, false),
            "across National Day"
        );
        assert_eq!(wdb("2026-12-30", "2027-01-04"), (3, true), "into 2027");
        for from in [
            "2024-02-08",
            "2025-01-25",
            "2026-02-13",
            "2026-09-18",
            "2026-06-18",
        ] {
            for n in [1, 5, 15, 40] {
                let to = calendar.add_working_days(date(from), n).date;
                assert_eq!(
                    calendar.working_days_between(date(from), to).0,
                    n,
                    "{from} + {n}"
                );
            }
        }
    }

    #[test]
    fn parse_year_rejects_what_is_certainly_wrong() {
        let parse = |json: &str| Calendar::parse_year(json).expect_err(json).to_string();
        let msg = parse(r#"{"year": 2027, "days": [{"date": "2026-06-01", "isOffDay": true}]}"#);
        assert!(msg.contains("2026-06-01 is outside 2027"), "{msg}");
        let msg = parse(r#"{"year": 2027, "days": [{"date": "2028-01-01", "isOffDay": true}]}"#);
        assert!(msg.contains("2028-01-01 is outside 2027"), "{msg}");
        let msg = parse(
            r#"{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true},
                                       {"date": "2027-01-01", "isOffDay": false}]}"#,
        );
        assert!(
            msg.contains("calendar 2027: 2027-01-01 is listed more than once"),
            "{msg}"
        );
        let msg = parse(r#"{"year": 2027, "days": [{"date": "2027-02-30", "isOffDay": true}]}"#);
        assert!(msg.contains("'2027-02-30' is not a date"), "{msg}");
        let msg = parse(r#"{"year": 2027, "days": [{"date": "1/1/2027", "isOffDay": true}]}"#);
        assert!(msg.contains("'1/1/2027' is not a date"), "{msg}");
        let msg = parse(r#"{"year": 2027, "days": []}"#);
        assert!(msg.contains("calendar 2027 lists no days"), "{msg}");
        let msg = parse(r#"{"year": 27, "days": [{"date": "0027-01-01", "isOffDay": true}]}"#);
        assert!(msg.contains("not a plausible year"), "{msg}");
        for malformed in [
            "not json",
            r#"{"days": [{"date": "2027-01-01", "isOffDay": true}]}"#,
            r#"{"year": "2027", "days": [{"date": "2027-01-01", "isOffDay": true}]}"#,
            r#"{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": "true"}]}"#,
            r#"{"year": 2027, "days": [{"date": "2027-01-01"}]}"#,
        ] {
            let err = Calendar::parse_year(malformed).expect_err(malformed);
            assert!(matches!(err, CalendarError::Json(_)), "{malformed}: {err}");
        }
    }

    #[test]
    fn parse_year_accepts_weekend_off_days_and_december_before() {
        let schedule = Calendar::parse_year(
            r#"{"year": 2019, "papers": ["x"], "days": [
                {"name": "元旦", "date": "2018-12-29", "isOffDay": false},
                {"name": "元旦", "date": "2018-12-30", "isOffDay": true},
                {"name": "春节", "date": "2019-02-10", "isOffDay": true},
                {"name": "春节", "date": "2019-02-11", "isOffDay": false}
            ]}"#,
        )
        .expect("valid");
        assert_eq!(schedule.year(), 2019);
        assert_eq!(
            schedule.off_days().collect::<Vec<_>>(),
            vec![date("2018-12-30"), date("2019-02-10")]
        );
        assert_eq!(
            schedule.make_up_working_days().collect::<Vec<_>>(),
            vec![date("2018-12-29"), date("2019-02-11")]
        );
    }

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("yipanqi-calendar-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn load_dir_loads_every_year_file_over_the_builtin_ones() {
        let dir = TempDir::new("load");
        std::fs::write(dir.0.join("2027.json"), SYNTHETIC_2027).expect("write");
        std::fs::write(
            dir.0.join("2026.json"),
            r#"{"year": 2026, "days": [{"date": "2026-03-10", "isOffDay": true}]}"#,
        )
        .expect("write");
        std::fs::write(dir.0.join("LICENSE"), "MIT").expect("write");
        std::fs::write(dir.0.join("holidays.json"), "not a year file").expect("write");
        let mut calendar = Calendar::builtin();
        assert_eq!(calendar.load_dir(&dir.0).expect("load"), vec![2026, 2027]);
        assert_eq!(calendar.years(), vec![2024, 2025, 2026, 2027]);
        assert!(
            !calendar.is_workday(date("2026-03-10")).working,
            "2026 replaced"
        );
        assert!(
            calendar.is_workday(date("2026-10-01")).working,
            "2026 replaced"
        );
    }

    #[test]
    fn load_dir_names_the_file_and_loads_nothing_when_one_is_wrong() {
        let dir = TempDir::new("bad");
        std::fs::write(dir.0.join("2027.json"), SYNTHETIC_2027).expect("write");
        std::fs::write(
            dir.0.join("2028.json"),
            r#"{"year": 2028, "days": [{"date": "2028-01-01", "isOffDay": 1}]}"#,
        )
        .expect("write");
        let mut calendar = Calendar::builtin();
        let err = calendar.load_dir(&dir.0).expect_err("invalid file");
        let chain = format!("{:#}", anyhow::Error::new(err));
        assert!(chain.starts_with("invalid calendar file "), "{chain}");
        assert!(
            chain.contains("2028.json: not a holiday-cn calendar file"),
            "{chain}"
        );
        assert!(!calendar.covers(2027), "nothing loaded");

        std::fs::write(dir.0.join("2028.json"), SYNTHETIC_2027).expect("write");
        let err = calendar.load_dir(&dir.0).expect_err("mismatch");
        assert!(
            err.to_string()
                .contains("2028.json is named for 2028 but its year field says 2027"),
            "{err}"
        );

        let err = calendar
            .load_dir(&dir.0.join("missing"))
            .expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("cannot read the calendar folder "),
            "{err}"
        );
    }
}
