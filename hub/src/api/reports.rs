//! The coordination group's reports over HTTP: `GET /api/reports/{delivery|paper|coverage}`
//! with the period (`from=&to=` inclusive, or `month=`, `half=`, `year=`), `format=`
//! (`json` by default, `html`, `csv`, `xlsx`) and optionally `province=` for that
//! province's follow-up list with subjects in full; and `GET /reports`, an index page
//! linking this month's and last month's reports. Same outputs as `yipanqi report`; the
//! states are read as of the hub's clock.
//!
//! Who gets what is `access::rules::report`'s decision: the coordination group the masked
//! reports, a province the same with its own follow-up list and only the overdue items it
//! sent or owes; the audit report goes to the coordination group and ops. Every fetch is
//! written to the audit.

use super::auth::Authenticated;
use super::{ApiError, AppState};
use crate::access::rules::{self, Scope};
use crate::access::{AuditEntry, Channel};
use crate::reports::html::escape;
use crate::reports::{self, Context, Format, Period, PeriodSpec, ReportError, ReportKind};
use super::{Path, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::fmt::Write;

/// The report routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(index))
        .route("/api/reports/{kind}", get(report))
}

/// Query of `GET /api/reports/{kind}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    month: Option<String>,
    half: Option<String>,
    year: Option<String>,
    format: Option<String>,
    province: Option<String>,
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::UnknownProvince(p) => {
                ApiError::BadRequest(format!("unknown province '{p}'"))
            }
            ReportError::Store(e) => ApiError::from(e),
            ReportError::Xlsx(e) => {
                tracing::error!(error = %e, "report spreadsheet failed");
                ApiError::Internal("the spreadsheet could not be written".into())
            }
        }
    }
}

/// Without a period: this month (this year for coverage, which the plan counts per year).
fn default_period(kind: ReportKind, today: NaiveDate) -> Period {
    match kind {
        ReportKind::Coverage => Period::of_year(today.year()).unwrap_or(Period::month_of(today)),
        _ => Period::month_of(today),
    }
}

async fn report(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(kind): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let kind = ReportKind::parse(&kind).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no report '{kind}'; the reports are delivery, paper, coverage and audit"
        ))
    })?;
    let requested = q
        .province
        .as_deref()
        .map(|p| state.province_code(p))
        .transpose()?;
    let access = match kind {
        ReportKind::Audit => rules::audit(&caller).map(|()| rules::ReportAccess {
            follow_up: None,
            overdue_items: Scope::All,
        }),
        _ => rules::report(&caller, requested.as_deref()),
    };
    let access = match access {
        Ok(a) => a,
        Err(refusal) => return Err(state.refuse(&caller, "report", refusal).await),
    };
    let format = match q.format.as_deref() {
        None => Format::Json,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown format '{f}'; one of html, csv, xlsx, json"))
        })?,
    };
    let now = state.clock.now();
    let spec = PeriodSpec {
        month: q.month,
        half: q.half,
        year: q.year,
        from: q.from,
        to: q.to,
    };
    let period = spec
        .resolve(default_period(kind, reports::period::beijing_date(now)))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let store = state.store()?;
    let calendar = crate::deadlines::load_calendar(None, store)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "calendar for a report failed");
            ApiError::Internal("the working-day calendar could not be read".into())
        })?;
    let ctx = Context {
        store,
        registry: &state.registry,
        calendar: &calendar,
        now,
    };
    let province = access.follow_up.as_deref();
    let mut report = reports::build(&ctx, kind, period, province).await?;
    report.restrict(&access.overdue_items);
    let body = report.render(&ctx, format)?;
    let scope = match province {
        Some(code) => format!(" follow-up {code}"),
        None => String::new(),
    };
    let entry = AuditEntry::by(&caller, Channel::Http, "report")
        .target(format!("{} {}{scope}", kind.as_str(), period.slug()))
        .allowed(match province {
            Some(_) => "with the province's own follow-up list, subjects in full",
            None => "subjects masked",
        });
    state.sharing()?.record(&entry).await?;
    let province_name = province.and_then(|c| state.registry.by_code(c)).map(|m| m.province().name.clone());
    let name = reports::file_name(kind, &period, province_name.as_deref(), format);
    let mut response = ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
    if matches!(format, Format::Xlsx | Format::Csv) {
        if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// `GET /reports`: this month's and last month's reports in every format.
async fn index(State(state): State<AppState>) -> Html<String> {
    let today = reports::period::beijing_date(state.clock.now());
    let this_month = Period::month_of(today);
    let last_month = Period::month_of(this_month.from.pred_opt().unwrap_or(this_month.from));
    let this_year = Period::of_year(today.year()).unwrap_or(this_month);
    let last_year = Period::of_year(today.year() - 1).unwrap_or(this_month);
    let link = |kind: &str, p: &Period, format: &str, extra: &str| {
        format!(
            "/api/reports/{kind}?from={}&amp;to={}&amp;format={format}{extra}",
            p.from, p.to
        )
    };
    let formats = |kind: &str, p: &Period| {
        ["html", "xlsx", "csv", "json"]
            .iter()
            .map(|f| format!("<a href=\"{}\">{}</a>", link(kind, p, f, ""), f.to_uppercase()))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\">\
         <title>报告 Reports · yipanqi</title>\n<style>\
         body { font-family: sans-serif; margin: 24px; } .en { color: #666; font-size: .85em; }\
         table { border-collapse: collapse; } th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; }\
         th { background: #dce6f1; }</style></head>\n<body>\n\
         <h1>区域协调组报告 <span class=\"en\">Reports for the coordination group</span></h1>\n\
         <table id=\"reports\">\n<thead><tr><th>报告 <span class=\"en\">Report</span></th>\
         <th>期间 <span class=\"en\">Period</span></th><th>格式 <span class=\"en\">Formats</span></th></tr></thead>\n<tbody>\n",
    );
    let rows = [
        ("delivery", "送达与答复", "Delivery and answers", this_month),
        ("delivery", "送达与答复", "Delivery and answers", last_month),
        ("paper", "纸质报告单取代", "Paper reports retired", this_month),
        ("paper", "纸质报告单取代", "Paper reports retired", last_month),
        ("coverage", "免费检查覆盖", "Free-check coverage", this_year),
        ("coverage", "免费检查覆盖", "Free-check coverage", last_year),
    ];
    for (kind, zh, en, p) in rows {
        let _ = writeln!(
            h,
            "<tr><td>{zh} <span class=\"en\">{en}</span></td><td>{} <span class=\"en\">{} – {}</span></td><td>{}</td></tr>",
            escape(&p.label_zh()),
            p.from,
            p.to,
            formats(kind, &p)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h.push_str(
        "<h2>各省待办清单 <span class=\"en\">Follow-up lists per province (subjects in full)</span></h2>\n<ul id=\"follow-up\">\n",
    );
    let mut provinces: Vec<_> = state.registry.provinces().cloned().collect();
    provinces.sort_by(|a, b| a.code.cmp(&b.code));
    for p in provinces {
        let extra = format!("&amp;province={}", p.name);
        let _ = writeln!(
            h,
            "<li>{} <span class=\"en\">{}</span>: <a href=\"{}\">送达 delivery {}</a> · <a href=\"{}\">送达 delivery {}</a> · <a href=\"{}\">覆盖 coverage {}</a></li>",
            escape(&p.label),
            escape(&p.name),
            link("delivery", &this_month, "html", &extra),
            this_month.slug(),
            link("delivery", &last_month, "html", &extra),
            last_month.slug(),
            link("coverage", &this_year, "html", &extra),
            this_year.slug()
        );
    }
    h.push_str(
        "</ul>\n<p class=\"en\">Any period: /api/reports/{delivery|paper|coverage}?from=YYYY-MM-DD&amp;to=YYYY-MM-DD&amp;format=html|csv|xlsx|json[&amp;province=anhui] \
         (also month=YYYY-MM, half=YYYYH1, year=YYYY).</p>\n</body>\n</html>\n",
    );
    Html(h)
}
