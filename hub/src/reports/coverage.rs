//! Free-check coverage (DOMAIN.md §3 "free checks at least twice a year", §6): the women
//! known to live in each residence province of the region during the period — any
//! message about her, as subject or as spouse, naming her residence there — and those
//! among them with fewer than the two free checks the plan guarantees: none or one check
//! result about her in the period (wherever it was done). The coordination group's
//! list is masked; a province's own follow-up list carries the women in full.
//!
//! Residence provinces outside the region are left out: the hub cannot see the checks
//! done there.

use super::document::{Bar, Cell, Chart, Document, Table};
use super::labels::{self, province_line, Label};
use super::period::{beijing_date_of_ms, Period, Shape};
use super::stats::rate;
use super::{Context, ReportError};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;
use yipanqi_schemas::{mask_id_number, mask_name};

/// The coverage report's data (its JSON form).
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    /// The period (the plan counts a calendar year).
    pub period: Period,
    /// When it was computed (RFC 3339).
    pub as_of: String,
    /// The province whose follow-up list is included (code), if any.
    pub province: Option<String>,
    /// Per residence province of the region.
    pub provinces: Vec<Coverage>,
    /// The region: each woman once, however many provinces she lived in.
    pub region: Coverage,
    /// Women with fewer than two checks, masked.
    pub short: Vec<Woman>,
    /// The same for `province`, in full.
    pub follow_up: Option<Vec<Woman>>,
}

/// Women of one residence province and their checks.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Coverage {
    /// Residence province code, or `region`.
    pub residence_province: String,
    /// Women known to live there.
    pub women: i64,
    /// …with no check result.
    pub no_check: i64,
    /// …with one.
    pub one_check: i64,
    /// …with fewer than two (none or one).
    pub fewer_than_two: i64,
    /// Fewer than two ÷ women.
    pub fewer_than_two_share: Option<f64>,
}

/// A woman with fewer than two checks.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Woman {
    /// Residence province code.
    pub residence_province: String,
    /// Residence division (the latest-sorting one if several).
    pub residence_division: String,
    /// Registration division.
    pub registration_division: String,
    /// ID number (masked in the coordination group's list).
    pub id_number: String,
    /// Name (masked likewise).
    pub name: String,
    /// Check results about her in the period: 0 or 1.
    pub checks: i64,
    /// Beijing date of her last check result, if any.
    pub last_check: Option<chrono::NaiveDate>,
}

/// The women of the period (subject or spouse, sex 2) and their check counts, as SQL
/// common table expressions over `$1`..`$2` (the period's milliseconds).
const WOMEN: &str = "WITH people AS ( \
      SELECT subject_id AS id, substr(subject_residence, 1, 2) AS res, subject_residence AS division, \
             subject_registration AS reg, subject_name AS name FROM messages \
      WHERE received_ms >= $1 AND received_ms < $2 AND subject_sex = '2' \
            AND subject_residence IS NOT NULL AND subject_id IS NOT NULL \
      UNION ALL \
      SELECT spouse_id, substr(spouse_residence, 1, 2), spouse_residence, spouse_registration, spouse_name \
      FROM messages WHERE spouse_sex = '2' AND received_ms >= $1 AND received_ms < $2 \
            AND spouse_residence IS NOT NULL AND spouse_id IS NOT NULL \
    ), checks AS ( \
      SELECT subject_id AS id, COUNT(*) AS n, MAX(received_ms) AS last_ms FROM messages \
      WHERE kind = 'checkup_result' AND received_ms >= $1 AND received_ms < $2 AND subject_id IS NOT NULL \
      GROUP BY subject_id \
    ) ";

/// Computes the coverage report; `province` (a code) adds its follow-up list.
pub async fn compute(
    ctx: &Context<'_>,
    period: Period,
    province: Option<&str>,
) -> Result<CoverageReport, ReportError> {
    let region: Vec<String> = ctx.registry.provinces().map(|p| p.code.clone()).collect();
    let list = (0..region.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let pool = ctx.store.pool();
    let sql = format!(
        "{WOMEN} SELECT w.res, CAST(CASE WHEN c.n IS NULL THEN 0 WHEN c.n >= 2 THEN 2 ELSE c.n END AS BIGINT), \
         CAST(COUNT(*) AS BIGINT) \
         FROM (SELECT DISTINCT id, res FROM people WHERE res IN ({list})) w \
         LEFT JOIN checks c ON c.id = w.id GROUP BY 1, 2"
    );
    let mut per: BTreeMap<String, Coverage> = region
        .iter()
        .map(|c| {
            (
                c.clone(),
                Coverage {
                    residence_province: c.clone(),
                    ..Coverage::default()
                },
            )
        })
        .collect();
    for row in bound(&sql, &period, &region)
        .fetch_all(pool)
        .await
        .map_err(crate::store::StoreError::from)?
    {
        let res: String = row.try_get(0)?;
        if let Some(c) = per.get_mut(&res) {
            count(c, row.try_get(1)?, row.try_get(2)?);
        }
    }
    let sql = format!(
        "{WOMEN} SELECT CAST(CASE WHEN c.n IS NULL THEN 0 WHEN c.n >= 2 THEN 2 ELSE c.n END AS BIGINT), \
         CAST(COUNT(*) AS BIGINT) \
         FROM (SELECT DISTINCT id FROM people WHERE res IN ({list})) w \
         LEFT JOIN checks c ON c.id = w.id GROUP BY 1"
    );
    let mut total = Coverage {
        residence_province: "region".into(),
        ..Coverage::default()
    };
    for row in bound(&sql, &period, &region)
        .fetch_all(pool)
        .await
        .map_err(crate::store::StoreError::from)?
    {
        count(&mut total, row.try_get(0)?, row.try_get(1)?);
    }
    let finish = |mut c: Coverage| {
        c.fewer_than_two = c.no_check + c.one_check;
        c.fewer_than_two_share = rate(c.fewer_than_two, c.women);
        c
    };

    let short = women(ctx, &period, &region, None, true).await?;
    let follow_up = match province {
        Some(code) => Some(women(ctx, &period, &region, Some(code), false).await?),
        None => None,
    };
    Ok(CoverageReport {
        period,
        as_of: ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        province: province.map(str::to_string),
        provinces: per.into_values().map(finish).collect(),
        region: finish(total),
        short,
        follow_up,
    })
}

/// The women of the region (or of `only`, a province code) with fewer than two checks.
async fn women(
    ctx: &Context<'_>,
    period: &Period,
    region: &[String],
    only: Option<&str>,
    masked: bool,
) -> Result<Vec<Woman>, ReportError> {
    let list = (0..region.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = match only {
        Some(_) => format!(" AND p.res = ${}", region.len() + 3),
        None => String::new(),
    };
    let sql = format!(
        "{WOMEN} SELECT p.res, p.id, MAX(p.name), MAX(p.division), MAX(p.reg), \
         CAST(COALESCE(MAX(c.n), 0) AS BIGINT), MAX(c.last_ms) \
         FROM people p LEFT JOIN checks c ON c.id = p.id \
         WHERE p.res IN ({list}){filter} AND (c.n IS NULL OR c.n < 2) \
         GROUP BY p.res, p.id ORDER BY 1, 4, 2"
    );
    let mut q = bound(&sql, period, region);
    if let Some(code) = only {
        q = q.bind(code.to_string());
    }
    let rows = q
        .fetch_all(ctx.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    let women = rows
        .iter()
        .map(|r| {
            let id: String = r.try_get::<Option<String>, _>(1)?.unwrap_or_default();
            let name: String = r.try_get::<Option<String>, _>(2)?.unwrap_or_default();
            Ok(Woman {
                residence_province: r.try_get(0)?,
                id_number: if masked { mask_id_number(&id) } else { id },
                name: if masked { mask_name(&name) } else { name },
                residence_division: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                registration_division: r.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
                checks: r.try_get(5)?,
                last_check: r.try_get::<Option<i64>, _>(6)?.map(beijing_date_of_ms),
            })
        })
        .collect::<Result<Vec<Woman>, sqlx::Error>>()?;
    Ok(women)
}

/// A query over the period's milliseconds (`$1`, `$2`) and the region's codes (`$3`…).
fn bound<'q>(
    sql: &'q str,
    period: &Period,
    region: &[String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql).bind(period.start_ms()).bind(period.end_ms());
    for code in region {
        q = q.bind(code.clone());
    }
    q
}

fn count(c: &mut Coverage, checks: i64, n: i64) {
    c.women += n;
    match checks {
        0 => c.no_check += n,
        1 => c.one_check += n,
        _ => {}
    }
}

impl CoverageReport {
    /// The figures for a summary line.
    pub fn headline(&self) -> Vec<(Label, Cell)> {
        let r = &self.region;
        vec![
            (Label::new("已知育龄妇女", "women known"), Cell::Int(r.women)),
            (Label::new("未检查", "no check"), Cell::Int(r.no_check)),
            (Label::new("仅检查一次", "one check"), Cell::Int(r.one_check)),
            (
                Label::new("不足两次占比", "share with fewer than two"),
                Cell::Rate(r.fewer_than_two_share),
            ),
        ]
    }

    /// The report laid out for people.
    pub fn document(&self, ctx: &Context<'_>) -> Document {
        let reg = ctx.registry;
        let row = |c: &Coverage, name: Cell| {
            vec![
                name,
                Cell::Int(c.women),
                Cell::Int(c.no_check),
                Cell::Int(c.one_check),
                Cell::Int(c.fewer_than_two),
                Cell::Rate(c.fewer_than_two_share),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = self
            .provinces
            .iter()
            .map(|c| row(c, Cell::Text(province_line(reg, &c.residence_province))))
            .collect();
        rows.push(row(
            &self.region,
            Cell::Text(Label::new("全区域（每人计一次）", "region (each woman once)").both()),
        ));
        let provinces = Table {
            id: "provinces",
            sheet: "按现居住地 By province",
            title: Label::new("按现居住地", "By residence province"),
            columns: vec![
                Label::new("现居住地", "Residence province"),
                Label::new("已知育龄妇女", "Women known"),
                Label::new("未检查", "No check"),
                Label::new("仅检查一次", "One check"),
                Label::new("不足两次", "Fewer than two"),
                Label::new("不足两次占比", "Share with fewer than two"),
            ],
            rows,
        };
        let list_columns = |masked: bool| {
            vec![
                Label::new("现居住地", "Residence province"),
                Label::new("现居住地区划", "Residence division"),
                Label::new("户籍地区划", "Registration division"),
                if masked {
                    Label::new("身份证号（脱敏）", "ID number (masked)")
                } else {
                    Label::new("身份证号", "ID number")
                },
                if masked {
                    Label::new("姓名（脱敏）", "Name (masked)")
                } else {
                    Label::new("姓名", "Name")
                },
                Label::new("检查次数", "Checks"),
                Label::new("最近检查", "Last check"),
            ]
        };
        let list_rows = |list: &[Woman]| {
            list.iter()
                .map(|w| {
                    vec![
                        Cell::Text(province_line(reg, &w.residence_province)),
                        Cell::Text(w.residence_division.clone()),
                        Cell::Text(w.registration_division.clone()),
                        Cell::Text(w.id_number.clone()),
                        Cell::Text(w.name.clone()),
                        Cell::Int(w.checks),
                        Cell::Date(w.last_check),
                    ]
                })
                .collect()
        };
        let mut tables = vec![
            provinces,
            Table {
                id: "short",
                sheet: "不足两次 Fewer than two",
                title: Label::new("免费检查不足两次的妇女（脱敏）", "Women with fewer than two free checks (masked)"),
                columns: list_columns(true),
                rows: list_rows(&self.short),
            },
        ];
        let scope = self.province.as_deref().map(|c| labels::province(reg, c));
        if let (Some(list), Some(scope)) = (&self.follow_up, &scope) {
            tables.push(Table {
                id: "follow-up",
                sheet: "待办清单 Follow-up",
                title: Label::new(
                    format!("{}待办清单：免费检查不足两次（含完整个人信息）", scope.zh),
                    format!("Follow-up list of {}: fewer than two free checks (in full)", scope.en),
                ),
                columns: list_columns(false),
                rows: list_rows(list),
            });
        }
        let chart = Chart {
            id: "chart-coverage",
            title: Label::new("各省免费检查不足两次占比", "Share of women with fewer than two free checks"),
            horizontal: true,
            bars: self
                .provinces
                .iter()
                .map(|c| Bar {
                    label: province_line(reg, &c.residence_province),
                    value: c.fewer_than_two_share,
                    text: match c.fewer_than_two_share {
                        Some(v) => format!("{:.1}% ({}/{})", v * 100.0, c.fewer_than_two, c.women),
                        None => "—".to_string(),
                    },
                })
                .collect(),
        };
        let mut notes = vec![
            Label::new(
                "已知育龄妇女：期间内任一消息（本人或配偶，性别为女）显示其现居住地在该省；检查次数为期间内关于她的孕环情检查结果数（不论在何处检查）。",
                "Women known: any message in the period (as subject or spouse, sex female) naming her residence in the province; checks: check results about her in the period, wherever done.",
            ),
            Label::new(
                "区域外的现居住地不计入：其检查结果不经本平台。",
                "Residence provinces outside the region are not counted: their checks do not pass through the hub.",
            ),
        ];
        if self.period.shape != Shape::Year {
            notes.push(Label::new(
                "注意：计划保证每年至少两次免费检查；本期间不是一个自然年。",
                "Note: the plan guarantees two free checks per calendar year; this period is not a calendar year.",
            ));
        }
        Document {
            kind: "coverage",
            title: Label::new("免费孕环情检查覆盖情况", "Free-check coverage"),
            period: self.period,
            as_of: ctx.now,
            scope,
            headline: self.headline(),
            notes,
            charts: vec![chart],
            tables,
        }
    }
}
