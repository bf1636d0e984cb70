//! Every mapping reads back what it writes: the canonical messages of every golden
//! fixture are rendered in the province's format (in every variant: envelope style,
//! namespace prefixes, JSON layout) and translated again, and must come out unchanged.
//! This checks the renderer the simulator relies on, and each mapping's code tables
//! in both directions.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone};
use serde_json::Value;
use yipanqi_adapters::{Adapter, Mapping, RenderOptions, TranslateContext};
use yipanqi_schemas::CanonicalMessage;

#[test]
fn every_expected_fixture_renders_and_reads_back() {
    let ctx = TranslateContext::new(
        DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let mut folders: Vec<PathBuf> = fs::read_dir(&root)
        .expect("mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("mapping.toml").is_file())
        .collect();
    folders.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for folder in folders {
        let province = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mapping =
            Mapping::from_toml(&fs::read_to_string(folder.join("mapping.toml")).expect("read"))
                .expect("valid mapping");
        let Ok(entries) = fs::read_dir(folder.join("fixtures")) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
            .collect();
        files.sort();
        for file in files {
            let label = format!(
                "{province}/{}",
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let expected: Vec<Value> =
                serde_json::from_str(&fs::read_to_string(&file).expect("read")).expect("JSON");
            if expected.iter().any(|m| m.get("rejected").is_some()) {
                continue;
            }
            let messages: Vec<CanonicalMessage> = match expected
                .iter()
                .cloned()
                .map(serde_json::from_value)
                .collect()
            {
                Ok(messages) => messages,
                Err(err) => {
                    failures.push(format!("{label}: not canonical messages: {err}"));
                    continue;
                }
            };
            for variant in 0..4 {
                checked += 1;
                let bytes = match mapping.render(&messages, &RenderOptions { variant }) {
                    Ok(bytes) => bytes,
                    Err(err) => {
                        failures.push(format!("{label} (variant {variant}): render: {err}"));
                        continue;
                    }
                };
                let translation = mapping.translate(&bytes, &ctx);
                let got: Result<Vec<Value>, String> = match translation.result {
                    Err(rejection) => Err(rejection.to_string()),
                    Ok(outcomes) => outcomes
                        .into_iter()
                        .map(|o| match o.result {
                            Ok(v) => serde_json::to_value(&v.message).map_err(|e| e.to_string()),
                            Err(r) => Err(r.to_string()),
                        })
                        .collect(),
                };
                match got {
                    Ok(got) if got == expected => {}
                    Ok(got) => failures.push(format!(
                        "{label} (variant {variant}): read back differently:\n{}\n---\n{}",
                        serde_json::to_string(&got).unwrap_or_default(),
                        String::from_utf8_lossy(&bytes)
                    )),
                    Err(err) => failures.push(format!(
                        "{label} (variant {variant}): rejected when read back: {err}\n{}",
                        String::from_utf8_lossy(&bytes)
                    )),
                }
            }
        }
    }
    eprintln!(
        "roundtrip: {checked} renderings checked, {} failing",
        failures.len()
    );
    assert!(checked > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn message_ids_follow_the_pattern() {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/anhui/mapping.toml"),
    )
    .expect("read");
    let anhui = Mapping::from_toml(&text).expect("valid");
    let sent = chrono::FixedOffset::east_opt(8 * 3600)
        .expect("offset")
        .with_ymd_and_hms(2026, 11, 3, 9, 12, 0)
        .single()
        .expect("time");
    assert_eq!(
        anhui.render_message_id("340104", sent, 1),
        "AH34010420261103000001"
    );
}
