//! What distinguishes one kernel (or proposal) from another: tables of data
//! where the kernel itself is a table (`VM_INIT_DEF_MASK`, the MMF inherit
//! mask, which `process_madvise` flags exist ...) and a small `Variant` trait
//! for the few behaviours no table expresses. Mainline Linux 6.18 is
//! `Semantics::mainline()`; a spec starts from it and overrides knobs.

pub use crate::action::ForeignPrctls;
use crate::action::{Call, PmadvFlags, ThpDisableFlags};
use crate::flags::{MmfFlags, VmFlags};
use crate::state::{Process, State, Sysfs};
use crate::Ret;
use std::fmt;
use std::sync::Arc;

/// A proposal's own code: hooks for behaviour no knob expresses. Every hook
/// has a default that is mainline's behaviour, so a variant implements only
/// what its proposal changes.
pub trait Variant: Send + Sync + fmt::Debug {
    /// The spec-file name of this variant module (`[semantics] variant = ...`).
    fn name(&self) -> &'static str;

    /// Calls the variant adds to the language's alphabet at these bounds
    /// (e.g. `prctl(PR_SET_THP_POLICY, ...)`); mainline adds none.
    fn extra_calls(&self, _vmas: usize, _procs: usize) -> Vec<Call> {
        Vec::new()
    }

    /// Runs a syscall the variant defines (`mctl`). `None` means "not
    /// mine": the kernel has no such syscall.
    fn call(&self, _sem: &Semantics, _state: &mut State, _pid: usize, _call: &Call) -> Option<Ret> {
        None
    }

    /// Runs `prctl(option, arg2)` if the variant defines that option
    /// number; `None` leaves it to the kernel's own table.
    fn prctl(
        &self,
        _sem: &Semantics,
        _sysfs: Sysfs,
        _me: &mut Process,
        _option: u32,
        _arg2: u32,
    ) -> Option<Ret> {
        None
    }

    /// Extra per-mm work after `mm_init` on fork or exec (`exec` says which),
    /// with `old` the calling process before the call.
    fn mm_init(&self, _sem: &Semantics, _old: &Process, _new: &mut Process, _exec: bool) {}
}

/// Mainline has no hooks.
#[derive(Debug)]
pub struct Mainline;

impl Variant for Mainline {
    fn name(&self) -> &'static str {
        "mainline"
    }
}

/// A spec's intent: what the proposal's commit message promises, which the
/// `default_kept_as_promised` property holds the implementation to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Intent {
    /// A THP default set with the variant's default-setting call survives fork.
    pub default_survives_fork: bool,
    /// ... and survives exec.
    pub default_survives_exec: bool,
    /// ... except a secure (setuid) exec, which by design drops it.
    pub dropped_by_secure_exec: bool,
    /// The `process_madvise` flags that make the promise (all must be given).
    pub promised_by: PmadvFlags,
}

impl Intent {
    pub fn promises_anything(&self) -> bool {
        self.default_survives_fork || self.default_survives_exec
    }
}

/// The knobs of one semantics variant.
#[derive(Clone)]
pub struct Semantics {
    /// `VM_INIT_DEF_MASK`: the `def_flags` bits `mm_init` keeps on fork and exec.
    pub vm_init_def_mask: VmFlags,
    /// `MMF_INIT_LEGACY_MASK`, restricted to the modelled bits: what `mm_init`
    /// keeps of `mm->flags` on fork and exec.
    pub mmf_init_mask: MmfFlags,
    /// `def_flags` bits a secure exec (AT_SECURE) clears (mainline: none).
    pub secureexec_clear_def_flags: VmFlags,
    /// `mm->flags` bits a secure exec clears (mainline: none).
    pub secureexec_clear_mmf: MmfFlags,
    /// `process_madvise` flags that exist (mainline: none, so any flag is -EINVAL).
    pub pmadv_flags: PmadvFlags,
    /// The `process_madvise` flags that make the advice a default for new
    /// VMAs (`def_flags`); each sets its scope bit (see `syscalls::defaults`).
    pub pmadv_default_flags: PmadvFlags,
    /// When not empty, the default-setting flags must be given as exactly
    /// this combination (-EINVAL otherwise).
    pub pmadv_default_exact: PmadvFlags,
    /// Default-setting flags that need CAP_SYS_ADMIN (-EPERM otherwise).
    pub pmadv_default_cap: PmadvFlags,
    /// A THP default in `def_flags` reaches the mm's own new VMAs only with
    /// `MMF_DEF_FUTURE` (a default can be meant for children only).
    pub def_needs_future: bool,
    /// The `PR_SET_THP_DISABLE` flags (arg3) the kernel knows; any other
    /// bit is -EINVAL. 6.18 added `PR_THP_DISABLE_EXCEPT_ADVISED`; before
    /// it arg3 had to be 0.
    pub thp_disable_flags: ThpDisableFlags,
    /// `process_madvise()`'s checks before any VMA is touched, in the order
    /// the kernel makes them (6.13 moved the advice check behind `mm_access`
    /// and made it apply to other processes only; CAP_SYS_NICE went the
    /// same way between 6.1 and 6.12).
    pub pmadv_checks: Vec<PmadvCheck>,
    /// The VMA flags smaps `VmFlags` prints a mnemonic for (the kernel's
    /// `mnemonics[]` in `show_smap_vma_flags`; `lf` is not in 6.1's).
    pub smaps_vm_flags: VmFlags,
    /// prctl options this kernel has beyond the THP model whose numbers a
    /// proposal's call reaches (PR_FUTEX_HASH is 78 since 6.16).
    pub foreign_prctls: ForeignPrctls,
    /// An exec under no_new_privs by a process whose euid is not its uid
    /// (`SetuidRoot`) resets the euid to the uid and keeps the capabilities
    /// (`Cred::UserCaps`), as `cap_bprm_creds_from_file` did through 6.12,
    /// where `is_setid` compared the new euid with the old *uid*. On 6.18
    /// the exec leaves the ids as they were (observed under qemu: 6.1 and
    /// 6.12 keep CAP_SYS_NICE after a later setresuid(user), 6.18 and 7.x
    /// do not).
    pub nnp_exec_resets_euid: bool,
    /// `MADV_COLLAPSE` and khugepaged take small pages a fork left
    /// write-protected (6.18 on); up to 6.12 their `writable` check refuses
    /// them (-EINVAL) until the process writes (observed under qemu).
    pub collapse_write_protected: bool,
    /// MADV_DONTNEED frees the page tables it empties (`CONFIG_PT_RECLAIM`,
    /// 6.18 on), so a later fault may take a huge page; up to 6.12 the
    /// empty tables stay and the fault takes small pages (observed under
    /// qemu).
    pub dontneed_frees_page_tables: bool,
    /// A write to the huge zero page allocates a huge page in its place
    /// (`do_huge_zero_wp_pmd`, 6.18 on; between 6.12 and 6.18, not traced
    /// to a commit here), which reads neither the VMA's THP flags nor the
    /// mm's THP disable; up to 6.12 the PMD is split and the write copies
    /// small pages (observed under qemu).
    pub huge_zero_wp_allocates: bool,
    /// `PR_SET_MEMORY_MERGE` / `PR_GET_MEMORY_MERGE` exist (6.4; -EINVAL
    /// on 6.1, observed under qemu).
    pub ksm_merge_any: bool,
    /// `PR_SET_MDWE` / `PR_GET_MDWE` exist (6.3; NO_INHERIT from 6.7).
    pub mdwe: bool,
    pub intent: Intent,
    pub variant: Arc<dyn Variant>,
}

impl Semantics {
    /// Linux 6.18.
    pub fn mainline() -> Semantics {
        Semantics {
            vm_init_def_mask: VmFlags::VM_NOHUGEPAGE,
            mmf_init_mask: MmfFlags::MMF_DUMPABLE
                .union(MmfFlags::MMF_DISABLE_THP_MASK)
                .union(MmfFlags::MMF_HAS_MDWE_MASK)
                .union(MmfFlags::MMF_VM_MERGE_ANY),
            secureexec_clear_def_flags: VmFlags::EMPTY,
            secureexec_clear_mmf: MmfFlags::EMPTY,
            pmadv_flags: PmadvFlags(0),
            pmadv_default_flags: PmadvFlags(0),
            pmadv_default_exact: PmadvFlags(0),
            pmadv_default_cap: PmadvFlags(0),
            def_needs_future: false,
            thp_disable_flags: ThpDisableFlags::PR_THP_DISABLE_EXCEPT_ADVISED,
            pmadv_checks: PmadvCheck::MAINLINE.to_vec(),
            smaps_vm_flags: VmFlags::PRINTED,
            nnp_exec_resets_euid: false,
            collapse_write_protected: true,
            huge_zero_wp_allocates: true,
            dontneed_frees_page_tables: true,
            ksm_merge_any: true,
            mdwe: true,
            foreign_prctls: ForeignPrctls::PR_FUTEX_HASH,
            intent: Intent::default(),
            variant: Arc::new(Mainline),
        }
    }
}

impl fmt::Debug for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semantics")
            .field("vm_init_def_mask", &self.vm_init_def_mask.kernel_names())
            .field("mmf_init_mask", &self.mmf_init_mask)
            .field("secureexec_clear_def_flags", &self.secureexec_clear_def_flags.kernel_names())
            .field("secureexec_clear_mmf", &self.secureexec_clear_mmf)
            .field("pmadv_flags", &self.pmadv_flags.to_string())
            .field("pmadv_default_flags", &self.pmadv_default_flags.to_string())
            .field("pmadv_default_exact", &self.pmadv_default_exact.to_string())
            .field("pmadv_default_cap", &self.pmadv_default_cap.to_string())
            .field("def_needs_future", &self.def_needs_future)
            .field("thp_disable_flags", &self.thp_disable_flags.to_string())
            .field("pmadv_checks", &self.pmadv_checks)
            .field("smaps_vm_flags", &self.smaps_vm_flags.kernel_names())
            .field("foreign_prctls", &self.foreign_prctls.to_string())
            .field("collapse_write_protected", &self.collapse_write_protected)
            .field("huge_zero_wp_allocates", &self.huge_zero_wp_allocates)
            .field("dontneed_frees_page_tables", &self.dontneed_frees_page_tables)
            .field("ksm_merge_any", &self.ksm_merge_any)
            .field("mdwe", &self.mdwe)
            .field("intent", &self.intent)
            .field("variant", &self.variant.name())
            .finish()
    }
}

/// One of `process_madvise()`'s checks before any VMA is touched. A
/// kernel is the list of them in its order (`Semantics::pmadv_checks`):
/// the order decides which error a call with several faults gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmadvCheck {
    /// `flags` has a bit the kernel does not know: -EINVAL.
    Flags,
    /// `import_iovec`: a NULL vector (vlen -1) only with
    /// `PMADV_ENTIRE_ADDRESS_SPACE`, and that flag only with NULL: -EINVAL.
    Iovec,
    /// `pidfd_get_task`: the pidfd's process is gone: -ESRCH.
    Pidfd,
    /// `process_madvise_behavior_valid` on every target, the caller's own
    /// mm included (before 6.13): only COLD/PAGEOUT/WILLNEED/COLLAPSE, else -EINVAL.
    Advice,
    /// `mm_access(PTRACE_MODE_READ_FSCREDS)` on another process: -EACCES.
    MmAccess,
    /// `process_madvise_remote_valid`, for another process's mm only (6.13+): -EINVAL.
    RemoteAdvice,
    /// `capable(CAP_SYS_NICE)` on every target, one's own mm included
    /// (6.1; observed gone by 6.12): -EPERM.
    CapSysNice,
    /// `capable(CAP_SYS_NICE)` for another process's mm only: -EPERM.
    RemoteCapSysNice,
}

impl PmadvCheck {
    /// Spec-file name and check, in the order they are listed in docs.
    pub const NAMES: [(PmadvCheck, &'static str); 8] = [
        (PmadvCheck::Flags, "flags"),
        (PmadvCheck::Iovec, "iovec"),
        (PmadvCheck::Pidfd, "pidfd"),
        (PmadvCheck::Advice, "advice"),
        (PmadvCheck::MmAccess, "mm_access"),
        (PmadvCheck::RemoteAdvice, "remote_advice"),
        (PmadvCheck::CapSysNice, "cap_sys_nice"),
        (PmadvCheck::RemoteCapSysNice, "remote_cap_sys_nice"),
    ];
    /// Linux 6.13 to 6.18 ("mm/madvise: unrestrict process_madvise() for
    /// current process"): one's own mm takes every advice, with no
    /// capability; the advice is checked after mm_access.
    pub const MAINLINE: [PmadvCheck; 6] = [
        PmadvCheck::Flags,
        PmadvCheck::Iovec,
        PmadvCheck::Pidfd,
        PmadvCheck::MmAccess,
        PmadvCheck::RemoteAdvice,
        PmadvCheck::RemoteCapSysNice,
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(c, _)| *c == self).map(|(_, n)| *n).unwrap_or("?")
    }

    pub fn from_name(s: &str) -> Option<PmadvCheck> {
        Self::NAMES.iter().find(|(_, n)| *n == s).map(|(c, _)| *c)
    }

    /// Reads the target process: must come after `Pidfd`.
    pub fn reads_target(self) -> bool {
        matches!(self, PmadvCheck::MmAccess | PmadvCheck::RemoteAdvice | PmadvCheck::RemoteCapSysNice)
    }
}
