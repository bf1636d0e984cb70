//! Golden test: every fixture of every province folder under `mappings/`.
//!
//! For `<case>.<ext>` the expected outcome is `<case>.expected.json` or
//! `<case>.rejected.json`. Either may be the array of outcomes (canonical messages,
//! with `{"rejected": {"reason": …, "record": n, "paths": […]?}}` in place of each bad
//! record of a batch); a `.rejected.json` may instead be one object
//! `{"reason": …, "paths": […]?, "record": n?}`: the document is rejected as a whole,
//! or each of its records is, with that reason. All fixtures run; every mismatch is
//! reported with its file name, and the test fails at the end.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::{json, Value};
use yipanqi_adapters::{Adapter, Mapping, TranslateContext, Translation};

const RECEIVED_AT: &str = "2026-11-03T09:12:01.532+08:00";

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")
}

fn is_companion(name: &str) -> bool {
    name.ends_with(".expected.json") || name.ends_with(".rejected.json")
}

/// `checkup.json` → `checkup`; `a.b.xml` → `a.b`.
fn case_name(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

#[test]
fn every_fixture_translates_as_expected() {
    let ctx = TranslateContext::new(DateTime::parse_from_rfc3339(RECEIVED_AT).expect("time"));
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0usize;
    let mut provinces: Vec<PathBuf> = fs::read_dir(mappings_dir())
        .expect("mappings/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    provinces.sort();
    for folder in provinces {
        let province = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fixtures = folder.join("fixtures");
        let mut inputs: Vec<PathBuf> = match fs::read_dir(&fixtures) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.is_file())
                .filter(|path| {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    !name.starts_with('.') && !is_companion(&name) && !name.ends_with(".md")
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        if inputs.is_empty() {
            continue;
        }
        inputs.sort();
        let text = match fs::read_to_string(folder.join("mapping.toml")) {
            Ok(text) => text,
            Err(err) => {
                failures.push(format!("{province}/mapping.toml: {err}"));
                continue;
            }
        };
        let mapping = match Mapping::from_toml(&text) {
            Ok(mapping) => mapping,
            Err(err) => {
                failures.push(format!("{province}/mapping.toml: {err}"));
                continue;
            }
        };
        for input in inputs {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let label = format!("{province}/fixtures/{name}");
            let case = case_name(&name);
            let expected = fixtures.join(format!("{case}.expected.json"));
            let rejected = fixtures.join(format!("{case}.rejected.json"));
            let bytes = match fs::read(&input) {
                Ok(bytes) => bytes,
                Err(err) => {
                    failures.push(format!("{label}: {err}"));
                    continue;
                }
            };
            let translation = mapping.translate(&bytes, &ctx);
            checked += 1;
            let problem = match (expected.is_file(), rejected.is_file()) {
                (true, false) => {
                    read_json(&expected).and_then(|want| compare_messages(&translation, &want))
                }
                (false, true) => {
                    read_json(&rejected).and_then(|want| compare_rejection(&translation, &want))
                }
                (true, true) => Err("has both .expected.json and .rejected.json".to_owned()),
                (false, false) => Err("has no .expected.json or .rejected.json".to_owned()),
            };
            if let Err(problem) = problem {
                failures.push(format!("{label}: {problem}"));
            }
        }
    }
    eprintln!(
        "golden: {checked} fixtures checked, {} failing",
        failures.len()
    );
    assert!(
        checked > 0,
        "no fixtures found under {}",
        mappings_dir().display()
    );
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

fn compare_messages(translation: &Translation, want: &Value) -> Result<(), String> {
    let Some(want) = want.as_array() else {
        return Err(".expected.json must be a JSON array".to_owned());
    };
    let outcomes = match &translation.result {
        Ok(outcomes) => outcomes,
        Err(rejection) => {
            return Err(format!(
                "expected messages, the document was rejected: {rejection}"
            ))
        }
    };
    if outcomes.len() != want.len() {
        return Err(format!(
            "expected {} records, got {}: {}",
            want.len(),
            outcomes.len(),
            describe(translation)
        ));
    }
    let mut problems = Vec::new();
    for (i, (outcome, want)) in outcomes.iter().zip(want).enumerate() {
        let got = match (&outcome.result, want.get("rejected")) {
            (Ok(validated), _) => {
                serde_json::to_value(&validated.message).map_err(|e| e.to_string())?
            }
            (Err(rejection), Some(want_rejection)) => rejection_value(rejection, want_rejection),
            (Err(rejection), None) => rejection_value(rejection, &json!({})),
        };
        let mut diffs = Vec::new();
        diff("", want, &got, &mut diffs);
        if !diffs.is_empty() {
            problems.push(format!("record {i}: {}", diffs.join("; ")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// A rejection as `{"rejected": {…}}`, with the keys the expectation names.
fn rejection_value(rejection: &yipanqi_schemas::Rejection, want: &Value) -> Value {
    let mut got = json!({"reason": rejection.reason.as_str(), "record": rejection.record, "detail": rejection.detail});
    if want.get("paths").is_some() {
        got["paths"] = json!(rejection.paths);
    }
    if want.get("detail").is_none() {
        if let Some(map) = got.as_object_mut() {
            map.remove("detail");
        }
    }
    if want.get("record").is_none() {
        if let Some(map) = got.as_object_mut() {
            map.remove("record");
        }
    }
    json!({"rejected": got})
}

fn compare_rejection(translation: &Translation, want: &Value) -> Result<(), String> {
    // A batch with some bad records: the array form, compared like messages.
    if want.is_array() {
        return compare_messages(translation, want);
    }
    // Otherwise the whole document is rejected: as a whole, or record by record with
    // the same reason (a header-level failure such as the sender division hits every
    // record of a batch).
    let rejections: Vec<&yipanqi_schemas::Rejection> = match &translation.result {
        Err(rejection) => vec![rejection],
        Ok(outcomes) if !outcomes.is_empty() && outcomes.iter().all(|o| o.result.is_err()) => {
            outcomes
                .iter()
                .filter_map(|o| o.result.as_ref().err())
                .collect()
        }
        Ok(_) => {
            return Err(format!(
                "expected a rejection, got: {}",
                describe(translation)
            ))
        }
    };
    let mut problems = Vec::new();
    for rejection in rejections {
        if want.get("reason").and_then(Value::as_str) != Some(rejection.reason.as_str()) {
            problems.push(format!(
                "reason: want {}, got {} ({})",
                want["reason"], rejection.reason, rejection.detail
            ));
        }
        if let Some(paths) = want.get("paths") {
            let want_paths: BTreeSet<String> =
                serde_json::from_value(paths.clone()).unwrap_or_default();
            let got_paths: BTreeSet<String> = rejection.paths.iter().cloned().collect();
            if want_paths != got_paths {
                problems.push(format!(
                    "paths: want {want_paths:?}, got {got_paths:?} ({})",
                    rejection.detail
                ));
            }
        }
        if let Some(record) = want.get("record") {
            if *record != json!(rejection.record) {
                problems.push(format!("record: want {record}, got {:?}", rejection.record));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn describe(translation: &Translation) -> String {
    match &translation.result {
        Err(rejection) => format!("rejected: {rejection}"),
        Ok(outcomes) => outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(v) => format!("[{}] ok {}", o.record, v.message.kind),
                Err(r) => format!("[{}] {r}", o.record),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Lists the JSON Pointers where `got` differs from `want`.
fn diff(at: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let keys: BTreeSet<&String> = w.keys().chain(g.keys()).collect();
            for key in keys {
                let here = format!("{at}/{key}");
                match (w.get(key), g.get(key)) {
                    (Some(wv), Some(gv)) => diff(&here, wv, gv, out),
                    (Some(wv), None) => out.push(format!("{here}: missing (want {wv})")),
                    (None, Some(gv)) => out.push(format!("{here}: unexpected {gv}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(&format!("{at}/{i}"), wv, gv, out);
            }
        }
        _ if want == got => {}
        _ => out.push(format!(
            "{}: want {want}, got {got}",
            if at.is_empty() { "/" } else { at }
        )),
    }
}
