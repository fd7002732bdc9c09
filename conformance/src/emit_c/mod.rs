//! A trace as a standalone C program, kselftest style: it makes the trace's
//! calls on the kernel it runs on and checks every result and, after every
//! step, the acting process's observations (and every live process's at
//! the end) against what the model predicted. No dependencies beyond libc
//! and the kernel headers, so a reviewer can run a proposal's
//! counterexample on a kernel with that proposal applied.
//!
//! The fixed part (`head.c`, `observe.c`, `runtime.c`, `setup.c`, and
//! `khugepaged.c` for a trace with `khugepaged()` steps) is C written once;
//! this module writes only the tables and one `case` per step. Addresses and
//! constants are the same as the runner's (`abi`); the process machinery
//! mirrors the runner's agents, with pipes in place of a runner, and
//! khugepaged is driven as the runner drives it (`crate::khugepaged`), by a
//! root helper process, its knobs restored at exit.
//!
//! Like the runner, a program whose run saw a huge page fail to be
//! allocated (`thp_fault_fallback`, `thp_collapse_alloc_failed`) or a
//! collapse fail transiently (-EAGAIN), or that differed while khugepaged
//! collapsed pages on its own, neither passes nor fails: it says why and
//! exits 4 (kselftest's skip).

use crate::abi;
use mmflags_model::action::{
    Action, Advice, Call, Errno, Iovec, Item, MclFlags, PmadvFlags, Prot, Range, Ret, Target,
};
use mmflags_model::state::{Image, State, MAX_VMAS};
use mmflags_model::{System, Walk};
use std::fmt::Write;

const HEAD: &str = include_str!("head.c");
const OBSERVE: &str = include_str!("observe.c");
const RUNTIME: &str = include_str!("runtime.c");
const SETUP: &str = include_str!("setup.c");
const KHUGEPAGED: &str = include_str!("khugepaged.c");

/// The C token owner of `a`: its process, or the khugepaged helper
/// (`KPROC` in the C, one past the last process).
fn owner(a: &Action) -> u8 {
    if a.by_kernel() {
        mmflags_model::state::MAX_PROCS as u8
    } else {
        a.pid
    }
}

fn c_str(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

fn addr(r: Range) -> String {
    let (a, l) = abi::range(r);
    format!("{a:#x}UL, {l:#x}UL")
}

/// A protection as C: `PROT_READ | PROT_EXEC`, `PROT_NONE`.
fn prot_c(p: Prot) -> String {
    let names: Vec<&str> =
        Prot::NAMES.iter().filter(|(f, _)| f.0 != 0 && p.contains(*f)).map(|(_, n)| *n).collect();
    if names.is_empty() {
        "PROT_NONE".into()
    } else {
        names.join(" | ")
    }
}

fn target(t: Target) -> i32 {
    match t {
        Target::SelfProc => -1,
        Target::Pid(p) => p as i32,
    }
}

/// The expected-observation tables, one `static const struct obs[]` per
/// distinct expectation, named in order of first use.
#[derive(Default)]
struct Tables {
    rows: Vec<Vec<String>>,
}

impl Tables {
    /// The table of what process `pid` should show in state `s`:
    /// `(name, length)`.
    fn of(&mut self, sys: &System, s: &State, pid: u8, vmas: usize) -> (String, usize) {
        let mut rows = Vec::new();
        let mut push = |kind: &str, slot: u8, call: Call| {
            let a = Action { pid, call };
            let want = sys.step(s, &a).map(|(r, _)| r.to_string()).unwrap_or_else(|e| format!("<{e}>"));
            rows.push(format!("{{ {kind}, {slot}, {} }}", c_str(&want)));
        };
        for n in 0..vmas as u8 {
            push("OBS_VMFLAGS", n, Call::VmFlags(Item::Vma(n)));
            push("OBS_ELIGIBLE", n, Call::ThpEligible(Item::Vma(n)));
            push("OBS_PAGES", n, Call::Pages(Item::Vma(n)));
        }
        push("OBS_THP_ENABLED", 0, Call::ThpEnabled);
        push("OBS_THP_DISABLE", 0, Call::PrctlGetThpDisable);
        push("OBS_MEMORY_MERGE", 0, Call::PrctlGetMemoryMerge);
        push("OBS_MDWE", 0, Call::PrctlGetMdwe);
        let n = rows.len();
        let i = match self.rows.iter().position(|r| *r == rows) {
            Some(i) => i,
            None => {
                self.rows.push(rows);
                self.rows.len() - 1
            }
        };
        (format!("expect{i}"), n)
    }

    fn c(&self) -> String {
        let mut out = String::new();
        for (i, rows) in self.rows.iter().enumerate() {
            let _ = writeln!(out, "static const struct obs expect{i}[] = {{");
            for r in rows {
                let _ = writeln!(out, "\t{r},");
            }
            out.push_str("};\n\n");
        }
        out
    }
}

/// Constants a proposal's calls need; guarded, so a patched kernel's
/// headers win. The numbers are the proposals' own (or the model's, for
/// flags no posted patch numbered): check them against the patch.
fn proposal_defines(steps: &[(Action, Ret, State)]) -> String {
    fn define(d: &mut String, name: &str, val: &str, why: &str) {
        if !d.contains(&format!("#ifndef {name}\n")) {
            let _ = write!(d, "#ifndef {name}\n#define {name} {val} /* {why} */\n#endif\n");
        }
    }
    let mut d = String::new();
    for (a, _, _) in steps {
        match a.call {
            Call::ProcessMadvise { flags, .. } => {
                for (f, n) in PmadvFlags::NAMES {
                    if flags.contains(*f) {
                        let val = format!("{:#x}", f.0);
                        let why = if f.0 <= PmadvFlags::PMADV_ENTIRE_ADDRESS_SPACE.0 {
                            "the seed RFC's number"
                        } else {
                            "the model's number: the proposal posted none"
                        };
                        define(&mut d, n, &val, why);
                    }
                }
            }
            Call::PrctlSetThpPolicy(_) | Call::PrctlGetThpPolicy => {
                define(&mut d, "PR_SET_THP_POLICY", "78", "Usama Arif v3");
                define(&mut d, "PR_GET_THP_POLICY", "79", "Usama Arif v3");
            }
            Call::PrctlSetThpAlways(_) | Call::PrctlGetThpAlways => {
                define(&mut d, "PR_SET_THP_ALWAYS", "78", "Usama Arif v1");
                define(&mut d, "PR_GET_THP_ALWAYS", "79", "Usama Arif v1");
            }
            Call::Mctl { .. } => define(
                &mut d,
                "__NR_mctl",
                "1023",
                "the model's number: the sketch posted none, and no kernel has 1023",
            ),
            _ => {}
        }
    }
    d
}

/// The C statement(s) that make `call` and leave its result string in `got`.
fn step_code(s: usize, a: &Action, expect: &Ret) -> String {
    let r = |e: String| format!("r = ret({e});\n\t\tgot = fmt_ret(r);");
    match a.call {
        Call::Mmap => format!("r = do_mmap({});\n\t\tgot = fmt_name('v', r);", prot_c(Prot::RW)),
        Call::MmapProt(p) => format!("r = do_mmap({});\n\t\tgot = fmt_name('v', r);", prot_c(p)),
        Call::Mprotect(i, p) => r(format!("mprotect((void *){}, {})", addr(Range::One(i)), prot_c(p))),
        Call::PrctlSetMemoryMerge(_) | Call::PrctlGetMemoryMerge | Call::PrctlSetMdwe(_) | Call::PrctlGetMdwe => {
            let (o, [a2, a3]) = a.call.prctl_args().expect("a prctl");
            r(format!("prctl({o}, {a2}UL, {a3}UL, 0UL, 0UL)"))
        }
        Call::Munmap(rg) => r(format!("munmap((void *){})", addr(rg))),
        Call::Madvise(rg, adv) => r(format!("madvise((void *){}, {})", addr(rg), adv.number())),
        Call::ProcessMadvise {
            target: t,
            iov,
            advice,
            flags,
        } => {
            let flags = if flags.0 == 0 {
                "0".to_string()
            } else {
                flags.to_string()
            };
            match iov {
                Iovec::Null => format!(
                    "r = do_pmadv({}, NULL, -1, {}, {flags});\n\t\tgot = fmt_ret(r);",
                    target(t),
                    advice.number()
                ),
                Iovec::List(l) => {
                    let v: Vec<String> = l.as_slice().iter().map(|&x| format!("{{ {} }}", addr(x))).collect();
                    format!(
                        "r = do_pmadv({}, (const unsigned long[][2]){{ {} }}, {}, {}, {flags});\n\t\tgot = fmt_ret(r);",
                        target(t),
                        v.join(", "),
                        v.len(),
                        advice.number()
                    )
                }
            }
        }
        Call::PrctlSetThpDisable(a2, fl) => {
            r(format!("prctl(PR_SET_THP_DISABLE, {a2}UL, {}UL, 0UL, 0UL)", fl.0))
        }
        Call::PrctlGetThpDisable => r("prctl(PR_GET_THP_DISABLE, 0UL, 0UL, 0UL, 0UL)".into()),
        Call::PrctlSetNoNewPrivs(a2) => r(format!("prctl(PR_SET_NO_NEW_PRIVS, {a2}UL, 0UL, 0UL, 0UL)")),
        Call::Mlockall(fl) => {
            let names: Vec<&str> = MclFlags::NAMES
                .iter()
                .filter(|(f, _)| fl.contains(*f))
                .map(|(_, n)| *n)
                .collect();
            let rest = fl.0 & !MclFlags::NAMES.iter().fold(0, |m, (f, _)| m | f.0);
            let mut parts: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            if rest != 0 || parts.is_empty() {
                parts.push(format!("{rest:#x}"));
            }
            r(format!("mlockall({})", parts.join(" | ")))
        }
        Call::Munlockall => r("munlockall()".into()),
        Call::Fork => {
            let name = match expect {
                Ret::Pid(p) => *p,
                _ => 0,
            };
            format!("r = do_fork({s}, {name});\n\t\tgot = fmt_name('P', r);")
        }
        Call::Execve(img) => format!(
            "r = do_exec({s}, {});\n\t\tgot = fmt_ret(r);",
            (img == Image::SetuidRoot) as u8
        ),
        Call::Setresuid => "r = do_setresuid();\n\t\tgot = fmt_ret(r);".into(),
        Call::Exit => String::new(),
        Call::Vfork | Call::Clone(_) => unreachable!("refused by `unsupported`"),
        Call::Touch(i) => format!("r = do_touch({});\n\t\tgot = fmt_ret(r);", addr(Range::One(i))),
        Call::Khugepaged => "got = do_khugepaged();".into(),
        Call::VmFlags(i) | Call::ThpEligible(i) | Call::Pages(i) => {
            let kind = match a.call {
                Call::VmFlags(_) => "OBS_VMFLAGS",
                Call::ThpEligible(_) => "OBS_ELIGIBLE",
                _ => "OBS_PAGES",
            };
            match i {
                Item::Hole => "got = (struct str){ \"unmapped\" };".into(),
                Item::Vma(n) => format!(
                    "{{\n\t\t\tstruct seen sn;\n\t\t\tstruct obs o = {{ {kind}, {n}, \"\" }};\n\n\t\t\tread_self(&sn);\n\t\t\tgot = shown(&sn, &o);\n\t\t}}"
                ),
            }
        }
        Call::ThpEnabled => "{\n\t\t\tstruct seen sn;\n\t\t\tstruct obs o = { OBS_THP_ENABLED, 0, \"\" };\n\n\t\t\tread_self(&sn);\n\t\t\tgot = shown(&sn, &o);\n\t\t}".into(),
        Call::PrctlSetThpPolicy(p) => r(format!("prctl(PR_SET_THP_POLICY, {}UL, 0UL, 0UL, 0UL)", p.0)),
        Call::PrctlGetThpPolicy => r("prctl(PR_GET_THP_POLICY, 0UL, 0UL, 0UL, 0UL)".into()),
        Call::PrctlSetThpAlways(v) => r(format!("prctl(PR_SET_THP_ALWAYS, {v}UL, 0UL, 0UL, 0UL)")),
        Call::PrctlGetThpAlways => r("prctl(PR_GET_THP_ALWAYS, 0UL, 0UL, 0UL, 0UL)".into()),
        Call::PrctlRaw(o, a2) => r(format!("prctl({o}, {a2}UL, 0UL, 0UL, 0UL)")),
        Call::Mctl {
            target: t,
            action,
            flags,
        } => format!(
            "{{\n\t\t\tint fd = pidfd_of({});\n\n\t\t\tr = fd == -1 ? -errno : ret(syscall(__NR_mctl, fd, {}, {}));\n\t\t}}\n\t\tgot = fmt_ret(r);",
            target(t),
            action.0,
            flags.0
        ),
    }
}

/// Why `walk` cannot be a C program, if it cannot: its C runtime runs one
/// process per trace name, and has no task that shares an mm.
pub fn unsupported(walk: &Walk) -> Option<String> {
    let (a, _, _) = walk.steps.iter().find(|(a, _, _)| matches!(a.call, Call::Vfork | Call::Clone(_)))?;
    Some(format!(
        "`{a}`: the C program runs no task that shares an mm (vfork, clone) yet; run the trace with the agent instead (`check conform --trace FILE`)"
    ))
}

/// The C program for `walk`, made under the model `sys` (whose observation
/// rules give the expected values). `title` goes in the header comment.
pub fn program(walk: &Walk, sys: &System, title: &str) -> String {
    let vmas = sys.bounds.vmas.min(MAX_VMAS);
    let steps = &walk.steps;
    let mut out = String::new();
    out.push_str("// SPDX-License-Identifier: GPL-2.0\n/*\n");
    let _ = writeln!(out, " * {title}");
    out.push_str(" *\n * Generated by mmflags (`check trace SPEC PROPERTY --emit-c`) from this trace:\n *\n");
    let _ = writeln!(out, " *   # sysfs: {}", walk.init.sysfs);
    for l in walk.lines() {
        let _ = writeln!(out, " *   {l}");
    }
    out.push_str(
        " *\n * Build and run as root: gcc -O2 -Wall -o t t.c && ./t\n * \
         Exit status (kselftest): 0 every result and observation as the model\n * \
         predicted, 1 something differed, 4 skipped (not root, or a machine\n * \
         unlike the model's: sysfs mode, mTHP sizes) or inconclusive (a huge\n * \
         page could not be allocated, khugepaged collapsed on its own, or the\n * \
         harness failed).\n",
    );
    let khugepaged = steps.iter().any(|(a, _, _)| a.by_kernel());
    if khugepaged {
        out.push_str(
            " *\n * Its khugepaged() steps write khugepaged's knobs in\n * \
             /sys/kernel/mm/transparent_hugepage/khugepaged/ (pages_to_scan,\n * \
             alloc_sleep_millisecs, scan_sleep_millisecs); they are restored at\n * \
             exit and on SIGINT, SIGTERM, SIGHUP and SIGQUIT.\n",
        );
    }
    out.push_str(" */\n");
    out.push_str(HEAD);

    // Token owners and TAP numbers, laid out in trace order.
    let mut owners: Vec<u8> = steps.iter().map(|(a, _, _)| owner(a)).collect();
    let finals: Vec<u8> = steps.last().map_or(walk.init, |s| s.2).live().map(|(p, _)| p as u8).collect();
    owners.extend(&finals);
    let mut tap = 0;
    let mut tables = Tables::default();
    let mut run = String::new();
    let mut exec_done = String::new();
    let mut fork_child = String::new();
    let mut prev = walk.init;
    for (s, (a, expect, after)) in steps.iter().enumerate() {
        let what = c_str(&format!("{a} = {expect}"));
        let _ = writeln!(run, "\tcase {s}: /* {a} = {expect} */");
        if s > 0 && steps[s - 1].0.pid != a.pid && !a.by_kernel() {
            tap += 1;
            let (o, n) = tables.of(sys, &prev, a.pid, vmas);
            let label = c_str(&format!("P{} before step {}", a.pid, s + 1));
            let _ = writeln!(run, "\t\ttap({tap}, {label}, NULL, NULL, {o}, {n});");
        }
        tap += 1;
        let alive = after.proc(a.pid as usize).is_some();
        let (o, n) = if alive && !a.call.is_observation() {
            tables.of(sys, after, a.pid, vmas)
        } else {
            ("NULL".to_string(), 0)
        };
        if a.call == Call::Exit {
            let _ = write!(run, "\t\tdo_exit({s}, {tap}, {what});\n\t\tbreak;\n");
        } else {
            let mut code = step_code(s, a, expect);
            let collapse = matches!(
                a.call,
                Call::Madvise(_, Advice::Collapse) | Call::ProcessMadvise { advice: Advice::Collapse, .. }
            );
            if collapse && *expect != Ret::Err(Errno::EAGAIN) {
                code.push_str("\n\t\ttransient(r);");
            }
            let _ = write!(
                run,
                "\t\t{code}\n\t\ttap({tap}, {what}, got.s, {}, {o}, {n});\n",
                c_str(&expect.to_string())
            );
            if let (Call::Execve(_), Ret::Val(0)) = (a.call, expect) {
                let _ = write!(
                    exec_done,
                    "\tcase {s}:\n\t\ttap({tap}, {what}, \"0\", {}, {o}, {n});\n\t\tbreak;\n",
                    c_str(&expect.to_string())
                );
            }
            if let (Call::Fork, Ret::Pid(child)) = (a.call, expect) {
                run.push_str("\t\tif (r >= 0)\n\t\t\tfork_release();\n");
                tap += 1;
                let (o, n) = tables.of(sys, after, *child, vmas);
                let label = c_str(&format!("P{child}, new, after step {}", s + 1));
                let _ = write!(
                    fork_child,
                    "\tcase {s}:\n\t\ttap({tap}, {label}, NULL, NULL, {o}, {n});\n\t\tbreak;\n"
                );
            }
            run.push_str("\t\tbreak;\n");
        }
        prev = *after;
    }
    for (i, p) in finals.iter().enumerate() {
        tap += 1;
        let (o, n) = tables.of(sys, &prev, *p, vmas);
        let label = c_str(&format!("P{p} at the end"));
        let _ = write!(
            run,
            "\tcase {}:\n\t\ttap({tap}, {label}, NULL, NULL, {o}, {n});\n\t\tbreak;\n",
            steps.len() + i
        );
    }

    let needs_images = steps.iter().any(|(a, _, _)| matches!(a.call, Call::Execve(_)));
    out.push_str("\n/* ---- the trace ---- */\n");
    out.push_str(&proposal_defines(steps));
    let _ = writeln!(out, "#define SYSFS_MODE {}", c_str(walk.init.sysfs.name()));
    let _ = writeln!(out, "#define NVMAS {vmas}");
    let _ = writeln!(out, "#define NTOKENS {}", owners.len());
    let _ = writeln!(out, "#define NTAP {tap}");
    let _ = writeln!(out, "#define NEEDS_IMAGES {}", needs_images as u8);
    let _ = writeln!(out, "#define NEEDS_KHUGEPAGED {}", khugepaged as u8);
    let owners: Vec<String> = owners.iter().map(|p| p.to_string()).collect();
    let _ = writeln!(out, "static const int token_owner[NTOKENS] = {{ {} }};\n", owners.join(", "));
    let parts =
        if khugepaged { vec![OBSERVE, RUNTIME, KHUGEPAGED, SETUP] } else { vec![OBSERVE, RUNTIME, SETUP] };
    for part in parts {
        out.push('\n');
        out.push_str(part);
    }
    out.push_str("\n/* ---- what each process must show, and the steps ---- */\n");
    out.push_str(&tables.c());
    let _ = write!(
        out,
        "static void run_token(int t)\n{{\n\tstruct str got = {{ \"\" }};\n\tlong r = 0;\n\n\t(void)got;\n\t(void)r;\n\tswitch (t) {{\n{run}\t}}\n}}\n\n"
    );
    let _ = write!(out, "static void exec_done(int s)\n{{\n\tswitch (s) {{\n{exec_done}\t}}\n}}\n\n");
    let _ = write!(out, "static void fork_child(int s)\n{{\n\tswitch (s) {{\n{fork_child}\t}}\n}}\n");
    out
}
