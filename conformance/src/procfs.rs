//! What the kernel shows of a process, read from `/proc/PID/smaps`
//! (`VmFlags`, `THPeligible`, `Rss`, `AnonHugePages`),
//! `/proc/PID/status` (`THP_enabled`) and the GET prctls the process makes
//! itself (`PR_GET_THP_DISABLE`, `PR_GET_MEMORY_MERGE`, `PR_GET_MDWE`:
//! merge-any and MDWE show nowhere in /proc), and turned into the trace
//! language's observation results. Only the slot window is looked at; a mapping there
//! that is not exactly a slot (a split, a merge, something the agent mapped
//! by accident) is a harness error, not an observation.
//!
//! Also the system-wide counters that tell when the kernel did something
//! the model assumes it never does (`ThpCounters`): fail to allocate a huge
//! page, or collapse pages with khugepaged outside a `khugepaged()` step.

use crate::abi;
use mmflags_model::action::{Call, Item, Ret};
use mmflags_model::flags::VmFlags;
use mmflags_model::state::{Backing, MAX_VMAS};
use mmflags_model::Errno;
use std::path::Path;

/// One mapped slot as smaps shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotView {
    /// `VmFlags` restricted to the mnemonics the trace language prints
    /// (`VmFlags::PRINTED`: `hg nh lo lf dc wf mg ex`; never `wr`, `rd`,
    /// `mr`, ...).
    pub flags: VmFlags,
    pub thp_eligible: bool,
    /// What backs it (`pages(vN)`), from `Rss` and `AnonHugePages`.
    pub backing: Backing,
}

/// `pages(vN)` from a slot's smaps sizes (kB): `Rss` 0 is `none`,
/// `AnonHugePages` 0 `small`, `AnonHugePages` the whole slot `huge`,
/// anything else `mixed`.
pub fn backing(rss_kb: u64, anon_huge_kb: u64) -> Backing {
    if rss_kb == 0 {
        Backing::None
    } else if anon_huge_kb == 0 {
        Backing::Small
    } else if anon_huge_kb == abi::REGION / 1024 {
        Backing::Huge
    } else {
        Backing::Mixed
    }
}

/// Everything the observation calls of one process can ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub slots: [Option<SlotView>; MAX_VMAS],
    /// `THP_enabled` in `/proc/PID/status`.
    pub thp_enabled: bool,
    /// `prctl(PR_GET_THP_DISABLE)` as the process itself got it.
    pub thp_disable: i64,
    /// `prctl(PR_GET_MEMORY_MERGE)` (KSM merge-any: 0 or 1; -EINVAL
    /// before 6.4).
    pub memory_merge: i64,
    /// `prctl(PR_GET_MDWE)` (the MDWE bits; -EINVAL before 6.3).
    pub mdwe: i64,
}

/// A prctl's return value as the trace language prints it (`None`: an
/// errno the language cannot name).
fn prctl_ret(r: i64) -> Option<Ret> {
    if r >= 0 {
        Some(Ret::Val(r))
    } else {
        Errno::from_number(-r as i32).map(Ret::Err)
    }
}

impl Snapshot {
    /// The result of an observation call, as the trace language prints it
    /// (`None`: not an observation, or a prctl errno the language cannot
    /// name).
    pub fn answer(&self, call: &Call) -> Option<Ret> {
        let slot = |i: Item| match i {
            Item::Vma(n) => self.slots.get(n as usize).copied().flatten(),
            Item::Hole => None,
        };
        Some(match *call {
            Call::VmFlags(i) => slot(i).map_or(Ret::Unmapped, |s| Ret::Flags(s.flags)),
            Call::ThpEligible(i) => slot(i).map_or(Ret::Unmapped, |s| Ret::Val(s.thp_eligible as i64)),
            Call::Pages(i) => slot(i).map_or(Ret::Unmapped, |s| Ret::Backing(s.backing)),
            Call::ThpEnabled => Ret::Val(self.thp_enabled as i64),
            Call::PrctlGetThpDisable => prctl_ret(self.thp_disable)?,
            Call::PrctlGetMemoryMerge => prctl_ret(self.memory_merge)?,
            Call::PrctlGetMdwe => prctl_ret(self.mdwe)?,
            _ => return None,
        })
    }

    pub fn is_mapped(&self, slot: u8) -> bool {
        self.slots[slot as usize].is_some()
    }
}

/// The observation calls asked of every live process after every step: the
/// slots as smaps shows them, `THP_enabled`, and the three GET prctls
/// (merge-any and MDWE are seen only through them, so they are compared
/// after every step too; one `Request::Observe` makes all three).
pub fn observation_calls(vmas: usize) -> Vec<Call> {
    let mut c = Vec::new();
    for n in 0..vmas.min(MAX_VMAS) as u8 {
        c.push(Call::VmFlags(Item::Vma(n)));
        c.push(Call::ThpEligible(Item::Vma(n)));
        c.push(Call::Pages(Item::Vma(n)));
    }
    c.push(Call::ThpEnabled);
    c.push(Call::PrctlGetThpDisable);
    c.push(Call::PrctlGetMemoryMerge);
    c.push(Call::PrctlGetMdwe);
    c
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// A slot's smaps block as it is read: the fields the observations need.
#[derive(Default)]
struct Block {
    flags: VmFlags,
    eligible: Option<bool>,
    rss_kb: Option<u64>,
    anon_huge_kb: Option<u64>,
}

/// The number of kB in a `Rss:       4096 kB` line's rest.
fn kb(rest: &str) -> Option<u64> {
    rest.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// Parses an smaps text into the slots it maps.
pub fn parse_smaps(text: &str) -> Result<[Option<SlotView>; MAX_VMAS], String> {
    let mut slots = [None; MAX_VMAS];
    let (lo, hi) = abi::WINDOW;
    let mut cur: Option<(u8, Block)> = None;
    let mut finish = |cur: &mut Option<(u8, Block)>| -> Result<(), String> {
        if let Some((n, b)) = cur.take() {
            let missing = |what: &str| format!("smaps: no {what} for v{n}");
            let thp_eligible = b.eligible.ok_or_else(|| missing("THPeligible"))?;
            let rss = b.rss_kb.ok_or_else(|| missing("Rss"))?;
            let huge = b.anon_huge_kb.ok_or_else(|| missing("AnonHugePages"))?;
            slots[n as usize] = Some(SlotView { flags: b.flags, thp_eligible, backing: backing(rss, huge) });
        }
        Ok(())
    };
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                finish(&mut cur)?;
                if end <= lo || start >= hi {
                    continue;
                }
                match abi::slot_at(start) {
                    Some(n) if end == start + abi::REGION => {
                        cur = Some((n, Block::default()));
                    }
                    _ => {
                        return Err(format!(
                            "smaps: mapping {start:x}-{end:x} in the slot window is not exactly a slot \
                             (slots are {:#x} + N * {:#x}, {} bytes)",
                            abi::BASE,
                            abi::STRIDE,
                            abi::REGION
                        ))
                    }
                }
                continue;
            }
        }
        let Some((_, b)) = cur.as_mut() else {
            continue;
        };
        let bad = |what: &str, rest: &str| format!("smaps: {what} `{}`", rest.trim());
        if let Some(rest) = line.strip_prefix("VmFlags:") {
            b.flags = rest
                .split_whitespace()
                .filter_map(VmFlags::from_name)
                .filter(|f| VmFlags::PRINTED.contains(*f))
                .fold(VmFlags::EMPTY, |a, b| a | b);
        } else if let Some(rest) = line.strip_prefix("THPeligible:") {
            b.eligible = match rest.trim() {
                "0" => Some(false),
                "1" => Some(true),
                _ => return Err(bad("THPeligible", rest)),
            };
        } else if let Some(rest) = line.strip_prefix("Rss:") {
            b.rss_kb = Some(kb(rest).ok_or_else(|| bad("Rss", rest))?);
        } else if let Some(rest) = line.strip_prefix("AnonHugePages:") {
            b.anon_huge_kb = Some(kb(rest).ok_or_else(|| bad("AnonHugePages", rest))?);
        }
    }
    finish(&mut cur)?;
    Ok(slots)
}

/// Does one writable mapping of `maps` (a `/proc/PID/maps` text) cover all
/// of `[addr, addr + len)`? What the agent asks before `touch` writes, so
/// a write that would fault is answered -EFAULT instead of killing it.
pub fn writable_covers(maps: &str, addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else { return false };
    maps.lines().any(|l| {
        let mut f = l.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else { return false };
        let Some((a, b)) = range.split_once('-') else { return false };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            return false;
        };
        a <= addr && end <= b && perms.as_bytes().get(1) == Some(&b'w')
    })
}

/// Reads the slots of process `pid`.
pub fn read_slots(pid: i32) -> Result<[Option<SlotView>; MAX_VMAS], String> {
    parse_smaps(&read(&format!("/proc/{pid}/smaps"))?).map_err(|e| format!("/proc/{pid}/{e}"))
}

/// `THP_enabled` of process `pid`.
pub fn read_thp_enabled(pid: i32) -> Result<bool, String> {
    let path = format!("/proc/{pid}/status");
    let text = read(&path)?;
    let v = text
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .ok_or_else(|| format!("{path}: no THP_enabled line"))?;
    match v.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("{path}: THP_enabled `{other}`")),
    }
}

/// What decides whether RLIMIT_MEMLOCK stops a call of process `pid`:
/// `mlockall(MCL_CURRENT)` compares `total_vm` with the limit and `mmap`
/// of a locked VMA compares `locked_vm` plus its length, both unless the
/// caller has CAP_IPC_LOCK (mm/mlock.c `mlockall`, `mlock_future_ok`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memlock {
    pub total_vm: u64,
    pub locked_vm: u64,
    /// The soft limit in bytes (`None`: unlimited).
    pub limit: Option<u64>,
    pub cap_ipc_lock: bool,
}

fn kb_field(text: &str, key: &str) -> Option<u64> {
    let v = text.lines().find_map(|l| l.strip_prefix(key))?;
    v.trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|k| k * 1024)
}

pub fn read_memlock(pid: i32) -> Result<Memlock, String> {
    let status = read(&format!("/proc/{pid}/status"))?;
    let limits = read(&format!("/proc/{pid}/limits"))?;
    let bad = |what: &str| format!("/proc/{pid}: cannot read {what}");
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .ok_or_else(|| bad("CapEff"))?;
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max locked memory"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or_else(|| bad("Max locked memory"))?;
    Ok(Memlock {
        total_vm: kb_field(&status, "VmSize:").ok_or_else(|| bad("VmSize"))?,
        locked_vm: kb_field(&status, "VmLck:").ok_or_else(|| bad("VmLck"))?,
        limit: if soft == "unlimited" {
            None
        } else {
            Some(soft.parse().map_err(|_| bad("Max locked memory"))?)
        },
        cap_ipc_lock: cap_eff & (1 << 14) != 0,
    })
}

/// `/proc/vmstat`'s `thp_fault_fallback`: a fault that wanted a huge page
/// and mapped small ones (the allocation or the memcg charge failed).
pub const FAULT_FALLBACK: &str = "thp_fault_fallback";
/// `/proc/vmstat`'s `thp_collapse_alloc_failed`: a collapse (MADV_COLLAPSE
/// or khugepaged) that found no huge page to collapse into.
pub const COLLAPSE_ALLOC_FAILED: &str = "thp_collapse_alloc_failed";
/// khugepaged's own count of the huge pages it made (MADV_COLLAPSE does
/// not count here).
pub const KHUGEPAGED_COLLAPSED: &str = "khugepaged/pages_collapsed";

/// Not a kernel counter: the runner's own count of collapses (MADV_COLLAPSE,
/// process_madvise's too) that failed with -EAGAIN where the model predicted
/// something else. The kernel means it as "transient, retry" (a page it
/// could not lock or isolate just then; seen in 0.4-2% of collapses on
/// 6.18+, leaving the slot `mixed`), and the model assumes a collapse that
/// may succeed does.
pub const COLLAPSE_EAGAIN: &str = "MADV_COLLAPSE -EAGAIN";

/// What the model assumes never happens, counted system-wide: a huge page
/// that could not be allocated, and khugepaged collapsing on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThpCounters {
    pub fault_fallback: u64,
    pub collapse_alloc_failed: u64,
    pub khugepaged_collapsed: u64,
}

/// A counter that moved, and by how much.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterMove {
    pub counter: &'static str,
    pub by: u64,
}

impl CounterMove {
    /// What it means, in the words of the model's assumption it breaks.
    pub fn meaning(&self) -> &'static str {
        match self.counter {
            KHUGEPAGED_COLLAPSED => "khugepaged collapsed pages on its own",
            COLLAPSE_EAGAIN => "a collapse failed transiently",
            _ => "a huge page could not be allocated",
        }
    }
}

impl std::fmt::Display for CounterMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.counter {
            COLLAPSE_EAGAIN => write!(f, "MADV_COLLAPSE returned -EAGAIN"),
            c => write!(f, "{c} moved by {}", self.by),
        }
    }
}

impl ThpCounters {
    /// The huge-page allocation failures counted since `before`.
    pub fn failed_since(&self, before: &ThpCounters) -> Vec<CounterMove> {
        let mut v = Vec::new();
        for (counter, now, then) in [
            (FAULT_FALLBACK, self.fault_fallback, before.fault_fallback),
            (COLLAPSE_ALLOC_FAILED, self.collapse_alloc_failed, before.collapse_alloc_failed),
        ] {
            if now != then {
                v.push(CounterMove { counter, by: now.wrapping_sub(then) });
            }
        }
        v
    }

    /// khugepaged's collapses since `before`, if any.
    pub fn collapsed_since(&self, before: &ThpCounters) -> Option<CounterMove> {
        (self.khugepaged_collapsed != before.khugepaged_collapsed).then(|| CounterMove {
            counter: KHUGEPAGED_COLLAPSED,
            by: self.khugepaged_collapsed.wrapping_sub(before.khugepaged_collapsed),
        })
    }
}

/// `thp_fault_fallback` and `thp_collapse_alloc_failed` of a `/proc/vmstat` text.
pub fn parse_vmstat(text: &str) -> Result<(u64, u64), String> {
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("/proc/vmstat: no `{key}`"))
    };
    Ok((get(FAULT_FALLBACK)?, get(COLLAPSE_ALLOC_FAILED)?))
}

/// Where the counters are read (the system's, or a test's stand-ins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterFiles {
    pub vmstat: std::path::PathBuf,
    /// khugepaged's `pages_collapsed`.
    pub pages_collapsed: std::path::PathBuf,
}

impl CounterFiles {
    pub fn system() -> CounterFiles {
        CounterFiles {
            vmstat: "/proc/vmstat".into(),
            pages_collapsed: Path::new(crate::machine::THP_DIR).join("khugepaged/pages_collapsed"),
        }
    }

    pub fn read(&self) -> Result<ThpCounters, String> {
        let text =
            std::fs::read_to_string(&self.vmstat).map_err(|e| format!("{}: {e}", self.vmstat.display()))?;
        let (fault_fallback, collapse_alloc_failed) = parse_vmstat(&text)?;
        let p = &self.pages_collapsed;
        let khugepaged_collapsed = std::fs::read_to_string(p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .trim()
            .parse()
            .map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(ThpCounters { fault_fallback, collapse_alloc_failed, khugepaged_collapsed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0a00000-55d0c0a21000 r--p 00000000 fe:01 1234 /usr/bin/agent
Size:                132 kB
THPeligible:           0
VmFlags: rd mr mw me
200000000000-200000400000 rw-p 00000000 00:00 0
Size:               4096 kB
Rss:                4096 kB
AnonHugePages:      4096 kB
THPeligible:           1
VmFlags: rd wr mr mw me lo ac hg
200001000000-200001400000 rw-p 00000000 00:00 0
Size:               4096 kB
Rss:                   0 kB
AnonHugePages:         0 kB
THPeligible:           0
VmFlags: rd wr mr mw me dc ac wf nh mg
200001800000-200001c00000 r-xp 00000000 00:00 0
Size:               4096 kB
Rss:                   0 kB
AnonHugePages:         0 kB
THPeligible:           0
VmFlags: rd ex mr mw me ac
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0 [stack]
THPeligible:           0
VmFlags: rd wr mr mw me gd ac
";

    #[test]
    fn slots_and_their_flags() {
        let s = parse_smaps(SMAPS).unwrap();
        let v0 = s[0].unwrap();
        assert_eq!(v0.flags, VmFlags::VM_HUGEPAGE | VmFlags::VM_LOCKED);
        assert!(v0.thp_eligible);
        assert_eq!(v0.backing, Backing::Huge);
        assert_eq!(s[1], None);
        let v2 = s[2].unwrap();
        // `mg` and `ex` are read; `wr`, `rd`, `mr`, ... are not.
        assert_eq!(v2.flags.to_string(), "[nh dc wf mg]");
        assert!(!v2.flags.contains(VmFlags::VM_WRITE));
        assert!(!v2.thp_eligible);
        assert_eq!(v2.backing, Backing::None);
        assert_eq!(s[3].unwrap().flags, VmFlags::VM_EXEC);
    }

    /// One slot's smaps block with these sizes.
    fn slot_block(rss: &str, huge: &str) -> String {
        format!(
            "200000000000-200000400000 rw-p 00000000 00:00 0\nSize: 4096 kB\nRss: {rss}\n\
             Pss: {rss}\nAnonymous: {rss}\nAnonHugePages: {huge}\nShmemPmdMapped: 0 kB\n\
             THPeligible: 1\nVmFlags: rd wr mr mw me ac\n"
        )
    }

    #[test]
    fn pages_from_rss_and_anon_huge_pages() {
        let pages = |rss: &str, huge: &str| parse_smaps(&slot_block(rss, huge)).unwrap()[0].unwrap().backing;
        assert_eq!(pages("0 kB", "0 kB"), Backing::None);
        assert_eq!(pages("4 kB", "0 kB"), Backing::Small);
        assert_eq!(pages("4096 kB", "0 kB"), Backing::Small);
        assert_eq!(pages("4096 kB", "4096 kB"), Backing::Huge);
        assert_eq!(pages("4096 kB", "2048 kB"), Backing::Mixed);
        assert_eq!(pages("2048 kB", "2048 kB"), Backing::Mixed);
        // A huge page and nothing else is still only half the slot.
        assert_eq!(backing(2048, 2048), Backing::Mixed);
        assert_eq!(backing(0, 0), Backing::None);
    }

    #[test]
    fn a_slot_without_its_sizes_is_an_error() {
        let no_rss = slot_block("0 kB", "0 kB").replace("Rss: 0 kB\n", "");
        assert!(parse_smaps(&no_rss).unwrap_err().contains("no Rss for v0"));
        let no_huge = slot_block("0 kB", "0 kB").replace("AnonHugePages: 0 kB\n", "");
        assert!(parse_smaps(&no_huge).unwrap_err().contains("no AnonHugePages for v0"));
        let garbled = slot_block("lots", "0 kB");
        assert!(parse_smaps(&garbled).unwrap_err().contains("Rss `lots`"));
    }

    #[test]
    fn touch_needs_one_writable_mapping_over_the_whole_range() {
        let maps = "\
200000000000-200000400000 rw-p 00000000 00:00 0
200000800000-200000a00000 rw-p 00000000 00:00 0
200000a00000-200000c00000 rw-p 00000000 00:00 0
200001000000-200001400000 r--p 00000000 00:00 0
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]
";
        let slot = |n: u8| abi::slot_addr(n);
        assert!(writable_covers(maps, slot(0), abi::REGION));
        assert!(writable_covers(maps, slot(0) + 4096, 4096));
        // Split in two VMAs (each writable): not one mapping.
        assert!(!writable_covers(maps, slot(1), abi::REGION));
        // Read-only, unmapped, past the end, overflowing.
        assert!(!writable_covers(maps, slot(2), abi::REGION));
        assert!(!writable_covers(maps, slot(3), abi::REGION));
        assert!(!writable_covers(maps, abi::HOLE, abi::REGION));
        assert!(!writable_covers(maps, slot(0), abi::REGION + 1));
        assert!(!writable_covers(maps, u64::MAX - 1, 4));
    }

    #[test]
    fn counters_from_vmstat_and_what_moved() {
        let v = "nr_free_pages 1\nthp_fault_alloc 9\nthp_fault_fallback 3\nthp_fault_fallback_charge 7\n\
                 thp_collapse_alloc 4\nthp_collapse_alloc_failed 2\n";
        assert_eq!(parse_vmstat(v), Ok((3, 2)));
        assert!(parse_vmstat("thp_fault_fallback_charge 1\nthp_collapse_alloc_failed 0\n").is_err());
        let a = ThpCounters { fault_fallback: 3, collapse_alloc_failed: 2, khugepaged_collapsed: 10 };
        assert_eq!(a.failed_since(&a), vec![]);
        assert_eq!(a.collapsed_since(&a), None);
        let b = ThpCounters { fault_fallback: 5, collapse_alloc_failed: 3, khugepaged_collapsed: 11 };
        assert_eq!(
            b.failed_since(&a),
            vec![
                CounterMove { counter: FAULT_FALLBACK, by: 2 },
                CounterMove { counter: COLLAPSE_ALLOC_FAILED, by: 1 }
            ]
        );
        assert_eq!(b.collapsed_since(&a).unwrap().to_string(), "khugepaged/pages_collapsed moved by 1");
    }

    #[test]
    fn a_split_slot_is_an_error() {
        let bad = "200000000000-200000200000 rw-p 00000000 00:00 0\nTHPeligible: 0\n";
        assert!(parse_smaps(bad).is_err());
        let gap = "200000400000-200000500000 rw-p 00000000 00:00 0\nTHPeligible: 0\n";
        assert!(parse_smaps(gap).is_err());
    }

    #[test]
    fn answers_in_the_trace_language() {
        let mut slots = [None; MAX_VMAS];
        slots[0] =
            Some(SlotView { flags: VmFlags::VM_NOHUGEPAGE, thp_eligible: false, backing: Backing::Small });
        let s = Snapshot { slots, thp_enabled: true, thp_disable: 3, memory_merge: 1, mdwe: 3 };
        let show = |c: Call| s.answer(&c).unwrap().to_string();
        assert_eq!(show(Call::VmFlags(Item::Vma(0))), "[nh]");
        assert_eq!(show(Call::VmFlags(Item::Vma(1))), "unmapped");
        assert_eq!(show(Call::ThpEligible(Item::Vma(0))), "0");
        assert_eq!(show(Call::Pages(Item::Vma(0))), "small");
        assert_eq!(show(Call::Pages(Item::Vma(1))), "unmapped");
        assert_eq!(show(Call::Pages(Item::Hole)), "unmapped");
        assert_eq!(show(Call::ThpEnabled), "1");
        assert_eq!(show(Call::PrctlGetThpDisable), "3");
        assert_eq!(show(Call::PrctlGetMemoryMerge), "1");
        assert_eq!(show(Call::PrctlGetMdwe), "3");
        assert_eq!(s.answer(&Call::Fork), None);
        // A kernel without the prctls (6.1) answers -EINVAL, as the model
        // of 6.1 does.
        let old = Snapshot { memory_merge: -22, mdwe: -22, ..s };
        assert_eq!(old.answer(&Call::PrctlGetMemoryMerge).unwrap().to_string(), "-EINVAL");
        assert_eq!(old.answer(&Call::PrctlGetMdwe).unwrap().to_string(), "-EINVAL");
        // Every call the runner observes after a step is answered.
        for c in observation_calls(MAX_VMAS) {
            assert!(s.answer(&c).is_some(), "{c}");
        }
    }
}
