//! Whole trace files: optional `# sysfs: MODE` and `# kernels: RANGE...`
//! headers, one step a line.

use super::kernels::{Series, SeriesRange};
use super::*;
use crate::state::Sysfs;
use crate::suggest::did_you_mean;

/// A trace file: an optional `# sysfs: MODE` header, an optional
/// `# kernels: RANGE...` header (the kernel series whose results it
/// states: `6.18..`, `..6.12`, `6.12..6.19`, `6.1`), and one step per line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub sysfs: Option<Sysfs>,
    /// The ranges of `# kernels:`, with the header's line; empty: none given.
    pub kernels: Vec<SeriesRange>,
    pub kernels_line: usize,
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
            if let Some(ranges) = comment.and_then(|c| c.trim().strip_prefix("kernels:")) {
                let hash = raw.find('#').map_or(1, |k| raw[..k].chars().count() + 1);
                if trace.kernels_line != 0 {
                    return Err(TraceError { line, col: hash, msg: "a second `# kernels:` header".into() });
                }
                for word in ranges.split_whitespace() {
                    let col = raw.find(word).map_or(1, |k| raw[..k].chars().count() + 1);
                    let r: SeriesRange = word.parse().map_err(|msg| TraceError { line, col, msg })?;
                    trace.kernels.push(r);
                }
                if trace.kernels.is_empty() {
                    return Err(TraceError {
                        line,
                        col: hash,
                        msg: "`# kernels:` names no series; write ranges, like `# kernels: 6.18..` or `# kernels: ..6.12 7.0`"
                            .into(),
                    });
                }
                trace.kernels_line = line;
            }
            if comment.is_some_and(|c| c.trim().starts_with("specs:")) {
                let col = raw.find('#').map_or(1, |k| raw[..k].chars().count() + 1);
                return Err(TraceError {
                    line,
                    col,
                    msg: "`# specs:` is gone: say which kernel series the results hold on, like `# kernels: 6.18..`".into(),
                });
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
    /// The results hold on kernel series `s`: the `# kernels:` header
    /// includes it, or there is no header (a trace that says nothing of
    /// kernels runs on any).
    pub fn holds_on(&self, s: Series) -> bool {
        self.kernels.is_empty() || self.kernels.iter().any(|r| r.contains(s))
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.sysfs {
            writeln!(f, "# sysfs: {m}")?;
        }
        if !self.kernels.is_empty() {
            let ranges: Vec<String> = self.kernels.iter().map(|r| r.to_string()).collect();
            writeln!(f, "# kernels: {}", ranges.join(" "))?;
        }
        for (_, s) in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
