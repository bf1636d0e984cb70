//! [`Registry`]: the region — every province the hub has a mapping for.
//!
//! The seven launch mappings are compiled into the binary ([`Registry::builtin`]); a
//! mapping directory ([`Registry::load_dir`]) replaces them, so a province joins by
//! adding `DIR/<name>/mapping.toml`, without a rebuild. Looking a province up by its
//! pinyin name or its two-digit code is all the hub needs from here.

use std::path::Path;

use crate::mapping::{Mapping, MappingError};
use crate::province::ProvinceInfo;

/// The launch mappings, embedded at compile time (a missing file breaks the build).
const BUILTIN: [(&str, &str); 7] = [
    (
        "shanghai",
        include_str!("../../mappings/shanghai/mapping.toml"),
    ),
    (
        "jiangsu",
        include_str!("../../mappings/jiangsu/mapping.toml"),
    ),
    (
        "zhejiang",
        include_str!("../../mappings/zhejiang/mapping.toml"),
    ),
    ("anhui", include_str!("../../mappings/anhui/mapping.toml")),
    (
        "jiangxi",
        include_str!("../../mappings/jiangxi/mapping.toml"),
    ),
    ("henan", include_str!("../../mappings/henan/mapping.toml")),
    ("hubei", include_str!("../../mappings/hubei/mapping.toml")),
];

/// The provinces of the region, each with its mapping, ordered by province code.
#[derive(Debug, Clone)]
pub struct Registry {
    mappings: Vec<Mapping>,
}

impl Registry {
    /// The seven launch provinces, from the mapping files built into the binary.
    ///
    /// # Panics
    ///
    /// If a built-in mapping file is invalid. That is a build defect, not a runtime
    /// condition: the crate's tests load every built-in mapping, so a binary whose
    /// tests passed cannot panic here.
    pub fn builtin() -> Registry {
        let mappings = BUILTIN
            .iter()
            .map(|(name, text)| {
                Mapping::from_toml(text).unwrap_or_else(|err| {
                    panic!("built-in mapping mappings/{name}/mapping.toml is invalid: {err}")
                })
            })
            .collect();
        Registry::from_mappings(mappings)
            .unwrap_or_else(|err| panic!("built-in mappings are inconsistent: {err}"))
    }

    /// Builds a region from mappings, refusing two mappings for one province.
    pub fn from_mappings(mut mappings: Vec<Mapping>) -> Result<Registry, MappingError> {
        mappings.sort_by(|a, b| a.province().code.cmp(&b.province().code));
        for (i, a) in mappings.iter().enumerate() {
            for b in &mappings[i + 1..] {
                let (pa, pb) = (a.province(), b.province());
                let what = if pa.code == pb.code {
                    Some(format!("code \"{}\"", pa.code))
                } else if pa.name == pb.name {
                    Some(format!("name \"{}\"", pa.name))
                } else {
                    None
                };
                if let Some(what) = what {
                    return Err(MappingError::Duplicate {
                        what,
                        first: pa.name.clone(),
                        second: pb.name.clone(),
                    });
                }
            }
        }
        Ok(Registry { mappings })
    }

    /// Loads every `dir/*/mapping.toml`. The folder must be named like the province
    /// (`anhui/`), so that the folder a reader opens is the province it expects.
    pub fn load_dir(dir: &Path) -> Result<Registry, MappingError> {
        let io = |path: &Path, source| MappingError::Io {
            path: path.to_owned(),
            source,
        };
        let mut folders = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && path.join("mapping.toml").is_file() {
                folders.push(path);
            }
        }
        folders.sort();
        if folders.is_empty() {
            return Err(MappingError::Empty(dir.to_owned()));
        }
        let mut mappings = Vec::with_capacity(folders.len());
        for folder in folders {
            let file = folder.join("mapping.toml");
            let in_file = |source: MappingError| MappingError::InFile {
                path: file.clone(),
                source: Box::new(source),
            };
            let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
            let mapping = Mapping::from_toml(&text).map_err(in_file)?;
            let folder_name = folder.file_name().map(|n| n.to_string_lossy().into_owned());
            if folder_name.as_deref() != Some(mapping.province().name.as_str()) {
                return Err(in_file(MappingError::Invalid {
                    field: "province.name".to_owned(),
                    reason: format!(
                        "\"{}\" does not match its folder name",
                        mapping.province().name
                    ),
                }));
            }
            mappings.push(mapping);
        }
        Registry::from_mappings(mappings)
    }

    /// The mapping of a province named by pinyin name (`anhui`) or code (`34`).
    pub fn get(&self, name_or_code: &str) -> Option<&Mapping> {
        self.by_code(name_or_code).or_else(|| {
            self.mappings
                .iter()
                .find(|m| m.province().name == name_or_code)
        })
    }

    /// The mapping of the province with this two-digit code.
    pub fn by_code(&self, code2: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.province().code == code2)
    }

    /// The provinces of the region, by code.
    pub fn provinces(&self) -> impl Iterator<Item = &ProvinceInfo> {
        self.mappings.iter().map(Mapping::province)
    }

    /// The mappings of the region, by province code.
    pub fn mappings(&self) -> impl Iterator<Item = &Mapping> {
        self.mappings.iter()
    }

    /// Whether the province with this two-digit code is in the region.
    pub fn contains_code(&self, code2: &str) -> bool {
        self.by_code(code2).is_some()
    }

    /// How many provinces the region has.
    pub fn len(&self) -> usize {
        self.mappings.len()
    }

    /// Whether the region is empty (never for [`Registry::builtin`]).
    pub fn is_empty(&self) -> bool {
        self.mappings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_seven_launch_provinces() {
        let registry = Registry::builtin();
        assert_eq!(registry.len(), 7);
        let codes: Vec<&str> = registry.provinces().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["31", "32", "33", "34", "36", "41", "42"]);
        for (name, _) in BUILTIN {
            let mapping = registry.get(name).expect("by name");
            assert_eq!(mapping.province().name, name);
            let code = mapping.province().code.clone();
            assert!(registry.contains_code(&code));
            assert_eq!(
                registry.get(&code).map(|m| &m.province().name),
                Some(&name.to_owned())
            );
        }
        assert!(!registry.contains_code("11"));
        assert!(registry.get("beijing").is_none());
    }

    #[test]
    fn load_dir_reads_the_mappings_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
        let registry = Registry::load_dir(&dir).expect("mappings load");
        assert_eq!(registry.len(), 7);
        assert!(matches!(
            Registry::load_dir(&dir.join("no-such-folder")),
            Err(MappingError::Io { .. })
        ));
    }
}
