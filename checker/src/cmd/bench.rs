//! `check bench`: one exploration of one spec at bounds given on the command
//! line, reported as numbers for `bench/run` (docs/design.md 8).
//!
//! Why a subcommand and not `check SPEC`: the benchmark compares our engine
//! with SPIN at several bounds of the same spec (2 x 2, 3 x 1, 3 x 2), and a
//! spec's bounds are part of its question, so changing them must not mean
//! writing throw-away spec files. `bench` overrides only the bounds and
//! keeps everything else the spec says (semantics, `[actions]`, the checked
//! properties, which decide the projection and so the stored state).
//!
//! It does not gate verdicts (the spec's `[expect]` was written for its own
//! bounds); it prints the counts and rates, and with `--dump-states` every
//! stored state in the line format the SPIN twin's `-DDUMP` mode prints,
//! so the two state sets can be compared with `sort | diff`.
//!
//! Run it once per process: the peak memory it reports is the process's
//! high-water mark (`VmHWM`), so two runs in one process would mix.

use clap::Args;
use mmflags_checker::engine::limits::{cpu_seconds, mem_total_bytes, peak_rss_bytes, Limits};
use mmflags_checker::engine::{self, Options};
use mmflags_checker::run::RunConfig;
use mmflags_checker::run::SpecOutcome;
use mmflags_checker::spec;
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::key::unpack;
use mmflags_model::state::{Cred, State, Sysfs, MAX_PROCS, MAX_VMAS};
use mmflags_model::symmetry::Symmetry;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct BenchArgs {
    /// The spec to explore, by name (`linux-6.18-thp`) or path.
    spec: String,
    /// Process slots (overrides the spec's `[bounds] processes`).
    #[arg(long)]
    processes: Option<usize>,
    /// VMA slots per process (overrides the spec's `[bounds] vmas`).
    #[arg(long)]
    vmas: Option<usize>,
    /// Sysfs modes, comma-separated (overrides the spec's `[bounds] sysfs`).
    #[arg(long, value_delimiter = ',')]
    sysfs: Vec<String>,
    /// Longest trace (overrides the spec's `[bounds] depth`); 0 runs to the fixpoint.
    #[arg(long)]
    depth: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Explore without symmetry reduction (what the SPIN twin mirrors).
    #[arg(long)]
    no_symmetry: bool,
    /// Give up after this many seconds (the run is then inconclusive, exit 3).
    #[arg(long)]
    timeout: Option<f64>,
    /// Give up above this resident memory in MiB (default: 3/4 of RAM).
    #[arg(long)]
    max_memory: Option<u64>,
    /// Print one JSON object instead of the text line.
    #[arg(long)]
    json: bool,
    /// Write every stored state to this file, one line each (for comparing
    /// state sets with the SPIN twin built with -DDUMP).
    #[arg(long)]
    dump_states: Option<PathBuf>,
    /// Print the calls every live process may make (the alphabet), then run.
    #[arg(long)]
    alphabet: bool,
    /// Also count the states a search without symmetry reduction would
    /// store: the sum of the orbits of the representatives (`orbits`), for
    /// bounds too large to run without it.
    #[arg(long)]
    unreduced: bool,
}

fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// One stored state as the SPIN twin's dump prints it:
/// `sysfs=S` then per process slot `|alive,cred,nnp,exec_fresh,def_flags,mm_flags`
/// followed by `,mapped:vm_flags` per VMA slot. Codes are the twin's:
/// sysfs never/madvise/always = 0/1/2, cred root/user/setuid-root = 0/1/2,
/// VM_HUGEPAGE = 1, VM_NOHUGEPAGE = 2, MMF_DISABLE_THP_COMPLETELY = 2,
/// MMF_DISABLE_THP_EXCEPT_ADVISED = 4 (MMF_DUMPABLE is projected away).
pub fn dump_line(s: &State, procs: usize, vmas: usize) -> String {
    let sysfs = match s.sysfs {
        Sysfs::Never => 0,
        Sysfs::Madvise => 1,
        Sysfs::Always => 2,
    };
    let mut out = format!("sysfs={sysfs}");
    for slot in 0..procs {
        match s.proc(slot) {
            None => {
                out.push_str("|0,0,0,0,0,0");
                for _ in 0..vmas {
                    out.push_str(",0:0");
                }
            }
            Some(p) => {
                let cred = match p.cred {
                    Cred::Root => 0,
                    Cred::User => 1,
                    Cred::SetuidRoot => 2,
                    Cred::UserCaps => 3,
                };
                let fresh = p.ghost.contains(mmflags_model::ghost::Ghost::EXEC_FRESH);
                let mmf = p.mm.flags.intersection(MmfFlags::MMF_DISABLE_THP_MASK).0;
                out.push_str(&format!(
                    "|1,{cred},{},{},{},{mmf}",
                    p.no_new_privs as u8,
                    fresh as u8,
                    p.mm.def_flags.intersection(VmFlags::THP_MASK).0
                ));
                for v in &p.mm.vmas[..vmas] {
                    match v.flags {
                        None => out.push_str(",0:0"),
                        Some(f) => out.push_str(&format!(",1:{}", f.intersection(VmFlags::THP_MASK).0)),
                    }
                }
            }
        }
    }
    out
}

pub fn cmd_bench(a: &BenchArgs, interrupt: Arc<AtomicBool>) -> ExitCode {
    let mut spec = match spec::resolve(&a.spec).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    if let Some(p) = a.processes {
        if !(1..=MAX_PROCS).contains(&p) {
            return bad_input(format!("--processes {p}: give 1 to {MAX_PROCS}"));
        }
        spec.bounds.processes = p;
    }
    if let Some(v) = a.vmas {
        if !(1..=MAX_VMAS).contains(&v) {
            return bad_input(format!("--vmas {v}: give 1 to {MAX_VMAS}"));
        }
        spec.bounds.vmas = v;
    }
    if let Some(d) = a.depth {
        spec.bounds.depth = (d > 0).then_some(d);
    }
    if !a.sysfs.is_empty() {
        let mut modes = Vec::new();
        for m in &a.sysfs {
            match Sysfs::from_name(m) {
                Some(s) if !modes.contains(&s) => modes.push(s),
                Some(_) => {}
                None => {
                    return bad_input(format!("--sysfs {m}: give never, madvise or always (comma-separated)"))
                }
            }
        }
        spec.bounds.sysfs = modes;
    }
    let timeout = match a.timeout {
        Some(t) if !(t > 0.0 && t.is_finite()) => {
            return bad_input(format!("--timeout {t}: give a positive number of seconds"))
        }
        t => t.map(Duration::from_secs_f64),
    };
    if a.threads == Some(0) {
        return bad_input("--threads 0: give at least 1");
    }
    let threads = a.threads.unwrap_or_else(RunConfig::default_threads);

    let sys = spec.system();
    if a.alphabet {
        for c in &sys.alphabet {
            println!("{c}");
        }
    }
    let symmetry = if a.no_symmetry { Symmetry::NONE } else { sys.symmetry };
    let mut opt = Options::new(threads, symmetry);
    opt.interrupt = interrupt;
    opt.limits = Limits {
        timeout,
        max_memory: a.max_memory.map(|m| m << 20).or_else(|| mem_total_bytes().map(|t| t / 4 * 3)),
        ..Limits::default()
    };
    let cpu_before = cpu_seconds();
    let x = engine::explore(&sys, &opt);
    let cpu = cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let peak = peak_rss_bytes();

    if let Some(path) = &a.dump_states {
        let (procs, vmas) = (spec.bounds.processes, spec.bounds.vmas);
        let written = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            for k in x.keys() {
                writeln!(w, "{}", dump_line(&unpack(&k), procs, vmas))?;
            }
            w.flush()
        });
        if let Err(e) = written {
            return bad_input(format!("{}: {e}", path.display()));
        }
    }

    let (procs, vmas) = (spec.bounds.processes, spec.bounds.vmas);
    let unreduced = a.unreduced.then(|| mmflags_checker::engine::orbits::unreduced(&x, procs, vmas));
    let sysfs: Vec<&str> = spec.bounds.sysfs.iter().map(|m| m.name()).collect();
    let phases = x.phases;
    let level_sizes: Vec<usize> =
        x.levels.iter().zip(x.levels.iter().skip(1).chain([&x.unique()])).map(|(a, b)| b - a).collect();
    let o = SpecOutcome::from_exploration(spec, &sys, x, threads);
    let secs = o.elapsed.as_secs_f64();
    let total_rate = if secs > 0.0 { o.generated as f64 / secs } else { 0.0 };
    if a.json {
        let v = json!({
            "tool": "mmflags",
            "version": env!("CARGO_PKG_VERSION"),
            "spec": o.spec.name,
            "processes": procs,
            "vmas": vmas,
            "sysfs": sysfs,
            "depth_bound": o.spec.bounds.depth,
            "symmetry": { "processes": o.symmetry.procs, "vmas": o.symmetry.vmas },
            "threads": threads,
            "alphabet_per_process": sys.alphabet.len(),
            "complete": o.complete,
            "stopped": o.stopped.map(|s| s.to_string()),
            "unique_states": o.unique,
            "total_states": o.generated,
            "max_depth": o.max_depth,
            "seconds": secs,
            "cpu_seconds": cpu,
            "states_per_second": o.states_per_second(),
            "total_states_per_second": total_rate,
            "peak_memory_bytes": peak,
            "bytes_per_state": (o.held_bytes_per_state * 10.0).round() / 10.0,
            "bytes_per_state_bound": o.bytes_per_state,
            "unreduced_states": unreduced.map(|n| n.to_string()),
            "level_sizes": level_sizes,
            "phase_seconds": {
                "expand": phases.expand.as_secs_f64(),
                "merge": phases.merge.as_secs_f64(),
                "properties": phases.properties.as_secs_f64(),
            },
            "verdicts": o.properties.iter().map(|p| json!({
                "name": p.def.name(),
                "verdict": p.verdict.word(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
    } else {
        let how = match o.stopped {
            None => "complete".to_string(),
            Some(s) => format!("INCONCLUSIVE ({s})"),
        };
        println!(
            "{} {procs}x{vmas} sysfs={} symmetry={} threads={threads}: {} unique states, {} total, depth {}, {secs:.3}s, {:.0} unique states/s, peak {} MiB — {how}",
            o.spec.name,
            sysfs.join(","),
            if o.symmetry.any() { "on" } else { "off" },
            o.unique,
            o.generated,
            o.max_depth,
            o.states_per_second(),
            peak.map_or("?".to_string(), |b| (b >> 20).to_string()),
        );
        if let Some(cpu) = cpu {
            println!(
                "  cpu: {cpu:.3}s user+sys on {threads} thread(s), {:.0} unique states per CPU second",
                o.unique as f64 / cpu.max(1e-9)
            );
        }
        println!("  states per depth: {level_sizes:?}");
        println!(
            "  memory: {:.1} bytes held per stored state (at most {:.1} past the first table)",
            o.held_bytes_per_state, o.bytes_per_state
        );
        if let Some(n) = unreduced {
            println!("  without symmetry the same bounds have {n} states (the representatives' orbits)");
        }
        println!(
            "  phases: expand {:.3}s, merge {:.3}s, properties {:.3}s",
            phases.expand.as_secs_f64(),
            phases.merge.as_secs_f64(),
            phases.properties.as_secs_f64()
        );
    }
    if o.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmflags_model::state::{Process, Vma};

    /// The counts SPIN's twin (bench/linux-6.18-thp.pml) agrees with, state
    /// set for state set (bench/run --sets). If a change to the model's
    /// semantics moves them, the twin must change with it; an engine change
    /// must not move them at all.
    #[test]
    fn counts_the_spin_twin_agrees_with() {
        let spec = spec::load(&spec::resolve("linux-6.18-thp").unwrap()).unwrap();
        for (procs, vmas, unique, total) in [(1, 1, 109, 1_620), (1, 2, 361, 7_164), (2, 1, 11_881, 353_376)]
        {
            let mut s = spec.clone();
            s.bounds.processes = procs;
            s.bounds.vmas = vmas;
            let sys = s.system();
            let x = engine::explore(&sys, &Options::new(2, Symmetry::NONE));
            assert!(x.complete);
            assert_eq!(
                (x.unique(), x.generated),
                (unique, total),
                "linux-6.18-thp at {procs}x{vmas} without symmetry: update bench/linux-6.18-thp.pml \
                 and bench/README.md if the model's semantics changed"
            );
        }
    }

    #[test]
    fn dump_line_uses_the_twin_codes() {
        let mut s = State::init(Sysfs::Madvise);
        let mut p = Process::INIT;
        p.cred = Cred::SetuidRoot;
        p.mm.flags = MmfFlags::MMF_DUMPABLE | MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED;
        p.mm.vmas[1] = Vma::mapped(VmFlags::VM_NOHUGEPAGE);
        s.procs[1] = Some(p);
        assert_eq!(dump_line(&s, 2, 2), "sysfs=1|1,0,0,0,0,0,0:0,0:0|1,2,0,0,0,4,0:0,1:2");
    }
}
