//! `yipanqi translate`, run as a user runs it, over every golden fixture of every
//! province: the printed canonical messages equal the expected ones, failing fixtures
//! print their rejection reason and exit 1, and wrong input gets one sentence.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const RECEIVED_AT: &str = "2026-11-03T09:12:01.532+08:00";

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")
}

fn yipanqi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yipanqi"))
}

/// Every (province, input file, expectation file) under mappings/.
fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut provinces: Vec<PathBuf> = std::fs::read_dir(mappings_dir())
        .expect("mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("mapping.toml").exists())
        .collect();
    provinces.sort();
    for dir in provinces {
        let province = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("fixtures"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".expected.json") || name.ends_with(".rejected.json") {
                continue;
            }
            let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
            for suffix in ["expected", "rejected"] {
                let exp = file.with_file_name(format!("{stem}.{suffix}.json"));
                if exp.exists() {
                    out.push((province.clone(), file.clone(), exp));
                }
            }
        }
    }
    out
}

fn reason_of(v: &Value) -> Option<&str> {
    v.pointer("/rejected/reason").and_then(Value::as_str)
}

#[test]
fn every_fixture_translates_as_expected_through_the_cli() {
    let all = fixtures();
    assert!(
        all.len() >= 7 * 16,
        "expected fixtures for every kind of every province, found {}",
        all.len()
    );
    let mut failures = Vec::new();
    for (province, input, expectation) in &all {
        let out = yipanqi()
            .args([
                "translate",
                "--province",
                province,
                "--received-at",
                RECEIVED_AT,
            ])
            .arg(input)
            .output()
            .expect("run yipanqi");
        let printed: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{}: output is not JSON ({e}): {}",
                    input.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(expectation).expect("read"))
                .expect("JSON");
        let is_rejection = expectation.to_string_lossy().ends_with(".rejected.json");
        let code = out.status.code();
        if !is_rejection {
            if code != Some(0) || printed != expected {
                failures.push(format!("{}: exit {code:?}, got {printed}", input.display()));
            }
            continue;
        }
        if code != Some(1) {
            failures.push(format!(
                "{}: a rejection must exit 1, got {code:?}",
                input.display()
            ));
        }
        match &expected {
            Value::Array(items) => {
                let printed_items = printed.as_array().cloned().unwrap_or_default();
                if printed_items.len() != items.len() {
                    failures.push(format!(
                        "{}: {} items, expected {}",
                        input.display(),
                        printed_items.len(),
                        items.len()
                    ));
                    continue;
                }
                for (got, want) in printed_items.iter().zip(items) {
                    let ok = match reason_of(want) {
                        Some(reason) => {
                            reason_of(got) == Some(reason)
                                && got.pointer("/rejected/record")
                                    == want.pointer("/rejected/record")
                        }
                        None => got == want,
                    };
                    if !ok {
                        failures.push(format!("{}: got {got}, expected {want}", input.display()));
                    }
                }
            }
            want => {
                // The document as a whole, or each of its records, with this reason.
                let reason = want.get("reason").and_then(Value::as_str);
                let all_records = printed
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(|r| reason_of(r) == reason));
                if reason_of(&printed) != reason && !all_records {
                    failures.push(format!(
                        "{}: got {printed}, expected reason {reason:?}",
                        input.display()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn several_files_print_one_line_each() {
    let dir = mappings_dir().join("anhui/fixtures");
    let good = std::fs::read_dir(&dir)
        .expect("anhui fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.to_string_lossy().ends_with(".json") && p.with_extension("expected.json").exists()
        })
        .expect("a valid anhui fixture");
    let bad = std::fs::read_dir(&dir)
        .expect("anhui fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            !p.to_string_lossy().ends_with("rejected.json")
                && p.with_extension("rejected.json").exists()
        })
        .expect("a failing anhui fixture");
    let out = yipanqi()
        .args([
            "translate",
            "--province",
            "34",
            "--received-at",
            RECEIVED_AT,
        ])
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "one file was rejected");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], Value::String(good.display().to_string()));
    assert!(lines[0]["messages"].is_array());
    assert!(lines[1]["rejected"]["reason"].is_string(), "{}", lines[1]);
}

#[test]
fn wrong_input_gets_one_sentence_and_a_nonzero_exit() {
    for args in [
        vec!["translate", "--province", "tibet", "x.json"],
        vec!["translate", "--province", "anhui", "/no/such/file.json"],
        vec![
            "--mappings",
            "/no/such/dir",
            "translate",
            "--province",
            "anhui",
            "x.json",
        ],
    ] {
        let out = yipanqi().args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one sentence, got {err}"
        );
        assert!(err.starts_with("yipanqi: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = yipanqi()
        .args(["translate", "--province", "tibet", "x.json"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("anhui (34)"),
        "lists the known provinces"
    );
}

#[test]
fn simulate_with_no_broker_says_so() {
    let out = yipanqi()
        .args([
            "simulate",
            "--province",
            "anhui",
            "--count",
            "1",
            "--amqp-url",
            "amqp://guest:guest@127.0.0.1:1/%2f",
        ])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot reach the broker"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn an_eighth_province_joins_with_a_mapping_folder() {
    // Copy the seven mappings and add a province whose format resembles Anhui's
    // (Fujian, 35), with no Rust change and no rebuild.
    let tmp = std::env::temp_dir().join(format!("yipanqi-eighth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("fujian/fixtures")).expect("mkdir");
    for p in [
        "shanghai", "jiangsu", "zhejiang", "anhui", "jiangxi", "henan", "hubei",
    ] {
        std::fs::create_dir_all(tmp.join(p)).expect("mkdir");
        std::fs::copy(
            mappings_dir().join(p).join("mapping.toml"),
            tmp.join(p).join("mapping.toml"),
        )
        .expect("copy");
    }
    let anhui =
        std::fs::read_to_string(mappings_dir().join("anhui/mapping.toml")).expect("anhui mapping");
    let fujian = anhui
        .replacen("name = \"anhui\"", "name = \"fujian\"", 1)
        .replacen("code = \"34\"", "code = \"35\"", 1)
        .replacen("label = \"安徽\"", "label = \"福建\"", 1)
        // Fujian's own message id format (its ICD): FJ + sender + date + serial.
        .replacen("message_id_pattern = \"AH", "message_id_pattern = \"FJ", 1);
    assert_ne!(fujian, anhui);
    std::fs::write(tmp.join("fujian/mapping.toml"), fujian).expect("write");
    let doc = r#"{"bwbh":"FJ35010220261103000001","ywlx":"YHQ","fsdw":"350102","fssj":"2026-11-03 09:12:00","ybwbh":"",
      "ryxx":{"sfzh":"310114198202120469","xm":"李秀英","xb":"2","csrq":"1982/02/12","hjd":"310114","xjzd":"350102001","hyzk":"20"},
      "ywsj":{"jcrq":"2026/10/24","jcxm":"1","yjjg":"0","jycs":"7","jcjg":"鼓楼区妇幼保健院"}}"#;
    let file = tmp.join("fujian/fixtures/checkup.json");
    std::fs::write(&file, doc).expect("write");
    let out = yipanqi()
        .arg("--mappings")
        .arg(&tmp)
        .args([
            "translate",
            "--province",
            "fujian",
            "--received-at",
            RECEIVED_AT,
        ])
        .arg(&file)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v[0]["source"]["province"], "35");
    assert_eq!(v[0]["kind"], "checkup_result");
    assert_eq!(v[0]["subject"]["residence_division"], "350102001");
    // Fujian's sender check is Fujian's: an Anhui sender division is a sender_mismatch.
    std::fs::write(
        &file,
        doc.replace("\"fsdw\":\"350102\"", "\"fsdw\":\"340104\""),
    )
    .expect("write");
    let out = yipanqi()
        .arg("--mappings")
        .arg(&tmp)
        .args([
            "translate",
            "--province",
            "35",
            "--received-at",
            RECEIVED_AT,
        ])
        .arg(&file)
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["rejected"]["reason"], "sender_mismatch", "{v}");
    let _ = std::fs::remove_dir_all(&tmp);
}
