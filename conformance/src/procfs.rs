//! What the kernel shows of a process, read from `/proc/PID/smaps`
//! (`VmFlags`, `THPeligible`) and `/proc/PID/status` (`THP_enabled`), and
//! turned into the trace language's observation results. Only the slot
//! window is looked at; a mapping there that is not exactly a slot (a split,
//! a merge, something the agent mapped by accident) is a harness error, not
//! an observation.

use crate::abi;
use mmflags_model::action::{Call, Item, Ret};
use mmflags_model::flags::VmFlags;
use mmflags_model::state::MAX_VMAS;

/// One mapped slot as smaps shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotView {
    /// `VmFlags` restricted to `hg nh lo lf dc wf`.
    pub flags: VmFlags,
    pub thp_eligible: bool,
}

/// Everything the observation calls of one process can ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub slots: [Option<SlotView>; MAX_VMAS],
    /// `THP_enabled` in `/proc/PID/status`.
    pub thp_enabled: bool,
    /// `prctl(PR_GET_THP_DISABLE)` as the process itself got it.
    pub thp_disable: i64,
}

impl Snapshot {
    /// The result of an observation call, as the trace language prints it.
    pub fn answer(&self, call: &Call) -> Option<Ret> {
        let slot = |i: Item| match i {
            Item::Vma(n) => self.slots.get(n as usize).copied().flatten(),
            Item::Hole => None,
        };
        Some(match *call {
            Call::VmFlags(i) => slot(i).map_or(Ret::Unmapped, |s| Ret::Flags(s.flags)),
            Call::ThpEligible(i) => slot(i).map_or(Ret::Unmapped, |s| Ret::Val(s.thp_eligible as i64)),
            Call::ThpEnabled => Ret::Val(self.thp_enabled as i64),
            Call::PrctlGetThpDisable => Ret::Val(self.thp_disable),
            _ => return None,
        })
    }

    pub fn is_mapped(&self, slot: u8) -> bool {
        self.slots[slot as usize].is_some()
    }
}

/// The observation calls asked of every live process after every step.
pub fn observation_calls(vmas: usize) -> Vec<Call> {
    let mut c = Vec::new();
    for n in 0..vmas.min(MAX_VMAS) as u8 {
        c.push(Call::VmFlags(Item::Vma(n)));
        c.push(Call::ThpEligible(Item::Vma(n)));
    }
    c.push(Call::ThpEnabled);
    c.push(Call::PrctlGetThpDisable);
    c
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// Parses an smaps text into the slots it maps.
pub fn parse_smaps(text: &str) -> Result<[Option<SlotView>; MAX_VMAS], String> {
    let mut slots = [None; MAX_VMAS];
    let (lo, hi) = abi::WINDOW;
    let mut cur: Option<(u8, VmFlags, Option<bool>)> = None;
    let mut finish = |cur: &mut Option<(u8, VmFlags, Option<bool>)>| -> Result<(), String> {
        if let Some((n, flags, elig)) = cur.take() {
            let thp_eligible = elig.ok_or_else(|| format!("smaps: no THPeligible for v{n}"))?;
            slots[n as usize] = Some(SlotView { flags, thp_eligible });
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
                        cur = Some((n, VmFlags::EMPTY, None));
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
        let Some((_, flags, elig)) = cur.as_mut() else {
            continue;
        };
        if let Some(rest) = line.strip_prefix("VmFlags:") {
            *flags =
                rest.split_whitespace().filter_map(VmFlags::from_name).fold(VmFlags::EMPTY, |a, b| a | b);
        } else if let Some(rest) = line.strip_prefix("THPeligible:") {
            *elig = match rest.trim() {
                "0" => Some(false),
                "1" => Some(true),
                other => return Err(format!("smaps: THPeligible `{other}`")),
            };
        }
    }
    finish(&mut cur)?;
    Ok(slots)
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
AnonHugePages:         0 kB
THPeligible:           1
VmFlags: rd wr mr mw me lo ac hg
200001000000-200001400000 rw-p 00000000 00:00 0
THPeligible:           0
VmFlags: rd wr mr mw me dc ac wf nh mg
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
        assert_eq!(s[1], None);
        let v2 = s[2].unwrap();
        assert_eq!(v2.flags.to_string(), "[nh dc wf]");
        assert!(!v2.thp_eligible);
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
        slots[0] = Some(SlotView { flags: VmFlags::VM_NOHUGEPAGE, thp_eligible: false });
        let s = Snapshot { slots, thp_enabled: true, thp_disable: 3 };
        let show = |c: Call| s.answer(&c).unwrap().to_string();
        assert_eq!(show(Call::VmFlags(Item::Vma(0))), "[nh]");
        assert_eq!(show(Call::VmFlags(Item::Vma(1))), "unmapped");
        assert_eq!(show(Call::ThpEligible(Item::Vma(0))), "0");
        assert_eq!(show(Call::ThpEnabled), "1");
        assert_eq!(show(Call::PrctlGetThpDisable), "3");
        assert_eq!(s.answer(&Call::Fork), None);
    }
}
