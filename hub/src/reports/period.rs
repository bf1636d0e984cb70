//! The period a report covers: a month (`2026-11`), a half-year (`2026H2`), a year
//! (`2026`, the annual joint meeting) or any range of Beijing dates, `to` inclusive.
//! A message belongs to the period of the Beijing date the hub received it (DOMAIN.md
//! §6). Pure: no clock, no I/O.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde::Serialize;

/// A period of Beijing calendar dates, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// How it was named.
    #[serde(skip)]
    pub shape: Shape,
}

/// How a period was named, for its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A calendar month.
    Month,
    /// January–June or July–December.
    Half,
    /// A calendar year.
    Year,
    /// Any range of dates.
    Range,
}

/// A period that cannot be read. Each message says what form is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not `YYYY-MM`.
    #[error("'{0}' is not a month: write it as YYYY-MM, e.g. 2026-11")]
    Month(String),
    /// Not `YYYYH1` or `YYYYH2`.
    #[error("'{0}' is not a half-year: write it as YYYYH1 or YYYYH2, e.g. 2026H2")]
    Half(String),
    /// Not a four-digit year.
    #[error("'{0}' is not a year: write it as YYYY, e.g. 2026")]
    Year(String),
    /// Not `YYYY-MM-DD`.
    #[error("'{0}' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-30")]
    Date(String),
    /// `to` before `from`.
    #[error("the period ends ({to}) before it starts ({from})")]
    Reversed {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// Only one end of a range.
    #[error("a range needs both ends: --from YYYY-MM-DD --to YYYY-MM-DD (to inclusive)")]
    HalfOpen,
    /// More than one way of naming the period.
    #[error("name the period once: a month, a half-year, a year, or from/to")]
    Several,
}

/// The ways of naming a period, as the command line and the HTTP query give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct PeriodSpec {
    /// `YYYY-MM`.
    pub month: Option<String>,
    /// `YYYYH1` / `YYYYH2`.
    pub half: Option<String>,
    /// `YYYY`.
    pub year: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub to: Option<String>,
}

impl PeriodSpec {
    /// The period named, or `default` when none is.
    pub fn resolve(&self, default: Period) -> Result<Period, PeriodError> {
        let named = [
            self.month.is_some(),
            self.half.is_some(),
            self.year.is_some(),
            self.from.is_some() || self.to.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if named > 1 {
            return Err(PeriodError::Several);
        }
        if let Some(m) = &self.month {
            return Period::month(m);
        }
        if let Some(h) = &self.half {
            return Period::half(h);
        }
        if let Some(y) = &self.year {
            return Period::year(y);
        }
        match (&self.from, &self.to) {
            (Some(f), Some(t)) => Period::range(parse_date(f)?, parse_date(t)?),
            (None, None) => Ok(default),
            _ => Err(PeriodError::HalfOpen),
        }
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| PeriodError::Date(s.to_string()))
}

fn parse_year(s: &str) -> Option<i32> {
    let s = s.trim();
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

impl Period {
    /// A calendar month, `YYYY-MM`.
    pub fn month(s: &str) -> Result<Period, PeriodError> {
        let bad = || PeriodError::Month(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year = parse_year(y).ok_or_else(bad)?;
        let month: u32 = (m.len() == 2).then(|| m.parse().ok()).flatten().ok_or_else(bad)?;
        Period::of_month(year, month).ok_or_else(bad)
    }

    /// The month of `year`/`month`, if it exists.
    pub fn of_month(year: i32, month: u32) -> Option<Period> {
        Some(Period {
            from: NaiveDate::from_ymd_opt(year, month, 1)?,
            to: last_of_month(year, month)?,
            shape: Shape::Month,
        })
    }

    /// The month containing `date`.
    pub fn month_of(date: NaiveDate) -> Period {
        Period::of_month(date.year(), date.month()).unwrap_or(Period {
            from: date,
            to: date,
            shape: Shape::Range,
        })
    }

    /// A half-year, `YYYYH1` or `YYYYH2`.
    pub fn half(s: &str) -> Result<Period, PeriodError> {
        let bad = || PeriodError::Half(s.to_string());
        let upper = s.trim().to_ascii_uppercase();
        let (y, h) = upper.split_once('H').ok_or_else(bad)?;
        let year = parse_year(y).ok_or_else(bad)?;
        let (first, last) = match h {
            "1" => (1, 6),
            "2" => (7, 12),
            _ => return Err(bad()),
        };
        Ok(Period {
            from: NaiveDate::from_ymd_opt(year, first, 1).ok_or_else(bad)?,
            to: last_of_month(year, last).ok_or_else(bad)?,
            shape: Shape::Half,
        })
    }

    /// A calendar year, `YYYY`.
    pub fn year(s: &str) -> Result<Period, PeriodError> {
        let bad = || PeriodError::Year(s.to_string());
        let year = parse_year(s).ok_or_else(bad)?;
        Period::of_year(year).ok_or_else(bad)
    }

    /// The calendar year `year`.
    pub fn of_year(year: i32) -> Option<Period> {
        Some(Period {
            from: NaiveDate::from_ymd_opt(year, 1, 1)?,
            to: NaiveDate::from_ymd_opt(year, 12, 31)?,
            shape: Shape::Year,
        })
    }

    /// Any range of dates, both inclusive. A range that is exactly a month, a half-year
    /// or a year is named as one (`from=2026-11-01&to=2026-11-30` is November 2026).
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed { from, to });
        }
        let same = |p: Option<Period>| p.filter(|p| p.from == from && p.to == to);
        let half = if from.month() == 1 { "H1" } else { "H2" };
        Ok(same(Period::of_month(from.year(), from.month()))
            .or_else(|| same(Period::half(&format!("{}{half}", from.year())).ok()))
            .or_else(|| same(Period::of_year(from.year())))
            .unwrap_or(Period {
                from,
                to,
                shape: Shape::Range,
            }))
    }

    /// Milliseconds of the period's first instant (00:00 Beijing time of `from`).
    pub fn start_ms(&self) -> i64 {
        beijing_midnight_ms(self.from)
    }

    /// Milliseconds of the first instant after the period (00:00 Beijing time of the day
    /// after `to`): `--to` is inclusive.
    pub fn end_ms(&self) -> i64 {
        beijing_midnight_ms(self.to.succ_opt().unwrap_or(self.to))
    }

    /// Whether a Beijing date lies in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// The period in Chinese: `2026年11月`, `2026年下半年`, `2026年`, `2026-11-01至2026-11-30`.
    pub fn label_zh(&self) -> String {
        match self.shape {
            Shape::Month => format!("{}年{}月", self.from.year(), self.from.month()),
            Shape::Half if self.from.month() == 1 => format!("{}年上半年", self.from.year()),
            Shape::Half => format!("{}年下半年", self.from.year()),
            Shape::Year => format!("{}年", self.from.year()),
            Shape::Range => format!("{}至{}", self.from, self.to),
        }
    }

    /// The period's short name: `2026-11`, `2026H2`, `2026`, `2026-11-01_2026-11-30` —
    /// also what file names use.
    pub fn slug(&self) -> String {
        match self.shape {
            Shape::Month => self.from.format("%Y-%m").to_string(),
            Shape::Half => format!(
                "{}H{}",
                self.from.year(),
                if self.from.month() == 1 { 1 } else { 2 }
            ),
            Shape::Year => self.from.year().to_string(),
            Shape::Range => format!("{}_{}", self.from, self.to),
        }
    }

    /// The period in English: `November 2026 (2026-11-01 – 2026-11-30)`.
    pub fn label_en(&self) -> String {
        let name = match self.shape {
            Shape::Month => self.from.format("%B %Y").to_string(),
            Shape::Half if self.from.month() == 1 => format!("first half of {}", self.from.year()),
            Shape::Half => format!("second half of {}", self.from.year()),
            Shape::Year => format!("year {}", self.from.year()),
            Shape::Range => "dates".to_string(),
        };
        format!("{name} ({} – {})", self.from, self.to)
    }

    /// The months the period touches, oldest first, as (year, month).
    pub fn months(&self) -> Vec<(i32, u32)> {
        let mut out = Vec::new();
        let (mut y, mut m) = (self.from.year(), self.from.month());
        while (y, m) <= (self.to.year(), self.to.month()) {
            out.push((y, m));
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        out
    }

    /// The window of a month-by-month trend ending with this period: the twelve months up
    /// to the period's last month, or the whole period when it is longer.
    pub fn trend_window(&self) -> Period {
        let (mut y, mut m) = (self.to.year(), self.to.month());
        for _ in 0..11 {
            (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
        }
        let from = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(self.from);
        Period {
            from: from.min(NaiveDate::from_ymd_opt(self.from.year(), self.from.month(), 1).unwrap_or(self.from)),
            to: self.to,
            shape: Shape::Range,
        }
    }
}

/// Milliseconds of 00:00 Beijing time (UTC+8) on `date`.
pub fn beijing_midnight_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis() - 8 * 3_600_000)
        .unwrap_or(0)
}

/// The Beijing date of a millisecond timestamp.
pub fn beijing_date_of_ms(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&crate::clock::beijing_offset()).date_naive())
        .unwrap_or_default()
}

/// The Beijing date of a time.
pub fn beijing_date(t: DateTime<FixedOffset>) -> NaiveDate {
    t.with_timezone(&crate::clock::beijing_offset()).date_naive()
}

/// The Beijing date of a day number as SQL computes it: `(ms + 8 h) / 1 day`.
pub fn date_of_day_number(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(day)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn periods_are_read_in_every_form() {
        let m = Period::month("2026-11").expect("month");
        assert_eq!((m.from, m.to), (d("2026-11-01"), d("2026-11-30")));
        assert_eq!(m.label_zh(), "2026年11月");
        assert_eq!(m.slug(), "2026-11");
        let feb = Period::month("2028-02").expect("month");
        assert_eq!(feb.to, d("2028-02-29"));
        let h = Period::half("2026H2").expect("half");
        assert_eq!((h.from, h.to), (d("2026-07-01"), d("2026-12-31")));
        assert_eq!(h.label_zh(), "2026年下半年");
        assert_eq!(Period::half("2026h1").expect("half").to, d("2026-06-30"));
        let y = Period::year("2026").expect("year");
        assert_eq!((y.from, y.to), (d("2026-01-01"), d("2026-12-31")));
        assert_eq!(y.months().len(), 12);
        let r = Period::range(d("2026-11-15"), d("2026-12-02")).expect("range");
        assert_eq!(r.months(), vec![(2026, 11), (2026, 12)]);
        assert_eq!(r.label_zh(), "2026-11-15至2026-12-02");
        let named = |f, t| Period::range(d(f), d(t)).expect("range").label_zh();
        assert_eq!(named("2026-11-01", "2026-11-30"), "2026年11月");
        assert_eq!(named("2026-07-01", "2026-12-31"), "2026年下半年");
        assert_eq!(named("2026-01-01", "2026-12-31"), "2026年");
        assert!(Period::month("2026-13").is_err());
        assert!(Period::month("26-11").is_err());
        assert!(Period::half("2026H3").is_err());
        assert!(Period::year("20x6").is_err());
        assert!(Period::range(d("2026-12-02"), d("2026-11-15")).is_err());
    }

    #[test]
    fn the_period_runs_from_beijing_midnight_to_the_end_of_the_last_day() {
        let m = Period::month("2026-11").expect("month");
        let start = DateTime::parse_from_rfc3339("2026-11-01T00:00:00+08:00").expect("t");
        let end = DateTime::parse_from_rfc3339("2026-12-01T00:00:00+08:00").expect("t");
        assert_eq!(m.start_ms(), start.timestamp_millis());
        assert_eq!(m.end_ms(), end.timestamp_millis());
        // 23:59 on the last day belongs to the period; 00:10 the next day does not.
        let last = DateTime::parse_from_rfc3339("2026-11-30T23:59:00+08:00").expect("t");
        assert!(last.timestamp_millis() < m.end_ms());
        assert_eq!(
            beijing_date_of_ms(last.timestamp_millis()),
            d("2026-11-30")
        );
        let day = (last.timestamp_millis() + 8 * 3_600_000) / 86_400_000;
        assert_eq!(date_of_day_number(day), d("2026-11-30"));
    }

    #[test]
    fn specs_name_one_period() {
        let default = Period::month("2026-01").expect("month");
        let spec = PeriodSpec {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-30".into()),
            ..PeriodSpec::default()
        };
        assert_eq!(spec.resolve(default).expect("range").to, d("2026-11-30"));
        assert_eq!(PeriodSpec::default().resolve(default), Ok(default));
        let both = PeriodSpec {
            month: Some("2026-11".into()),
            year: Some("2026".into()),
            ..PeriodSpec::default()
        };
        assert_eq!(both.resolve(default), Err(PeriodError::Several));
        let half_open = PeriodSpec {
            from: Some("2026-11-01".into()),
            ..PeriodSpec::default()
        };
        assert_eq!(half_open.resolve(default), Err(PeriodError::HalfOpen));
    }

    #[test]
    fn trends_cover_twelve_months_or_the_whole_period() {
        let m = Period::month("2026-11").expect("month");
        let w = m.trend_window();
        assert_eq!((w.from, w.to), (d("2025-12-01"), d("2026-11-30")));
        let long = Period::range(d("2025-01-10"), d("2026-11-30")).expect("range");
        assert_eq!(long.trend_window().from, d("2025-01-01"));
    }
}
