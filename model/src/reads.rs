//! What of a state a property reads that a run may otherwise drop: the
//! vocabulary `property` (the catalogue's and a spec's properties) and
//! `predicate` (the language that compiles a spec's) share, so that
//! neither needs the other to say it.

use crate::flags::VmFlags;
use crate::ghost::{Ghost, GhostMask, VmaGhost};
use crate::key::Projection;

/// What of a state a property reads that a run may otherwise drop (see
/// `Projection`): ghost bits, the image and AT_SECURE, MMF_DUMPABLE, the
/// VMA flags nothing else reads. Reading one keeps it in the stored state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub ghosts: GhostMask,
    pub image: bool,
    pub dumpable: bool,
    /// Among `key::UNREAD_VM_FLAGS`, the ones it reads.
    pub vm_flags: VmFlags,
    /// What backs a VMA (`V.pages`).
    pub pages: bool,
    /// KSM merge-any or MDWE (their MMF bits, `VM_MERGEABLE`, the
    /// protection bits, their settings' origins): a spec checks it in the
    /// run whose alphabet has the policies' calls.
    pub policies: bool,
    /// Tasks that share an mm (`P.mm_shared`, `P.thread`,
    /// `P.vfork_child`, who changed a policy through one): a spec checks it
    /// in the run whose alphabet also has `vfork` and `clone`.
    pub shared: bool,
}

impl Reads {
    pub fn union(self, o: Reads) -> Reads {
        Reads {
            ghosts: self.ghosts.union(o.ghosts),
            image: self.image || o.image,
            dumpable: self.dumpable || o.dumpable,
            vm_flags: self.vm_flags.union(o.vm_flags),
            pages: self.pages || o.pages,
            policies: self.policies || o.policies,
            shared: self.shared || o.shared,
        }
    }

    /// `base` widened to keep what these reads need.
    pub fn keep_in(self, base: Projection) -> Projection {
        let p = Projection {
            ghosts: base.ghosts.union(self.ghosts),
            image: base.image || self.image,
            dumpable: base.dumpable || self.dumpable,
            vm_flags: base.vm_flags.union(self.vm_flags),
            ..base
        };
        if self.pages {
            p.with_pages()
        } else {
            p
        }
    }

    /// What `proj` would drop of these reads, in the language's words, one
    /// entry per field: what reading it makes the checker keep.
    pub fn beyond(self, proj: &Projection) -> Vec<String> {
        let mut out = Vec::new();
        if self.image && !proj.image {
            out.push("P.image and P.at_secure".to_string());
        }
        if self.dumpable && !proj.dumpable {
            out.push("P.mm_flags MMF_DUMPABLE".to_string());
        }
        if self.pages && !proj.pages {
            out.push("V.pages".to_string());
        }
        for (f, name, _) in VmFlags::NAMES {
            if self.vm_flags.contains(f) && !proj.vm_flags.contains(f) {
                out.push(format!("{name} in P.def_flags and V.flags"));
            }
        }
        for (g, name) in Ghost::NAMES {
            if self.ghosts.process.contains(g) && !proj.ghosts.process.contains(g) {
                out.push(format!("P.ghost {name}"));
            }
        }
        for (g, name) in VmaGhost::NAMES {
            if self.ghosts.vma.contains(g) && !proj.ghosts.vma.contains(g) {
                out.push(format!("V.ghost {name}"));
            }
        }
        out
    }
}
