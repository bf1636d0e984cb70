//! Support for the ops tests: the hub as a process (its metrics are process-global, so a
//! test that counts them runs the hub alone in its own process), realistic traffic from
//! every province with what the hub must make of it, and a reader of the Prometheus text
//! format.

use crate::{hub_binary, TestEnv};
use chrono::Timelike;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use yipanqi::clock::{Clock, SystemClock};
use yipanqi::synthetic::{self, Synth, UNPROMPTED};
use yipanqi_adapters::{Adapter, Registry, RenderOptions, TranslateContext};

/// A hub process, killed if the test ends (or fails) without stopping it.
pub struct HubProcess {
    child: Option<Child>,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its log file (JSON lines on stderr).
    pub log: PathBuf,
}

impl HubProcess {
    /// Starts `yipanqi --log-format json run` on the test's vhost and database, with
    /// extra environment variables; stderr goes to `log` in the test's folder.
    pub fn start(env: &TestEnv, log: &str, extra: &[(&str, &str)]) -> anyhow::Result<HubProcess> {
        Self::start_on(env, crate::free_addr(), log, extra)
    }

    /// The same on a given HTTP address (a restarted hub keeps its address).
    pub fn start_on(
        env: &TestEnv,
        http: SocketAddr,
        log: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<HubProcess> {
        let path = env.dir.join(log);
        let file = std::fs::File::create(&path)?;
        let mut command = Command::new(hub_binary());
        command
            .arg("--log-format")
            .arg("json")
            .arg("run")
            .env("YIPANQI_AMQP_URL", &env.amqp_url)
            .env("YIPANQI_DATABASE_URL", &env.database_url)
            .env("YIPANQI_HTTP_ADDR", http.to_string())
            .env("YIPANQI_CLIENTS_FILE", env.clients_file())
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in extra {
            command.env(k, v);
        }
        Ok(HubProcess {
            child: Some(command.spawn()?),
            http,
            log: path,
        })
    }

    /// Kills the process (SIGKILL), as a crash would.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let Some(mut child) = self.child.take() else {
            anyhow::bail!("the hub is not running");
        };
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        if !sent.as_ref().is_ok_and(|s| s.success()) {
            child.kill()?;
            child.wait()?;
            anyhow::bail!("kill -TERM failed: {sent:?}");
        }
        Ok(child.wait()?)
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the hub must make of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, of this kind.
    Accepted(String),
    /// Rejected: the kind as drafted (`unknown` when the whole document is), the reason.
    Rejected(String, String),
}

/// One legacy document of the traffic.
#[derive(Debug, Clone)]
pub struct TrafficDoc {
    /// The province's pinyin name (its inbound queue).
    pub province: String,
    /// The bytes to publish.
    pub bytes: Vec<u8>,
    /// What each record (or the whole document) becomes, by the province's own mapping.
    pub outcomes: Vec<Outcome>,
    /// Every ID number in it (also the mistyped one of a defective document).
    pub id_numbers: Vec<String>,
    /// Every person's name in it.
    pub names: Vec<String>,
}

/// `per_province` documents from each of the region's provinces, rendered in its own
/// format by its mapping; every `defective_every`-th one has a mistyped ID check
/// character. The outcome of each record is what the province's mapping makes of the
/// bytes — the hub's own pipeline decides the same for unprompted messages.
pub fn synthetic_traffic(
    seed: u64,
    per_province: usize,
    defective_every: usize,
) -> anyhow::Result<Vec<TrafficDoc>> {
    let registry = Registry::builtin();
    let region: Vec<_> = registry.provinces().cloned().collect();
    let now = SystemClock.now();
    // Whole minutes: the coarsest legacy clock can say exactly this time.
    let sent = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let ctx = TranslateContext {
        received_at: now,
        max_bytes: 1024 * 1024,
    };
    let mut out = Vec::new();
    for (i, province) in region.iter().enumerate() {
        let mapping = registry
            .get(&province.name)
            .ok_or_else(|| anyhow::anyhow!("no mapping for {}", province.name))?;
        let mut synth = Synth::new(seed.wrapping_add(i as u64 * 7919), region.clone());
        for n in 0..per_province {
            let records = if mapping.is_batch() { 1 + n % 3 } else { 1 };
            let division = synth.division(&province.code);
            let drafts = (0..records)
                .map(|_| {
                    let kind = UNPROMPTED[synth.next_serial() as usize % UNPROMPTED.len()];
                    synth.draft(province, &division, kind, now.date_naive())
                })
                .collect();
            let id = mapping.render_message_id(&division, sent, synth.next_serial());
            let messages = synthetic::finish(province, &id, sent, drafts)
                .map_err(|r| anyhow::anyhow!("invalid synthetic message: {r:?}"))?;
            let mut bytes = mapping.render(&messages, &RenderOptions { variant: n as u64 })?;
            let mut id_numbers = Vec::new();
            let mut names = Vec::new();
            for m in &messages {
                collect_personal(&serde_json::to_value(m)?, &mut id_numbers, &mut names);
            }
            if defective_every > 0 && n % defective_every == defective_every - 1 {
                if let Some(good) = messages
                    .first()
                    .and_then(|m| m.subject.as_ref())
                    .map(|s| s.id_number.as_str().to_string())
                {
                    let (first17, check) = good.split_at(17);
                    let bad = format!("{first17}{}", if check == "0" { "1" } else { "0" });
                    if let Some(at) = bytes.windows(good.len()).position(|w| w == good.as_bytes()) {
                        bytes[at..at + good.len()].copy_from_slice(bad.as_bytes());
                    }
                    id_numbers.push(bad);
                }
            }
            let translation = mapping.translate(&bytes, &ctx);
            let outcomes = match translation.result {
                Err(rejection) => vec![Outcome::Rejected(
                    "unknown".to_string(),
                    rejection.reason.as_str().to_string(),
                )],
                Ok(records) => records
                    .into_iter()
                    .zip(&messages)
                    .map(|(r, drafted)| match r.result {
                        Ok(v) => Outcome::Accepted(v.message.kind.as_str().to_string()),
                        Err(rejection) => Outcome::Rejected(
                            drafted.kind.as_str().to_string(),
                            rejection.reason.as_str().to_string(),
                        ),
                    })
                    .collect(),
            };
            out.push(TrafficDoc {
                province: province.name.clone(),
                bytes,
                outcomes,
                id_numbers,
                names,
            });
        }
    }
    Ok(out)
}

/// Every ID number (an 18-character value whose first 17 are digits) and every `name`
/// in a canonical message.
fn collect_personal(v: &Value, ids: &mut Vec<String>, names: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if let Value::String(s) = v {
                    if k == "name" {
                        names.push(s.clone());
                    }
                    if s.len() == 18 && s[..17].bytes().all(|b| b.is_ascii_digit()) {
                        ids.push(s.clone());
                    }
                }
                collect_personal(v, ids, names);
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_personal(v, ids, names);
            }
        }
        _ => {}
    }
}

/// One scrape of `/metrics`: every sample, and every family's `# TYPE`.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// (name, labels) → value.
    pub samples: Vec<(String, BTreeMap<String, String>, f64)>,
    /// Family name → type.
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the Prometheus text format (the subset the exporter writes).
    pub fn parse(text: &str) -> anyhow::Result<Scrape> {
        let mut scrape = Scrape::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    scrape.types.insert(name.to_string(), kind.to_string());
                }
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| anyhow::anyhow!("bad sample line {line}"))?;
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse()?,
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest
                        .strip_suffix('}')
                        .ok_or_else(|| anyhow::anyhow!("bad labels in {line}"))?;
                    let mut labels = BTreeMap::new();
                    // Label values here never hold a comma or a quote.
                    for pair in body.split(',').filter(|p| !p.is_empty()) {
                        let (k, v) = pair
                            .split_once('=')
                            .ok_or_else(|| anyhow::anyhow!("bad label {pair}"))?;
                        labels.insert(k.to_string(), v.trim_matches('"').to_string());
                    }
                    (name.to_string(), labels)
                }
            };
            scrape.samples.push((name, labels, value));
        }
        Ok(scrape)
    }

    /// The sum of a metric's samples whose labels include all of `want`.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, labels, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// The samples of a metric, with their labels.
    pub fn series(&self, name: &str) -> Vec<(&BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l, *v))
            .collect()
    }
}

/// Reads `/metrics` of the hub at `addr`.
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let (status, body) = crate::http_get(addr, "/metrics").await?;
    anyhow::ensure!(status == 200, "/metrics answered {status}: {body}");
    Scrape::parse(&body)
}
