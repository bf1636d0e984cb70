//! The coordination group's view of the audit: who looked people up in the period, how
//! often it was answered, and what was refused and why — counted in SQL from the audit
//! table, which holds no ID number (only keyed hashes) and is not shown here at all.

use super::document::{Bar, Cell, Chart, Document, Table};
use super::labels::Label;
use super::period::Period;
use super::{Context, ReportError};
use crate::store::{AuditCount, AuditFilter};
use serde::Serialize;
use std::collections::BTreeMap;

/// Lookups of one asker (a province, or a role without one).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Asker {
    /// Province pinyin name, `coordination`, `ops`, or `-` (unidentified).
    pub who: String,
    /// Profile lookups answered.
    pub profiles_allowed: i64,
    /// Profile lookups refused.
    pub profiles_refused: i64,
    /// Other lookups answered (certificates, reports, traces…).
    pub other_allowed: i64,
    /// Other lookups refused.
    pub other_refused: i64,
}

/// The audit report.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The period.
    pub period: Period,
    /// When computed.
    pub as_of: String,
    /// Per asker.
    pub askers: Vec<Asker>,
    /// Refusals per asker, action and reason.
    pub refusals: Vec<AuditCount>,
    /// All lookups.
    pub lookups: i64,
    /// All refusals.
    pub refused: i64,
}

/// Counts the period's audit.
pub async fn compute(ctx: &Context<'_>, period: Period) -> Result<AuditReport, ReportError> {
    let counts = ctx
        .store
        .audit_counts(&AuditFilter {
            from_ms: Some(period.start_ms()),
            to_ms: Some(period.end_ms()),
            ..AuditFilter::default()
        })
        .await?;
    let mut askers: BTreeMap<String, Asker> = BTreeMap::new();
    let mut refusals = Vec::new();
    let (mut lookups, mut refused) = (0, 0);
    for c in counts {
        let a = askers.entry(c.who.clone()).or_insert_with(|| Asker {
            who: c.who.clone(),
            ..Asker::default()
        });
        let allowed = c.reason == "allowed";
        match (c.action == "profile", allowed) {
            (true, true) => a.profiles_allowed += c.count,
            (true, false) => a.profiles_refused += c.count,
            (false, true) => a.other_allowed += c.count,
            (false, false) => a.other_refused += c.count,
        }
        lookups += c.count;
        if !allowed {
            refused += c.count;
            refusals.push(c);
        }
    }
    Ok(AuditReport {
        period,
        as_of: ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        askers: askers.into_values().collect(),
        refusals,
        lookups,
        refused,
    })
}

fn who_label(ctx: &Context<'_>, who: &str) -> String {
    match ctx.registry.get(who) {
        Some(m) => format!("{} {}", m.province().label, who),
        None => match who {
            "coordination" => "协调组 coordination".to_string(),
            "ops" => "运维 ops".to_string(),
            "-" => "未识别 unidentified".to_string(),
            other => other.to_string(),
        },
    }
}

fn reason_zh(reason: &str) -> &'static str {
    match reason {
        "unauthenticated" => "未认证",
        "role_not_permitted" => "角色无权",
        "not_entitled" => "无查询权限",
        "invalid_request" => "请求无效",
        _ => "",
    }
}

impl AuditReport {
    /// The figures for a summary line.
    pub fn headline(&self) -> Vec<(Label, Cell)> {
        vec![
            (Label::new("查询", "lookups"), Cell::Int(self.lookups)),
            (Label::new("拒绝", "refused"), Cell::Int(self.refused)),
        ]
    }

    /// The report laid out for people.
    pub fn document(&self, ctx: &Context<'_>) -> Document {
        let askers = Table {
            id: "askers",
            sheet: "各省查询 Lookups",
            title: Label::new("各省查询次数", "Lookups per province"),
            columns: vec![
                Label::new("查询方", "Asked by"),
                Label::new("个人信息：已答复", "Profiles answered"),
                Label::new("个人信息：已拒绝", "Profiles refused"),
                Label::new("其他：已答复", "Other lookups answered"),
                Label::new("其他：已拒绝", "Other lookups refused"),
            ],
            rows: self
                .askers
                .iter()
                .map(|a| {
                    vec![
                        Cell::Text(who_label(ctx, &a.who)),
                        Cell::Int(a.profiles_allowed),
                        Cell::Int(a.profiles_refused),
                        Cell::Int(a.other_allowed),
                        Cell::Int(a.other_refused),
                    ]
                })
                .collect(),
        };
        let refusals = Table {
            id: "refusals",
            sheet: "拒绝 Refusals",
            title: Label::new("拒绝：按查询方、类别和原因", "Refusals by asker, lookup and reason"),
            columns: vec![
                Label::new("查询方", "Asked by"),
                Label::new("查询", "Lookup"),
                Label::new("原因", "Reason"),
                Label::new("次数", "Count"),
            ],
            rows: self
                .refusals
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(who_label(ctx, &r.who)),
                        Cell::Text(r.action.clone()),
                        Cell::Text(format!("{} {}", reason_zh(&r.reason), r.reason)),
                        Cell::Int(r.count),
                    ]
                })
                .collect(),
        };
        let chart = Chart {
            id: "chart-refused",
            title: Label::new("各查询方被拒比例", "Share of lookups refused, per asker"),
            horizontal: true,
            bars: self
                .askers
                .iter()
                .map(|a| {
                    let total = a.profiles_allowed + a.profiles_refused + a.other_allowed + a.other_refused;
                    let refused = a.profiles_refused + a.other_refused;
                    let share = (total > 0).then(|| refused as f64 / total as f64);
                    Bar {
                        label: who_label(ctx, &a.who),
                        value: share,
                        text: match share {
                            Some(s) => format!("{:.1}% ({refused}/{total})", s * 100.0),
                            None => "—".into(),
                        },
                    }
                })
                .collect(),
        };
        Document {
            kind: "audit",
            title: Label::new("信息查询审计", "Audit of lookups"),
            period: self.period,
            as_of: ctx.now,
            scope: None,
            headline: self.headline(),
            notes: vec![Label::new(
                "审计记录只保存身份证号的密钥散列，不含明文；本报告不列出被查询人。",
                "The audit keeps only keyed hashes of ID numbers, never the numbers; this report lists no person.",
            )],
            charts: vec![chart],
            tables: vec![askers, refusals],
        }
    }
}
