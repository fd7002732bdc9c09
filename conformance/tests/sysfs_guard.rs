//! `--set-sysfs` puts the THP mode and khugepaged's knobs back on every way
//! out that a process can catch: drop (return, panic), `exit()` (what a
//! second Ctrl-C does) and SIGTERM, both guards through the one set of
//! handlers. Run against stand-in files, never the real ones.

use mmflags_conformance::sysfs_guard::{KhugepagedGuard, SysfsGuard};
use mmflags_model::Sysfs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const KNOBS: [(&str, &str); 3] =
    [("pages_to_scan", "1024"), ("alloc_sleep_millisecs", "60000"), ("scan_sleep_millisecs", "10000")];

fn stand_in(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mmflags-guard-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(d.join("khugepaged")).unwrap();
    std::fs::write(d.join("enabled"), "always [madvise] never\n").unwrap();
    for (k, v) in KNOBS {
        std::fs::write(d.join("khugepaged").join(k), format!("{v}\n")).unwrap();
    }
    d
}

fn knobs(dir: &Path) -> Vec<String> {
    KNOBS.iter().map(|(k, _)| std::fs::read_to_string(dir.join("khugepaged").join(k)).unwrap()).collect()
}

/// In the child: change the stand-in's mode to `never` and its knobs, say
/// so, then end as `how` says.
fn child_main(dir: &Path, how: &str) {
    let g = SysfsGuard::new(dir).unwrap();
    assert_eq!(g.original, Sysfs::Madvise);
    g.set(Sysfs::Never).unwrap();
    let k = KhugepagedGuard::new(dir).unwrap();
    for (knob, _) in KNOBS {
        k.set(knob, "0").unwrap();
    }
    // Both stay in scope: a panic drops them, exit() and SIGTERM do not.
    println!("CHANGED");
    // Until the parent has seen the change (or signals us).
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    match how {
        "exit" => std::process::exit(130),
        "panic" => {
            std::panic::set_hook(Box::new(|_| eprintln!("(child: panicking on purpose)")));
            panic!("on purpose")
        }
        // Signalled while waiting: the handler restores and dies. Were it
        // not to, leave without any restore path running.
        _ => {
            std::thread::sleep(std::time::Duration::from_secs(10));
            unsafe { libc::_exit(99) }
        }
    }
}

/// Runs `test` in a child acting out `how`; `signal` is sent once it has
/// changed the mode. Returns the stand-in's content afterwards.
fn run_child(test: &str, how: &str, signal: Option<i32>) -> String {
    let dir = stand_in(how);
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("MMFLAGS_GUARD_CHILD", how)
        .env("MMFLAGS_GUARD_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("CHANGED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child never changed the mode");
    }
    assert_eq!(std::fs::read_to_string(dir.join("enabled")).unwrap(), "never");
    assert_eq!(knobs(&dir), ["0", "0", "0"]);
    // Keep the child's stdin open until it is gone: EOF would end its wait.
    let mut stdin = c.stdin.take().unwrap();
    match signal {
        Some(sig) => unsafe {
            libc::kill(c.id() as i32, sig);
        },
        None => writeln!(stdin, "go").unwrap(),
    }
    let status = c.wait().unwrap();
    drop(stdin);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), signal, "{status:?}");
    let content = std::fs::read_to_string(dir.join("enabled")).unwrap();
    let want: Vec<String> = KNOBS.iter().map(|(_, v)| v.to_string()).collect();
    assert_eq!(knobs(&dir), want, "khugepaged's knobs were not restored ({how})");
    std::fs::remove_dir_all(&dir).unwrap();
    content
}

fn as_child() -> Option<(PathBuf, String)> {
    let how = std::env::var("MMFLAGS_GUARD_CHILD").ok()?;
    Some((std::env::var("MMFLAGS_GUARD_DIR").unwrap().into(), how))
}

#[test]
fn restored_after_exit() {
    if let Some((d, how)) = as_child() {
        return child_main(&d, &how);
    }
    assert_eq!(run_child("restored_after_exit", "exit", None), "madvise");
}

#[test]
fn restored_after_a_panic() {
    if let Some((d, how)) = as_child() {
        return child_main(&d, &how);
    }
    assert_eq!(run_child("restored_after_a_panic", "panic", None), "madvise");
}

#[test]
fn restored_after_sigterm() {
    if let Some((d, how)) = as_child() {
        return child_main(&d, &how);
    }
    assert_eq!(run_child("restored_after_sigterm", "signal", Some(libc::SIGTERM)), "madvise");
}
