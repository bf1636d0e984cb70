//! A report laid out for people, independent of the format: headline figures, charts and
//! tables with bilingual labels and typed cells. `html.rs`, `csv.rs` and `xlsx.rs` each
//! render a [`Document`]; none of them computes anything.

use super::labels::Label;
use super::period::Period;
use chrono::{DateTime, FixedOffset, NaiveDate};

/// A report laid out for people.
#[derive(Debug, Clone)]
pub struct Document {
    /// `delivery`, `paper` or `coverage`.
    pub kind: &'static str,
    /// The report's title.
    pub title: Label,
    /// The period it covers.
    pub period: Period,
    /// The moment its states were read (open or overdue depends on it).
    pub as_of: DateTime<FixedOffset>,
    /// The province whose follow-up list (subjects in full) it carries, if any.
    pub scope: Option<Label>,
    /// The figures that matter most.
    pub headline: Vec<(Label, Cell)>,
    /// How the figures are counted.
    pub notes: Vec<Label>,
    /// Charts, in order.
    pub charts: Vec<Chart>,
    /// Tables, in order.
    pub tables: Vec<Table>,
}

/// A table: one spreadsheet sheet, one CSV section, one HTML table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Stable id (HTML `id`, JSON key).
    pub id: &'static str,
    /// Spreadsheet sheet name (at most 31 characters, no `[]:*?/\`).
    pub sheet: &'static str,
    /// Title.
    pub title: Label,
    /// Column headers.
    pub columns: Vec<Label>,
    /// Rows of cells, as many as columns each.
    pub rows: Vec<Vec<Cell>>,
}

/// A typed cell: spreadsheets get numbers and dates, not text that looks like them.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Int(i64),
    /// Working days (a median may be a half); `None`: no answers.
    Days(Option<f64>),
    /// A share between 0 and 1; `None`: nothing to divide by.
    Rate(Option<f64>),
    /// A date.
    Date(Option<NaiveDate>),
}

impl Cell {
    /// Text of a label in one line.
    pub fn label(l: &Label) -> Cell {
        Cell::Text(l.both())
    }

    /// The cell as text: `75.0%`, `2.5`, `2026-11-23`; empty when there is no value.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Days(Some(d)) => format_days(*d),
            Cell::Rate(Some(r)) => format!("{:.1}%", r * 100.0),
            Cell::Date(Some(d)) => d.to_string(),
            Cell::Days(None) | Cell::Rate(None) | Cell::Date(None) => String::new(),
        }
    }

    /// Whether the cell is a number (right-aligned in HTML).
    pub fn numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Days(_) | Cell::Rate(_))
    }
}

/// Working days as text: `17`, `2.5`.
pub fn format_days(d: f64) -> String {
    if d.fract() == 0.0 {
        format!("{d:.0}")
    } else {
        format!("{d:.1}")
    }
}

/// A simple bar chart, drawn as inline SVG in HTML.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Stable id (HTML `id`).
    pub id: &'static str,
    /// Title.
    pub title: Label,
    /// Horizontal bars (one per province) or vertical columns (one per month).
    pub horizontal: bool,
    /// The bars, in order.
    pub bars: Vec<Bar>,
}

/// One bar: a share between 0 and 1, or none.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its label.
    pub label: String,
    /// The share, or `None` (drawn as "—").
    pub value: Option<f64>,
    /// What the bar says beside it (`75.0% (3/4)`).
    pub text: String,
}
