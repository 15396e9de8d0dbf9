//! Configuration errors that name the file, the dotted key and the line,
//! and say what would be valid; and the parse that produces them.

use super::*;
use crate::tomlspan::Spans;

/// A configuration error, already located: file, line, key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, when the error can be located in the file.
    pub line: Option<usize>,
    /// Dotted key (for example `metric[3].hard.core-min`).
    pub key: String,
    pub message: String,
    /// What would be valid instead.
    pub hint: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": key `{}`: {}", self.key, self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  valid: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Best effort at naming the dotted key a parse error points at: the nearest
/// table header above the line, plus the key on the line itself.
pub(super) fn key_at(src: &str, span: &Range<usize>) -> String {
    let line_no = line_of(src, span.start);
    let lines: Vec<&str> = src.lines().collect();
    let here = lines.get(line_no - 1).copied().unwrap_or("").trim();
    let own = here
        .split_once('=')
        .map(|(k, _)| k.trim().to_string())
        .unwrap_or_default();
    let mut header = String::new();
    for l in lines[..line_no.saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
    {
        let t = l.trim();
        if t.starts_with('[') {
            header = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            break;
        }
    }
    if here.starts_with('[') {
        return here
            .trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_string();
    }
    match (header.is_empty(), own.is_empty()) {
        (true, _) => own,
        (false, true) => header,
        (false, false) => format!("{header}.{own}"),
    }
}

pub(super) fn from_toml_error(
    file: &Path,
    src: &str,
    err: toml::de::Error,
    hint: &str,
) -> ConfigError {
    let span = err.span();
    ConfigError {
        file: file.to_path_buf(),
        line: span.as_ref().map(|s| line_of(src, s.start)),
        key: span.as_ref().map(|s| key_at(src, s)).unwrap_or_default(),
        message: err.message().trim().to_string(),
        hint: hint.to_string(),
    }
}

/// Parse a TOML document into `T`, turning errors into located `ConfigError`s.
pub fn parse_toml<T: for<'de> Deserialize<'de>>(
    file: &Path,
    src: &str,
    hint: &str,
) -> Result<T, ConfigError> {
    let v: T = toml::from_str(src).map_err(|e| from_toml_error(file, src, e, hint))?;
    // TOML accepts nan and inf; no budget, protocol figure or throttle can
    // mean one, and a nan compares false with everything (a check it feeds
    // silently never fires).
    if let Some((key, span)) = Spans::of(src).nonfinite().first() {
        return Err(ConfigError {
            file: file.to_path_buf(),
            line: Some(line_of(src, span.start)),
            key: key.clone(),
            message: format!(
                "`{}` is not a finite number",
                src.get(span.clone()).unwrap_or("nan").trim()
            ),
            hint: "every number in this file must be finite".into(),
        });
    }
    Ok(v)
}

pub(super) struct Locator<'a> {
    pub(super) file: &'a Path,
    pub(super) src: &'a str,
}

impl Locator<'_> {
    pub(super) fn err(
        &self,
        span: Range<usize>,
        key: String,
        message: String,
        hint: &str,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: Some(line_of(self.src, span.start)),
            key,
            message,
            hint: hint.to_string(),
        }
    }
}
