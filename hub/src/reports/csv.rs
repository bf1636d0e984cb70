//! CSV: UTF-8 with a byte-order mark, so that spreadsheets open the Chinese text
//! correctly; CRLF line ends and RFC 4180 quoting. One file holds the whole report: a
//! heading, the headline figures, then each table as a section — its title on a line of
//! its own, the header row, the rows — separated by empty lines.

use super::document::{Cell, Document};

/// The byte-order mark spreadsheets look for to read UTF-8.
pub const BOM: &str = "\u{feff}";

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn line(out: &mut String, fields: &[String]) {
    let joined: Vec<String> = fields.iter().map(|f| field(f)).collect();
    out.push_str(&joined.join(","));
    out.push_str("\r\n");
}

/// Renders a report as CSV.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut out = String::from(BOM);
    line(&mut out, &[doc.title.both()]);
    line(
        &mut out,
        &[
            "统计期间 Period".into(),
            doc.period.label_zh(),
            doc.period.from.to_string(),
            doc.period.to.to_string(),
        ],
    );
    line(&mut out, &["截至 As of".into(), doc.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)]);
    if let Some(scope) = &doc.scope {
        line(&mut out, &["待办清单 Follow-up list".into(), scope.both()]);
    }
    out.push_str("\r\n");
    line(&mut out, &["概要 Headline".into()]);
    for (label, cell) in &doc.headline {
        line(&mut out, &[label.both(), cell.text()]);
    }
    for table in &doc.tables {
        out.push_str("\r\n");
        line(&mut out, &[table.title.both()]);
        let header: Vec<String> = table.columns.iter().map(|c| c.both()).collect();
        line(&mut out, &header);
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(Cell::text).collect();
            line(&mut out, &cells);
        }
    }
    out.push_str("\r\n");
    line(&mut out, &["说明 Notes".into()]);
    for note in &doc.notes {
        line(&mut out, &[note.zh.clone(), note.en.clone()]);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("安徽 anhui"), "安徽 anhui");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
