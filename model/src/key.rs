//! The compact form the checker stores: a `State` packed into one `u64` per
//! process slot (32 bytes in all), plus the projection and canonical form
//! computed on it.
//!
//! `State` stays the readable form the semantics are written against; the
//! checker packs each successor once, projects away what no transition or
//! checked property reads, sorts for symmetry, and hashes 32 bytes.
//!
//! Layout of a process word (bit 0 = least significant):
//! `0` alive, `1-2` cred, `3` no_new_privs, `4` image, `5` secure_exec,
//! `6-11` def_flags, `12-19` mm->flags, `20-55` four VMA fields of 9 bits
//! (`mapped`, six flags, two ghost bits), `62-63` sysfs (in every word, so
//! sorting words keeps it). The process's ghost bits sit in a `u16` beside
//! its word and move with it when slots are sorted.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, VmaGhost};
use crate::state::{Cred, Image, Mm, Process, State, Sysfs, Vma, MAX_PROCS, MAX_VMAS};
use crate::symmetry::Symmetry;

/// The stored form of a state: one word and one ghost half-word per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub words: [u64; MAX_PROCS],
    pub ghosts: [u16; MAX_PROCS],
}

const ALIVE: u64 = 1;
const CRED_SHIFT: u32 = 1;
const NNP: u64 = 1 << 3;
const IMAGE: u64 = 1 << 4;
const SECURE: u64 = 1 << 5;
const DEF_SHIFT: u32 = 6;
const MMF_SHIFT: u32 = 12;
const VMA_SHIFT: u32 = 20;
const VMA_BITS: u32 = 9;
const VMA_MASK: u64 = (1 << VMA_BITS) - 1;
const SYSFS_SHIFT: u32 = 62;

const VMA_MAPPED: u64 = 1;
const VMA_GHOST_SHIFT: u32 = 7;

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
    pub sysfs: bool,
    /// The VMA (and `def_flags`) bits kept. VM_WIPEONFORK only zeroes page
    /// contents, and VM_LOCKONFAULT never appears without VM_LOCKED: no
    /// transition or property tells them apart, so checking drops them
    /// (`UNREAD_VM_FLAGS`); a test flips them in reachable states to prove it.
    pub vm_flags: VmFlags,
}

/// VMA flags nothing in the model reads (see `Projection::vm_flags`).
pub const UNREAD_VM_FLAGS: VmFlags = VmFlags(VmFlags::VM_WIPEONFORK.0 | VmFlags::VM_LOCKONFAULT.0);

impl Projection {
    pub const ALL: Projection = Projection {
        ghosts: GhostMask::ALL,
        image: true,
        dumpable: true,
        sysfs: true,
        vm_flags: VmFlags::ALL,
    };

    fn word_mask(&self) -> u64 {
        let mut m = !0u64;
        if !self.sysfs {
            m &= !(3 << SYSFS_SHIFT);
        }
        if !self.image {
            m &= !(IMAGE | SECURE);
        }
        if !self.dumpable {
            m &= !((MmfFlags::MMF_DUMPABLE.0 as u64) << MMF_SHIFT);
        }
        let vma_ghost = (self.ghosts.vma.0 as u64) & 3;
        let dropped = (VmFlags::ALL.0 & !self.vm_flags.0) as u64;
        m &= !(dropped << DEF_SHIFT);
        for v in 0..MAX_VMAS as u32 {
            let shift = VMA_SHIFT + VMA_BITS * v + VMA_GHOST_SHIFT;
            m &= !(3 << shift) | (vma_ghost << shift);
            m &= !(dropped << (VMA_SHIFT + VMA_BITS * v + 1));
        }
        m
    }
}

#[inline]
fn cred_code(c: Cred) -> u64 {
    match c {
        Cred::Root => 0,
        Cred::User => 1,
        Cred::SetuidRoot => 2,
        Cred::UserCaps => 3,
    }
}

#[inline]
fn sysfs_code(s: Sysfs) -> u64 {
    match s {
        Sysfs::Never => 0,
        Sysfs::Madvise => 1,
        Sysfs::Always => 2,
    }
}

#[inline]
fn pack_vma(v: &Vma) -> u64 {
    debug_assert!(v.ghost.0 < 4, "two VMA ghost bits are packed");
    match v.flags {
        None => 0,
        Some(f) => VMA_MAPPED | (f.0 as u64) << 1 | (v.ghost.0 as u64 & 3) << VMA_GHOST_SHIFT,
    }
}

#[inline]
fn pack_proc(p: &Process) -> u64 {
    let mut w = ALIVE
        | cred_code(p.cred) << CRED_SHIFT
        | if p.no_new_privs { NNP } else { 0 }
        | if p.image == Image::SetuidRoot { IMAGE } else { 0 }
        | if p.secure_exec { SECURE } else { 0 }
        | (p.mm.def_flags.0 as u64) << DEF_SHIFT
        | (p.mm.flags.0 as u64) << MMF_SHIFT;
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
fn unpack_proc(w: u64, ghost: u16) -> Process {
    let mut vmas = [Vma::UNMAPPED; MAX_VMAS];
    for (i, v) in vmas.iter_mut().enumerate() {
        let b = (w >> (VMA_SHIFT + VMA_BITS * i as u32)) & VMA_MASK;
        if b & VMA_MAPPED != 0 {
            *v = Vma {
                flags: Some(VmFlags(((b >> 1) & 0x3f) as u8)),
                ghost: VmaGhost((b >> VMA_GHOST_SHIFT) as u8 & 3),
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
        ghost: Ghost(ghost),
        mm: Mm {
            def_flags: VmFlags(((w >> DEF_SHIFT) & 0x3f) as u8),
            flags: MmfFlags(((w >> MMF_SHIFT) & 0xff) as u8),
            vmas,
        },
    }
}

#[inline]
pub fn unpack(k: &Key) -> State {
    let sysfs = match k.words[0] >> SYSFS_SHIFT {
        0 => Sysfs::Never,
        1 => Sysfs::Madvise,
        _ => Sysfs::Always,
    };
    let mut procs = [None; MAX_PROCS];
    for (i, p) in procs.iter_mut().enumerate() {
        if k.words[i] & ALIVE != 0 {
            *p = Some(unpack_proc(k.words[i], k.ghosts[i]));
        }
    }
    State { sysfs, procs }
}

/// Sorts the first `n` VMA fields of a process word.
#[inline]
fn sort_vmas(w: u64, n: usize) -> u64 {
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
    let mut f = [0u64; MAX_VMAS];
    for (i, x) in f.iter_mut().enumerate() {
        *x = field(i);
    }
    f[..n].sort_unstable();
    let mut out = w & !(((1u64 << (VMA_BITS * MAX_VMAS as u32)) - 1) << VMA_SHIFT);
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
    word_mask: u64,
    ghost_mask: u16,
    sym: Symmetry,
    procs: usize,
    vmas: usize,
}

impl Canon {
    pub fn new(proj: &Projection, sym: Symmetry, procs: usize, vmas: usize) -> Canon {
        Canon {
            word_mask: proj.word_mask(),
            ghost_mask: proj.ghosts.process.0,
            sym,
            procs: procs.min(MAX_PROCS),
            vmas: vmas.min(MAX_VMAS),
        }
    }

    /// One process slot's stored form: its packed word under the
    /// projection (VMA fields sorted when VMA slots are interchangeable)
    /// and its kept ghost bits. A free slot is the word of the mode alone.
    /// The key of a state is its slots' forms, sorted when process slots
    /// are interchangeable.
    #[inline]
    pub fn slot(&self, p: Option<&Process>, sysfs: Sysfs) -> (u64, u16) {
        let base = sysfs_code(sysfs) << SYSFS_SHIFT;
        let (word, ghost) = match p {
            Some(p) => (base | pack_proc(p), p.ghost.0),
            None => (base, 0),
        };
        let mut word = word & self.word_mask;
        if self.sym.vmas && word & ALIVE != 0 {
            word = sort_vmas(word, self.vmas);
        }
        (word, ghost & self.ghost_mask)
    }

    /// `s` projected, then sorted for symmetry. Written on plain locals and
    /// a sorting network: this runs for every successor, and round trips
    /// through memory of differently sized pieces stalled store forwarding.
    #[inline]
    pub fn key(&self, s: &State) -> Key {
        let mut w = [0u64; MAX_PROCS];
        let mut g = [0u16; MAX_PROCS];
        for i in 0..MAX_PROCS {
            (w[i], g[i]) = self.slot(s.procs[i].as_ref(), s.sysfs);
        }
        if self.sym.procs {
            let mut cx = |i: usize, j: usize| {
                if (w[j], g[j]) < (w[i], g[i]) {
                    w.swap(i, j);
                    g.swap(i, j);
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
        Key { words: w, ghosts: g }
    }

    /// Process slots the key covers (the spec's bound).
    pub fn procs(&self) -> usize {
        self.procs
    }
}

/// Whether a slot's stored word holds a live process.
#[inline]
pub fn slot_alive(word: u64) -> bool {
    word & ALIVE != 0
}

/// The sysfs mode a slot's stored word records (`never` when the
/// projection drops the mode: see `Projection::sysfs`).
#[inline]
pub fn slot_sysfs(word: u64) -> Sysfs {
    match word >> SYSFS_SHIFT {
        0 => Sysfs::Never,
        1 => Sysfs::Madvise,
        _ => Sysfs::Always,
    }
}

/// The process a live slot's stored form stands for (`unpack` of one slot).
#[inline]
pub fn unpack_slot(word: u64, ghost: u16) -> Process {
    unpack_proc(word, ghost)
}

/// The free slot of a state whose slots record `word`'s mode.
#[inline]
pub fn free_slot_like(word: u64) -> u64 {
    word & (3 << SYSFS_SHIFT)
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
        p.mm.flags = MmfFlags(0xff);
        p.mm.vmas[3] = Vma { flags: Some(VmFlags::ALL), ghost: VmaGhost::OPTED_OUT };
        p.mm.vmas[1] = Vma::mapped(VmFlags::EMPTY);
        s.procs[2] = Some(p);
        assert_eq!(unpack(&pack(&s)), s);
    }

    #[test]
    fn projection_erases_history_only() {
        let mut s = State::init(Sysfs::Madvise);
        let p = s.procs[0].as_mut().unwrap();
        p.image = Image::SetuidRoot;
        p.secure_exec = true;
        p.ghost = Ghost::EXEC_FRESH;
        let none = Projection {
            ghosts: GhostMask::NONE,
            image: false,
            dumpable: false,
            sysfs: true,
            vm_flags: VmFlags::ALL,
        };
        let k = canonical_key(&s, &none, Symmetry::NONE, 3, 2);
        let u = unpack(&k);
        let q = u.procs[0].unwrap();
        assert_eq!((q.image, q.secure_exec, q.ghost), (Image::Plain, false, Ghost::EMPTY));
        assert_eq!(q.cred, Cred::Root);
        assert!(!q.mm.flags.contains(MmfFlags::MMF_DUMPABLE));
    }
}
