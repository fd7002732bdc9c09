//! The alphabet: which calls (with which arguments) exploration tries in
//! every state, for every live process. A spec narrows it with `[actions]`
//! include/exclude patterns. The candidate list is closed under renaming of
//! process and VMA slots where it can be, because symmetry reduction is only
//! sound for an alphabet that renaming maps onto itself (`symmetric_*`).

use crate::action::*;
use crate::semantics::Semantics;
use std::collections::HashSet;

/// The advice exploration tries with `madvise`: every flag-changing one, and
/// MADV_COLD for the LRU family (flag-neutral, refused on VM_LOCKED).
pub const MADVISE_ADVICE: [Advice; 7] = [
    Advice::Hugepage,
    Advice::Nohugepage,
    Advice::Dontfork,
    Advice::Dofork,
    Advice::Wipeonfork,
    Advice::Keeponfork,
    Advice::Cold,
];

/// An advice number no kernel knows, for the -EINVAL path.
pub const UNKNOWN_ADVICE: Advice = Advice::Other(12345);
/// A process_madvise flag bit no kernel or proposal defines.
pub const UNDEFINED_PMADV_FLAG: PmadvFlags = PmadvFlags(0x8000_0000);

fn one(i: Item) -> Range {
    Range::One(i)
}

fn list(items: &[Range]) -> Iovec {
    Iovec::List(IovList::new(items).expect("1..=MAX_IOV entries"))
}

/// The prctl numbers the THP proposals posted (78, 79), with the arg2 each
/// posted: what kernels answer differently since mainline gave the numbers
/// to PR_FUTEX_HASH (6.16) and PR_RSEQ_SLICE_EXTENSION (7.0). Not in any
/// spec's alphabet (a proposal has them under its own names); `check diff`
/// adds them.
pub fn prctl_probes() -> Vec<Call> {
    let mut v: Vec<Call> = (0..3).map(|a2| Call::PrctlRaw(PR_SET_THP_PROPOSED, a2)).collect();
    v.push(Call::PrctlRaw(PR_GET_THP_PROPOSED, 0));
    v
}

/// Every call exploration may try at these bounds, before `[actions]`.
pub fn candidates(sem: &Semantics, procs: usize, vmas: usize) -> Vec<Call> {
    let slots: Vec<Item> = (0..vmas as u8).map(Item::Vma).collect();
    let mut ranges: Vec<Range> = slots.iter().map(|&s| one(s)).collect();
    ranges.push(one(Item::Hole));
    for a in 0..vmas as u8 {
        for b in a + 1..vmas as u8 {
            ranges.push(Range::Run(a, b));
        }
    }

    let mut c = vec![Call::Mmap];
    c.extend(slots.iter().map(|&s| Call::Munmap(one(s))));
    for &r in &ranges {
        c.extend(MADVISE_ADVICE.iter().map(|&a| Call::Madvise(r, a)));
    }
    c.push(Call::Madvise(one(Item::Hole), UNKNOWN_ADVICE));
    // Pages: a write of each slot, a collapse of each range (a run meets
    // a hole), a zap of each slot, and khugepaged's scan.
    c.extend(slots.iter().map(|&s| Call::Touch(s)));
    c.extend(ranges.iter().map(|&r| Call::Madvise(r, Advice::Collapse)));
    c.extend(slots.iter().map(|&s| Call::Madvise(one(s), Advice::Dontneed)));
    c.push(Call::Khugepaged);

    // process_madvise on itself: single entries, and the two shapes of
    // vector_madvise's partial progress (stop at a hole after a success,
    // fail on a hole first).
    let mut lists: Vec<Iovec> = ranges[..=vmas].iter().map(|&r| list(&[r])).collect();
    for &a in &slots {
        lists.push(list(&[one(Item::Hole), one(a)]));
        for &b in &slots {
            if a != b {
                lists.push(list(&[one(a), one(Item::Hole), one(b)]));
            }
        }
    }
    for &iov in &lists {
        for advice in [Advice::Hugepage, Advice::Nohugepage] {
            c.push(Call::ProcessMadvise { target: Target::SelfProc, iov, advice, flags: PmadvFlags(0) });
        }
    }
    // An advice allowed on any mm, on itself: where a kernel asks
    // CAP_SYS_NICE even of a process advising itself (6.1), this is the
    // call that shows it.
    for &r in &ranges[..=vmas] {
        c.push(Call::ProcessMadvise {
            target: Target::SelfProc,
            iov: list(&[r]),
            advice: Advice::Cold,
            flags: PmadvFlags(0),
        });
    }
    // On another process: a THP advice (never allowed remotely) and an
    // allowed one, so every step of the permission order can be reached,
    // and a collapse (allowed remotely, and it changes pages).
    for t in 0..procs as u8 {
        for &s in &slots {
            for advice in [Advice::Hugepage, Advice::Cold, Advice::Collapse] {
                c.push(Call::ProcessMadvise {
                    target: Target::Pid(t),
                    iov: list(&[one(s)]),
                    advice,
                    flags: PmadvFlags(0),
                });
            }
        }
    }
    c.push(Call::ProcessMadvise {
        target: Target::SelfProc,
        iov: list(&[one(Item::Hole)]),
        advice: Advice::Hugepage,
        flags: UNDEFINED_PMADV_FLAG,
    });

    c.extend(proposal_process_madvise(sem, procs, &slots));

    let except = ThpDisableFlags::PR_THP_DISABLE_EXCEPT_ADVISED;
    for (a2, fl) in [(1, 0), (1, except.0), (0, 0), (0, except.0), (1, 1)] {
        c.push(Call::PrctlSetThpDisable(a2, ThpDisableFlags(fl)));
    }
    c.push(Call::PrctlSetNoNewPrivs(1));
    let (cur, fut, onf) = (MclFlags::MCL_CURRENT, MclFlags::MCL_FUTURE, MclFlags::MCL_ONFAULT);
    for fl in [cur, fut, cur | fut, fut | onf, cur | onf, onf] {
        c.push(Call::Mlockall(fl));
    }
    c.push(Call::Munlockall);
    c.push(Call::Fork);
    c.push(Call::Vfork);
    c.push(Call::Clone(CloneFlags::CLONE_VM));
    c.push(Call::Clone(CloneFlags::THREAD));
    c.push(Call::Execve(crate::state::Image::Plain));
    c.push(Call::Execve(crate::state::Image::SetuidRoot));
    c.push(Call::Setresuid);
    c.push(Call::Exit);
    c.extend(sem.variant.extra_calls(vmas, procs));
    c.extend(policy_calls(&slots));
    c
}

/// KSM merge-any and MDWE: their prctls (on, off; MDWE with and without
/// NO_INHERIT, and 0, which a set MDWE refuses), the KSM advice on each
/// slot, a mapping and a protection MDWE refuses and one it allows.
fn policy_calls(slots: &[Item]) -> Vec<Call> {
    let (r, w, x) = (Prot::PROT_READ, Prot::PROT_WRITE, Prot::PROT_EXEC);
    let refuse = MdweBits::PR_MDWE_REFUSE_EXEC_GAIN;
    let mut c = vec![
        Call::PrctlSetMemoryMerge(1),
        Call::PrctlSetMemoryMerge(0),
        Call::PrctlSetMdwe(refuse),
        Call::PrctlSetMdwe(refuse | MdweBits::PR_MDWE_NO_INHERIT),
        Call::PrctlSetMdwe(MdweBits(0)),
        Call::MmapProt(r | w | x),
        Call::MmapProt(r | x),
    ];
    for &s in slots {
        c.push(Call::Madvise(Range::One(s), Advice::Mergeable));
        c.push(Call::Madvise(Range::One(s), Advice::Unmergeable));
        c.push(Call::Mprotect(s, r | x));
        c.push(Call::Mprotect(s, r | w));
    }
    c
}

/// The `process_madvise` calls a spec's flags make possible: each way to
/// set a default (on one slot, after a failing hole, over the whole address
/// space), the error-handling flags on their own, and the -EINVAL/-EPERM
/// paths (wrong advice, a list with ENTIRE_ADDRESS_SPACE, a remote target).
fn proposal_process_madvise(sem: &Semantics, procs: usize, slots: &[Item]) -> Vec<Call> {
    let defined = sem.pmadv_flags;
    if defined.0 == 0 {
        return Vec::new();
    }
    let has = |f: PmadvFlags| defined.contains(f);
    let pm = |target, iov, advice, flags| Call::ProcessMadvise { target, iov, advice, flags };
    let me = Target::SelfProc;
    let (skip, no_err, entire) = (
        PmadvFlags::PMADV_SKIP_ERRORS,
        PmadvFlags::PMADV_NO_ERROR_ON_UNMAPPED,
        PmadvFlags::PMADV_ENTIRE_ADDRESS_SPACE,
    );
    // The ways to ask for a default: the one allowed combination, or each
    // flag alone and all together.
    let dflags = sem.pmadv_default_flags;
    let mut sets: Vec<PmadvFlags> = Vec::new();
    if sem.pmadv_default_exact.0 != 0 {
        sets.push(sem.pmadv_default_exact);
    } else if dflags.0 != 0 {
        sets.extend(PmadvFlags::NAMES.iter().map(|(f, _)| *f).filter(|f| dflags.contains(*f)));
        if sets.len() > 1 {
            sets.push(dflags);
        }
    }
    let mut c = Vec::new();
    for &d in &sets {
        for advice in [Advice::Hugepage, Advice::Nohugepage] {
            for &s in slots {
                c.push(pm(me, list(&[one(s)]), advice, d));
                c.push(pm(me, list(&[one(Item::Hole), one(s)]), advice, d));
            }
            if has(entire) && has(skip) {
                c.push(pm(me, Iovec::Null, advice, d | entire | skip));
            }
        }
    }
    if let Some(&d) = sets.first() {
        // A default from the wrong advice, a partial combination, a remote target.
        c.push(pm(me, list(&[one(Item::Hole)]), Advice::Cold, d));
        if sem.pmadv_default_exact.0 != 0 {
            let partial = PmadvFlags::NAMES.iter().map(|(f, _)| *f).find(|f| d.contains(*f));
            if let Some(f) = partial {
                c.push(pm(me, list(&[one(Item::Hole)]), Advice::Hugepage, PmadvFlags(d.0 & !f.0)));
            }
        }
        for t in 0..procs as u8 {
            for &s in slots {
                c.push(pm(Target::Pid(t), list(&[one(s)]), Advice::Hugepage, d));
            }
        }
    }
    for (flag, ok) in [(skip, has(skip)), (no_err, has(no_err))] {
        if ok {
            for &s in slots {
                c.push(pm(me, list(&[one(Item::Hole), one(s)]), Advice::Hugepage, flag));
                c.push(pm(me, list(&[one(s)]), Advice::Cold, flag));
            }
        }
    }
    if has(entire) {
        for advice in [Advice::Hugepage, Advice::Nohugepage] {
            c.push(pm(me, Iovec::Null, advice, entire));
            if has(skip) {
                c.push(pm(me, Iovec::Null, advice, entire | skip));
            }
        }
        c.push(pm(me, list(&[one(Item::Hole)]), Advice::Hugepage, entire));
    }
    c
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A pattern names a call by its name (`madvise`, `prctl(PR_SET_THP_DISABLE)`)
/// or by a glob over its printed form (`madvise(*, MADV_HUGEPAGE)`).
pub fn matches(pattern: &str, call: &Call) -> bool {
    pattern == call.name() || glob(pattern, &call.to_string())
}

/// Keeps the candidates matching some `include` pattern (all, if `include`
/// is empty) and no `exclude` pattern. Returns the patterns that matched no
/// candidate at all, which the spec loader reports as errors.
pub fn select<'p>(cands: &[Call], include: &'p [String], exclude: &'p [String]) -> (Vec<Call>, Vec<&'p str>) {
    let unused: Vec<&str> = include
        .iter()
        .chain(exclude)
        .filter(|p| !cands.iter().any(|c| matches(p, c)))
        .map(|p| p.as_str())
        .collect();
    let kept = cands
        .iter()
        .filter(|c| include.is_empty() || include.iter().any(|p| matches(p, c)))
        .filter(|c| !exclude.iter().any(|p| matches(p, c)))
        .copied()
        .collect();
    (kept, unused)
}

fn permutations(n: usize) -> Vec<Vec<u8>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, (n - 1) as u8);
            out.push(q);
        }
    }
    out
}

fn rename_range(r: Range, perm: &[u8]) -> Option<Range> {
    let slot = |n: u8| perm.get(n as usize).copied();
    match r {
        Range::One(Item::Vma(n)) => Some(Range::One(Item::Vma(slot(n)?))),
        Range::One(Item::Hole) => Some(r),
        Range::Run(a, b) => {
            // A run's effect depends only on the set of slots it covers; it
            // renames onto a run only if that set stays contiguous.
            let mut set: Vec<u8> = (a..=b).map(slot).collect::<Option<_>>()?;
            set.sort_unstable();
            let (lo, hi) = (set[0], set[set.len() - 1]);
            ((hi - lo) as usize + 1 == set.len()).then_some(Range::Run(lo, hi))
        }
    }
}

fn rename_vmas(call: &Call, perm: &[u8]) -> Option<Call> {
    let item = |i: Item| match i {
        Item::Vma(n) => perm.get(n as usize).map(|&m| Item::Vma(m)),
        Item::Hole => Some(i),
    };
    Some(match *call {
        Call::Touch(i) => Call::Touch(item(i)?),
        Call::Pages(i) => Call::Pages(item(i)?),
        Call::Munmap(r) => Call::Munmap(rename_range(r, perm)?),
        Call::Madvise(r, a) => Call::Madvise(rename_range(r, perm)?, a),
        Call::ProcessMadvise { target, iov: Iovec::List(l), advice, flags } => {
            let items: Vec<Range> =
                l.as_slice().iter().map(|&r| rename_range(r, perm)).collect::<Option<_>>()?;
            Call::ProcessMadvise { target, iov: list(&items), advice, flags }
        }
        other => other,
    })
}

fn rename_procs(call: &Call, perm: &[u8]) -> Option<Call> {
    let t = |t: Target| match t {
        Target::Pid(p) => perm.get(p as usize).map(|&q| Target::Pid(q)),
        s => Some(s),
    };
    Some(match *call {
        Call::ProcessMadvise { target, iov, advice, flags } => {
            Call::ProcessMadvise { target: t(target)?, iov, advice, flags }
        }
        Call::Mctl { target, action, flags } => Call::Mctl { target: t(target)?, action, flags },
        other => other,
    })
}

fn closed(alphabet: &[Call], n: usize, rename: fn(&Call, &[u8]) -> Option<Call>) -> bool {
    let set: HashSet<&Call> = alphabet.iter().collect();
    permutations(n).iter().all(|p| alphabet.iter().all(|c| rename(c, p).is_some_and(|r| set.contains(&r))))
}

/// Is the alphabet mapped onto itself by every renaming of the first
/// `vmas` VMA slots? (Partial runs `vN..vM` with 3+ slots break this.)
pub fn symmetric_vmas(alphabet: &[Call], vmas: usize) -> bool {
    closed(alphabet, vmas, rename_vmas)
}

/// May each process rename its own VMA slots on its own? Not where a fork
/// can share a huge page: processes whose slot `v` maps the same huge page
/// are tied by `v` (see `pages::unshare_lone`), and renaming one
/// process's slots alone would cut the tie.
pub fn vmas_independent(alphabet: &[Call]) -> bool {
    !(alphabet.contains(&Call::Fork) && makes_pages(alphabet))
}

/// Does a call of the alphabet read what backs a VMA (a collapse's result
/// and khugepaged's work depend on it; nothing else's does)?
pub fn reads_pages(alphabet: &[Call]) -> bool {
    alphabet.iter().any(|c| {
        matches!(
            c,
            Call::Khugepaged
                | Call::Madvise(_, Advice::Collapse)
                | Call::ProcessMadvise { advice: Advice::Collapse, .. }
        )
    })
}

/// Can a call of the alphabet put pages in a VMA? (A write, a collapse,
/// khugepaged, an mlockall that populates, or one that makes later mmaps
/// populate.) Where none can, every slot stays empty and what only pages
/// read (the sysfs mode, VM_WIPEONFORK, VM_LOCKONFAULT) is read by no
/// transition.
pub fn makes_pages(alphabet: &[Call]) -> bool {
    alphabet.iter().any(|c| match c {
        Call::Touch(_) | Call::Khugepaged => true,
        Call::Madvise(_, Advice::Collapse) => true,
        Call::ProcessMadvise { advice: Advice::Collapse, .. } => true,
        Call::Mlockall(f) => {
            !f.contains(MclFlags::MCL_ONFAULT) && f.intersects(MclFlags::MCL_CURRENT | MclFlags::MCL_FUTURE)
        }
        _ => false,
    })
}

/// ... and by every renaming of the first `procs` process slots?
/// Tasks that share an mm name each other's slots (`Link`), which
/// renaming would have to follow: a spec that can make them is explored
/// without it.
pub fn symmetric_procs(alphabet: &[Call], procs: usize) -> bool {
    !alphabet.iter().any(|c| matches!(c, Call::Vfork | Call::Clone(_)))
        && closed(alphabet, procs, rename_procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        assert!(glob("madvise(*, MADV_HUGEPAGE)", "madvise(v0..v1, MADV_HUGEPAGE)"));
        assert!(!glob("madvise(*, MADV_HUGEPAGE)", "madvise(v0, MADV_NOHUGEPAGE)"));
        assert!(glob("*", ""));
        assert!(glob("fork()", "fork()"));
    }

    #[test]
    fn mainline_candidates_are_symmetric_up_to_two_vmas_only() {
        let sem = Semantics::mainline();
        assert!(symmetric_vmas(&candidates(&sem, 3, 2), 2));
        // Tasks that share an mm name slots: no renaming of processes.
        assert!(!symmetric_procs(&candidates(&sem, 3, 2), 3));
        let own_mm: Vec<Call> = candidates(&sem, 3, 2).into_iter().filter(|c| !c.is_sharing_call()).collect();
        assert!(symmetric_procs(&own_mm, 3));
        // v0..v1 renames to {v0, v2}, which no run covers.
        assert!(!symmetric_vmas(&candidates(&sem, 3, 3), 3));
        let no_runs: Vec<Call> =
            candidates(&sem, 3, 3).into_iter().filter(|c| !c.to_string().contains("..")).collect();
        assert!(symmetric_vmas(&no_runs, 3));
    }

    #[test]
    fn an_include_that_matches_nothing_is_reported() {
        let c = candidates(&Semantics::mainline(), 2, 2);
        let inc = vec!["fork".to_string(), "frok".to_string()];
        let (kept, unused) = select(&c, &inc, &[]);
        assert_eq!(kept, vec![Call::Fork]);
        assert_eq!(unused, vec!["frok"]);
    }
}
