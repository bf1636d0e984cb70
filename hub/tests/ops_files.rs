//! The Grafana dashboard and the Prometheus alert rules under `hub/ops/` name only
//! metrics the hub exports (a renamed metric would leave a panel blank and an alert
//! silent), and the dashboard is a dashboard Grafana can import. promtool checks the
//! rules' syntax and unit tests in `scripts/test`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use yipanqi::telemetry::{MetricType, METRICS};

fn ops_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ops").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `yipanqi_…` series name in a text.
fn series_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("yipanqi_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// Whether a series name is one the hub exports: a declared family, or a histogram's
/// `_bucket`, `_sum` or `_count`.
fn exported(series: &str) -> bool {
    METRICS.iter().any(|(family, kind, ..)| {
        series == *family
            || (*kind == MetricType::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| series.strip_suffix(suffix) == Some(family)))
    })
}

#[test]
fn the_dashboard_queries_only_exported_metrics() {
    let text = ops_file("grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(dashboard["title"].is_string(), "a dashboard has a title");
    let panels = dashboard["panels"].as_array().expect("panels");
    let queries: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(queries.len() >= 10, "{} queries", queries.len());
    let names = series_names(&queries.join("\n"));
    let unknown: Vec<_> = names.iter().filter(|n| !exported(n)).collect();
    assert!(unknown.is_empty(), "the dashboard queries metrics the hub does not export: {unknown:?}");
    // The ops staff's questions each have a panel.
    for needed in [
        "yipanqi_messages_received_total",
        "yipanqi_messages_rejected_total",
        "yipanqi_inbound_queue_messages",
        "yipanqi_end_to_end_duration_seconds_bucket",
        "yipanqi_overdue_expectations",
        "yipanqi_ready",
    ] {
        assert!(names.contains(needed), "no panel shows {needed}");
    }
}

#[test]
fn the_alert_rules_use_only_exported_metrics() {
    let text = ops_file("alerts.yml");
    let names = series_names(&text);
    let unknown: Vec<_> = names.iter().filter(|n| !exported(n)).collect();
    assert!(unknown.is_empty(), "alerts.yml names metrics the hub does not export: {unknown:?}");
    // The five conditions the ops staff asked to be woken for.
    for alert in [
        "YipanqiProvinceSilent",
        "YipanqiRejectRateHigh",
        "YipanqiInboundBacklogGrowing",
        "YipanqiOverdueRising",
        "YipanqiNotReady",
    ] {
        assert!(text.contains(&format!("alert: {alert}")), "no rule {alert}");
    }
}

#[test]
fn the_readme_lists_every_metric() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let section = readme
        .split("## Operating the hub")
        .nth(1)
        .and_then(|s| s.split("### Metrics").nth(1))
        .and_then(|s| s.split("\n### ").next())
        .expect("the README has \"Operating the hub\" with a \"Metrics\" part");
    for (name, ..) in METRICS {
        assert!(section.contains(&format!("`{name}`")), "the README does not list {name}");
    }
    let listed = series_names(section);
    let unknown: Vec<_> = listed.iter().filter(|n| !exported(n)).collect();
    assert!(unknown.is_empty(), "the README lists metrics the hub does not export: {unknown:?}");
}
