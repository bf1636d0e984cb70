//! Paper retirement (DOMAIN.md §1, §6): check results (孕环情检查结果) that travel
//! electronically with an accepted receipt replace the paper contraception report
//! (纸质避孕节育报告单) a migrant used to carry home. Per registration province and
//! residence province: results, delivered electronically, acknowledged by receipt,
//! acknowledged in time, and "paper reports retired" — electronic results with an
//! accepted receipt; and the same month by month.
//!
//! One grouped SQL query over the trend window, by province pair and Beijing day; the
//! period's rows give the table, all rows the trend.

use super::document::{Bar, Cell, Chart, Document, Table};
use super::labels::{province_line, Label};
use super::period::{date_of_day_number, Period};
use super::stats::rate;
use super::{Context, ReportError};
use chrono::Datelike;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// The paper-retirement report's data (its JSON form).
#[derive(Debug, Clone, Serialize)]
pub struct PaperReport {
    /// The period.
    pub period: Period,
    /// When the states were read (RFC 3339).
    pub as_of: String,
    /// Per registration province × residence province.
    pub pairs: Vec<Counts>,
    /// The whole region (`registration_province` = `region`).
    pub region: Counts,
    /// Month by month over the trend window (the twelve months up to the period's end,
    /// or the whole period when longer).
    pub trend: Vec<Counts>,
}

/// Check results and what became of them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    /// Code of the subject's registration province (户籍地), or `region`; empty in the trend.
    pub registration_province: String,
    /// Code of her residence province (现居住地); empty in totals and the trend.
    pub residence_province: String,
    /// `YYYY-MM` in the trend; empty elsewhere.
    pub month: String,
    /// Check results received.
    pub results: i64,
    /// …delivered electronically (confirmed on the registration place's queue).
    pub delivered: i64,
    /// …acknowledged by a receipt.
    pub acknowledged: i64,
    /// …acknowledged by the deadline.
    pub acknowledged_in_time: i64,
    /// …acknowledged with an accepted receipt: a paper report retired.
    pub retired: i64,
    /// Retired ÷ results.
    pub retired_rate: Option<f64>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.results += o.results;
        self.delivered += o.delivered;
        self.acknowledged += o.acknowledged;
        self.acknowledged_in_time += o.acknowledged_in_time;
        self.retired += o.retired;
    }

    fn finish(mut self) -> Counts {
        self.retired_rate = rate(self.retired, self.results);
        self
    }
}

/// Computes the paper-retirement report.
pub async fn compute(ctx: &Context<'_>, period: Period) -> Result<PaperReport, ReportError> {
    let window = period.trend_window();
    let rows = sqlx::query(
        "SELECT substr(m.subject_registration, 1, 2), \
         COALESCE(substr(m.subject_residence, 1, 2), m.province), \
         (m.received_ms + 28800000) / 86400000, \
         CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM routes r WHERE r.message_id = m.message_id \
              AND r.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.kind = 'receipt' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.kind = 'receipt' AND e.state = 'answered_on_time' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.kind = 'receipt' AND a.receipt_status = 'accepted' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM messages m \
         LEFT JOIN expectations e ON e.message_id = m.message_id \
         LEFT JOIN messages a ON a.message_id = e.answer_id \
         WHERE m.kind = 'checkup_result' AND m.received_ms >= $1 AND m.received_ms < $2 \
         GROUP BY 1, 2, 3",
    )
    .bind(window.start_ms())
    .bind(window.end_ms())
    .fetch_all(ctx.store.pool())
    .await
    .map_err(crate::store::StoreError::from)?;

    let mut pairs: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut months: BTreeMap<(i32, u32), Counts> = window
        .months()
        .into_iter()
        .map(|(y, m)| {
            (
                (y, m),
                Counts {
                    month: format!("{y}-{m:02}"),
                    ..Counts::default()
                },
            )
        })
        .collect();
    let mut region = Counts {
        registration_province: "region".into(),
        ..Counts::default()
    };
    for row in rows {
        let get = |i: usize| -> Result<i64, sqlx::Error> {
            Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(0))
        };
        let c = Counts {
            results: get(3)?,
            delivered: get(4)?,
            acknowledged: get(5)?,
            acknowledged_in_time: get(6)?,
            retired: get(7)?,
            ..Counts::default()
        };
        let day = date_of_day_number(get(2)?);
        if let Some(m) = months.get_mut(&(day.year(), day.month())) {
            m.add(&c);
        }
        if period.contains(day) {
            let reg: String = row.try_get::<Option<String>, _>(0)?.unwrap_or_default();
            let res: String = row.try_get::<Option<String>, _>(1)?.unwrap_or_default();
            pairs
                .entry((reg.clone(), res.clone()))
                .or_insert_with(|| Counts {
                    registration_province: reg,
                    residence_province: res,
                    ..Counts::default()
                })
                .add(&c);
            region.add(&c);
        }
    }
    Ok(PaperReport {
        period,
        as_of: ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        pairs: pairs.into_values().map(Counts::finish).collect(),
        region: region.finish(),
        trend: months.into_values().map(Counts::finish).collect(),
    })
}

impl PaperReport {
    /// The figures for a summary line.
    pub fn headline(&self) -> Vec<(Label, Cell)> {
        let r = &self.region;
        vec![
            (Label::new("检查结果", "check results"), Cell::Int(r.results)),
            (Label::new("电子送达", "delivered electronically"), Cell::Int(r.delivered)),
            (Label::new("已回执", "acknowledged"), Cell::Int(r.acknowledged)),
            (
                Label::new("纸质报告单已取代", "paper reports retired"),
                Cell::Int(r.retired),
            ),
            (Label::new("取代率", "retired share"), Cell::Rate(r.retired_rate)),
        ]
    }

    /// The report laid out for people.
    pub fn document(&self, ctx: &Context<'_>) -> Document {
        let reg = ctx.registry;
        let figures = |c: &Counts| {
            vec![
                Cell::Int(c.results),
                Cell::Int(c.delivered),
                Cell::Int(c.acknowledged),
                Cell::Int(c.acknowledged_in_time),
                Cell::Int(c.retired),
                Cell::Rate(c.retired_rate),
            ]
        };
        let figure_columns = || {
            vec![
                Label::new("检查结果", "Check results"),
                Label::new("电子送达", "Delivered electronically"),
                Label::new("已回执", "Acknowledged by receipt"),
                Label::new("按时回执", "Acknowledged in time"),
                Label::new("纸质报告单已取代", "Paper reports retired"),
                Label::new("取代率", "Retired share"),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = self
            .pairs
            .iter()
            .map(|c| {
                let mut r = vec![
                    Cell::Text(province_line(reg, &c.registration_province)),
                    Cell::Text(province_line(reg, &c.residence_province)),
                ];
                r.extend(figures(c));
                r
            })
            .collect();
        let mut total = vec![
            Cell::Text(Label::new("全区域", "region").both()),
            Cell::Text(String::new()),
        ];
        total.extend(figures(&self.region));
        rows.push(total);
        let mut columns = vec![
            Label::new("户籍地", "Registration province"),
            Label::new("现居住地", "Residence province"),
        ];
        columns.extend(figure_columns());
        let pairs = Table {
            id: "pairs",
            sheet: "按户籍地和现居住地 By pair",
            title: Label::new(
                "孕环情检查结果：按户籍地和现居住地",
                "Check results by registration and residence province",
            ),
            columns,
            rows,
        };
        let mut trend_columns = vec![Label::new("月份", "Month")];
        trend_columns.extend(figure_columns());
        let trend = Table {
            id: "trend",
            sheet: "逐月趋势 Trend",
            title: Label::new("逐月趋势", "Month by month"),
            columns: trend_columns,
            rows: self
                .trend
                .iter()
                .map(|c| {
                    let mut r = vec![Cell::Text(c.month.clone())];
                    r.extend(figures(c));
                    r
                })
                .collect(),
        };
        let chart = Chart {
            id: "chart-trend",
            title: Label::new("逐月纸质报告单取代率", "Paper reports retired, month by month"),
            horizontal: false,
            bars: self
                .trend
                .iter()
                .map(|c| Bar {
                    label: c.month.clone(),
                    value: c.retired_rate,
                    text: match c.retired_rate {
                        Some(v) => format!("{:.1}% ({}/{})", v * 100.0, c.retired, c.results),
                        None => "—".to_string(),
                    },
                })
                .collect(),
        };
        Document {
            kind: "paper",
            title: Label::new(
                "纸质避孕节育报告单取代情况",
                "Paper contraception reports retired",
            ),
            period: self.period,
            as_of: ctx.now,
            scope: None,
            headline: self.headline(),
            notes: vec![
                Label::new(
                    "纸质报告单已取代 = 电子送达且收到“已接收”回执的检查结果。",
                    "Paper report retired = a check result delivered electronically and acknowledged with an accepted receipt.",
                ),
                Label::new(
                    "检查结果按接收日期（北京时间）归入期间；逐月趋势涵盖截至期末的十二个月（期间更长时涵盖整个期间）。",
                    "Check results belong to the period of their Beijing received date; the trend covers the twelve months up to the period's end (the whole period when longer).",
                ),
            ],
            charts: vec![chart],
            tables: vec![pairs, trend],
        }
    }
}
