//! `yipanqi calendar`, run as an operator runs it: the DOMAIN.md §5 examples, make-up
//! and holiday days, a year the calendar lacks (answered, with one warning line), that
//! year supplied with `--calendar-dir` (no warning), and bad input (one sentence, exit 2).

use std::path::PathBuf;
use std::process::{Command, Output};

fn yipanqi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yipanqi"))
        .arg("calendar")
        .args(args)
        // The operator's own calendar folder must not change what these tests see.
        .env_remove("YIPANQI_CALENDAR_DIR")
        .env("RUST_LOG", "off")
        .output()
        .expect("run yipanqi")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Succeeds, prints `expected`, and says nothing on stderr.
fn assert_prints(args: &[&str], expected: &str) {
    let out = yipanqi(args);
    assert!(
        out.status.success(),
        "{args:?}: {:?} {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(stdout(&out), expected, "{args:?}");
    assert_eq!(stderr(&out), "", "{args:?}: no warning expected");
}

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "yipanqi-calendar-cli-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn domain_examples_of_the_fifteenth_working_day() {
    assert_prints(&["add-days", "2026-02-13", "15"], "2026-03-12");
    assert_prints(&["add-days", "2026-09-18", "15"], "2026-10-15");
    assert_prints(&["add-days", "2025-09-26", "15"], "2025-10-23");
}

#[test]
fn make_up_saturday_works_and_national_day_does_not() {
    assert_prints(&["is-workday", "2026-02-14"], "true");
    assert_prints(&["is-workday", "2026-10-01"], "false");
    assert_prints(&["is-workday", "2026-02-15"], "false");
}

#[test]
fn years_lists_the_builtin_years() {
    assert_prints(&["years"], "2024\n2025\n2026");
}

#[test]
fn an_uncovered_year_is_answered_with_one_warning_line() {
    // 2026-12-20 + 15, Monday–Friday in 2027: 2027-01-08 (2027-01-01 counted as a Friday).
    let out = yipanqi(&["add-days", "2026-12-20", "15"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "2027-01-08");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("2027 is not in the calendar; counted Monday–Friday only"),
        "{err}"
    );

    let out = yipanqi(&["is-workday", "2027-01-01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn calendar_dir_supplies_a_year() {
    let dir = TempDir::new("2027");
    std::fs::write(
        dir.0.join("2027.json"),
        r#"{"year": 2027, "papers": [], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-09", "isOffDay": false}
        ]}"#,
    )
    .expect("write 2027.json");
    // 12/21–25, 28–31 (9), 1/1 off, 1/4–8 (14), Saturday 1/9 worked (15).
    assert_prints(
        &["add-days", "2026-12-20", "15", "--calendar-dir", dir.path()],
        "2027-01-09",
    );
    assert_prints(
        &["is-workday", "--calendar-dir", dir.path(), "2027-01-01"],
        "false",
    );
    assert_prints(
        &["years", "--calendar-dir", dir.path()],
        "2024\n2025\n2026\n2027",
    );

    let out = Command::new(env!("CARGO_BIN_EXE_yipanqi"))
        .args(["calendar", "is-workday", "2027-01-09"])
        .env("YIPANQI_CALENDAR_DIR", dir.path())
        .output()
        .expect("run yipanqi");
    assert_eq!(stdout(&out), "true", "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// Fails with exit 2 and one line on stderr containing `needle`.
fn assert_one_sentence(args: &[&str], needle: &str) {
    let out = yipanqi(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert_eq!(stdout(&out), "", "{args:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("yipanqi: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn bad_input_gets_one_sentence_and_exit_2() {
    assert_one_sentence(
        &["add-days", "2026-02-30", "15"],
        "'2026-02-30' is not a date",
    );
    assert_one_sentence(&["is-workday", "tomorrow"], "'tomorrow' is not a date");
    assert_one_sentence(
        &["add-days", "2026-02-13", "-3"],
        "'-3' is not a number of working days",
    );

    let dir = TempDir::new("bad");
    assert_one_sentence(
        &[
            "years",
            "--calendar-dir",
            &format!("{}/missing", dir.path()),
        ],
        "cannot read the calendar folder",
    );
    std::fs::write(dir.0.join("2027.json"), "{ not json").expect("write");
    assert_one_sentence(
        &["years", "--calendar-dir", dir.path()],
        "2027.json: not a holiday-cn calendar file",
    );
    std::fs::write(
        dir.0.join("2027.json"),
        r#"{"year": 2027, "papers": [], "days": []}"#,
    )
    .expect("write");
    assert_one_sentence(
        &["years", "--calendar-dir", dir.path()],
        "calendar 2027 lists no days",
    );
}
