//! The kernel specs and the kernels they claim: every series the project
//! checks (kernels.toml) is claimed by exactly one spec, a claim is not
//! inherited through `extends`, and the version knobs read as written.

use mmflags_checker::spec::{self, Spec};
use mmflags_model::action::ThpDisableFlags;
use mmflags_model::syscalls::PmadvCheck;
use std::path::{Path, PathBuf};

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

fn all() -> Vec<Spec> {
    spec::spec_names(&specs_dir())
        .iter()
        .map(|n| spec::load(&specs_dir().join(format!("{n}.toml"))).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_listed_series_is_claimed_by_exactly_one_spec() {
    let specs = all();
    for k in mmflags_guest::kernels::all() {
        let who: Vec<&str> =
            specs.iter().filter(|s| s.kernels.contains(&k.series)).map(|s| s.name.as_str()).collect();
        assert_eq!(who.len(), 1, "series {} is claimed by {who:?}", k.series);
    }
    for s in &specs {
        for series in &s.kernels {
            assert!(
                mmflags_guest::kernels::by_series(series).is_ok(),
                "{} claims {series}, which kernels.toml does not list",
                s.name
            );
        }
    }
}

#[test]
fn a_claim_is_not_inherited() {
    let specs = all();
    let get = |n: &str| specs.iter().find(|s| s.name == n).unwrap();
    assert_eq!(get("linux-6.12").extends.as_deref(), Some("linux-6.18"));
    assert_eq!(get("linux-6.12").kernels, ["6.12"]);
    assert_eq!(get("linux-6.1").kernels, ["6.1"]);
    // linux-7.0 claims what its own file says (a list that grows with each
    // series that behaves like 7.0: not pinned here), none of its base's.
    let own: toml::Value =
        toml::from_str(&std::fs::read_to_string(specs_dir().join("linux-7.0.toml")).unwrap()).unwrap();
    let written: Vec<&str> =
        own["spec"]["kernels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(get("linux-7.0").kernels, written);
    assert!(written.starts_with(&["7.0"]), "{written:?}");
    assert!(!get("linux-7.0").kernels.iter().any(|k| get("linux-6.18").kernels.contains(k)));
    assert!(get("linux-6.18-thp").kernels.is_empty(), "a restriction of linux-6.18 claims no kernel");
    // Kernel specs are named after the version that introduced their
    // semantics; every other spec built on linux-6.18 is a proposal.
    for s in specs.iter().filter(|s| {
        s.extends.as_deref() == Some("linux-6.18")
            && !s.name.starts_with("linux-6.1")
            && !s.name.starts_with("linux-7")
    }) {
        assert!(s.kernels.is_empty(), "{} models no kernel but claims {:?}", s.name, s.kernels);
    }
}

#[test]
fn the_version_knobs_read_as_written() {
    let specs = all();
    let get = |n: &str| &specs.iter().find(|s| s.name == n).unwrap().semantics;
    let (v1, v12, v18) = (get("linux-6.1"), get("linux-6.12"), get("linux-6.18"));
    assert_eq!(v18.thp_disable_flags, ThpDisableFlags::PR_THP_DISABLE_EXCEPT_ADVISED);
    assert_eq!(v12.thp_disable_flags, ThpDisableFlags(0));
    assert_eq!(v1.thp_disable_flags, ThpDisableFlags(0), "inherited from linux-6.12");
    assert_eq!(v18.pmadv_checks, PmadvCheck::MAINLINE);
    assert_eq!(v12.pmadv_checks[3], PmadvCheck::Advice);
    assert_eq!(v12.pmadv_checks[5], PmadvCheck::RemoteCapSysNice);
    assert_eq!(v1.pmadv_checks[5], PmadvCheck::CapSysNice);
    assert!(!v1.smaps_vm_flags.contains(mmflags_model::flags::VmFlags::VM_LOCKONFAULT));
    assert!(v12.smaps_vm_flags.contains(mmflags_model::flags::VmFlags::VM_LOCKONFAULT));
}
