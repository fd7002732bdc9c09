//! Booting a guest: `qemu-system-x86_64` with the kernel and initramfs,
//! the console on one serial port (kept in a file, relayed line by line)
//! and the job's output on the other. A guest that does not boot, panics,
//! or hangs is killed at its timeout and reported as a failure, never as
//! a result. KVM is used only where a bounded probe booted a guest with it
//! (on some hosts `/dev/kvm` exists and a KVM guest hangs); else TCG.

use crate::cache;
use crate::initramfs::{Initramfs, BOOTED, EXIT};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const QEMU: &str = "qemu-system-x86_64";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// One boot.
pub struct Boot<'a> {
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    pub accel: Accel,
    pub memory_mib: u32,
    pub cpus: u32,
    /// Until `BOOTED` is on the console.
    pub boot_timeout: Duration,
    /// Until the guest has powered off.
    pub timeout: Duration,
    /// The console is kept here (whatever the outcome).
    pub console: PathBuf,
    /// The job's stdout (the second serial port) lands here.
    pub output: PathBuf,
}

/// What a boot came to.
#[derive(Debug)]
pub struct Outcome {
    /// The job's exit status, when it ran to the end.
    pub exit: Option<i32>,
    /// Why there is no exit status (did not boot, panicked, hung, ...).
    pub failure: Option<String>,
    /// From qemu's start to `BOOTED`.
    pub boot: Option<Duration>,
    pub elapsed: Duration,
    /// What the job printed on its stdout.
    pub output: Vec<u8>,
}

/// Fails with the Debian package to install when qemu is missing.
pub fn require_qemu() -> Result<(), String> {
    match Command::new(QEMU).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{QEMU} is not installed: install Debian's `qemu-system-x86` (apt-get install qemu-system-x86)"
        )),
    }
}

/// The kernel command line; `MMFLAGS_GUEST_APPEND` adds to it.
fn append() -> String {
    let extra = std::env::var("MMFLAGS_GUEST_APPEND").unwrap_or_default();
    format!("console=ttyS0 panic=-1 quiet loglevel=3 {extra}").trim().to_string()
}

fn spawn(b: &Boot) -> Result<Child, String> {
    let accel = match b.accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg,thread=multi",
    };
    let mut c = Command::new(QEMU);
    c.args(["-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none"])
        .args(["-accel", accel])
        .args(["-m", &b.memory_mib.to_string(), "-smp", &b.cpus.to_string()])
        .arg("-kernel")
        .arg(b.kernel)
        .arg("-initrd")
        .arg(b.initrd)
        // panic=-1: a panic reboots at once, and -no-reboot turns that into qemu's exit.
        .args(["-append", &append()])
        .arg("-serial")
        .arg(format!("file:{}", b.console.display()))
        .arg("-serial")
        .arg(format!("file:{}", b.output.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if b.accel == Accel::Kvm {
        c.args(["-cpu", "host"]);
    }
    // SAFETY: prctl is async-signal-safe and touches only the child. The
    // guest dies with the process that booted it, however that one ends
    // (a matrix killed outright takes its jobs' output pipes with it).
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c.spawn().map_err(|e| format!("starting {QEMU}: {e}"))
}

/// Boots `b`, calling `line` with each console line as it appears.
pub fn run(b: &Boot, stop: &AtomicBool, line: &mut dyn FnMut(&str)) -> Result<Outcome, String> {
    for p in [&b.console, &b.output] {
        std::fs::write(p, b"").map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let start = Instant::now();
    let mut child = spawn(b)?;
    let mut seen = 0u64;
    let mut partial = String::new();
    let mut boot = None;
    let mut exit = None;
    let mut failure = None;
    let mut panicked = false;
    let mut exit_at: Option<Instant> = None;
    loop {
        let status = child.try_wait().map_err(|e| e.to_string())?;
        // New console text, line by line.
        if let Ok(mut f) = std::fs::File::open(&b.console) {
            if f.seek(SeekFrom::Start(seen)).is_ok() {
                let mut buf = Vec::new();
                let _ = f.read_to_end(&mut buf);
                seen += buf.len() as u64;
                partial.push_str(&String::from_utf8_lossy(&buf));
                while let Some(i) = partial.find('\n') {
                    let l: String = partial.drain(..=i).collect();
                    let l = l.trim_end_matches(['\n', '\r']);
                    if boot.is_none() && l.contains(BOOTED) {
                        boot = Some(start.elapsed());
                    }
                    if let Some(code) = l.split(EXIT).nth(1) {
                        exit = code.trim().parse().ok();
                    }
                    if l.contains("Kernel panic") {
                        panicked = true;
                    }
                    line(l);
                }
            }
        }
        if let Some(st) = status {
            if exit.is_none() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                failure = Some(if panicked {
                    "the guest kernel panicked".to_string()
                } else if boot.is_none() {
                    format!("the guest stopped before it booted ({QEMU} {st}: {})", err.trim())
                } else {
                    format!("the guest stopped before the job finished ({QEMU} {st})")
                });
            }
            break;
        }
        if exit.is_some() && exit_at.is_none() {
            exit_at = Some(Instant::now());
        }
        let limit = if boot.is_none() { b.boot_timeout } else { b.timeout };
        // After the job's exit line the guest only has to power off.
        let lingering = exit_at.is_some_and(|t| t.elapsed() > Duration::from_secs(15));
        if stop.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            failure = Some("interrupted: the guest was killed".into());
            break;
        }
        if start.elapsed() > limit || lingering {
            let _ = child.kill();
            let _ = child.wait();
            if exit.is_none() {
                failure = Some(if boot.is_none() {
                    format!("the guest did not boot within {} s: killed", b.boot_timeout.as_secs())
                } else {
                    format!("the guest did not finish within {} s: killed", b.timeout.as_secs())
                });
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = std::fs::read(&b.output).map_err(|e| format!("{}: {e}", b.output.display()))?;
    Ok(Outcome { exit, failure, boot, elapsed: start.elapsed(), output })
}

/// KVM if `/dev/kvm` is usable and a guest booted with it within a few
/// seconds (probed once per host kernel and qemu, remembered in the cache);
/// TCG otherwise. `MMFLAGS_ACCEL=tcg|kvm` overrides the probe.
pub fn choose_accel(kernel: &Path) -> Result<Accel, String> {
    match std::env::var("MMFLAGS_ACCEL").as_deref() {
        Ok("tcg") => return Ok(Accel::Tcg),
        Ok("kvm") => return Ok(Accel::Kvm),
        Ok(other) if !other.is_empty() => return Err(format!("MMFLAGS_ACCEL={other}: say tcg or kvm")),
        _ => {}
    }
    let usable = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
    if !usable {
        return Ok(Accel::Tcg);
    }
    // One probe at a time: jobs started together share its files and result.
    let _turn = cache::lock("kvm-probe.lock")?;
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let qemu = Command::new(QEMU).arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    let key = format!("{}|{}", host.trim(), String::from_utf8_lossy(&qemu).lines().next().unwrap_or(""));
    let dir = cache::sub("kvm-probe")?;
    let memo = dir.join("result");
    if let Ok(text) = std::fs::read_to_string(&memo) {
        if let Some((k, v)) = text.rsplit_once('\n') {
            if k == key {
                return Ok(if v == "kvm" { Accel::Kvm } else { Accel::Tcg });
            }
        }
    }
    let mut probe = Initramfs::default();
    probe.busybox()?;
    probe.init(&["true".to_string()]);
    let initrd = dir.join("probe.cpio");
    probe.write(&initrd)?;
    let b = Boot {
        kernel,
        initrd: &initrd,
        accel: Accel::Kvm,
        memory_mib: 256,
        cpus: 1,
        boot_timeout: Duration::from_secs(15),
        timeout: Duration::from_secs(20),
        console: dir.join("console"),
        output: dir.join("output"),
    };
    let works = run(&b, &AtomicBool::new(false), &mut |_| {}).map(|o| o.exit == Some(0)).unwrap_or(false);
    let accel = if works { Accel::Kvm } else { Accel::Tcg };
    std::fs::write(&memo, format!("{key}\n{}", accel.name()))
        .map_err(|e| format!("{}: {e}", memo.display()))?;
    Ok(accel)
}
