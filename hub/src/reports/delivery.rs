//! The delivery report (DOMAIN.md §6): for a period, who delivers, who answers in time,
//! who lets items go overdue. Rejections per sending province and reason; per sending
//! province × owning province × kind: delivered, owed, answered on time, answered late,
//! open, overdue, median and 90th-percentile answer time in working days; per-province
//! totals and the region's; the on-time rate per province, ranked; the overdue items
//! (subjects masked) and, for one province, its own follow-up list (subjects in full).
//!
//! Every figure is a grouped SQL count or a histogram of stored answer times; only the
//! item lists come out row by row.

use super::document::{Bar, Cell, Chart, Document, Table};
use super::labels::{self, kind_zh, province_line, reason_zh, state_zh, Label};
use super::period::{beijing_date_of_ms, Period};
use super::stats::{rate, Histogram};
use super::{Context, ReportError};
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use yipanqi_schemas::{mask_id_number, mask_name};

/// The delivery report's data (its JSON form).
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    /// The period.
    pub period: Period,
    /// When the states were read (RFC 3339).
    pub as_of: String,
    /// The province whose follow-up list is included (code), if any.
    pub province: Option<String>,
    /// Rejections per sending province and reason.
    pub rejected: Vec<Rejected>,
    /// Per sending province × owning province × kind.
    pub pairs: Vec<Pair>,
    /// Per province (as sender and as owner).
    pub provinces: Vec<Totals>,
    /// The whole region.
    pub region: Totals,
    /// Provinces by on-time rate, best first; those with nothing due last.
    pub ranking: Vec<Ranked>,
    /// Open items past their deadline, subjects masked.
    pub overdue: Vec<Item>,
    /// What `province` owes (open or overdue), subjects in full.
    pub follow_up: Option<Vec<Item>>,
}

/// Rejections of one province's input for one reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejected {
    /// Province code.
    pub province: String,
    /// Reason code.
    pub reason: String,
    /// How many documents or records.
    pub count: i64,
}

/// One sending province × owning province × kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Pair {
    /// Code of the sending province.
    pub sender_province: String,
    /// Code of the owning province (outside the region: delivered through PADIS).
    pub owner_province: String,
    /// The kind delivered.
    pub kind: String,
    /// Copies confirmed on the owner's queue.
    pub delivered: i64,
    /// Expectations opened (answers owed).
    pub owed: i64,
    /// Answered by the deadline.
    pub answered_on_time: i64,
    /// Answered after it.
    pub answered_late: i64,
    /// Not answered, deadline not passed.
    pub open: i64,
    /// Not answered, deadline passed.
    pub overdue: i64,
    /// Median answer time in working days.
    pub median_working_days: Option<f64>,
    /// 90th-percentile answer time in working days (nearest rank).
    pub p90_working_days: Option<i64>,
    #[serde(skip)]
    histogram: Histogram,
}

/// A province's totals (or the region's, with `province` = `region`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    /// Province code, or `region`.
    pub province: String,
    /// Messages received from it and accepted.
    pub sent: i64,
    /// Its rejected documents or records.
    pub rejected: i64,
    /// Copies of its messages delivered.
    pub delivered_out: i64,
    /// Copies delivered to it.
    pub delivered_in: i64,
    /// Answers it owes.
    pub owed: i64,
    /// …answered on time.
    pub answered_on_time: i64,
    /// …answered late.
    pub answered_late: i64,
    /// …open, deadline not passed.
    pub open: i64,
    /// …overdue.
    pub overdue: i64,
    /// Expectations due: answered, or past the deadline (the on-time rate's denominator).
    pub due: i64,
    /// Answered on time ÷ due.
    pub on_time_rate: Option<f64>,
    /// Median answer time in working days.
    pub median_working_days: Option<f64>,
    /// 90th-percentile answer time in working days.
    pub p90_working_days: Option<i64>,
    #[serde(skip)]
    histogram: Histogram,
}

/// A province's place in the on-time ranking.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// 1 for the best; `None` when nothing was due.
    pub rank: Option<i64>,
    /// Province code.
    pub province: String,
    /// Answered on time.
    pub answered_on_time: i64,
    /// Due.
    pub due: i64,
    /// The rate.
    pub on_time_rate: Option<f64>,
}

/// An answer owed: an overdue item, or a line of a province's follow-up list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Item {
    /// The hub's id of the message that expects the answer.
    pub message_id: String,
    /// The sender's own id of it.
    pub source_message_id: String,
    /// Its kind.
    pub kind: String,
    /// Sending division.
    pub sender_division: String,
    /// Owing province code.
    pub owner_province: String,
    /// Owing division.
    pub owner_division: String,
    /// Beijing date the hub received it.
    pub received_date: chrono::NaiveDate,
    /// Beijing date of the deadline (end of that day).
    pub due_date: chrono::NaiveDate,
    /// `open` or `overdue` (as of the report).
    pub state: String,
    /// Working days past the deadline (0 while not overdue).
    pub working_days_overdue: i64,
    /// The subject's ID number: masked in the overdue list, in full in a follow-up list.
    pub subject_id: Option<String>,
    /// The subject's name, likewise.
    pub subject_name: Option<String>,
}

fn get_i64(row: &sqlx::any::AnyRow, i: usize) -> Result<i64, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(0))
}

fn get_text(row: &sqlx::any::AnyRow, i: usize) -> Result<String, sqlx::Error> {
    Ok(row.try_get::<Option<String>, _>(i)?.unwrap_or_default())
}

/// Computes the delivery report; `province` (a code) adds its follow-up list.
pub async fn compute(
    ctx: &Context<'_>,
    period: Period,
    province: Option<&str>,
) -> Result<DeliveryReport, ReportError> {
    super::backfill_answer_days(ctx).await?;
    let pool = ctx.store.pool();
    let (start, end, now) = (period.start_ms(), period.end_ms(), ctx.now.timestamp_millis());
    let mut pairs: BTreeMap<(String, String, String), Pair> = BTreeMap::new();

    // Copies delivered: routes the broker confirmed, of messages received in the period.
    for row in sqlx::query(
        "SELECT m.province, substr(r.target_division, 1, 2), m.kind, CAST(COUNT(*) AS BIGINT) \
         FROM messages m JOIN routes r ON r.message_id = m.message_id \
         WHERE m.received_ms >= $1 AND m.received_ms < $2 AND r.confirmed_at IS NOT NULL \
         GROUP BY 1, 2, 3",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?
    {
        let e = entry(&mut pairs, get_text(&row, 0)?, get_text(&row, 1)?, get_text(&row, 2)?);
        e.delivered += get_i64(&row, 3)?;
    }

    // Expectations by state as of now: an open one past its deadline is overdue even
    // before the scanner's next round marks it.
    for row in sqlx::query(
        "SELECT sender_province, owner_province, kind, \
         CASE WHEN state = 'open' AND due_ms < $3 THEN 'overdue' ELSE state END, \
         CAST(COUNT(*) AS BIGINT) \
         FROM expectations WHERE received_ms >= $1 AND received_ms < $2 GROUP BY 1, 2, 3, 4",
    )
    .bind(start)
    .bind(end)
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?
    {
        let e = entry(&mut pairs, get_text(&row, 0)?, get_text(&row, 1)?, get_text(&row, 2)?);
        let n = get_i64(&row, 4)?;
        e.owed += n;
        match get_text(&row, 3)?.as_str() {
            "answered_on_time" => e.answered_on_time += n,
            "answered_late" => e.answered_late += n,
            "overdue" => e.overdue += n,
            _ => e.open += n,
        }
    }

    // Answer times as histograms: (pair, working days) → count.
    for row in sqlx::query(
        "SELECT sender_province, owner_province, kind, answer_working_days, CAST(COUNT(*) AS BIGINT) \
         FROM expectations WHERE received_ms >= $1 AND received_ms < $2 \
         AND answer_working_days IS NOT NULL GROUP BY 1, 2, 3, 4",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?
    {
        let e = entry(&mut pairs, get_text(&row, 0)?, get_text(&row, 1)?, get_text(&row, 2)?);
        e.histogram.add(get_i64(&row, 3)?, get_i64(&row, 4)?);
    }

    let mut rejected = Vec::new();
    for row in sqlx::query(
        "SELECT province, reason, CAST(COUNT(*) AS BIGINT) FROM rejections \
         WHERE received_ms >= $1 AND received_ms < $2 GROUP BY 1, 2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?
    {
        // Rejections are stored by the inbound queue's province name.
        let name = get_text(&row, 0)?;
        let code = ctx
            .registry
            .get(&name)
            .map(|m| m.province().code.clone())
            .unwrap_or(name);
        rejected.push(Rejected {
            province: code,
            reason: get_text(&row, 1)?,
            count: get_i64(&row, 2)?,
        });
    }
    rejected.sort_by(|a, b| (&a.province, &a.reason).cmp(&(&b.province, &b.reason)));

    let mut sent: BTreeMap<String, i64> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT province, CAST(COUNT(*) AS BIGINT) FROM messages \
         WHERE received_ms >= $1 AND received_ms < $2 GROUP BY 1",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?
    {
        sent.insert(get_text(&row, 0)?, get_i64(&row, 1)?);
    }

    let pairs: Vec<Pair> = pairs
        .into_values()
        .map(|mut p| {
            p.median_working_days = p.histogram.median();
            p.p90_working_days = p.histogram.percentile(90);
            p
        })
        .collect();

    // Per province: the region's provinces always, others when they appear.
    let mut codes: BTreeSet<String> = ctx.registry.provinces().map(|p| p.code.clone()).collect();
    for p in &pairs {
        codes.insert(p.sender_province.clone());
        codes.insert(p.owner_province.clone());
    }
    codes.extend(sent.keys().cloned());
    codes.extend(rejected.iter().map(|r| r.province.clone()));
    let mut provinces: BTreeMap<String, Totals> = codes
        .into_iter()
        .map(|c| {
            (
                c.clone(),
                Totals {
                    province: c,
                    ..Totals::default()
                },
            )
        })
        .collect();
    let mut region = Totals {
        province: "region".into(),
        ..Totals::default()
    };
    for p in &pairs {
        if let Some(t) = provinces.get_mut(&p.sender_province) {
            t.delivered_out += p.delivered;
        }
        if let Some(t) = provinces.get_mut(&p.owner_province) {
            t.delivered_in += p.delivered;
            add_owed(t, p);
        }
        region.delivered_out += p.delivered;
        region.delivered_in += p.delivered;
        add_owed(&mut region, p);
    }
    for (code, n) in &sent {
        if let Some(t) = provinces.get_mut(code) {
            t.sent += n;
        }
        region.sent += n;
    }
    for r in &rejected {
        if let Some(t) = provinces.get_mut(&r.province) {
            t.rejected += r.count;
        }
        region.rejected += r.count;
    }
    let finish = |t: &mut Totals| {
        t.due = t.answered_on_time + t.answered_late + t.overdue;
        t.on_time_rate = rate(t.answered_on_time, t.due);
        t.median_working_days = t.histogram.median();
        t.p90_working_days = t.histogram.percentile(90);
    };
    for t in provinces.values_mut() {
        finish(t);
    }
    finish(&mut region);
    let provinces: Vec<Totals> = provinces.into_values().collect();

    let mut ranking: Vec<Ranked> = provinces
        .iter()
        .filter(|t| t.due > 0 || ctx.registry.by_code(&t.province).is_some())
        .map(|t| Ranked {
            rank: None,
            province: t.province.clone(),
            answered_on_time: t.answered_on_time,
            due: t.due,
            on_time_rate: t.on_time_rate,
        })
        .collect();
    ranking.sort_by(|a, b| match (a.on_time_rate, b.on_time_rate) {
        (Some(x), Some(y)) => y
            .partial_cmp(&x)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.due.cmp(&a.due))
            .then(a.province.cmp(&b.province)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.province.cmp(&b.province),
    });
    // Equal rates share a rank (1, 2, 2, 4).
    let mut previous: Option<(f64, i64)> = None;
    for (i, r) in ranking.iter_mut().enumerate() {
        if let Some(rate) = r.on_time_rate {
            let rank = match previous {
                Some((p, rank)) if p == rate => rank,
                _ => i as i64 + 1,
            };
            r.rank = Some(rank);
            previous = Some((rate, rank));
        }
    }

    let overdue = items(ctx, period, None, true).await?;
    let follow_up = match province {
        Some(code) => Some(items(ctx, period, Some(code), false).await?),
        None => None,
    };
    Ok(DeliveryReport {
        period,
        as_of: ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        province: province.map(str::to_string),
        rejected,
        pairs,
        provinces,
        region,
        ranking,
        overdue,
        follow_up,
    })
}

fn entry(
    pairs: &mut BTreeMap<(String, String, String), Pair>,
    sender: String,
    owner: String,
    kind: String,
) -> &mut Pair {
    pairs
        .entry((sender.clone(), owner.clone(), kind.clone()))
        .or_insert_with(|| Pair {
            sender_province: sender,
            owner_province: owner,
            kind,
            ..Pair::default()
        })
}

fn add_owed(t: &mut Totals, p: &Pair) {
    t.owed += p.owed;
    t.answered_on_time += p.answered_on_time;
    t.answered_late += p.answered_late;
    t.open += p.open;
    t.overdue += p.overdue;
    t.histogram.merge(&p.histogram);
}

/// The overdue items of the period (all provinces, subjects masked), or what `owner`
/// owes, open or overdue (subjects in full).
async fn items(
    ctx: &Context<'_>,
    period: Period,
    owner: Option<&str>,
    masked: bool,
) -> Result<Vec<Item>, ReportError> {
    let sql = match owner {
        None => {
            "SELECT e.message_id, m.source_message_id, e.kind, e.sender_division, e.owner_province, \
             e.owner_division, e.received_ms, e.due_ms, m.subject_id, m.subject_name \
             FROM expectations e JOIN messages m ON m.message_id = e.message_id \
             WHERE e.received_ms >= $1 AND e.received_ms < $2 \
             AND (e.state = 'overdue' OR (e.state = 'open' AND e.due_ms < $3)) \
             ORDER BY e.owner_province, e.owner_division, e.due_ms, e.id"
        }
        Some(_) => {
            "SELECT e.message_id, m.source_message_id, e.kind, e.sender_division, e.owner_province, \
             e.owner_division, e.received_ms, e.due_ms, m.subject_id, m.subject_name \
             FROM expectations e JOIN messages m ON m.message_id = e.message_id \
             WHERE e.owner_province = $3 AND e.received_ms >= $1 AND e.received_ms < $2 \
             AND e.state IN ('open', 'overdue') \
             ORDER BY e.due_ms, e.owner_division, e.id"
        }
    };
    let now = ctx.now.timestamp_millis();
    let query = sqlx::query(sql)
        .bind(period.start_ms())
        .bind(period.end_ms());
    let query = match owner {
        Some(code) => query.bind(code.to_string()),
        None => query.bind(now),
    };
    let rows = query
        .fetch_all(ctx.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    let today = super::period::beijing_date(ctx.now);
    let mut overdue_days: BTreeMap<chrono::NaiveDate, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let due_ms = get_i64(&row, 7)?;
        let due_date = beijing_date_of_ms(due_ms);
        let is_overdue = due_ms < now;
        let days = if is_overdue {
            *overdue_days.entry(due_date).or_insert_with(|| {
                i64::from(ctx.calendar.working_days_between(due_date, today).0)
            })
        } else {
            0
        };
        let id: Option<String> = row.try_get(8)?;
        let name: Option<String> = row.try_get(9)?;
        out.push(Item {
            message_id: get_text(&row, 0)?,
            source_message_id: get_text(&row, 1)?,
            kind: get_text(&row, 2)?,
            sender_division: get_text(&row, 3)?,
            owner_province: get_text(&row, 4)?,
            owner_division: get_text(&row, 5)?,
            received_date: beijing_date_of_ms(get_i64(&row, 6)?),
            due_date,
            state: if is_overdue { "overdue" } else { "open" }.to_string(),
            working_days_overdue: days,
            subject_id: if masked { id.as_deref().map(mask_id_number) } else { id },
            subject_name: if masked { name.as_deref().map(mask_name) } else { name },
        });
    }
    Ok(out)
}

impl DeliveryReport {
    /// The figures for a summary line: delivered, owed, on-time rate, overdue, rejected,
    /// median answer time.
    pub fn headline(&self) -> Vec<(Label, Cell)> {
        let r = &self.region;
        vec![
            (Label::new("送达", "delivered"), Cell::Int(r.delivered_out)),
            (Label::new("应答复", "answers owed"), Cell::Int(r.owed)),
            (Label::new("按时答复率", "on-time rate"), Cell::Rate(r.on_time_rate)),
            (Label::new("逾期未答复", "overdue"), Cell::Int(r.overdue)),
            (Label::new("退回", "rejected"), Cell::Int(r.rejected)),
            (
                Label::new("答复用时中位数（工作日）", "median answer time (working days)"),
                Cell::Days(r.median_working_days),
            ),
        ]
    }

    /// The report laid out for people.
    pub fn document(&self, ctx: &Context<'_>) -> Document {
        let reg = ctx.registry;
        let p = |code: &str| Cell::Text(province_line(reg, code));
        let totals_row = |t: &Totals, name: Cell| {
            vec![
                name,
                Cell::Int(t.sent),
                Cell::Int(t.rejected),
                Cell::Int(t.delivered_out),
                Cell::Int(t.delivered_in),
                Cell::Int(t.owed),
                Cell::Int(t.answered_on_time),
                Cell::Int(t.answered_late),
                Cell::Int(t.open),
                Cell::Int(t.overdue),
                Cell::Int(t.due),
                Cell::Rate(t.on_time_rate),
                Cell::Days(t.median_working_days),
                Cell::Days(t.p90_working_days.map(|d| d as f64)),
            ]
        };
        let mut province_rows: Vec<Vec<Cell>> = self
            .provinces
            .iter()
            .map(|t| totals_row(t, p(&t.province)))
            .collect();
        province_rows.push(totals_row(
            &self.region,
            Cell::Text(Label::new("全区域", "region").both()),
        ));
        let median = Label::new("用时中位数（工作日）", "Median (working days)");
        let p90 = Label::new("第90百分位（工作日）", "90th percentile (working days)");
        let provinces = Table {
            id: "provinces",
            sheet: "按省汇总 By province",
            title: Label::new("按省汇总", "Totals by province"),
            columns: vec![
                Label::new("省份", "Province"),
                Label::new("发出", "Sent"),
                Label::new("退回", "Rejected"),
                Label::new("送出", "Delivered out"),
                Label::new("收到", "Delivered in"),
                Label::new("应答复", "Owed"),
                Label::new("按时答复", "Answered on time"),
                Label::new("逾期答复", "Answered late"),
                Label::new("待答复", "Open"),
                Label::new("逾期未答复", "Overdue"),
                Label::new("已到期", "Due"),
                Label::new("按时答复率", "On-time rate"),
                median.clone(),
                p90.clone(),
            ],
            rows: province_rows,
        };
        let ranking = Table {
            id: "ranking",
            sheet: "按时率排名 Ranking",
            title: Label::new("按时答复率排名", "On-time rate, ranked"),
            columns: vec![
                Label::new("名次", "Rank"),
                Label::new("省份", "Province"),
                Label::new("按时答复", "Answered on time"),
                Label::new("已到期", "Due"),
                Label::new("按时答复率", "On-time rate"),
            ],
            rows: self
                .ranking
                .iter()
                .map(|r| {
                    vec![
                        r.rank.map(Cell::Int).unwrap_or(Cell::Text(String::new())),
                        p(&r.province),
                        Cell::Int(r.answered_on_time),
                        Cell::Int(r.due),
                        Cell::Rate(r.on_time_rate),
                    ]
                })
                .collect(),
        };
        let pairs = Table {
            id: "pairs",
            sheet: "按省对和类别 By pair",
            title: Label::new("按发送省、承办省和类别", "By sending province, owning province and kind"),
            columns: vec![
                Label::new("发送省", "Sender"),
                Label::new("承办省", "Owner"),
                Label::new("类别", "Kind"),
                Label::new("送达", "Delivered"),
                Label::new("应答复", "Owed"),
                Label::new("按时答复", "Answered on time"),
                Label::new("逾期答复", "Answered late"),
                Label::new("待答复", "Open"),
                Label::new("逾期未答复", "Overdue"),
                median,
                p90,
            ],
            rows: self
                .pairs
                .iter()
                .map(|x| {
                    vec![
                        p(&x.sender_province),
                        p(&x.owner_province),
                        Cell::Text(format!("{} {}", kind_zh(&x.kind), x.kind)),
                        Cell::Int(x.delivered),
                        Cell::Int(x.owed),
                        Cell::Int(x.answered_on_time),
                        Cell::Int(x.answered_late),
                        Cell::Int(x.open),
                        Cell::Int(x.overdue),
                        Cell::Days(x.median_working_days),
                        Cell::Days(x.p90_working_days.map(|d| d as f64)),
                    ]
                })
                .collect(),
        };
        let rejected = Table {
            id: "rejected",
            sheet: "退回 Rejected",
            title: Label::new("退回（按发送省和原因）", "Rejected, by sending province and reason"),
            columns: vec![
                Label::new("发送省", "Sender"),
                Label::new("原因", "Reason"),
                Label::new("件数", "Count"),
            ],
            rows: self
                .rejected
                .iter()
                .map(|r| {
                    vec![
                        p(&r.province),
                        Cell::Text(format!("{} {}", reason_zh(&r.reason), r.reason)),
                        Cell::Int(r.count),
                    ]
                })
                .collect(),
        };
        let item_columns = |full: bool| {
            let mut c = vec![
                Label::new("消息编号", "Message id"),
                Label::new("发送方编号", "Sender's id"),
                Label::new("类别", "Kind"),
                Label::new("发送单位", "Sender division"),
                Label::new("承办单位", "Owner division"),
                Label::new("接收日期", "Received"),
                Label::new("截止日期", "Due"),
                Label::new("逾期工作日", "Working days overdue"),
            ];
            if full {
                c.push(Label::new("状态", "State"));
                c.push(Label::new("身份证号", "ID number"));
                c.push(Label::new("姓名", "Name"));
            } else {
                c.push(Label::new("身份证号（脱敏）", "ID number (masked)"));
                c.push(Label::new("姓名（脱敏）", "Name (masked)"));
            }
            c
        };
        let item_row = |i: &Item, full: bool| {
            let mut r = vec![
                Cell::Text(i.message_id.clone()),
                Cell::Text(i.source_message_id.clone()),
                Cell::Text(format!("{} {}", kind_zh(&i.kind), i.kind)),
                Cell::Text(i.sender_division.clone()),
                Cell::Text(i.owner_division.clone()),
                Cell::Date(Some(i.received_date)),
                Cell::Date(Some(i.due_date)),
                Cell::Int(i.working_days_overdue),
            ];
            if full {
                r.push(Cell::Text(format!("{} {}", state_zh(&i.state), i.state)));
            }
            r.push(Cell::Text(i.subject_id.clone().unwrap_or_default()));
            r.push(Cell::Text(i.subject_name.clone().unwrap_or_default()));
            r
        };
        let overdue = Table {
            id: "overdue",
            sheet: "逾期清单 Overdue",
            title: Label::new("逾期未答复清单", "Overdue items"),
            columns: item_columns(false),
            rows: self.overdue.iter().map(|i| item_row(i, false)).collect(),
        };
        let mut tables = vec![provinces, ranking, pairs, rejected, overdue];
        let scope = self.province.as_deref().map(|c| labels::province(reg, c));
        if let (Some(list), Some(scope)) = (&self.follow_up, &scope) {
            tables.push(Table {
                id: "follow-up",
                sheet: "待办清单 Follow-up",
                title: Label::new(
                    format!("{}待办清单（应答复未答复，含完整个人信息）", scope.zh),
                    format!("Follow-up list of {}: answers it owes (subjects in full)", scope.en),
                ),
                columns: item_columns(true),
                rows: list.iter().map(|i| item_row(i, true)).collect(),
            });
        }
        let chart = Chart {
            id: "chart-on-time",
            title: Label::new("各省按时答复率", "On-time rate per province"),
            horizontal: true,
            bars: self
                .ranking
                .iter()
                .map(|r| Bar {
                    label: province_line(reg, &r.province),
                    value: r.on_time_rate,
                    text: match r.on_time_rate {
                        Some(v) => format!("{:.1}% ({}/{})", v * 100.0, r.answered_on_time, r.due),
                        None => "—".to_string(),
                    },
                })
                .collect(),
        };
        Document {
            kind: "delivery",
            title: Label::new("区域“一盘棋”送达与答复报告", "Delivery and answer report"),
            period: self.period,
            as_of: ctx.now,
            scope,
            headline: self.headline(),
            notes: notes(),
            charts: vec![chart],
            tables,
        }
    }
}

fn notes() -> Vec<Label> {
    vec![
        Label::new(
            "消息按接收日期（北京时间）归入统计期间，截止日当天包括在内。",
            "A message belongs to the period of the Beijing date the hub received it; the last day is included.",
        ),
        Label::new(
            "答复用时：接收日期之后至答复日期（含）的工作日数，当天答复为0；中位数在偶数个时取中间两数的平均；第90百分位按最近秩法。",
            "Answer time: working days after the received date up to and including the answer date (same day = 0); the median of an even count is the mean of the two middle values; the 90th percentile is by nearest rank.",
        ),
        Label::new(
            "逾期未答复：截至报告时点仍未答复且已过截止时间；按时答复率 = 按时答复 ÷ 已到期（已答复或已过截止时间）。",
            "Overdue: not answered and past the deadline as of the report; on-time rate = answered on time ÷ due (answered, or past the deadline).",
        ),
        Label::new(
            "协调组报告中身份证号和姓名均已脱敏；各省待办清单含完整个人信息，仅供该省使用。",
            "ID numbers and names are masked in the coordination group's report; a province's follow-up list carries them in full, for that province only.",
        ),
    ]
}
