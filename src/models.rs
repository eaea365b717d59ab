//! `hub models`: the Whisper models of this installation, as ggml files named `<name>.bin` in
//! the models directory. The hub never downloads a model; an administrator installs one from a
//! local file or converts a faster-whisper (CTranslate2) directory, e.g. from a PyPI package.

use std::path::{Path, PathBuf};

use hub_speech::ggml;

/// A model's name: what `speech_model` and `hub transcribe --model` take.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !name.starts_with('.')
}

fn target(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if !valid_name(name) {
        return Err(format!(
            "model name {name:?}: use letters, digits, '.', '-' and '_' (e.g. base, tiny.en)"
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.join(format!("{name}.bin")))
}

/// Converts a CTranslate2 model (its directory, or the directories of a split one) into
/// `<dir>/<name>.bin`.
pub fn convert(dir: &Path, name: &str, sources: &[PathBuf]) -> Result<String, String> {
    let out = target(dir, name)?;
    let started = std::time::Instant::now();
    let hp = ggml::convert(sources, &out).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "converted {} into {} ({}, {:.0} MB) in {:.1} s",
        sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        out.display(),
        hp.describe(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ))
}

/// Installs a ggml model file, after checking it is one.
pub fn install(dir: &Path, name: &str, file: &Path) -> Result<String, String> {
    let hp = ggml::inspect(file).map_err(|e| e.to_string())?;
    let out = target(dir, name)?;
    let tmp = out.with_extension("tmp");
    std::fs::copy(file, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &out))
        .map_err(|e| format!("cannot install into {}: {e}", out.display()))?;
    Ok(format!("installed {} as {name} ({})", file.display(), hp.describe()))
}

/// Installed models: name, description or the reason it is unusable.
pub fn list(dir: &Path) -> Vec<(String, Result<String, String>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            Some((name, ggml::inspect(&p).map(|h| h.describe()).map_err(|e| e.to_string())))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The model `speech_model` names: "auto" takes base if installed, else the first usable one.
pub fn choose(dir: &Path, setting: &str) -> Option<PathBuf> {
    match setting {
        "off" | "" => None,
        "auto" => {
            let models = list(dir);
            let usable: Vec<_> = models
                .iter()
                .filter(|(_, d)| d.is_ok())
                .map(|(n, _)| n.clone())
                .collect();
            let pick = usable.iter().find(|n| *n == "base").or_else(|| usable.first())?;
            Some(dir.join(format!("{pick}.bin")))
        }
        name => Some(dir.join(format!("{name}.bin"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("base"));
        assert!(valid_name("tiny.en"));
        assert!(!valid_name("../etc/passwd"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name(""));
    }
}
