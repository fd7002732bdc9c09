//! The one table of knobs: every key a spec may set in `[semantics]` and
//! `[intent]`, with its type, what it means and how it is printed. The
//! section parser takes its key names from here (an unknown key gets a
//! "did you mean" over them), validation reads each knob by its type and
//! stores it with its setter, the reports list a spec's knobs in this
//! order, and specs/README.md's knob table is generated from it
//! (`knob_table`; `checker/tests/knobs.rs` fails when they differ).

use mmflags_model::action::{ForeignPrctls, PmadvFlags, ThpDisableFlags};
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::semantics::PmadvCheck;
use mmflags_model::{Semantics, Variant};
use std::sync::Arc;

/// How a knob is written in a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// The name of a variant module (`model/src/variants/`).
    Variant,
    /// A list of VMA flags (`VM_*`).
    VmFlags,
    /// A list of mm flags (`MMF_*`).
    MmfFlags,
    /// A list of `process_madvise` flags (`PMADV_*`) the spec defines.
    PmadvFlags,
    /// A list of `PR_SET_THP_DISABLE` flags.
    ThpDisableFlags,
    /// A list of prctl options beyond the THP model.
    ForeignPrctls,
    /// `process_madvise()`'s checks, in the kernel's order.
    PmadvChecks,
    /// `true` or `false`.
    Bool,
}

impl Type {
    /// How specs/README.md names the type.
    pub fn words(self) -> &'static str {
        match self {
            Type::Variant => "variant module name",
            Type::VmFlags => "VMA flags",
            Type::MmfFlags => "mm flags",
            Type::PmadvFlags => "process_madvise flags",
            Type::ThpDisableFlags => "PR_SET_THP_DISABLE flags",
            Type::ForeignPrctls => "prctl options",
            Type::PmadvChecks => "process_madvise checks",
            Type::Bool => "true or false",
        }
    }
}

/// A knob's value as read from a spec.
pub enum Value {
    Variant(Arc<dyn Variant>),
    Vm(VmFlags),
    Mmf(MmfFlags),
    Pmadv(PmadvFlags),
    ThpDisable(ThpDisableFlags),
    Foreign(ForeignPrctls),
    Checks(Vec<PmadvCheck>),
    Bool(bool),
}

/// One knob.
pub struct Knob {
    /// `semantics` (tables the kernel keeps) or `intent` (what a proposal promises).
    pub section: &'static str,
    pub name: &'static str,
    pub ty: Type,
    /// One line: what it sets.
    pub doc: &'static str,
    /// The value as reports and specs/README.md print it.
    pub show: fn(&Semantics) -> String,
    /// Stores a value of `ty` (anything else is a bug in the table).
    pub set: fn(&mut Semantics, Value),
    /// Listed on a spec's report page even when no file of the spec sets
    /// it (every knob but `variant`, whose default says nothing).
    pub always_listed: bool,
}

impl Knob {
    /// The knob as a spec's report names it (`intent.` before an intent's).
    pub fn listed_name(&self) -> String {
        if self.section == "intent" {
            format!("intent.{}", self.name)
        } else {
            self.name.to_string()
        }
    }
}

fn checks_text(checks: &[PmadvCheck]) -> String {
    checks.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

macro_rules! set {
    ($variant:ident, $($field:ident).+) => {
        |s: &mut Semantics, v: Value| match v {
            Value::$variant(x) => s.$($field).+ = x,
            _ => unreachable!("the knob table pairs each type with its value"),
        }
    };
}

/// Every knob, in the order reports list them.
pub const KNOBS: &[Knob] = &[
    Knob {
        section: "semantics",
        name: "variant",
        ty: Type::Variant,
        doc: "the code module for behaviour no knob expresses: `mainline`, or a proposal's own",
        show: |s| s.variant.name().to_string(),
        set: set!(Variant, variant),
        always_listed: false,
    },
    Knob {
        section: "semantics",
        name: "vm_init_def_mask",
        ty: Type::VmFlags,
        doc: "`VM_INIT_DEF_MASK`: the `def_flags` bits fork and exec keep",
        show: |s| s.vm_init_def_mask.kernel_names(),
        set: set!(Vm, vm_init_def_mask),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "mmf_init_mask",
        ty: Type::MmfFlags,
        doc: "the `mm->flags` bits fork and exec keep (`MMF_INIT_LEGACY_MASK`)",
        show: |s| s.mmf_init_mask.to_string(),
        set: set!(Mmf, mmf_init_mask),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "secureexec_clear_def_flags",
        ty: Type::VmFlags,
        doc: "the `def_flags` bits a secure (setuid) exec clears",
        show: |s| s.secureexec_clear_def_flags.kernel_names(),
        set: set!(Vm, secureexec_clear_def_flags),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "secureexec_clear_mmf",
        ty: Type::MmfFlags,
        doc: "the `mm->flags` bits a secure (setuid) exec clears",
        show: |s| s.secureexec_clear_mmf.to_string(),
        set: set!(Mmf, secureexec_clear_mmf),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "pmadv_flags",
        ty: Type::PmadvFlags,
        doc: "the `process_madvise` flags that exist (any other bit is -EINVAL)",
        show: |s| s.pmadv_flags.to_string(),
        set: set!(Pmadv, pmadv_flags),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "pmadv_default_flags",
        ty: Type::PmadvFlags,
        doc: "the flags that make MADV_HUGEPAGE/NOHUGEPAGE a default (in `pmadv_flags`)",
        show: |s| s.pmadv_default_flags.to_string(),
        set: set!(Pmadv, pmadv_default_flags),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "pmadv_default_exact",
        ty: Type::PmadvFlags,
        doc: "the only combination of flags allowed with a default (in `pmadv_flags`)",
        show: |s| s.pmadv_default_exact.to_string(),
        set: set!(Pmadv, pmadv_default_exact),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "pmadv_default_cap",
        ty: Type::PmadvFlags,
        doc: "the default flags that need CAP_SYS_ADMIN (in `pmadv_flags`)",
        show: |s| s.pmadv_default_cap.to_string(),
        set: set!(Pmadv, pmadv_default_cap),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "def_needs_future",
        ty: Type::Bool,
        doc: "a default applies to the process's own new VMAs only when asked (`PMADV_FUTURE`)",
        show: |s| s.def_needs_future.to_string(),
        set: set!(Bool, def_needs_future),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "thp_disable_flags",
        ty: Type::ThpDisableFlags,
        doc: "the `PR_SET_THP_DISABLE` flags (arg3) the kernel knows; none before 6.18",
        show: |s| s.thp_disable_flags.to_string(),
        set: set!(ThpDisable, thp_disable_flags),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "process_madvise_checks",
        ty: Type::PmadvChecks,
        doc: "`process_madvise()`'s checks in the kernel's order: `flags`, `iovec`, `pidfd`, `mm_access`, \
              one of `advice`/`remote_advice`, one of `cap_sys_nice`/`remote_cap_sys_nice`",
        show: |s| checks_text(&s.pmadv_checks),
        set: set!(Checks, pmadv_checks),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "smaps_vm_flags",
        ty: Type::VmFlags,
        doc: "the VMA flags `/proc/PID/smaps` prints a mnemonic for (6.1 has none for `VM_LOCKONFAULT`)",
        show: |s| s.smaps_vm_flags.kernel_names(),
        set: set!(Vm, smaps_vm_flags),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "foreign_prctls",
        ty: Type::ForeignPrctls,
        doc: "prctl options beyond the THP model whose numbers the proposals' prctls reach \
              (`PR_FUTEX_HASH` 6.16+, `PR_RSEQ_SLICE_EXTENSION` 7.0+)",
        show: |s| s.foreign_prctls.to_string(),
        set: set!(Foreign, foreign_prctls),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "nnp_exec_resets_euid",
        ty: Type::Bool,
        doc: "an exec under no_new_privs by a setuid-root process resets its euid and keeps its \
              capabilities (through 6.12)",
        show: |s| s.nnp_exec_resets_euid.to_string(),
        set: set!(Bool, nnp_exec_resets_euid),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "collapse_write_protected",
        ty: Type::Bool,
        doc: "MADV_COLLAPSE and khugepaged take small pages a fork left write-protected (6.18 on); \
              before, -EINVAL until the process writes them",
        show: |s| s.collapse_write_protected.to_string(),
        set: set!(Bool, collapse_write_protected),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "huge_zero_wp_allocates",
        ty: Type::Bool,
        doc: "a write to the huge zero page (a read fault where a huge page was allowed) allocates \
              a huge page whatever the VMA's flags and the THP disable say by then (6.18 on); \
              before, it takes small pages",
        show: |s| s.huge_zero_wp_allocates.to_string(),
        set: set!(Bool, huge_zero_wp_allocates),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "dontneed_frees_page_tables",
        ty: Type::Bool,
        doc: "MADV_DONTNEED frees the page tables it empties (6.18 on), so the next fault may \
              take a huge page; before, the empty tables stay and it takes small pages",
        show: |s| s.dontneed_frees_page_tables.to_string(),
        set: set!(Bool, dontneed_frees_page_tables),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "ksm_merge_any",
        ty: Type::Bool,
        doc: "prctl(PR_SET_MEMORY_MERGE) and PR_GET_MEMORY_MERGE exist (KSM merge-any, 6.4 on); \
              before, both are -EINVAL",
        show: |s| s.ksm_merge_any.to_string(),
        set: set!(Bool, ksm_merge_any),
        always_listed: true,
    },
    Knob {
        section: "semantics",
        name: "mdwe",
        ty: Type::Bool,
        doc: "prctl(PR_SET_MDWE) and PR_GET_MDWE exist (memory-deny-write-execute, 6.3 on; \
              PR_MDWE_NO_INHERIT 6.7 on); before, both are -EINVAL",
        show: |s| s.mdwe.to_string(),
        set: set!(Bool, mdwe),
        always_listed: true,
    },
    Knob {
        section: "intent",
        name: "default_survives_fork",
        ty: Type::Bool,
        doc: "the proposal promises that a THP default survives fork",
        show: |s| s.intent.default_survives_fork.to_string(),
        set: set!(Bool, intent.default_survives_fork),
        always_listed: true,
    },
    Knob {
        section: "intent",
        name: "default_survives_exec",
        ty: Type::Bool,
        doc: "... and survives exec",
        show: |s| s.intent.default_survives_exec.to_string(),
        set: set!(Bool, intent.default_survives_exec),
        always_listed: true,
    },
    Knob {
        section: "intent",
        name: "dropped_by_secure_exec",
        ty: Type::Bool,
        doc: "... except a secure (setuid) exec, which by design drops it",
        show: |s| s.intent.dropped_by_secure_exec.to_string(),
        set: set!(Bool, intent.dropped_by_secure_exec),
        always_listed: true,
    },
    Knob {
        section: "intent",
        name: "promised_by",
        ty: Type::PmadvFlags,
        doc: "the `process_madvise` flags that make the promise, all of them (in `pmadv_flags`)",
        show: |s| s.intent.promised_by.to_string(),
        set: set!(Pmadv, intent.promised_by),
        always_listed: true,
    },
];

/// The knobs of a section, in table order.
pub fn of_section(section: &str) -> impl Iterator<Item = &'static Knob> + '_ {
    KNOBS.iter().filter(move |k| k.section == section)
}

/// specs/README.md's knob table (between its `knobs` markers).
pub fn knob_table() -> String {
    let mainline = Semantics::mainline();
    let mut s = String::from("| section | knob | type | default (`Semantics::mainline()`) | what it sets |\n|---|---|---|---|---|\n");
    for k in KNOBS {
        s.push_str(&format!(
            "| `[{}]` | `{}` | {} | `{}` | {} |\n",
            k.section,
            k.name,
            k.ty.words(),
            (k.show)(&mainline).replace('|', "\\|"),
            k.doc.replace('|', "\\|")
        ));
    }
    s
}
