//! The state the checker explores: the sysfs THP mode and a fixed array of
//! process slots, each with its credentials and its `mm`.
//!
//! Everything is `Copy` and fixed-size because states are hashed and stored
//! millions of times. There is deliberately no parent pointer: nothing in the
//! kernel's THP or inheritance rules depends on who forked whom, and a parent
//! field would split states that behave identically. Parentage is recovered
//! from the trace when it is shown (the explorer, the reports).

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, VmaGhost};
use std::fmt;

/// Most process slots a state can hold (a spec's `processes` bound is at most this).
pub const MAX_PROCS: usize = 4;
/// Most VMA slots a process can hold (a spec's `vmas` bound is at most this).
pub const MAX_VMAS: usize = 4;

/// `/sys/kernel/mm/transparent_hugepage/enabled`; fixed for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sysfs {
    Never,
    Madvise,
    Always,
}

impl Sysfs {
    pub const ALL: [Sysfs; 3] = [Sysfs::Never, Sysfs::Madvise, Sysfs::Always];

    pub fn name(self) -> &'static str {
        match self {
            Sysfs::Never => "never",
            Sysfs::Madvise => "madvise",
            Sysfs::Always => "always",
        }
    }

    pub fn from_name(s: &str) -> Option<Sysfs> {
        Sysfs::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl fmt::Display for Sysfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Credentials, reduced to what the THP rules and `mm_access` look at:
/// the real uid, the effective uid (root or one unprivileged user, 65534 on
/// the conformance machine), and the capabilities that follow an effective
/// uid of 0 (`CAP_SYS_ADMIN`, `CAP_SYS_NICE`, `CAP_SYS_PTRACE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cred {
    /// uid = euid = 0, full capabilities.
    Root,
    /// uid = euid = user, no capabilities.
    User,
    /// uid = user, euid = 0: what a user gets from a setuid-root exec.
    SetuidRoot,
    /// uid = euid = user, full capabilities: what an exec under
    /// no_new_privs makes of `SetuidRoot`. `cap_bprm_creds_from_file` sees
    /// euid 0 != uid, resets the euid to the uid (NNP forbids the change)
    /// but keeps the permitted set it had, and the effective set follows
    /// the euid of 0 it started from; a later setresuid(user) changes no
    /// uid, so nothing drops the capabilities. Observed on 6.1 (a
    /// process_madvise on itself passed the CAP_SYS_NICE check).
    UserCaps,
}

impl Cred {
    pub const ALL: [Cred; 4] = [Cred::Root, Cred::User, Cred::SetuidRoot, Cred::UserCaps];

    pub fn name(self) -> &'static str {
        match self {
            Cred::Root => "root",
            Cred::User => "user",
            Cred::SetuidRoot => "setuid-root",
            Cred::UserCaps => "user-caps",
        }
    }

    /// Capabilities follow an effective uid of 0 (no `capset` in the
    /// model), except that `UserCaps` kept them when its euid was reset.
    pub fn has_caps(self) -> bool {
        matches!(self, Cred::Root | Cred::SetuidRoot | Cred::UserCaps)
    }
    pub fn euid_root(self) -> bool {
        matches!(self, Cred::Root | Cred::SetuidRoot)
    }
}

impl fmt::Display for Cred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which program the process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Image {
    Plain,
    SetuidRoot,
}

impl Image {
    pub const ALL: [Image; 2] = [Image::Plain, Image::SetuidRoot];

    pub fn name(self) -> &'static str {
        match self {
            Image::Plain => "plain",
            Image::SetuidRoot => "setuid-root",
        }
    }
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What backs a VMA slot's memory. Every modelled operation on pages
/// (a write of the whole slot, a collapse, a zap, a fork) treats the slot's
/// two PMD-sized halves alike, so one value describes the slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Pages {
    /// Never faulted in: no page, and no `anon_vma` either.
    #[default]
    None,
    /// Faulted in once, all pages zapped since (MADV_DONTNEED): no page,
    /// but the VMA has its `anon_vma`, which khugepaged's registration
    /// looks for.
    Zapped,
    /// Zapped, and the empty page tables of the small pages are still
    /// there (up to 6.12: `dontneed_frees_page_tables`): the next fault
    /// finds a page table where a huge page would go, and takes small pages.
    ZappedTables,
    /// Small pages, writable and the process's own.
    Small,
    /// Small pages a fork write-protected, that no other process maps any
    /// more (the other wrote, unmapped or exited): the next write reuses
    /// them, and only 6.18 and later collapse them before that.
    SmallRo,
    /// Small pages a fork write-protected that another live process maps
    /// too: the first to write copies them.
    SmallShared,
    /// Huge pages the process maps alone.
    Huge,
    /// Huge pages another live process maps too (after a fork): the one
    /// that writes first gets small copies (`do_huge_pmd_wp_page` splits
    /// the PMD), the last one left keeps the huge page.
    HugeShared,
    /// The huge zero page: a read fault where a huge page was allowed
    /// (`do_huge_pmd_anonymous_page`, which gives the VMA its `anon_vma`
    /// and registers the mm). smaps counts none of it. A write allocates a
    /// huge page in its place from 6.18 on (`huge_zero_wp_allocates`),
    /// whatever the VMA's flags and the mm's THP disable say by then; before,
    /// it splits and copies small pages.
    HugeZero,
    /// The small zero page in every PTE: read faults where no huge page was
    /// allowed (`do_anonymous_page`), which give the VMA no `anon_vma`. smaps
    /// counts none of it; the next write finds page tables and takes small
    /// pages, and a fork does not copy them (`vma_needs_copy`).
    ZeroTables,
}

impl Pages {
    pub const ALL: [Pages; 10] = [
        Pages::None,
        Pages::Zapped,
        Pages::ZappedTables,
        Pages::Small,
        Pages::SmallRo,
        Pages::SmallShared,
        Pages::Huge,
        Pages::HugeShared,
        Pages::HugeZero,
        Pages::ZeroTables,
    ];

    /// What `/proc/PID/smaps` shows of it.
    pub fn backing(self) -> Backing {
        match self {
            Pages::None | Pages::Zapped | Pages::ZappedTables | Pages::HugeZero | Pages::ZeroTables => {
                Backing::None
            }
            Pages::Small | Pages::SmallRo | Pages::SmallShared => Backing::Small,
            Pages::Huge | Pages::HugeShared => Backing::Huge,
        }
    }

    pub fn is_huge(self) -> bool {
        matches!(self, Pages::Huge | Pages::HugeShared)
    }

    /// Another live process maps the same pages.
    pub fn is_shared(self) -> bool {
        matches!(self, Pages::SmallShared | Pages::HugeShared)
    }

    /// What it becomes when no other process maps it any more.
    pub fn unshared(self) -> Pages {
        match self {
            Pages::SmallShared => Pages::SmallRo,
            Pages::HugeShared => Pages::Huge,
            p => p,
        }
    }

    /// The VMA has an `anon_vma` (it was faulted in at some time).
    pub fn has_anon_vma(self) -> bool {
        !matches!(self, Pages::None | Pages::ZeroTables)
    }
}

/// `huge`, `huge shared`, `small ro`, `zapped`: what backs it, and what a
/// fork left of it.
impl fmt::Display for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pages::None => "none",
            Pages::Zapped => "zapped",
            Pages::ZappedTables => "zapped (tables kept)",
            Pages::Small => "small",
            Pages::SmallRo => "small ro",
            Pages::SmallShared => "small shared",
            Pages::Huge => "huge",
            Pages::HugeShared => "huge shared",
            Pages::HugeZero => "huge zero page",
            Pages::ZeroTables => "zero page",
        })
    }
}

/// What backs a slot as `pages(v)` reads it from smaps `Rss` and
/// `AnonHugePages`: nothing, no huge page, huge pages for the whole slot,
/// or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backing {
    None,
    Small,
    Huge,
    Mixed,
}

impl Backing {
    pub const ALL: [Backing; 4] = [Backing::None, Backing::Small, Backing::Huge, Backing::Mixed];

    pub fn name(self) -> &'static str {
        match self {
            Backing::None => "none",
            Backing::Small => "small",
            Backing::Huge => "huge",
            Backing::Mixed => "mixed",
        }
    }

    pub fn from_name(s: &str) -> Option<Backing> {
        Backing::ALL.into_iter().find(|b| b.name() == s)
    }
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One VMA slot: a 4 MiB private anonymous region at a fixed address.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vma {
    /// `None` when the slot is not mapped.
    pub flags: Option<VmFlags>,
    pub ghost: VmaGhost,
    pub pages: Pages,
}

impl Vma {
    pub const UNMAPPED: Vma = Vma { flags: None, ghost: VmaGhost::EMPTY, pages: Pages::None };

    pub fn mapped(flags: VmFlags) -> Vma {
        Vma { flags: Some(flags), ghost: VmaGhost::EMPTY, pages: Pages::None }
    }

    pub fn is_mapped(&self) -> bool {
        self.flags.is_some()
    }
}

impl fmt::Debug for Vma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flags {
            None => f.write_str("unmapped"),
            Some(fl) if self.pages == Pages::None => write!(f, "{fl}{}", self.ghost),
            Some(fl) => write!(f, "{fl}{} {}", self.ghost, self.pages),
        }
    }
}

/// `struct mm_struct`, the parts that matter here.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mm {
    /// `mm->def_flags`: ORed into every new VMA.
    pub def_flags: VmFlags,
    /// `mm->flags`, the modelled `MMF_*` bits.
    pub flags: MmfFlags,
    pub vmas: [Vma; MAX_VMAS],
}

impl Mm {
    /// The mm of the initial process: dumpable, nothing set, nothing mapped.
    pub const INIT: Mm =
        Mm { def_flags: VmFlags::EMPTY, flags: MmfFlags::MMF_DUMPABLE, vmas: [Vma::UNMAPPED; MAX_VMAS] };

    pub fn vma(&self, slot: usize) -> Option<VmFlags> {
        self.vmas.get(slot).and_then(|v| v.flags)
    }
}

impl fmt::Debug for Mm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "def_flags={} flags={} vmas={:?}", self.def_flags, self.flags, self.vmas)
    }
}

/// How a task shares its mm with other slots (`vfork`, `clone(CLONE_VM)`,
/// threads). All zero for a task with an mm of its own, which is what
/// every state of a spec without those calls has. The fields name slots,
/// so a spec that can share an mm explores without renaming process slots
/// (`alphabet::symmetric_procs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    /// The lowest slot of the tasks that share this mm, plus one; 0 when
    /// no other task shares it.
    pub mm: u8,
    /// This task is one of the threads (`CLONE_THREAD`) of the one thread
    /// group of more than one task its mm may hold: an `execve` by one of
    /// them ends the others, an `exit` (`exit_group`) ends them all.
    pub thread: bool,
    /// A vfork child: the slot of the parent it keeps blocked in `vfork()`
    /// until it execs or exits (`vfork_done`), plus one; 0 otherwise.
    pub vfork_parent: u8,
}

impl Link {
    pub const OWN: Link = Link { mm: 0, thread: false, vfork_parent: 0 };

    /// Shares its mm with another task.
    pub fn shared(self) -> bool {
        self.mm != 0
    }
}

/// A task: a process with its mm, or one of the tasks sharing an mm
/// (`Link`). Everything but `mm` is the task's own; the mm, and the ghost
/// history about it, are kept equal in every task that shares it
/// (`syscalls::share`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Process {
    pub cred: Cred,
    /// `task_no_new_privs()`: inherited by fork and exec, never cleared.
    pub no_new_privs: bool,
    pub image: Image,
    /// The running image was entered through an exec with `AT_SECURE=1`.
    pub secure_exec: bool,
    pub ghost: Ghost,
    pub mm: Mm,
    pub link: Link,
}

impl Process {
    /// `P0`: root, the plain image, a fresh mm.
    pub const INIT: Process = Process {
        cred: Cred::Root,
        no_new_privs: false,
        image: Image::Plain,
        secure_exec: false,
        ghost: Ghost::EMPTY,
        mm: Mm::INIT,
        link: Link::OWN,
    };

    pub fn cap_sys_admin(&self) -> bool {
        self.cred.has_caps()
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}{} {:?}{}{}",
            self.cred,
            self.image,
            if self.secure_exec { " AT_SECURE" } else { "" },
            if self.no_new_privs { " NNP" } else { "" },
            self.mm,
            self.ghost,
            self.link
        )
    }
}

/// The whole system: what one node of the state graph is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State {
    pub sysfs: Sysfs,
    pub procs: [Option<Process>; MAX_PROCS],
}

impl State {
    pub fn init(sysfs: Sysfs) -> State {
        let mut procs = [None; MAX_PROCS];
        procs[0] = Some(Process::INIT);
        State { sysfs, procs }
    }

    pub fn proc(&self, pid: usize) -> Option<&Process> {
        self.procs.get(pid).and_then(|p| p.as_ref())
    }

    pub fn proc_mut(&mut self, pid: usize) -> Option<&mut Process> {
        self.procs.get_mut(pid).and_then(|p| p.as_mut())
    }

    /// Live processes with their slot numbers.
    pub fn live(&self) -> impl Iterator<Item = (usize, &Process)> {
        self.procs.iter().enumerate().filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
    }

    /// The slots of the tasks that share `pid`'s mm, `pid` included.
    pub fn sharers(&self, pid: usize) -> impl Iterator<Item = usize> + '_ {
        let link = self.proc(pid).map(|p| p.link.mm).unwrap_or(0);
        (0..MAX_PROCS)
            .filter(move |&i| i == pid || (link != 0 && self.proc(i).is_some_and(|q| q.link.mm == link)))
    }

    /// `pid` is blocked in `vfork()`: a live child holds it.
    pub fn vfork_child_of(&self, pid: usize) -> Option<usize> {
        self.live().find(|(_, q)| q.link.vfork_parent as usize == pid + 1).map(|(i, _)| i)
    }

    /// The slot `fork()` would use: the lowest free one below `limit`.
    pub fn free_pid(&self, limit: usize) -> Option<usize> {
        (0..limit.min(MAX_PROCS)).find(|&i| self.procs[i].is_none())
    }
}

/// ` mm=P0 thread vfork-child-of=P0`, or nothing for an mm of its own.
impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mm != 0 {
            write!(f, " mm=P{}", self.mm - 1)?;
        }
        if self.thread {
            f.write_str(" thread")?;
        }
        if self.vfork_parent != 0 {
            write!(f, " vfork-child-of=P{}", self.vfork_parent - 1)?;
        }
        Ok(())
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sysfs={}", self.sysfs)?;
        for (i, p) in self.live() {
            writeln!(f, "P{i}: {p:?}")?;
        }
        Ok(())
    }
}
