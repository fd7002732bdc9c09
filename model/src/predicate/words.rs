//! The language's vocabulary: the fields of a process and of a VMA, the
//! kind of value each field is, and the words each kind holds, spelled as
//! the model prints them (flag names from `flags.rs`, ghost words from
//! `ghost.rs`, credentials, images and sysfs modes from `state.rs`). One
//! table each, read by the type checker, by its error messages and by the
//! tests that hold specs/README.md to them.
//!
//! A field also says where the evaluator reads it (`Src`): every test is one
//! field read, a mask and a compare.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Origin, Setting, VmaGhost};
use crate::state::{Backing, Cred, Image, Sysfs};

/// A kind of set: which flag word, and so which words it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    VmFlags,
    MmfFlags,
    Ghost,
    VmaGhost,
    /// The origin of a setting (its words sit at that setting's place in
    /// the process's ghost word).
    Origin(Setting),
}

/// A kind of single word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordKind {
    Cred,
    Image,
    Sysfs,
    /// What backs a VMA (`pages(v)`).
    Backing,
}

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Set(SetKind),
    Word(WordKind),
    Bool,
}

/// What a variable ranges over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Process,
    Vma,
}

impl Owner {
    pub fn noun(self) -> &'static str {
        match self {
            Owner::Process => "a process",
            Owner::Vma => "a VMA",
        }
    }
}

/// A field of a process or a VMA.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub owner: Owner,
    pub name: &'static str,
    pub ty: Type,
    /// Where a test of it reads.
    pub src: Src,
    /// What it is, for the docs and messages.
    pub meaning: &'static str,
}

/// Where a test reads its value: a field of the bound process or VMA (as
/// a number: the bits of a set, the code of a word, 0 or 1), or the state's
/// sysfs mode. Codes are the enums' order (`Cred::ALL`, `Image::ALL`,
/// `Sysfs::ALL`), as `WordKind::words` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Sysfs,
    ProcGhost,
    ProcDefFlags,
    ProcMmFlags,
    ProcCred,
    ProcImage,
    ProcNnp,
    ProcAtSecure,
    ProcMmShared,
    ProcThread,
    ProcVforkChild,
    VmaFlags,
    VmaGhost,
    VmaEligible,
    VmaPages,
}

pub const FIELDS: &[Field] = &[
    Field {
        owner: Owner::Process,
        name: "def_flags",
        ty: Type::Set(SetKind::VmFlags),
        src: Src::ProcDefFlags,
        meaning: "mm->def_flags, the flags every new VMA starts with",
    },
    Field {
        owner: Owner::Process,
        name: "mm_flags",
        ty: Type::Set(SetKind::MmfFlags),
        src: Src::ProcMmFlags,
        meaning: "mm->flags, the MMF_* bits",
    },
    Field {
        owner: Owner::Process,
        name: "ghost",
        ty: Type::Set(SetKind::Ghost),
        src: Src::ProcGhost,
        meaning: "the process's history words (what traces print as `ghost`)",
    },
    origin_field(Setting::ThpDefault, "who made the THP default in def_flags, and how it reached this image"),
    origin_field(
        Setting::ThpDisable,
        "who made the MMF_DISABLE_THP_* control in force, and how it reached this image",
    ),
    origin_field(Setting::ThpAlways, "who made MMF_THP_ALWAYS, and how it reached this image"),
    origin_field(
        Setting::MergeAny,
        "who made KSM merge-any (MMF_VM_MERGE_ANY), and how it reached this image",
    ),
    origin_field(Setting::Mdwe, "who made MDWE (MMF_HAS_MDWE), and how it reached this image"),
    Field {
        owner: Owner::Process,
        name: "cred",
        ty: Type::Word(WordKind::Cred),
        src: Src::ProcCred,
        meaning: "credentials: root, user, or setuid-root (real uid a user, effective uid 0)",
    },
    Field {
        owner: Owner::Process,
        name: "image",
        ty: Type::Word(WordKind::Image),
        src: Src::ProcImage,
        meaning: "the program it runs: plain or setuid-root",
    },
    Field {
        owner: Owner::Process,
        name: "nnp",
        ty: Type::Bool,
        src: Src::ProcNnp,
        meaning: "no_new_privs is set",
    },
    Field {
        owner: Owner::Process,
        name: "at_secure",
        ty: Type::Bool,
        src: Src::ProcAtSecure,
        meaning: "the image was entered by a secure exec (AT_SECURE=1)",
    },
    Field {
        owner: Owner::Process,
        name: "mm_shared",
        ty: Type::Bool,
        src: Src::ProcMmShared,
        meaning: "another task shares its mm (vfork, clone(CLONE_VM), a thread)",
    },
    Field {
        owner: Owner::Process,
        name: "thread",
        ty: Type::Bool,
        src: Src::ProcThread,
        meaning: "one of several threads (CLONE_THREAD) of one thread group",
    },
    Field {
        owner: Owner::Process,
        name: "vfork_child",
        ty: Type::Bool,
        src: Src::ProcVforkChild,
        meaning: "a vfork child whose parent waits for its execve or exit",
    },
    Field {
        owner: Owner::Vma,
        name: "flags",
        ty: Type::Set(SetKind::VmFlags),
        src: Src::VmaFlags,
        meaning: "the VMA's vm_flags",
    },
    Field {
        owner: Owner::Vma,
        name: "ghost",
        ty: Type::Set(SetKind::VmaGhost),
        src: Src::VmaGhost,
        meaning: "the VMA's history words (what traces print in parentheses)",
    },
    Field {
        owner: Owner::Vma,
        name: "thp_eligible",
        ty: Type::Bool,
        src: Src::VmaEligible,
        meaning: "smaps THPeligible under the state's sysfs mode",
    },
    Field {
        owner: Owner::Vma,
        name: "pages",
        ty: Type::Word(WordKind::Backing),
        src: Src::VmaPages,
        meaning: "what backs the VMA, as pages(v) reads smaps: none, small, huge or mixed",
    },
];

/// `P.<setting>_origin`: a setting's origin words, read from the ghost word.
const fn origin_field(s: Setting, meaning: &'static str) -> Field {
    Field {
        owner: Owner::Process,
        name: s.field(),
        ty: Type::Set(SetKind::Origin(s)),
        src: Src::ProcGhost,
        meaning,
    }
}

pub fn field(owner: Owner, name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.owner == owner && f.name == name)
}

pub fn field_names(owner: Owner) -> impl Iterator<Item = &'static str> {
    FIELDS.iter().filter(move |f| f.owner == owner).map(|f| f.name)
}

impl SetKind {
    pub const ALL: [SetKind; 9] = [
        SetKind::VmFlags,
        SetKind::MmfFlags,
        SetKind::Ghost,
        SetKind::VmaGhost,
        SetKind::Origin(Setting::ThpDefault),
        SetKind::Origin(Setting::ThpDisable),
        SetKind::Origin(Setting::ThpAlways),
        SetKind::Origin(Setting::MergeAny),
        SetKind::Origin(Setting::Mdwe),
    ];

    /// Each word of the set with its bit (as the field stores it).
    pub fn words(self) -> Vec<(&'static str, u64)> {
        match self {
            SetKind::VmFlags => VmFlags::NAMES.iter().map(|(f, k, _)| (*k, f.0 as u64)).collect(),
            SetKind::MmfFlags => MmfFlags::NAMES.iter().map(|(f, n)| (*n, f.0 as u64)).collect(),
            SetKind::Ghost => Ghost::NAMES.iter().map(|(g, n)| (*n, g.0 as u64)).collect(),
            SetKind::VmaGhost => VmaGhost::NAMES.iter().map(|(g, n)| (*n, g.0 as u64)).collect(),
            SetKind::Origin(s) => {
                Origin::NAMES.iter().map(|(o, n)| (*n, Ghost::origin_bits(s, *o).0 as u64)).collect()
            }
        }
    }

    /// One of its words, for messages: "a VMA flag".
    pub fn word_noun(self) -> &'static str {
        match self {
            SetKind::VmFlags => "a VMA flag (VM_*)",
            SetKind::MmfFlags => "an mm flag (MMF_*)",
            SetKind::Ghost => "a process ghost word",
            SetKind::VmaGhost => "a VMA ghost word",
            SetKind::Origin(_) => "an origin word",
        }
    }

    /// The set itself, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            SetKind::VmFlags => "a set of VMA flags",
            SetKind::MmfFlags => "a set of mm flags",
            SetKind::Ghost => "a set of process ghost words",
            SetKind::VmaGhost => "a set of VMA ghost words",
            SetKind::Origin(_) => "a set of origin words",
        }
    }
}

impl WordKind {
    pub const ALL: [WordKind; 4] = [WordKind::Cred, WordKind::Image, WordKind::Sysfs, WordKind::Backing];

    /// Each word with the code the field stores.
    pub fn words(self) -> Vec<(&'static str, u64)> {
        match self {
            WordKind::Cred => Cred::ALL.iter().enumerate().map(|(i, c)| (c.name(), i as u64)).collect(),
            WordKind::Image => Image::ALL.iter().enumerate().map(|(i, m)| (m.name(), i as u64)).collect(),
            WordKind::Sysfs => Sysfs::ALL.iter().enumerate().map(|(i, m)| (m.name(), i as u64)).collect(),
            WordKind::Backing => Backing::ALL.iter().enumerate().map(|(i, b)| (b.name(), i as u64)).collect(),
        }
    }

    pub(super) fn width_mask(self) -> u64 {
        match self {
            WordKind::Image => 1,
            _ => 3,
        }
    }

    pub fn word_noun(self) -> &'static str {
        match self {
            WordKind::Cred => "a credential",
            WordKind::Image => "an image",
            WordKind::Sysfs => "a sysfs mode",
            WordKind::Backing => "what backs a VMA (none, small, huge, mixed)",
        }
    }
}

impl Type {
    /// The value, for messages: "a set of VMA flags", "true or false".
    pub fn noun(self) -> &'static str {
        match self {
            Type::Set(k) => k.noun(),
            Type::Word(k) => k.word_noun(),
            Type::Bool => "true or false",
        }
    }
}

/// Every kind a word may belong to, with its code there.
pub fn kinds_of(word: &str) -> Vec<(Type, u64)> {
    let mut out = Vec::new();
    for k in SetKind::ALL {
        out.extend(k.words().into_iter().filter(|(w, _)| *w == word).map(|(_, c)| (Type::Set(k), c)));
    }
    for k in WordKind::ALL {
        out.extend(k.words().into_iter().filter(|(w, _)| *w == word).map(|(_, c)| (Type::Word(k), c)));
    }
    out
}

/// Every word of the language.
pub fn all_words() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = SetKind::ALL
        .iter()
        .flat_map(|k| k.words())
        .chain(WordKind::ALL.iter().flat_map(|k| k.words()))
        .map(|(w, _)| w)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// How the model prints a word in another place, if `word` is one of
/// those spellings: smaps' mnemonics (`hg`) and the `MMF_`-less mm flag
/// names (`DISABLE_THP_COMPLETELY`) that traces show.
pub fn respelled(word: &str) -> Option<&'static str> {
    VmFlags::NAMES.iter().find(|(_, _, m)| *m == word).map(|(_, k, _)| *k).or_else(|| {
        MmfFlags::NAMES.iter().find(|(_, n)| MmfFlags::short_name(n) == word && *n != word).map(|(_, n)| *n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_enums_order() {
        for (i, c) in Cred::ALL.iter().enumerate() {
            assert_eq!(*c as u64, i as u64);
        }
        for (i, m) in Image::ALL.iter().enumerate() {
            assert_eq!(*m as u64, i as u64);
        }
        for (i, m) in Sysfs::ALL.iter().enumerate() {
            assert_eq!(*m as u64, i as u64);
        }
        assert_eq!(FIELDS.iter().filter(|f| f.owner == Owner::Process).count(), 15);
    }

    #[test]
    fn words_are_spelled_as_printed() {
        assert_eq!(kinds_of("setuid-root").len(), 2, "a credential and an image");
        assert!(kinds_of("exec-fresh").iter().any(|(t, _)| *t == Type::Set(SetKind::Ghost)));
        let by_unpriv = kinds_of("by-unpriv");
        assert_eq!(by_unpriv.len(), Setting::ALL.len(), "a word of every setting's origin");
        assert!(by_unpriv.contains(&(
            Type::Set(SetKind::Origin(Setting::ThpDisable)),
            Ghost::origin_bits(Setting::ThpDisable, Origin::BY_UNPRIV).0 as u64
        )));
        assert!(kinds_of("opted-out").iter().any(|(t, _)| *t == Type::Set(SetKind::VmaGhost)));
        assert_eq!(respelled("hg"), Some("VM_HUGEPAGE"));
        assert_eq!(respelled("DISABLE_THP_COMPLETELY"), Some("MMF_DISABLE_THP_COMPLETELY"));
        assert_eq!(respelled("VM_HUGEPAGE"), None);
    }
}
