//! Settings and their origins: which part of an mm each `Setting` is, when
//! it is in force, whether it raises THP, and the three rules that keep its
//! origin (`Ghost::origin`) true: a call that makes the setting records its
//! caller; an exec records whether it was secure for every setting it
//! kept; a setting that is no longer in force has no origin.
//!
//! The inheritance properties read the origin of the setting that is
//! there, never a flag on the process: a process that made one setting
//! unprivileged does not taint another that root made.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Origin, Setting};
use crate::state::{Mm, Process};

impl Setting {
    /// It is in force in `mm`.
    pub fn in_force(self, mm: &Mm) -> bool {
        match self {
            Setting::ThpDefault => mm.def_flags.intersects(VmFlags::THP_MASK),
            Setting::ThpDisable => mm.flags.intersects(MmfFlags::MMF_DISABLE_THP_MASK),
            Setting::ThpAlways => mm.flags.contains(MmfFlags::MMF_THP_ALWAYS),
            Setting::MergeAny => mm.flags.contains(MmfFlags::MMF_VM_MERGE_ANY),
            Setting::Mdwe => mm.flags.contains(MmfFlags::MMF_HAS_MDWE),
        }
    }

    /// In force, and it can make a VMA THP-eligible that would not be
    /// otherwise (a VM_HUGEPAGE default, `MMF_THP_ALWAYS`).
    pub fn raises(self, mm: &Mm) -> bool {
        match self {
            Setting::ThpDefault => mm.def_flags.contains(VmFlags::VM_HUGEPAGE),
            Setting::ThpDisable | Setting::MergeAny | Setting::Mdwe => false,
            Setting::ThpAlways => self.in_force(mm),
        }
    }

    /// What it is in `mm` now, as a trace prints it:
    /// `mm->flags DISABLE_THP_COMPLETELY`, `def_flags [hg]`.
    pub fn describe(self, mm: &Mm) -> String {
        match self {
            Setting::ThpDefault => format!("def_flags {}", mm.def_flags.intersection(VmFlags::THP_MASK)),
            Setting::ThpDisable | Setting::ThpAlways | Setting::MergeAny | Setting::Mdwe => {
                format!("mm->flags {}", mm.flags.intersection(self.mmf_bits()).short_names().join(" "))
            }
        }
    }

    /// The `mm->flags` bits it is (none for the def_flags default, whose
    /// scope bits belong to it but are not it).
    pub fn mmf_bits(self) -> MmfFlags {
        match self {
            Setting::ThpDefault => MmfFlags::EMPTY,
            Setting::ThpDisable => MmfFlags::MMF_DISABLE_THP_MASK,
            Setting::ThpAlways => MmfFlags::MMF_THP_ALWAYS,
            Setting::MergeAny => MmfFlags::MMF_VM_MERGE_ANY,
            Setting::Mdwe => MmfFlags::MMF_HAS_MDWE_MASK,
        }
    }

    /// The `def_flags` bits it is.
    pub fn def_bits(self) -> VmFlags {
        match self {
            Setting::ThpDefault => VmFlags::THP_MASK,
            _ => VmFlags::EMPTY,
        }
    }
}

/// `target` now has `setting` as a caller with these credentials made it.
pub fn note_set(target: &mut Process, setting: Setting, cap_sys_admin: bool, no_new_privs: bool) {
    target.ghost = target.ghost.with_origin(setting, Origin::of(cap_sys_admin, no_new_privs));
}

/// After an exec built `mm`: every setting it kept crossed that exec, and
/// the origin says whether the exec was secure.
pub fn note_exec(ghost: &mut Ghost, mm: &Mm, secure: bool) {
    for s in Setting::ALL {
        if s.in_force(mm) {
            let mut o = ghost.origin(s);
            o = if secure {
                o.union(Origin::KEPT_BY_SECURE_EXEC)
            } else {
                o.difference(Origin::KEPT_BY_SECURE_EXEC)
            };
            *ghost = ghost.with_origin(s, o);
        }
    }
}

/// Forgets the origin of every setting not in force, so that origins
/// cannot split otherwise equal states.
#[inline]
pub fn forget_absent(p: &mut Process) {
    for s in Setting::ALL {
        if !s.in_force(&p.mm) {
            p.ghost = p.ghost.with_origin(s, Origin::EMPTY);
        }
    }
}

/// Settings among `of` in force in `p` whose origin has every bit of
/// `origin`; `raising`: only those that raise THP.
pub fn with_origin<'a>(
    p: &'a Process,
    of: &'a [Setting],
    origin: Origin,
    raising: bool,
) -> impl Iterator<Item = Setting> + 'a {
    of.iter().copied().filter(move |s| {
        let there = if raising { s.can_raise() && s.raises(&p.mm) } else { s.in_force(&p.mm) };
        there && p.ghost.origin(*s).contains(origin)
    })
}
