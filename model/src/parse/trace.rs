//! Whole trace files: optional `# sysfs: MODE` and `# specs: NAME...`
//! headers, one step a line.

use super::*;
use crate::state::Sysfs;
use crate::suggest::did_you_mean;

/// The spec a trace file is for when it names none: mainline, and the
/// kernels that spec claims.
pub const DEFAULT_SPEC: &str = "linux-6.18";

/// A trace file: an optional `# sysfs: MODE` header, an optional
/// `# specs: NAME...` header (the specs, and so the kernels, whose results
/// it states), and one step per line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub sysfs: Option<Sysfs>,
    /// The specs named by `# specs:`, with the header's line; empty: none named.
    pub specs: Vec<String>,
    pub specs_line: usize,
    /// Each step with its 1-based line number in the file.
    pub steps: Vec<(usize, Step)>,
}

/// A trace-file error at line:column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.msg)
    }
}

impl Trace {
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut trace = Trace::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let (code, comment) = match raw.find('#') {
                Some(k) => (&raw[..k], Some(&raw[k + 1..])),
                None => (raw, None),
            };
            if let Some(c) = comment {
                if let Some(mode) = c.trim().strip_prefix("sysfs:") {
                    let mode = mode.trim();
                    let col = raw.find(mode).map(|k| raw[..k].chars().count() + 1).unwrap_or(1);
                    let m = Sysfs::from_name(mode).ok_or_else(|| TraceError {
                        line,
                        col,
                        msg: match did_you_mean(mode, Sysfs::ALL.map(|m| m.name())) {
                            Some(m) => format!("unknown sysfs mode `{mode}`; did you mean `{m}`?"),
                            None => format!("unknown sysfs mode `{mode}`; expected never, madvise or always"),
                        },
                    })?;
                    if trace.sysfs.is_some_and(|old| old != m) {
                        return Err(TraceError {
                            line,
                            col,
                            msg: "a second, different `# sysfs:` header".into(),
                        });
                    }
                    trace.sysfs = Some(m);
                }
            }
            if let Some(names) = comment.and_then(|c| c.trim().strip_prefix("specs:")) {
                if !trace.specs.is_empty() {
                    let col = raw.find('#').map_or(1, |k| raw[..k].chars().count() + 1);
                    return Err(TraceError { line, col, msg: "a second `# specs:` header".into() });
                }
                for name in names.split_whitespace() {
                    let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                    if !ok {
                        let col = raw.find(name).map_or(1, |k| raw[..k].chars().count() + 1);
                        return Err(TraceError { line, col, msg: format!("`{name}` is not a spec name") });
                    }
                    trace.specs.push(name.to_string());
                }
                if trace.specs.is_empty() {
                    let col = raw.find('#').map_or(1, |k| raw[..k].chars().count() + 1);
                    return Err(TraceError {
                        line,
                        col,
                        msg: "`# specs:` names no spec; list them, like `# specs: linux-6.1 linux-6.12`"
                            .into(),
                    });
                }
                trace.specs_line = line;
            }
            if code.trim().is_empty() {
                continue;
            }
            let step: Step =
                code.parse().map_err(|e: ParseError| TraceError { line, col: e.col, msg: e.msg })?;
            trace.steps.push((line, step));
        }
        Ok(trace)
    }
}

impl Trace {
    /// The specs whose results this trace states: those its header names,
    /// else `DEFAULT_SPEC`.
    pub fn for_specs(&self) -> Vec<&str> {
        if self.specs.is_empty() {
            vec![DEFAULT_SPEC]
        } else {
            self.specs.iter().map(String::as_str).collect()
        }
    }

    pub fn is_for(&self, spec: &str) -> bool {
        self.for_specs().contains(&spec)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.sysfs {
            writeln!(f, "# sysfs: {m}")?;
        }
        if !self.specs.is_empty() {
            writeln!(f, "# specs: {}", self.specs.join(" "))?;
        }
        for (_, s) in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
