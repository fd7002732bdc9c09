//! Arguments: address ranges over VMA slots, iovecs, pidfd targets, advice.

use std::fmt;

/// Most iovec entries a `process_madvise` call can carry.
pub const MAX_IOV: usize = 4;

/// One region of the abstract address space: VMA slot `vN` (4 MiB at
/// `base + N * 8 MiB`, mapped or not) or `hole`, a region that is never mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Vma(u8),
    Hole,
}

/// An address range argument: one item, or `vN..vM` (slots N to M and the
/// gaps between them, so a run always meets unmapped memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Range {
    One(Item),
    Run(u8, u8),
}

pub const REGION_BYTES: i64 = 4 << 20;
pub const SLOT_STRIDE: i64 = 8 << 20;

impl Range {
    /// Length in bytes, as the iovec entry would give it.
    pub fn len_bytes(self) -> i64 {
        match self {
            Range::One(_) => REGION_BYTES,
            Range::Run(a, b) => (b as i64 - a as i64) * SLOT_STRIDE + REGION_BYTES,
        }
    }

    /// Does this range cover VMA slot `slot`?
    pub fn covers(self, slot: usize) -> bool {
        match self {
            Range::One(Item::Vma(n)) => n as usize == slot,
            Range::One(Item::Hole) => false,
            Range::Run(a, b) => (a as usize..=b as usize).contains(&slot),
        }
    }
}

/// The iovec argument of `process_madvise`: a list, or `NULL` (with vlen −1,
/// as `PMADV_ENTIRE_ADDRESS_SPACE` requires).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IovList {
    len: u8,
    items: [Range; MAX_IOV],
}

impl IovList {
    /// `None` when `items` is empty or longer than `MAX_IOV`.
    pub fn new(items: &[Range]) -> Option<IovList> {
        if items.is_empty() || items.len() > MAX_IOV {
            return None;
        }
        let mut arr = [Range::One(Item::Hole); MAX_IOV];
        arr[..items.len()].copy_from_slice(items);
        Some(IovList { len: items.len() as u8, items: arr })
    }

    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len as usize]
    }
}

impl fmt::Debug for IovList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Iovec {
    List(IovList),
    Null,
}

/// Who a pidfd names: the caller (`self`: a pidfd of its own process) or process `Pn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    SelfProc,
    Pid(u8),
}

/// `madvise` behaviours the model knows, with the kernel's numbers.
/// `Other(n)` is any other number; the model treats it as an unknown advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Advice {
    Willneed,
    Dontneed,
    Dontfork,
    Dofork,
    Hugepage,
    Nohugepage,
    Wipeonfork,
    Keeponfork,
    Cold,
    Pageout,
    Collapse,
    Mergeable,
    Unmergeable,
    Other(u32),
}

impl Advice {
    pub const KNOWN: [(Advice, &'static str, u32); 13] = [
        (Advice::Willneed, "MADV_WILLNEED", 3),
        (Advice::Dontneed, "MADV_DONTNEED", 4),
        (Advice::Dontfork, "MADV_DONTFORK", 10),
        (Advice::Dofork, "MADV_DOFORK", 11),
        (Advice::Hugepage, "MADV_HUGEPAGE", 14),
        (Advice::Nohugepage, "MADV_NOHUGEPAGE", 15),
        (Advice::Wipeonfork, "MADV_WIPEONFORK", 18),
        (Advice::Mergeable, "MADV_MERGEABLE", 12),
        (Advice::Unmergeable, "MADV_UNMERGEABLE", 13),
        (Advice::Keeponfork, "MADV_KEEPONFORK", 19),
        (Advice::Cold, "MADV_COLD", 20),
        (Advice::Pageout, "MADV_PAGEOUT", 21),
        (Advice::Collapse, "MADV_COLLAPSE", 25),
    ];

    pub fn number(self) -> u32 {
        match self {
            Advice::Other(n) => n,
            a => Self::KNOWN.iter().find(|k| k.0 == a).map(|k| k.2).unwrap_or(0),
        }
    }

    /// A number becomes the named advice when the model knows it.
    pub fn from_number(n: u32) -> Advice {
        Self::KNOWN.iter().find(|k| k.2 == n).map(|k| k.0).unwrap_or(Advice::Other(n))
    }

    pub fn from_name(s: &str) -> Option<Advice> {
        Self::KNOWN.iter().find(|k| k.1 == s).map(|k| k.0)
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Advice::Other(n) => write!(f, "{n}"),
            a => f.write_str(Self::KNOWN.iter().find(|k| k.0 == *a).map(|k| k.1).unwrap_or("?")),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Vma(n) => write!(f, "v{n}"),
            Item::Hole => f.write_str("hole"),
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::One(i) => write!(f, "{i}"),
            Range::Run(a, b) => write!(f, "v{a}..v{b}"),
        }
    }
}

impl fmt::Display for Iovec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iovec::Null => f.write_str("NULL"),
            Iovec::List(l) => {
                let parts: Vec<String> = l.as_slice().iter().map(|r| r.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::SelfProc => f.write_str("self"),
            Target::Pid(p) => write!(f, "P{p}"),
        }
    }
}
