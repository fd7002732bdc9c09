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
//! `6-15` ghost, `16-21` def_flags, `22-29` mm->flags, `30-61` four VMA
//! bytes (`mapped`, six flags, opted-out ghost), `62-63` sysfs (in every
//! word, so sorting words keeps it).

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, VmaGhost};
use crate::state::{Cred, Image, Mm, Process, State, Sysfs, Vma, MAX_PROCS, MAX_VMAS};
use crate::symmetry::Symmetry;

pub type Key = [u64; MAX_PROCS];

const ALIVE: u64 = 1;
const CRED_SHIFT: u32 = 1;
const NNP: u64 = 1 << 3;
const IMAGE: u64 = 1 << 4;
const SECURE: u64 = 1 << 5;
const GHOST_SHIFT: u32 = 6;
const GHOST_BITS: u32 = 10;
const DEF_SHIFT: u32 = 16;
const MMF_SHIFT: u32 = 22;
const VMA_SHIFT: u32 = 30;
const SYSFS_SHIFT: u32 = 62;

const VMA_MAPPED: u64 = 1;
const VMA_GHOST: u64 = 1 << 7;

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
}

impl Projection {
    pub const ALL: Projection = Projection {
        ghosts: GhostMask::ALL,
        image: true,
        dumpable: true,
    };

    fn word_mask(&self) -> u64 {
        let mut m = !0u64;
        if !self.image {
            m &= !(IMAGE | SECURE);
        }
        if !self.dumpable {
            m &= !((MmfFlags::MMF_DUMPABLE.0 as u64) << MMF_SHIFT);
        }
        let g = self.ghosts.process.0 as u64 & ((1 << GHOST_BITS) - 1);
        m &= !(((1 << GHOST_BITS) - 1) << GHOST_SHIFT) | (g << GHOST_SHIFT);
        if self.ghosts.vma.0 & VmaGhost::OPTED_OUT.0 == 0 {
            for v in 0..MAX_VMAS as u32 {
                m &= !(VMA_GHOST << (VMA_SHIFT + 8 * v));
            }
        }
        m
    }
}

fn cred_code(c: Cred) -> u64 {
    match c {
        Cred::Root => 0,
        Cred::User => 1,
        Cred::SetuidRoot => 2,
    }
}

fn sysfs_code(s: Sysfs) -> u64 {
    match s {
        Sysfs::Never => 0,
        Sysfs::Madvise => 1,
        Sysfs::Always => 2,
    }
}

fn pack_vma(v: &Vma) -> u64 {
    match v.flags {
        None => 0,
        Some(f) => {
            VMA_MAPPED
                | (f.0 as u64) << 1
                | if v.ghost.0 & VmaGhost::OPTED_OUT.0 != 0 {
                    VMA_GHOST
                } else {
                    0
                }
        }
    }
}

fn pack_proc(p: &Process) -> u64 {
    debug_assert!(u64::from(p.ghost.0) < 1 << GHOST_BITS);
    let mut w = ALIVE
        | cred_code(p.cred) << CRED_SHIFT
        | if p.no_new_privs { NNP } else { 0 }
        | if p.image == Image::SetuidRoot {
            IMAGE
        } else {
            0
        }
        | if p.secure_exec { SECURE } else { 0 }
        | (p.ghost.0 as u64) << GHOST_SHIFT
        | (p.mm.def_flags.0 as u64) << DEF_SHIFT
        | (p.mm.flags.0 as u64) << MMF_SHIFT;
    for (i, v) in p.mm.vmas.iter().enumerate() {
        w |= pack_vma(v) << (VMA_SHIFT + 8 * i as u32);
    }
    w
}

/// Packs a state (exactly: `unpack(pack(s)) == s`).
pub fn pack(s: &State) -> Key {
    let sysfs = sysfs_code(s.sysfs) << SYSFS_SHIFT;
    let mut k = [sysfs; MAX_PROCS];
    for (w, p) in k.iter_mut().zip(&s.procs) {
        if let Some(p) = p {
            *w |= pack_proc(p);
        }
    }
    k
}

fn unpack_proc(w: u64) -> Process {
    let byte = |shift: u32| ((w >> shift) & 0xff) as u8;
    let mut vmas = [Vma::UNMAPPED; MAX_VMAS];
    for (i, v) in vmas.iter_mut().enumerate() {
        let b = (w >> (VMA_SHIFT + 8 * i as u32)) & 0xff;
        if b & VMA_MAPPED != 0 {
            *v = Vma {
                flags: Some(VmFlags(((b >> 1) & 0x3f) as u8)),
                ghost: if b & VMA_GHOST != 0 {
                    VmaGhost::OPTED_OUT
                } else {
                    VmaGhost::EMPTY
                },
            };
        }
    }
    Process {
        cred: match (w >> CRED_SHIFT) & 3 {
            0 => Cred::Root,
            1 => Cred::User,
            _ => Cred::SetuidRoot,
        },
        no_new_privs: w & NNP != 0,
        image: if w & IMAGE != 0 {
            Image::SetuidRoot
        } else {
            Image::Plain
        },
        secure_exec: w & SECURE != 0,
        ghost: Ghost(((w >> GHOST_SHIFT) & ((1 << GHOST_BITS) - 1)) as u16),
        mm: Mm {
            def_flags: VmFlags(byte(DEF_SHIFT) & 0x3f),
            flags: MmfFlags(byte(MMF_SHIFT)),
            vmas,
        },
    }
}

pub fn unpack(k: &Key) -> State {
    let sysfs = match k[0] >> SYSFS_SHIFT {
        0 => Sysfs::Never,
        1 => Sysfs::Madvise,
        _ => Sysfs::Always,
    };
    let mut procs = [None; MAX_PROCS];
    for (p, &w) in procs.iter_mut().zip(k) {
        if w & ALIVE != 0 {
            *p = Some(unpack_proc(w));
        }
    }
    State { sysfs, procs }
}

/// Sorts the first `n` VMA bytes of a process word.
fn sort_vmas(w: u64, n: usize) -> u64 {
    let mut b = [0u8; MAX_VMAS];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (w >> (VMA_SHIFT + 8 * i as u32)) as u8;
    }
    b[..n].sort_unstable();
    let mut out = w & !(((1u64 << (8 * MAX_VMAS)) - 1) << VMA_SHIFT);
    for (i, x) in b.iter().enumerate() {
        out |= (*x as u64) << (VMA_SHIFT + 8 * i as u32);
    }
    out
}

/// The stored form of `s`: projected, then sorted for symmetry.
pub fn canonical_key(
    s: &State,
    proj: &Projection,
    sym: Symmetry,
    procs: usize,
    vmas: usize,
) -> Key {
    let mask = proj.word_mask();
    let mut k = pack(s);
    for w in k.iter_mut() {
        *w &= mask;
        if sym.vmas && *w & ALIVE != 0 {
            *w = sort_vmas(*w, vmas.min(MAX_VMAS));
        }
    }
    if sym.procs {
        k[..procs.min(MAX_PROCS)].sort_unstable();
    }
    k
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
        p.ghost = Ghost(0x1ff);
        p.mm.def_flags = VmFlags::ALL;
        p.mm.flags = MmfFlags(0x3f);
        p.mm.vmas[3] = Vma {
            flags: Some(VmFlags::ALL),
            ghost: VmaGhost::OPTED_OUT,
        };
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
        };
        let k = canonical_key(&s, &none, Symmetry::NONE, 3, 2);
        let u = unpack(&k);
        let q = u.procs[0].unwrap();
        assert_eq!(
            (q.image, q.secure_exec, q.ghost),
            (Image::Plain, false, Ghost::EMPTY)
        );
        assert_eq!(q.cred, Cred::Root);
        assert!(!q.mm.flags.contains(MmfFlags::MMF_DUMPABLE));
    }
}
