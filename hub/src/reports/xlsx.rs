//! XLSX: one sheet per table (and a first sheet with the headline figures and notes),
//! each with its title on row 1, the bilingual header on row 2, both frozen and repeated
//! on every printed page; counts and working days are number cells, shares are numbers
//! formatted as percentages, dates are date cells — so a spreadsheet sorts and sums them.

use super::document::{Cell, Document, Table};
use super::ReportError;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};

fn err(e: XlsxError) -> ReportError {
    ReportError::Xlsx(e.to_string())
}

/// Display width of text: CJK characters take two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

struct Formats {
    title: Format,
    header: Format,
    percent: Format,
    date: Format,
    wrap: Format,
}

fn formats() -> Formats {
    Formats {
        title: Format::new().set_bold().set_font_size(13),
        header: Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Top)
            .set_background_color(0xDCE6F1),
        percent: Format::new().set_num_format("0.0%"),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        wrap: Format::new().set_text_wrap(),
    }
}

fn write_cell(
    ws: &mut Worksheet,
    f: &Formats,
    row: u32,
    col: u16,
    cell: &Cell,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(s) if s.is_empty() => {}
        Cell::Text(s) => {
            ws.write_string(row, col, s)?;
        }
        Cell::Int(n) => {
            ws.write_number(row, col, *n as f64)?;
        }
        Cell::Days(Some(d)) => {
            ws.write_number(row, col, *d)?;
        }
        Cell::Rate(Some(r)) => {
            ws.write_number_with_format(row, col, *r, &f.percent)?;
        }
        Cell::Date(Some(d)) => {
            use chrono::Datelike;
            let date = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
            ws.write_datetime_with_format(row, col, &date, &f.date)?;
        }
        Cell::Days(None) | Cell::Rate(None) | Cell::Date(None) => {}
    }
    Ok(())
}

fn table_sheet(wb: &mut Workbook, f: &Formats, t: &Table) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(t.sheet)?;
    ws.write_string_with_format(0, 0, t.title.both(), &f.title)?;
    let mut widths: Vec<usize> = vec![8; t.columns.len()];
    for (c, label) in t.columns.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, label.both(), &f.header)?;
        widths[c] = widths[c].max(width(&label.zh).max(width(&label.en)) + 2);
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            write_cell(ws, f, r as u32 + 2, c as u16, cell)?;
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(width(&cell.text()) + 2);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w).min(60) as f64)?;
    }
    ws.set_row_height(1, 32)?;
    ws.set_freeze_panes(2, 0)?;
    ws.set_repeat_rows(0, 1)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// Renders a report as an XLSX workbook.
pub fn render(doc: &Document) -> Result<Vec<u8>, ReportError> {
    let f = formats();
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("概要 Summary").map_err(err)?;
        ws.write_string_with_format(0, 0, doc.title.both(), &f.title)
            .map_err(err)?;
        ws.write_string_with_format(1, 0, "指标 Figure", &f.header)
            .map_err(err)?;
        ws.write_string_with_format(1, 1, "数值 Value", &f.header)
            .map_err(err)?;
        let mut row = 2u32;
        let mut put = |ws: &mut Worksheet, label: String, cell: &Cell| -> Result<(), XlsxError> {
            ws.write_string(row, 0, label)?;
            write_cell(ws, &f, row, 1, cell)?;
            row += 1;
            Ok(())
        };
        put(ws, "统计期间 Period".into(), &Cell::Text(doc.period.label_zh())).map_err(err)?;
        put(ws, "起始日期 From".into(), &Cell::Date(Some(doc.period.from))).map_err(err)?;
        put(ws, "截止日期 To".into(), &Cell::Date(Some(doc.period.to))).map_err(err)?;
        put(ws, "截至 As of".into(), &Cell::Text(doc.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))).map_err(err)?;
        if let Some(scope) = &doc.scope {
            put(ws, "待办清单 Follow-up list".into(), &Cell::Text(scope.both())).map_err(err)?;
        }
        for (label, cell) in &doc.headline {
            put(ws, label.both(), cell).map_err(err)?;
        }
        row += 1;
        for note in &doc.notes {
            ws.write_string_with_format(row, 0, &note.zh, &f.wrap)
                .map_err(err)?;
            ws.write_string_with_format(row, 1, &note.en, &f.wrap)
                .map_err(err)?;
            row += 1;
        }
        ws.set_column_width(0, 48).map_err(err)?;
        ws.set_column_width(1, 60).map_err(err)?;
        ws.set_freeze_panes(2, 0).map_err(err)?;
    }
    for t in &doc.tables {
        table_sheet(&mut wb, &f, t).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}
