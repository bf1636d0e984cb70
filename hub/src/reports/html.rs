//! HTML: one self-contained page — no scripts, fonts, images or style sheets from
//! anywhere — with the headline figures, simple SVG bar charts and the tables; Chinese
//! labels first with English beside them; printable (A4 landscape, table headers
//! repeated on each page). Long item lists are cut at [`ROW_LIMIT`] rows with a note:
//! the full lists are in the CSV, XLSX and JSON forms.

use super::document::{Bar, Cell, Chart, Document, Table};
use super::labels::Label;
use std::fmt::Write;

/// The most rows of one table a page shows.
pub const ROW_LIMIT: usize = 2000;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn label(l: &Label) -> String {
    if l.en.is_empty() {
        escape(&l.zh)
    } else {
        format!("{} <span class=\"en\">{}</span>", escape(&l.zh), escape(&l.en))
    }
}

const STYLE: &str = r#"
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
.en { color: #666; font-weight: normal; font-size: 0.85em; }
p.meta { margin: 2px 0; font-size: 14px; }
p.scope { margin: 6px 0; padding: 4px 8px; background: #fff4d6; border: 1px solid #e0c060; font-size: 14px; }
div.headline { display: flex; flex-wrap: wrap; gap: 8px; }
div.figure { border: 1px solid #ccc; border-radius: 4px; padding: 6px 10px; min-width: 150px; }
div.figure .value { font-size: 22px; font-weight: bold; }
table { border-collapse: collapse; margin: 4px 0 8px; font-size: 13px; }
th, td { border: 1px solid #bbb; padding: 3px 6px; }
th { background: #dce6f1; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.d { white-space: nowrap; }
tr.total td { font-weight: bold; background: #f2f2f2; }
p.cut { font-size: 13px; color: #a33; }
svg text { font-family: inherit; font-size: 12px; fill: #222; }
ul.notes { font-size: 13px; }
footer { margin-top: 24px; font-size: 12px; color: #777; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; }
  h2, figure, svg { break-after: avoid-page; break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
"#;

/// Renders a report as an HTML page.
pub fn render(doc: &Document) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {} · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&doc.title.zh),
        escape(&doc.title.en),
        escape(&doc.period.slug())
    );
    let _ = write!(
        h,
        "<header>\n<h1 id=\"title\">{}</h1>\n\
         <p class=\"meta\">统计期间 <span class=\"en\">Period</span>: <b id=\"period\">{}</b> \
         <span class=\"en\">{}</span></p>\n\
         <p class=\"meta\">截至 <span class=\"en\">As of</span>: <span id=\"as-of\">{}</span></p>\n",
        label(&doc.title),
        escape(&doc.period.label_zh()),
        escape(&doc.period.label_en()),
        escape(&doc.as_of.format("%Y-%m-%d %H:%M %:z").to_string())
    );
    if let Some(scope) = &doc.scope {
        let _ = writeln!(
            h,
            "<p class=\"scope\">本报告含{}的待办清单，个人信息完整，仅限该省使用。 \
             <span class=\"en\">Carries the follow-up list of {} with subjects in full: for that province only.</span></p>",
            escape(&scope.zh),
            escape(&scope.en)
        );
    }
    h.push_str("</header>\n");

    h.push_str("<section id=\"headline\">\n<h2>概要 <span class=\"en\">Headline</span></h2>\n<div class=\"headline\">\n");
    for (l, cell) in &doc.headline {
        let value = cell.text();
        let _ = writeln!(
            h,
            "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
            label(l),
            if value.is_empty() { "—".into() } else { escape(&value) }
        );
    }
    h.push_str("</div>\n</section>\n");

    for chart in &doc.charts {
        let _ = write!(
            h,
            "<section class=\"chart\">\n<h2>{}</h2>\n{}</section>\n",
            label(&chart.title),
            svg(chart)
        );
    }
    for table in &doc.tables {
        h.push_str(&table_html(table));
    }
    h.push_str("<section id=\"notes\">\n<h2>说明 <span class=\"en\">Notes</span></h2>\n<ul class=\"notes\">\n");
    for n in &doc.notes {
        let _ = writeln!(
            h,
            "<li>{}<br><span class=\"en\">{}</span></li>",
            escape(&n.zh),
            escape(&n.en)
        );
    }
    let _ = write!(
        h,
        "</ul>\n</section>\n<footer>yipanqi 一盘棋 · {} · {}</footer>\n</body>\n</html>\n",
        escape(doc.kind),
        escape(&doc.period.slug())
    );
    h
}

fn table_html(t: &Table) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"table\">\n<h2>{}</h2>\n<table id=\"{}\">\n<thead><tr>",
        label(&t.title),
        t.id
    );
    for c in &t.columns {
        let _ = write!(
            h,
            "<th>{}<br><span class=\"en\">{}</span></th>",
            escape(&c.zh),
            escape(&c.en)
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in t.rows.iter().take(ROW_LIMIT) {
        let total = matches!(row.first(), Some(Cell::Text(s)) if s.starts_with("全区域"));
        h.push_str(if total { "<tr class=\"total\">" } else { "<tr>" });
        for cell in row {
            let text = cell.text();
            if cell.numeric() {
                let _ = write!(
                    h,
                    "<td class=\"n\">{}</td>",
                    if text.is_empty() { "—".to_string() } else { escape(&text) }
                );
            } else if matches!(cell, Cell::Date(_)) {
                let _ = write!(h, "<td class=\"d\">{}</td>", escape(&text));
            } else {
                let _ = write!(h, "<td>{}</td>", escape(&text));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    if t.rows.is_empty() {
        h.push_str("<p class=\"empty\">无 <span class=\"en\">none</span></p>\n");
    }
    if t.rows.len() > ROW_LIMIT {
        let _ = writeln!(
            h,
            "<p class=\"cut\">仅显示前 {ROW_LIMIT} 行，共 {} 行；完整清单见 CSV、XLSX 或 JSON。 \
             <span class=\"en\">The first {ROW_LIMIT} of {} rows; the full list is in the CSV, XLSX and JSON forms.</span></p>",
            t.rows.len(),
            t.rows.len()
        );
    }
    h.push_str("</section>\n");
    h
}

/// A bar chart as inline SVG: horizontal bars per province or columns per month, each
/// bar a `<g class="bar">` carrying its label and value as data attributes.
fn svg(chart: &Chart) -> String {
    if chart.horizontal {
        horizontal(chart)
    } else {
        vertical(chart)
    }
}

fn bar_group(b: &Bar, inner: String) -> String {
    format!(
        "<g class=\"bar\" data-label=\"{}\" data-value=\"{}\">{inner}</g>\n",
        escape(&b.label),
        b.value.map(|v| format!("{v:.4}")).unwrap_or_default()
    )
}

fn horizontal(chart: &Chart) -> String {
    const LABEL: f64 = 170.0;
    const AREA: f64 = 400.0;
    const ROW: f64 = 24.0;
    let width = LABEL + AREA + 140.0;
    let height = 28.0 + ROW * chart.bars.len() as f64;
    let mut s = svg_open(chart, width, height);
    for pct in [0.0, 0.5, 1.0] {
        let x = LABEL + AREA * pct;
        let _ = writeln!(
            s,
            "<line x1=\"{x}\" y1=\"4\" x2=\"{x}\" y2=\"{}\" stroke=\"#ccc\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{:.0}%</text>",
            height - 16.0,
            height - 3.0,
            pct * 100.0
        );
    }
    for (i, b) in chart.bars.iter().enumerate() {
        let y = 6.0 + ROW * i as f64;
        let w = b.value.map(|v| AREA * v.clamp(0.0, 1.0)).unwrap_or(0.0);
        let inner = format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#4a7ebb\"><title>{}: {}</title></rect>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{}</text>",
            LABEL - 6.0,
            y + 12.0,
            escape(&b.label),
            escape(&b.label),
            escape(&b.text),
            LABEL + w + 6.0,
            y + 12.0,
            escape(&b.text)
        );
        s.push_str(&bar_group(b, inner));
    }
    s.push_str("</svg>\n");
    s
}

fn vertical(chart: &Chart) -> String {
    const COL: f64 = 62.0;
    const AREA: f64 = 180.0;
    const LEFT: f64 = 40.0;
    let width = LEFT + COL * chart.bars.len().max(1) as f64 + 10.0;
    let height = AREA + 60.0;
    let base = AREA + 20.0;
    let mut s = svg_open(chart, width, height);
    for pct in [0.0, 0.5, 1.0] {
        let y = base - AREA * pct;
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ccc\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">{:.0}%</text>",
            width - 5.0,
            LEFT - 4.0,
            y + 4.0,
            pct * 100.0
        );
    }
    for (i, b) in chart.bars.iter().enumerate() {
        let x = LEFT + COL * i as f64 + 8.0;
        let h = b.value.map(|v| AREA * v.clamp(0.0, 1.0)).unwrap_or(0.0);
        let shown = match b.value {
            Some(v) => format!("{:.0}%", v * 100.0),
            None => "—".to_string(),
        };
        let inner = format!(
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"{}\" height=\"{h:.1}\" fill=\"#4a7ebb\"><title>{}: {}</title></rect>\
             <text class=\"value\" x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            base - h,
            COL - 16.0,
            escape(&b.label),
            escape(&b.text),
            x + (COL - 16.0) / 2.0,
            base - h - 4.0,
            escape(&shown),
            x + (COL - 16.0) / 2.0,
            base + 16.0,
            escape(&b.label)
        );
        s.push_str(&bar_group(b, inner));
    }
    s.push_str("</svg>\n");
    s
}

/// The opening of a chart's `<svg>`, with its title for screen readers.
fn svg_open(chart: &Chart, width: f64, height: f64) -> String {
    format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-title\">\n\
         <title id=\"{id}-title\">{}</title>\n",
        escape(&chart.title.both()),
        id = chart.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
