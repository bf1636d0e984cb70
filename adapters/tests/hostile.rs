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
            for len in 0..input.len() {
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
