//! The trace language's names made concrete for the kernel: where VMA slot
//! `vN` and `hole` live, and the numbers of the calls and constants. The
//! runner, the agent and the C emitter all take them from here, so a trace
//! means the same addresses and arguments wherever it runs.
//!
//! Layout (docs/design.md 3a): slot `vN` is a 4 MiB anonymous region at
//! `BASE + N * 8 MiB`, 2 MiB-aligned, so neighbouring slots always have a
//! 4 MiB gap (no merging); a run `vN..vM` starts at slot N and is
//! `(M - N) * 8 MiB + 4 MiB` long; `hole` is 4 MiB below slot 0, never mapped.

use mmflags_model::action::{Item, Range, REGION_BYTES, SLOT_STRIDE};
use mmflags_model::state::MAX_VMAS;

/// Slot 0's address: far from where the kernel places the program, its
/// libraries, heap and stack (x86-64 puts those near 0x55.. and 0x7f..), and
/// 2 MiB-aligned so each slot has a PMD-sized window.
pub const BASE: u64 = 0x2000_0000_0000;
pub const REGION: u64 = REGION_BYTES as u64;
pub const STRIDE: u64 = SLOT_STRIDE as u64;
/// The never-mapped region `hole` names.
pub const HOLE: u64 = BASE - STRIDE;
/// Everything from `hole` to past the last slot: no mapping may appear in
/// this window except exactly at a slot.
pub const WINDOW: (u64, u64) = (HOLE, BASE + MAX_VMAS as u64 * STRIDE);

/// The unprivileged uid and gid `setresuid(user)` switches to (`nobody`).
pub const USER_UID: u32 = 65534;
pub const USER_GID: u32 = 65534;

pub const PR_SET_NO_NEW_PRIVS: i32 = 38;
pub const PR_SET_THP_DISABLE: i32 = 41;
pub const PR_GET_THP_DISABLE: i32 = 42;
/// MDWE (6.3) and KSM merge-any (6.4); -EINVAL on 6.1.
pub const PR_SET_MDWE: i32 = 65;
pub const PR_GET_MDWE: i32 = 66;
pub const PR_SET_MEMORY_MERGE: i32 = 67;
pub const PR_GET_MEMORY_MERGE: i32 = 68;
/// The prctl options an agent makes: every number the trace language can
/// write (the proposals' 78 and 79 are PR_FUTEX_HASH and an unused option
/// on the kernels that have no such proposal). Anything else is refused.
pub const PRCTL_ALLOWED: [i32; 9] = [
    PR_SET_NO_NEW_PRIVS,
    PR_SET_THP_DISABLE,
    PR_GET_THP_DISABLE,
    PR_SET_MDWE,
    PR_GET_MDWE,
    PR_SET_MEMORY_MERGE,
    PR_GET_MEMORY_MERGE,
    78,
    79,
];
/// mctl() posted no syscall number; the model's own is one no x86-64
/// kernel up to 7.3 has, so a kernel without mctl() answers -ENOSYS.
pub const NR_MCTL: i64 = 1023;

/// The address of slot `n`.
pub fn slot_addr(n: u8) -> u64 {
    BASE + n as u64 * STRIDE
}

/// `(start, len)` of a range argument.
pub fn range(r: Range) -> (u64, u64) {
    match r {
        Range::One(Item::Hole) => (HOLE, REGION),
        Range::One(Item::Vma(n)) => (slot_addr(n), REGION),
        Range::Run(a, _) => (slot_addr(a), r.len_bytes() as u64),
    }
}

/// The slot whose region starts at `addr`, if any.
pub fn slot_at(addr: u64) -> Option<u8> {
    (0..MAX_VMAS as u8).find(|&n| slot_addr(n) == addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_pmd_aligned_and_runs_span_the_gaps() {
        for n in 0..MAX_VMAS as u8 {
            assert_eq!(slot_addr(n) % (2 << 20), 0);
        }
        assert_eq!(range(Range::Run(0, 1)), (BASE, 12 << 20));
        assert_eq!(range(Range::Run(1, 3)), (BASE + STRIDE, 20 << 20));
        assert_eq!(range(Range::One(Item::Hole)).0 + REGION, BASE - (4 << 20));
        assert_eq!(slot_at(BASE + STRIDE), Some(1));
        assert_eq!(slot_at(HOLE), None);
    }

    #[test]
    fn every_prctl_the_language_names_is_allowed_by_its_number() {
        use mmflags_model::action::PRCTL_OPTIONS;
        for (name, n) in PRCTL_OPTIONS {
            assert!(PRCTL_ALLOWED.contains(&(n as i32)), "{name} ({n}) is not in PRCTL_ALLOWED");
        }
        assert_eq!(PR_SET_MDWE as u32, mmflags_model::action::PR_SET_MDWE);
        assert_eq!(PR_GET_MDWE as u32, mmflags_model::action::PR_GET_MDWE);
        assert_eq!(PR_SET_MEMORY_MERGE as u32, mmflags_model::action::PR_SET_MEMORY_MERGE);
        assert_eq!(PR_GET_MEMORY_MERGE as u32, mmflags_model::action::PR_GET_MEMORY_MERGE);
        assert_eq!(PR_GET_THP_DISABLE as u32, mmflags_model::action::PR_GET_THP_DISABLE);
    }
}
