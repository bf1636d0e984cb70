//! Hostile input: the engine is fed whatever arrives on a queue, so no byte sequence
//! may make it panic. Every prefix of every fixture of every province, byte-level
//! mutations of them, and random bytes go through every mapping; the test passes if
//! nothing panics and every outcome is coherent (batch rejections carry their index).

use std::fs;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use yipanqi_adapters::{Adapter, Mapping, TranslateContext, Translation};

fn mappings() -> Vec<(String, Mapping, Vec<Vec<u8>>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let mut folders: Vec<PathBuf> = fs::read_dir(&root)
        .expect("mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("mapping.toml").is_file())
        .collect();
    folders.sort();
    folders
        .into_iter()
        .map(|folder| {
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = fs::read_to_string(folder.join("mapping.toml")).expect("mapping.toml");
            let mapping = Mapping::from_toml(&text).expect("valid mapping");
            let mut inputs: Vec<Vec<u8>> = fs::read_dir(folder.join("fixtures"))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            let n = p.to_string_lossy();
                            !n.ends_with(".expected.json") && !n.ends_with(".rejected.json")
                        })
                        .filter_map(|p| fs::read(p).ok())
                        .collect()
                })
                .unwrap_or_default();
            inputs.sort();
            (name, mapping, inputs)
        })
        .collect()
}

fn ctx() -> TranslateContext {
    TranslateContext::new(
        DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    )
}

/// The invariants every translation keeps, whatever the input.
fn coherent(translation: &Translation, label: &str) {
    if let Ok(outcomes) = &translation.result {
        assert!(!outcomes.is_empty(), "{label}: no outcome and no rejection");
        for outcome in outcomes {
            if let Err(rejection) = &outcome.result {
                if let Some(record) = rejection.record {
                    assert_eq!(record, outcome.record, "{label}: record index");
                }
                assert!(!rejection.detail.is_empty(), "{label}: empty detail");
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

#[test]
fn every_truncation_of_every_fixture_is_handled() {
    let ctx = ctx();
    let all = mappings();
    let mut translations = 0usize;
    for (province, mapping, inputs) in &all {
        for (i, input) in inputs.iter().enumerate() {
            // Every byte of an ordinary fixture; about 4,000 cuts of a large one.
            let step = (input.len() / 4000).max(1);
            for len in (0..input.len()).step_by(step) {
                let t = mapping.translate(&input[..len], &ctx);
                coherent(&t, &format!("{province} fixture {i} cut at {len}"));
                translations += 1;
            }
        }
    }
    assert!(translations > 1000, "only {translations} truncations tried");
}

#[test]
fn mutated_fixtures_and_random_bytes_are_handled() {
    let ctx = ctx();
    let all = mappings();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Bytes that matter to the parsers, so mutations hit structure, not just text.
    let interesting = b"<>&;\"'/=[]{},:!?-#x0 \n\xEF\xBB\xBF\x80\xFF\xE5";
    for (province, mapping, inputs) in &all {
        for (i, input) in inputs.iter().enumerate() {
            for round in 0..60 {
                let mut bytes = input.clone();
                for _ in 0..=rng.below(4) {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = rng.below(bytes.len());
                    match rng.below(3) {
                        0 => bytes[at] = interesting[rng.below(interesting.len())],
                        1 => {
                            bytes.remove(at);
                        }
                        _ => {
                            let from = rng.below(bytes.len());
                            let to = (from + rng.below(64)).min(bytes.len());
                            let chunk = bytes[from..to].to_vec();
                            bytes.splice(at..at, chunk);
                        }
                    }
                }
                let t = mapping.translate(&bytes, &ctx);
                coherent(&t, &format!("{province} fixture {i} mutation {round}"));
            }
        }
        for round in 0..200 {
            let len = rng.below(600);
            let bytes: Vec<u8> = (0..len).map(|_| (rng.next() >> 24) as u8).collect();
            let t = mapping.translate(&bytes, &ctx);
            coherent(&t, &format!("{province} random {round}"));
        }
    }
}

#[test]
fn every_mapping_survives_every_other_provinces_documents() {
    let ctx = ctx();
    let all = mappings();
    for (province, mapping, _) in &all {
        for (other, _, inputs) in &all {
            for input in inputs {
                let t = mapping.translate(input, &ctx);
                coherent(&t, &format!("{province} reading a {other} document"));
            }
        }
    }
}

#[test]
fn deep_nesting_and_oversized_bodies_are_refused_without_recursion() {
    let ctx = ctx();
    for (province, mapping, _) in &mappings() {
        let deep_xml = "<a>".repeat(200_000).into_bytes();
        let deep_json = "[".repeat(200_000).into_bytes();
        for bytes in [deep_xml, deep_json] {
            let t = mapping.translate(&bytes, &ctx);
            assert!(t.result.is_err(), "{province}: deep nesting accepted");
        }
        let small = TranslateContext {
            max_bytes: 10,
            ..ctx
        };
        let t = mapping.translate(b"{\"a\": \"0123456789\"}", &small);
        let reason = t.result.err().map(|r| r.reason.as_str());
        assert_eq!(reason, Some("too_large"), "{province}");
    }
}

/// The people in a fixture: every run of 15 to 18 ID characters in its text, and the
/// names in its expected canonical messages.
fn people_in(folder: &Path, file: &Path, text: &str) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == 'X') {
            i += 1;
        }
        if i - start >= 15 && i - start <= 18 {
            ids.push(chars[start..i].iter().collect::<String>());
        }
        i = i.max(start + 1);
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let expected = fs::read_to_string(folder.join("fixtures").join(format!("{stem}.expected.json")))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .unwrap_or_default();
    let mut names = Vec::new();
    let messages = match &expected {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    for m in &messages {
        for who in ["subject", "spouse"] {
            if let Some(n) = m.pointer(&format!("/{who}/name")).and_then(|v| v.as_str()) {
                if n.chars().count() >= 2 {
                    names.push(n.to_string());
                }
            }
        }
    }
    (ids, names)
}

/// Rejection details reach logs, AMQP headers and the sender's notice: whatever a broken
/// document holds, they never quote an ID number or a name from it. Fixtures are broken
/// in the ways that make parsers quote: end tags lost, names turned into entity
/// references, truncation anywhere.
#[test]
fn rejection_details_never_quote_the_people_in_a_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let mut checked = 0;
    for (name, mapping, _) in mappings() {
        let folder = root.join(&name);
        let mut files: Vec<PathBuf> = fs::read_dir(folder.join("fixtures"))
            .expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.with_extension("expected.json").is_file())
            .collect();
        files.sort();
        for file in files {
            let raw = fs::read(&file).expect("fixture");
            let (text, gbk) = match String::from_utf8(raw.clone()) {
                Ok(t) => (t, false),
                Err(_) => (encoding_rs::GBK.decode(&raw).0.into_owned(), true),
            };
            let (ids, names) = people_in(&folder, &file, &text);
            let encode = |t: &str| -> Vec<u8> {
                if gbk {
                    encoding_rs::GBK.encode(t).0.into_owned()
                } else {
                    t.as_bytes().to_vec()
                }
            };
            let mut variants: Vec<Vec<u8>> = vec![encode(&text.replace("</", "<"))];
            let mut entities = text.clone();
            for n in &names {
                entities = entities.replace(n.as_str(), &format!("&{n};"));
            }
            variants.push(encode(&entities));
            let mut unclosed = text.clone();
            for n in &names {
                unclosed = unclosed.replace(n.as_str(), &format!("<{n}"));
            }
            variants.push(encode(&unclosed));
            for id in &ids {
                // An ID number where a code belongs: every short value replaced in turn.
                for code in ["\"YHQ\"", ">YHQ<", "\"checkup\"", "\"CHECKUP\""] {
                    if text.contains(code) {
                        variants.push(encode(&text.replace(code, &code.replace(&code[1..code.len() - 1], id))));
                    }
                }
            }
            for cut in (1..raw.len()).step_by((raw.len() / 400).max(5)) {
                variants.push(raw[..cut].to_vec());
            }
            for bytes in variants {
                let t = mapping.translate(&bytes, &ctx());
                let mut details: Vec<String> = Vec::new();
                match &t.result {
                    Err(r) => details.push(r.detail.clone()),
                    Ok(outcomes) => details.extend(
                        outcomes.iter().filter_map(|o| o.result.as_ref().err().map(|r| r.detail.clone())),
                    ),
                }
                for detail in details {
                    checked += 1;
                    for id in &ids {
                        assert!(!detail.contains(&id[..15.min(id.len())]), "{name}/{}: {detail}", file.display());
                    }
                    for n in &names {
                        assert!(!detail.contains(n.as_str()), "{name}/{}: a name in {detail}", file.display());
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} rejection details checked");
}
