//! `yipanqi translate`: the integrator's tool for checking a mapping against sample
//! files. Offline and pure: no broker, no database.
//!
//! One file: its canonical messages as a JSON array (exit 0), or
//! `{"rejected":{"reason":…,"detail":…}}` (exit 1); in a batch each bad record is replaced
//! by `{"rejected":{…,"record":n}}` (exit 1). Several files: one JSON object per line.

use crate::clock::{Clock, SystemClock};
use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use yipanqi_adapters::{Adapter, Registry, TranslateContext, Translation};
use yipanqi_schemas::Rejection;

/// Arguments of `yipanqi translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// The sending province (pinyin name or code): whose mapping reads the files.
    #[arg(long)]
    pub province: String,
    /// Fix received_at (RFC 3339) for reproducible output.
    #[arg(long, value_name = "RFC3339")]
    pub received_at: Option<DateTime<FixedOffset>>,
    /// Reject bodies over this many bytes as too_large.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_bytes: usize,
    /// Legacy documents to translate.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(registry: &Registry, args: TranslateArgs) -> anyhow::Result<ExitCode> {
    let name = super::province_name(registry, &args.province)?;
    let adapter = registry
        .get(&name)
        .context("the province's mapping disappeared")?;
    let ctx = TranslateContext {
        received_at: args.received_at.unwrap_or_else(|| SystemClock.now()),
        max_bytes: args.max_bytes,
    };
    let mut inputs = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        inputs.push((file, bytes));
    }
    let mut any_rejected = false;
    let single = inputs.len() == 1;
    for (file, bytes) in inputs {
        let (value, rejected) = render(adapter.translate(&bytes, &ctx));
        any_rejected |= rejected;
        let line = if single {
            serde_json::to_string_pretty(&value)?
        } else {
            let mut obj = json!({ "file": file.display().to_string() });
            match value {
                Value::Object(mut rejection) if rejection.contains_key("rejected") => {
                    obj["rejected"] = rejection.remove("rejected").unwrap_or(Value::Null);
                }
                messages => obj["messages"] = messages,
            }
            obj.to_string()
        };
        println!("{line}");
    }
    Ok(if any_rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON printed for one document, and whether anything in it was rejected.
pub fn render(translation: Translation) -> (Value, bool) {
    match translation.result {
        Err(rejection) => (json!({ "rejected": rejection_json(&rejection) }), true),
        Ok(mut records) => {
            // A single-record document rejected at record level reads like a rejected document.
            if records.len() == 1
                && records[0]
                    .result
                    .as_ref()
                    .is_err_and(|r| r.record.is_none())
            {
                if let Some(Err(rejection)) = records.pop().map(|r| r.result) {
                    return (json!({ "rejected": rejection_json(&rejection) }), true);
                }
            }
            let mut rejected = false;
            let values = records
                .into_iter()
                .map(|r| match r.result {
                    Ok(validated) => {
                        serde_json::to_value(&validated.message).unwrap_or(Value::Null)
                    }
                    Err(rejection) => {
                        rejected = true;
                        json!({ "rejected": rejection_json(&rejection) })
                    }
                })
                .collect();
            (Value::Array(values), rejected)
        }
    }
}

fn rejection_json(r: &Rejection) -> Value {
    let mut v = json!({ "reason": r.reason, "detail": r.detail });
    if !r.paths.is_empty() {
        v["paths"] = json!(r.paths);
    }
    if let Some(record) = r.record {
        v["record"] = json!(record);
    }
    v
}
