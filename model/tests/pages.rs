//! Pages on mainline, as observed on this project's 6.18 host (sysfs
//! `madvise`): every written result must be the model's.

use mmflags_model::properties::CATALOGUE;
use mmflags_model::property::Prop;
use mmflags_model::state::Sysfs;
use mmflags_model::{alphabet, replay, Bounds, Semantics, System, Trace};

fn system() -> System {
    let sem = Semantics::mainline();
    let bounds = Bounds { processes: 4, vmas: 4, sysfs: vec![Sysfs::Madvise], depth: None };
    let calls = alphabet::candidates(&sem, 4, 4);
    System::new(sem, bounds, calls, CATALOGUE.iter().map(Prop::Catalogue).collect())
}

fn holds(text: &str) {
    let sys = system();
    let t = Trace::parse(text).unwrap();
    let (_, _, err) = replay::replay(&sys, &t, Sysfs::Madvise);
    assert!(err.is_none(), "{err:?}\n{text}");
}

#[test]
fn a_fault_takes_a_huge_page_only_where_eligible() {
    holds(
        "P0 mmap() = v0\nP0 touch(v0) = 0\nP0 pages(v0) = small\n\
         P0 mmap() = v1\nP0 madvise(v1, MADV_HUGEPAGE) = 0\nP0 pages(v1) = none\nP0 touch(v1) = 0\nP0 pages(v1) = huge\n\
         P0 touch(v2) = -EFAULT\nP0 pages(v2) = unmapped\n",
    );
}

#[test]
fn collapse_ignores_the_mode_but_not_the_opt_outs() {
    holds(
        "P0 mmap() = v0\nP0 madvise(v0, MADV_COLLAPSE) = -EINVAL\nP0 touch(v0) = 0\n\
         P0 madvise(v0, MADV_COLLAPSE) = 0\nP0 pages(v0) = huge\nP0 madvise(v0, MADV_COLLAPSE) = 0\n\
         P0 mmap() = v1\nP0 madvise(v1, MADV_NOHUGEPAGE) = 0\nP0 touch(v1) = 0\nP0 madvise(v1, MADV_COLLAPSE) = -EINVAL\n\
         P0 mmap() = v2\nP0 touch(v2) = 0\nP0 prctl(PR_SET_THP_DISABLE, 1, 0) = 0\nP0 madvise(v2, MADV_COLLAPSE) = -EINVAL\n\
         P0 prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED) = 0\nP0 madvise(v2, MADV_COLLAPSE) = 0\n\
         P0 pages(v2) = huge\nP0 pages(v1) = small\n",
    );
}

#[test]
fn the_first_writer_of_a_shared_huge_page_gets_small_copies() {
    holds(
        "P0 mmap() = v0\nP0 madvise(v0, MADV_HUGEPAGE) = 0\nP0 touch(v0) = 0\nP0 fork() = P1\n\
         P1 pages(v0) = huge\nP1 touch(v0) = 0\nP1 pages(v0) = small\nP0 pages(v0) = huge\nP0 touch(v0) = 0\nP0 pages(v0) = huge\n",
    );
    // Three sharers: the last one left keeps the huge page.
    holds(
        "P0 mmap() = v0\nP0 madvise(v0, MADV_HUGEPAGE) = 0\nP0 touch(v0) = 0\nP0 fork() = P1\nP0 fork() = P2\n\
         P1 touch(v0) = 0\nP1 pages(v0) = small\nP0 touch(v0) = 0\nP0 pages(v0) = small\n\
         P2 touch(v0) = 0\nP2 pages(v0) = huge\n",
    );
}

#[test]
fn fork_shared_small_pages_still_collapse() {
    holds(
        "P0 mmap() = v0\nP0 touch(v0) = 0\nP0 fork() = P1\nP1 madvise(v0, MADV_COLLAPSE) = 0\nP1 pages(v0) = huge\n\
         P0 madvise(v0, MADV_COLLAPSE) = 0\nP0 pages(v0) = huge\n",
    );
}

#[test]
fn zap_mlock_and_wipeonfork() {
    holds(
        "P0 mmap() = v0\nP0 madvise(v0, MADV_HUGEPAGE) = 0\nP0 touch(v0) = 0\nP0 madvise(v0, MADV_DONTNEED) = 0\nP0 pages(v0) = none\n\
         P0 mlockall(MCL_CURRENT) = 0\nP0 pages(v0) = huge\nP0 munlockall() = 0\n\
         P0 mlockall(MCL_CURRENT|MCL_FUTURE) = 0\nP0 mmap() = v1\nP0 pages(v1) = small\nP0 munlockall() = 0\n\
         P0 mmap() = v2\nP0 touch(v2) = 0\nP0 madvise(v2, MADV_WIPEONFORK) = 0\nP0 fork() = P1\nP1 pages(v2) = none\n\
         P0 madvise(v2, MADV_COLLAPSE) = 0\nP0 pages(v2) = huge\n",
    );
}

#[test]
fn the_trace_language_writes_pages_and_khugepaged() {
    let t =
        Trace::parse("P0 mmap() = v0\nP0 touch(v0) = 0\nkhugepaged() = 0\nP0 pages(v0) = small\n").unwrap();
    assert_eq!(t.to_string(), "P0 mmap() = v0\nP0 touch(v0) = 0\nkhugepaged() = 0\nP0 pages(v0) = small\n");
    let e = Trace::parse("P0 touch(hole)\n").unwrap_err();
    assert_eq!((e.line, e.col), (1, 10), "{e}");
    assert!(e.msg.contains("`hole` is never mapped"), "{e}");
    let e = Trace::parse("P0 khugepaged()\n").unwrap_err();
    assert_eq!((e.line, e.col), (1, 4), "{e}");
    assert!(e.msg.contains("without a process"), "{e}");
}
