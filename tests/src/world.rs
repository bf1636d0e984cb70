//! Realistic traffic about chosen people for the end-to-end tests: the simulator's seeded
//! generator (`yipanqi::synthetic`) makes the canonical message, the province's mapping
//! renders it in its legacy format — what the province's system would publish.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use yipanqi::synthetic::{finish, Synth};
use yipanqi_adapters::{Registry, RenderOptions};
use yipanqi_schemas::{CanonicalMessage, Kind};

/// Realistic traffic about chosen people, in the provinces' own legacy formats.
pub struct World {
    /// The region's mappings.
    pub registry: Registry,
    /// The seeded generator.
    pub synth: Synth,
}

impl World {
    /// A seeded world over the built-in region.
    #[allow(clippy::new_without_default)]
    pub fn new() -> World {
        let registry = Registry::builtin();
        let region = registry.provinces().cloned().collect();
        World {
            registry,
            synth: Synth::new(2026, region),
        }
    }

    /// A woman registered at `registration`, living at `residence`.
    pub fn woman(&mut self, registration: &str, residence: &str) -> Value {
        self.synth.person(registration, Some(residence), true)
    }

    /// A message of `kind` from `province`'s `division` about `subject`, in the
    /// province's own format.
    pub fn message(
        &mut self,
        province: &str,
        division: &str,
        kind: Kind,
        subject: &Value,
        now: DateTime<FixedOffset>,
    ) -> (CanonicalMessage, Vec<u8>) {
        self.couple_message(province, division, kind, subject, None, now)
    }

    /// Like [`World::message`], with `spouse` as the message's spouse when given.
    pub fn couple_message(
        &mut self,
        province: &str,
        division: &str,
        kind: Kind,
        subject: &Value,
        spouse: Option<&Value>,
        now: DateTime<FixedOffset>,
    ) -> (CanonicalMessage, Vec<u8>) {
        let mapping = self.registry.get(province).expect("mapping");
        let info = mapping.province().clone();
        let mut draft = self.synth.draft(&info, division, kind, now.date_naive());
        draft.insert("subject".into(), subject.clone());
        if let Some(spouse) = spouse {
            draft.insert("spouse".into(), spouse.clone());
        }
        let id = mapping.render_message_id(division, now, self.synth.next_serial());
        let msg = finish(&info, &id, now, vec![draft])
            .expect("valid")
            .remove(0);
        let bytes = mapping
            .render(std::slice::from_ref(&msg), &RenderOptions { variant: 0 })
            .expect("render");
        (msg, bytes)
    }

    /// `province`'s answer to `original` from `division`, with body fields set.
    pub fn answer(
        &mut self,
        province: &str,
        division: &str,
        original: &CanonicalMessage,
        now: DateTime<FixedOffset>,
        body: Value,
    ) -> (CanonicalMessage, Vec<u8>) {
        let mapping = self.registry.get(province).expect("mapping");
        let info = mapping.province().clone();
        let mut draft = self
            .synth
            .answer_draft(original, division, now.date_naive())
            .expect("an answer is owed");
        if let (Some(b), Some(set)) = (draft.get_mut("body"), body.as_object()) {
            for (k, v) in set {
                b[k] = v.clone();
            }
        }
        let id = mapping.render_message_id(division, now, self.synth.next_serial());
        let msg = finish(&info, &id, now, vec![draft])
            .expect("valid")
            .remove(0);
        let bytes = mapping
            .render(std::slice::from_ref(&msg), &RenderOptions { variant: 1 })
            .expect("render");
        (msg, bytes)
    }
}
