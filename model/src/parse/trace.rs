//! Whole trace files: an optional `# sysfs: MODE` header, one step a line.

use super::*;
use crate::state::Sysfs;
use crate::suggest::did_you_mean;

/// A trace file: an optional `# sysfs: MODE` header and one step per line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub sysfs: Option<Sysfs>,
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

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.sysfs {
            writeln!(f, "# sysfs: {m}")?;
        }
        for (_, s) in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
