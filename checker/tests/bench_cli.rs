//! `check bench` reports the work a run did, not only how long it took:
//! wall clock alone cannot tell a slower engine from a slower machine.

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["bench", "linux-6.18-thp", "--processes", "2", "--vmas", "2", "--no-symmetry"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn bench_reports_cpu_seconds_of_the_search() {
    let v: serde_json::Value = serde_json::from_slice(&bench(&["--json", "--threads", "1"]).stdout).unwrap();
    assert_eq!(v["unique_states"], 130_321, "the twin's count at 2x2 without symmetry");
    let cpu = v["cpu_seconds"].as_f64().expect("cpu_seconds is a number");
    let wall = v["seconds"].as_f64().unwrap();
    assert!(cpu > 0.0, "130,321 states took no CPU time: {cpu}");
    // One search thread: its CPU time cannot much exceed the wall clock
    // of the search (a tenth of a second of slack for timer granularity).
    assert!(cpu <= wall + 0.1, "cpu {cpu} s against wall {wall} s on one thread");

    let text = String::from_utf8(bench(&["--threads", "1"]).stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("  cpu: ") && l.contains("user+sys on 1 thread(s)")),
        "no cpu line in:\n{text}"
    );
}
