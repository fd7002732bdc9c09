//! The compact form the checker stores: a `State` packed into one `u128`
//! per process slot (a slot's *form*), plus the projection and canonical
//! form computed on it.
//!
//! `State` stays the readable form the semantics are written against; the
//! checker packs each successor once, projects away what no transition or
//! checked property reads, sorts for symmetry, and hashes the forms.
//!
//! Layout of a form (bit 0 = least significant):
//! `0` alive, `1-2` cred, `3` no_new_privs, `4` image, `5` secure_exec,
//! `6-14` def_flags, `15-26` mm->flags, `27-33` the task's `Link` (mm
//! group, thread, vfork parent), `34-101` four VMA fields of 17 bits
//! (`mapped`, nine flag bits, three ghost bits, four page bits), `102-125`
//! the process's ghost bits, `126-127` sysfs (in every form, so sorting
//! forms keeps it).

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, VmaGhost};
use crate::state::{Cred, Image, Link, Mm, Pages, Process, State, Sysfs, Vma, MAX_PROCS, MAX_VMAS};
use crate::symmetry::Symmetry;

/// One process slot's stored form.
pub type Form = u128;

/// The stored form of a state: one form per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub forms: [Form; MAX_PROCS],
}

const ALIVE: Form = 1;
const CRED_SHIFT: u32 = 1;
const NNP: Form = 1 << 3;
const IMAGE: Form = 1 << 4;
const SECURE: Form = 1 << 5;
const DEF_SHIFT: u32 = 6;
const DEF_BITS: u32 = 9;
const MMF_SHIFT: u32 = 15;
const MMF_BITS: u32 = 12;
/// `Link`: `mm` in three bits, `thread`, `vfork_parent` in three bits.
const LINK_SHIFT: u32 = 27;
const LINK_BITS: u32 = 7;
const VMA_SHIFT: u32 = 34;
const VMA_BITS: u32 = 17;
const VMA_MASK: Form = (1 << VMA_BITS) - 1;
const GHOST_SHIFT: u32 = 102;
const SYSFS_SHIFT: u32 = 126;

// Inside a VMA field.
const VMA_MAPPED: Form = 1;
const VMA_FLAGS_SHIFT: u32 = 1;
const VMA_FLAG_BITS: u32 = 9;
const VMA_GHOST_SHIFT: u32 = 10;
const VMA_GHOST_BITS: Form = 7;
const VMA_PAGES_SHIFT: u32 = 13;
/// `Pages` in four bits: its place in `Pages::ALL`.
const VMA_PAGES_BITS: Form = 15;

const _: () = assert!(VmFlags::ALL.0 as u128 >> VMA_FLAG_BITS == 0, "VMA flags fit their field");
const _: () = assert!(VmFlags::ALL.0 as u128 >> DEF_BITS == 0, "def_flags fit their field");
const _: () = assert!(MmfFlags::ALL.0 as u128 >> MMF_BITS == 0, "mm->flags fit their field");
const _: () = assert!(
    DEF_SHIFT + DEF_BITS <= MMF_SHIFT
        && MMF_SHIFT + MMF_BITS <= LINK_SHIFT
        && LINK_SHIFT + LINK_BITS <= VMA_SHIFT
        && VMA_SHIFT + VMA_BITS * MAX_VMAS as u32 <= GHOST_SHIFT
);
const _: () = assert!(GHOST_SHIFT + Ghost::BITS <= SYSFS_SHIFT, "the ghost word fits below the sysfs mode");

/// Which parts of a state the checker keeps. What no transition reads and
/// no checked property reads cannot change any verdict, so it is erased
/// before states are compared: traces are rebuilt from concrete states and
/// still show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection {
    pub ghosts: GhostMask,
    /// `image` and `secure_exec` are history: transitions never read them.
    pub image: bool,
    /// MMF_DUMPABLE is read only by `mm_access` for a remote target.
    pub dumpable: bool,
    /// The sysfs THP mode is read only by THP eligibility, i.e. by
    /// properties and observations, never by a transition: without it one
    /// stored state stands for the same state under every mode, and the
    /// checker evaluates properties under each mode the spec lists.
    /// (A spec whose calls fault pages in reads it: see `System::new`.)
    pub sysfs: bool,
    /// The VMA (and `def_flags`) bits kept. VM_WIPEONFORK only zeroes page
    /// contents, and VM_LOCKONFAULT never appears without VM_LOCKED: where
    /// no call puts pages in a VMA, no transition or property tells them
    /// apart, so checking drops them (`UNREAD_VM_FLAGS`); a test flips
    /// them in reachable states to prove it.
    pub vm_flags: VmFlags,
    /// What backs each VMA, and whether khugepaged scans the mm
    /// (MMF_VM_HUGEPAGE): read only by a collapse, khugepaged and the page
    /// properties. Where none of them is in a run, pages change but nothing
    /// that is read depends on them (and then neither the sysfs mode,
    /// VM_WIPEONFORK nor VM_LOCKONFAULT is read by a transition).
    pub pages: bool,
}

/// VMA flags nothing in the model reads where pages stay empty (see
/// `Projection::vm_flags`).
pub const UNREAD_VM_FLAGS: VmFlags = VmFlags(VmFlags::VM_WIPEONFORK.0 | VmFlags::VM_LOCKONFAULT.0);

impl Projection {
    pub const ALL: Projection = Projection {
        ghosts: GhostMask::ALL,
        image: true,
        dumpable: true,
        sysfs: true,
        vm_flags: VmFlags::ALL,
        pages: true,
    };

    /// `self` keeping pages and what a page fault reads.
    pub fn with_pages(self) -> Projection {
        Projection { pages: true, sysfs: true, vm_flags: VmFlags::ALL, ..self }
    }

    fn form_mask(&self) -> Form {
        let mut m = !0 as Form;
        if !self.sysfs {
            m &= !(3 << SYSFS_SHIFT);
        }
        if !self.image {
            m &= !(IMAGE | SECURE);
        }
        if !self.dumpable {
            m &= !((MmfFlags::MMF_DUMPABLE.0 as Form) << MMF_SHIFT);
        }
        if !self.pages {
            m &= !((MmfFlags::MMF_VM_HUGEPAGE.0 as Form) << MMF_SHIFT);
            for v in 0..MAX_VMAS as u32 {
                m &= !(VMA_PAGES_BITS << (VMA_SHIFT + VMA_BITS * v + VMA_PAGES_SHIFT));
            }
        }
        let dropped_ghost = (!self.ghosts.process.0 & ((1 << Ghost::BITS) - 1)) as Form;
        m &= !(dropped_ghost << GHOST_SHIFT);
        let dropped_vma_ghost = !self.ghosts.vma.0 as Form & VMA_GHOST_BITS;
        let dropped = (VmFlags::ALL.0 & !self.vm_flags.0) as Form;
        m &= !(dropped << DEF_SHIFT);
        for v in 0..MAX_VMAS as u32 {
            let at = VMA_SHIFT + VMA_BITS * v;
            m &= !(dropped_vma_ghost << (at + VMA_GHOST_SHIFT));
            m &= !(dropped << (at + VMA_FLAGS_SHIFT));
        }
        m
    }
}

#[inline]
fn cred_code(c: Cred) -> Form {
    match c {
        Cred::Root => 0,
        Cred::User => 1,
        Cred::SetuidRoot => 2,
        Cred::UserCaps => 3,
    }
}

#[inline]
fn sysfs_code(s: Sysfs) -> Form {
    match s {
        Sysfs::Never => 0,
        Sysfs::Madvise => 1,
        Sysfs::Always => 2,
    }
}

#[inline]
fn pages_code(p: Pages) -> Form {
    p as Form
}

#[inline]
fn pages_of(code: Form) -> Pages {
    Pages::ALL.get(code as usize).copied().unwrap_or(Pages::None)
}

#[inline]
fn pack_vma(v: &Vma) -> Form {
    debug_assert!(v.ghost.0 as Form <= VMA_GHOST_BITS, "three VMA ghost bits are packed");
    match v.flags {
        None => 0,
        Some(f) => {
            VMA_MAPPED
                | (f.0 as Form) << VMA_FLAGS_SHIFT
                | (v.ghost.0 as Form & VMA_GHOST_BITS) << VMA_GHOST_SHIFT
                | pages_code(v.pages) << VMA_PAGES_SHIFT
        }
    }
}

#[inline]
fn link_code(l: Link) -> Form {
    debug_assert!(l.mm as usize <= MAX_PROCS && l.vfork_parent as usize <= MAX_PROCS);
    (l.mm as Form & 7) | (l.thread as Form) << 3 | (l.vfork_parent as Form & 7) << 4
}

#[inline]
fn link_of(code: Form) -> Link {
    Link { mm: (code & 7) as u8, thread: code & 8 != 0, vfork_parent: ((code >> 4) & 7) as u8 }
}

/// The form shares its mm with another slot: a step by it (or on it)
/// changes more than one slot.
#[inline]
pub fn slot_linked(form: Form) -> bool {
    (form >> LINK_SHIFT) & ((1 << LINK_BITS) - 1) != 0
}

#[inline]
fn pack_proc(p: &Process) -> Form {
    let mut w = ALIVE
        | cred_code(p.cred) << CRED_SHIFT
        | if p.no_new_privs { NNP } else { 0 }
        | if p.image == Image::SetuidRoot { IMAGE } else { 0 }
        | if p.secure_exec { SECURE } else { 0 }
        | (p.mm.def_flags.0 as Form) << DEF_SHIFT
        | (p.mm.flags.0 as Form) << MMF_SHIFT
        | (p.ghost.0 as Form) << GHOST_SHIFT
        | link_code(p.link) << LINK_SHIFT;
    for (i, v) in p.mm.vmas.iter().enumerate() {
        w |= pack_vma(v) << (VMA_SHIFT + VMA_BITS * i as u32);
    }
    w
}

/// Packs a state (exactly: `unpack(pack(s)) == s`).
pub fn pack(s: &State) -> Key {
    Canon::new(&Projection::ALL, Symmetry::NONE, MAX_PROCS, MAX_VMAS).key(s)
}

#[inline]
fn unpack_proc(w: Form) -> Process {
    let mut vmas = [Vma::UNMAPPED; MAX_VMAS];
    for (i, v) in vmas.iter_mut().enumerate() {
        let b = (w >> (VMA_SHIFT + VMA_BITS * i as u32)) & VMA_MASK;
        if b & VMA_MAPPED != 0 {
            *v = Vma {
                flags: Some(VmFlags(((b >> VMA_FLAGS_SHIFT) & ((1 << VMA_FLAG_BITS) - 1)) as u16)),
                ghost: VmaGhost(((b >> VMA_GHOST_SHIFT) & VMA_GHOST_BITS) as u8),
                pages: pages_of((b >> VMA_PAGES_SHIFT) & VMA_PAGES_BITS),
            };
        }
    }
    Process {
        cred: match (w >> CRED_SHIFT) & 3 {
            0 => Cred::Root,
            1 => Cred::User,
            2 => Cred::SetuidRoot,
            _ => Cred::UserCaps,
        },
        no_new_privs: w & NNP != 0,
        image: if w & IMAGE != 0 { Image::SetuidRoot } else { Image::Plain },
        secure_exec: w & SECURE != 0,
        ghost: Ghost(((w >> GHOST_SHIFT) & ((1 << Ghost::BITS) - 1)) as u32),
        mm: Mm {
            def_flags: VmFlags(((w >> DEF_SHIFT) & ((1 << DEF_BITS) - 1)) as u16),
            flags: MmfFlags(((w >> MMF_SHIFT) & ((1 << MMF_BITS) - 1)) as u16),
            vmas,
        },
        link: link_of((w >> LINK_SHIFT) & ((1 << LINK_BITS) - 1)),
    }
}

#[inline]
pub fn unpack(k: &Key) -> State {
    let sysfs = slot_sysfs(k.forms[0]);
    let mut procs = [None; MAX_PROCS];
    for (i, p) in procs.iter_mut().enumerate() {
        if slot_alive(k.forms[i]) {
            *p = Some(unpack_proc(k.forms[i]));
        }
    }
    State { sysfs, procs }
}

/// Sorts the first `n` VMA fields of a form.
#[inline]
fn sort_vmas(w: Form, n: usize) -> Form {
    let field = |i: usize| (w >> (VMA_SHIFT + VMA_BITS * i as u32)) & VMA_MASK;
    if n == 2 {
        // The common bound, as one compare-and-swap.
        let (a, b) = (field(0), field(1));
        if a <= b {
            return w;
        }
        let two = (VMA_MASK << VMA_SHIFT) | (VMA_MASK << (VMA_SHIFT + VMA_BITS));
        return (w & !two) | (b << VMA_SHIFT) | (a << (VMA_SHIFT + VMA_BITS));
    }
    let mut f = [0 as Form; MAX_VMAS];
    for (i, x) in f.iter_mut().enumerate() {
        *x = field(i);
    }
    f[..n].sort_unstable();
    let fields: Form = ((1 as Form) << (VMA_BITS * MAX_VMAS as u32)) - 1;
    let mut out = w & !(fields << VMA_SHIFT);
    for (i, x) in f.iter().enumerate() {
        out |= x << (VMA_SHIFT + VMA_BITS * i as u32);
    }
    out
}

/// The stored form of states under one projection and symmetry, with the
/// masks worked out once (the checker makes one per level and keys every
/// successor with it).
#[derive(Clone, Copy, Debug)]
pub struct Canon {
    mask: Form,
    sym: Symmetry,
    procs: usize,
    vmas: usize,
}

impl Canon {
    pub fn new(proj: &Projection, sym: Symmetry, procs: usize, vmas: usize) -> Canon {
        Canon { mask: proj.form_mask(), sym, procs: procs.min(MAX_PROCS), vmas: vmas.min(MAX_VMAS) }
    }

    /// One process slot's stored form: its packed form under the
    /// projection (VMA fields sorted when VMA slots are interchangeable).
    /// A free slot is the form of the mode alone. The key of a state is
    /// its slots' forms, sorted when process slots are interchangeable.
    #[inline]
    pub fn slot(&self, p: Option<&Process>, sysfs: Sysfs) -> Form {
        let base = sysfs_code(sysfs) << SYSFS_SHIFT;
        let form = match p {
            Some(p) => base | pack_proc(p),
            None => base,
        };
        let mut form = form & self.mask;
        if self.sym.vmas && form & ALIVE != 0 {
            form = sort_vmas(form, self.vmas);
        }
        form
    }

    /// `s` projected, then sorted for symmetry. Written on plain locals and
    /// a sorting network: this runs for every successor.
    #[inline]
    pub fn key(&self, s: &State) -> Key {
        let mut w = [0 as Form; MAX_PROCS];
        for (i, x) in w.iter_mut().enumerate() {
            *x = self.slot(s.procs[i].as_ref(), s.sysfs);
        }
        if self.sym.procs {
            let mut cx = |i: usize, j: usize| {
                if w[j] < w[i] {
                    w.swap(i, j);
                }
            };
            match self.procs {
                0 | 1 => {}
                2 => cx(0, 1),
                3 => {
                    cx(0, 1);
                    cx(1, 2);
                    cx(0, 1);
                }
                _ => {
                    cx(0, 1);
                    cx(2, 3);
                    cx(0, 2);
                    cx(1, 3);
                    cx(1, 2);
                }
            }
        }
        Key { forms: w }
    }

    /// Process slots the key covers (the spec's bound).
    pub fn procs(&self) -> usize {
        self.procs
    }
}

/// Whether a slot's stored form holds a live process.
#[inline]
pub fn slot_alive(form: Form) -> bool {
    form & ALIVE != 0
}

/// The sysfs mode a slot's stored form records (`never` when the
/// projection drops the mode: see `Projection::sysfs`).
#[inline]
pub fn slot_sysfs(form: Form) -> Sysfs {
    match form >> SYSFS_SHIFT {
        0 => Sysfs::Never,
        1 => Sysfs::Madvise,
        _ => Sysfs::Always,
    }
}

/// The process a live slot's stored form stands for (`unpack` of one slot).
#[inline]
pub fn unpack_slot(form: Form) -> Process {
    unpack_proc(form)
}

/// The free slot of a state whose slots record `form`'s mode.
#[inline]
pub fn free_slot_like(form: Form) -> Form {
    form & (3 << SYSFS_SHIFT)
}

/// The stored form of `s`: projected, then sorted for symmetry.
pub fn canonical_key(s: &State, proj: &Projection, sym: Symmetry, procs: usize, vmas: usize) -> Key {
    Canon::new(proj, sym, procs, vmas).key(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_a_busy_state() {
        let mut s = State::init(Sysfs::Always);
        let mut p = Process::INIT;
        p.cred = Cred::SetuidRoot;
        p.no_new_privs = true;
        p.image = Image::SetuidRoot;
        p.secure_exec = true;
        p.ghost = Ghost(0xffff);
        p.mm.def_flags = VmFlags::ALL;
        p.mm.flags = MmfFlags::ALL;
        p.link = Link { mm: 1, thread: true, vfork_parent: 4 };
        p.mm.vmas[3] =
            Vma { flags: Some(VmFlags::ALL), ghost: VmaGhost::OPTED_OUT, pages: Pages::HugeShared };
        p.mm.vmas[1] = Vma::mapped(VmFlags::EMPTY);
        p.mm.vmas[2] = Vma { pages: Pages::SmallShared, ..Vma::mapped(VmFlags::VM_LOCKED) };
        s.procs[2] = Some(p);
        assert_eq!(unpack(&pack(&s)), s);
        for (i, pages) in Pages::ALL.into_iter().enumerate() {
            assert_eq!(pages_code(pages), i as Form, "ALL is in declaration order");
            assert_eq!(pages_of(pages_code(pages)), pages);
        }
    }

    /// Sorting a process's VMA fields moves those fields only, at every
    /// bound (a mask slip once erased the rest of the form at 1 and 3).
    #[test]
    fn sorting_vmas_keeps_the_rest_of_the_form() {
        let mut p = Process::INIT;
        p.ghost = Ghost(0x5a5a);
        p.mm.def_flags = VmFlags::VM_NOHUGEPAGE;
        p.mm.flags = MmfFlags(0x1ff);
        p.mm.vmas[0] = Vma { pages: Pages::Huge, ..Vma::mapped(VmFlags::VM_HUGEPAGE) };
        p.mm.vmas[2] = Vma::mapped(VmFlags::VM_NOHUGEPAGE);
        for n in 1..=MAX_VMAS {
            let sym = Symmetry { procs: false, vmas: true };
            let form = Canon::new(&Projection::ALL, sym, 1, n).slot(Some(&p), Sysfs::Always);
            let q = unpack_slot(form);
            assert_eq!(
                (q.ghost, q.mm.def_flags, q.mm.flags, q.cred),
                (p.ghost, p.mm.def_flags, p.mm.flags, p.cred)
            );
            assert_eq!(slot_sysfs(form), Sysfs::Always, "at {n} VMAs");
            let mut before: Vec<Vma> = p.mm.vmas.to_vec();
            let mut after: Vec<Vma> = q.mm.vmas.to_vec();
            before.sort();
            after.sort();
            assert_eq!(before, after, "at {n} VMAs the same VMAs, in some order");
        }
    }

    #[test]
    fn projection_erases_history_only() {
        let mut s = State::init(Sysfs::Madvise);
        let p = s.procs[0].as_mut().unwrap();
        p.image = Image::SetuidRoot;
        p.secure_exec = true;
        p.ghost = Ghost::EXEC_FRESH;
        p.mm.vmas[0] = Vma { pages: Pages::Huge, ..Vma::mapped(VmFlags::VM_HUGEPAGE) };
        let none = Projection {
            ghosts: GhostMask::NONE,
            image: false,
            dumpable: false,
            sysfs: true,
            vm_flags: VmFlags::ALL,
            pages: true,
        };
        let k = canonical_key(&s, &none, Symmetry::NONE, 3, 2);
        let u = unpack(&k);
        let q = u.procs[0].unwrap();
        assert_eq!((q.image, q.secure_exec, q.ghost), (Image::Plain, false, Ghost::EMPTY));
        assert_eq!(q.cred, Cred::Root);
        assert_eq!(q.mm.vmas[0].pages, Pages::Huge, "pages are state, not history");
        assert!(!q.mm.flags.contains(MmfFlags::MMF_DUMPABLE));
    }
}
