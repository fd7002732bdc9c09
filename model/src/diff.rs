//! How a state reads to a person, and what changed between two states: the
//! one rendering that traces, reports, `replay` and the explorer all use.

use crate::ghost::Setting;
use crate::state::{Process, State, MAX_VMAS};
use std::fmt;

/// `root plain NNP AT_SECURE mm=P0 thread def_flags=[nh] mm={DUMPABLE} v0=[hg] v1=unmapped`,
/// listing VMA slots below `vmas` (`mm=P0`: shares the mm of the tasks
/// whose lowest slot is P0; `thread`, `vfork-child-of=P0`: see `Link`).
pub struct ProcessView<'a> {
    pub p: &'a Process,
    pub vmas: usize,
}

impl fmt::Display for ProcessView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.p;
        write!(f, "{} {}", p.cred, p.image)?;
        if p.no_new_privs {
            f.write_str(" NNP")?;
        }
        if p.secure_exec {
            f.write_str(" AT_SECURE")?;
        }
        write!(f, "{}", p.link)?;
        write!(f, " def_flags={} mm={}", p.mm.def_flags, p.mm.flags)?;
        for (i, v) in p.mm.vmas.iter().enumerate().take(self.vmas.min(MAX_VMAS)) {
            write!(f, " v{i}={v:?}")?;
        }
        write!(f, "{}", p.ghost)
    }
}

/// One line per live process, `P0: ...`, after a `sysfs=` line.
pub fn describe(s: &State, vmas: usize) -> Vec<String> {
    let mut out = vec![format!("sysfs={}", s.sysfs)];
    out.extend(s.live().map(|(i, p)| format!("P{i}: {}", ProcessView { p, vmas })));
    out
}

/// What changed from `a` to `b`, one line per changed field.
pub fn diff(a: &State, b: &State, vmas: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..a.procs.len() {
        match (&a.procs[i], &b.procs[i]) {
            (None, None) => {}
            (Some(_), None) => out.push(format!("P{i}: exited")),
            (None, Some(p)) => out.push(format!("P{i}: new: {}", ProcessView { p, vmas })),
            (Some(x), Some(y)) => {
                let mut field = |name: &str, from: String, to: String| {
                    if from != to {
                        out.push(format!("P{i} {name}: {from} -> {to}"));
                    }
                };
                field("cred", x.cred.to_string(), y.cred.to_string());
                field("image", x.image.to_string(), y.image.to_string());
                field("no_new_privs", x.no_new_privs.to_string(), y.no_new_privs.to_string());
                field("AT_SECURE", x.secure_exec.to_string(), y.secure_exec.to_string());
                let link = |p: &Process| match p.link.to_string().trim() {
                    "" => "own mm".to_string(),
                    l => l.to_string(),
                };
                field("link", link(x), link(y));
                field("def_flags", x.mm.def_flags.to_string(), y.mm.def_flags.to_string());
                field("mm->flags", x.mm.flags.to_string(), y.mm.flags.to_string());
                for v in 0..vmas.min(MAX_VMAS) {
                    let show = |p: &Process| format!("{:?}", p.mm.vmas[v]);
                    field(&format!("v{v}"), show(x), show(y));
                }
                let g = |p: &Process| format!("{{{}}}", p.ghost.names().join(" "));
                field("ghost", g(x), g(y));
                for s in Setting::ALL {
                    field(s.field(), x.ghost.origin(s).to_string(), y.ghost.origin(s).to_string());
                }
            }
        }
    }
    out
}
