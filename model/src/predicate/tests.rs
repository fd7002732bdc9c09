//! The language against the catalogue: rewrites of ten catalogue
//! properties and five premises agree with the compiled ones on random
//! states and read the same ghosts; plus the semantics of each construct
//! and an error of every kind, at its token.

use super::reference::{self, predicate};
use super::*;
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Origin, Setting, VmaGhost};
use crate::properties::{by_name, premise_by_name};
use crate::state::{Cred, Image, Link, Mm, Process, Sysfs, Vma, MAX_PROCS, MAX_VMAS};
use crate::{Semantics, System};
use proptest::prelude::*;

/// (catalogue name, the same property in the language).
pub const REWRITES: &[(&str, &str)] = &[
    (
        "thp_flags_exclusive",
        "all p: not (p.def_flags has VM_HUGEPAGE and p.def_flags has VM_NOHUGEPAGE) \
         and (all v in p.vmas: not (v.flags has VM_HUGEPAGE and v.flags has VM_NOHUGEPAGE))",
    ),
    (
        "unprivileged_exec_gains_nothing",
        "all p: (not p.def_flags has VM_HUGEPAGE \
                 or not (p.default_origin has by-unpriv and p.default_origin has kept-by-secure-exec)) \
         and (not p.mm_flags has MMF_THP_ALWAYS \
                 or not (p.thp_always_origin has by-unpriv and p.thp_always_origin has kept-by-secure-exec))",
    ),
    (
        "secure_exec_inherits_nothing",
        "all p: (not (p.def_flags has VM_HUGEPAGE or p.def_flags has VM_NOHUGEPAGE) \
                 or not (p.default_origin has by-unpriv and p.default_origin has without-nnp \
                         and p.default_origin has kept-by-secure-exec)) \
         and (not (p.mm_flags has MMF_DISABLE_THP_COMPLETELY or p.mm_flags has MMF_DISABLE_THP_EXCEPT_ADVISED) \
                 or not (p.thp_disable_origin has by-unpriv and p.thp_disable_origin has without-nnp \
                         and p.thp_disable_origin has kept-by-secure-exec)) \
         and (not p.mm_flags has MMF_THP_ALWAYS \
                 or not (p.thp_always_origin has by-unpriv and p.thp_always_origin has without-nnp \
                         and p.thp_always_origin has kept-by-secure-exec))",
    ),
    (
        "mlock_not_inherited",
        "all p: p.ghost has called-mlockall or (not p.def_flags has VM_LOCKED \
         and not p.def_flags has VM_LOCKONFAULT \
         and (all v in p.vmas: not v.flags has VM_LOCKED and not v.flags has VM_LOCKONFAULT))",
    ),
    (
        "disable_means_no_eligible_vma",
        "all p: not p.mm_flags has MMF_DISABLE_THP_COMPLETELY or (all v in p.vmas: not v.thp_eligible)",
    ),
    ("no_eligible_vma_under_never", "sysfs != never or (all p: all v in p.vmas: not v.thp_eligible)"),
    (
        "explicit_optout_kept",
        "all p: all v in p.vmas: not v.ghost has opted-out or v.flags has VM_NOHUGEPAGE",
    ),
    (
        "default_kept_as_promised",
        "all p: (not p.ghost has promised-hg or p.def_flags has VM_HUGEPAGE) \
         and (not p.ghost has promised-nh or p.def_flags has VM_NOHUGEPAGE)",
    ),
    ("failed_call_changes_no_default", "all p: not p.ghost has failed-call-changed-default"),
    (
        "unmodified_program_gets_eligible_vma",
        "sysfs == madvise and (any p: p.ghost has exec-fresh and (any v in p.vmas: v.thp_eligible))",
    ),
];

const PREMISE_REWRITES: &[(&str, &str)] = &[
    ("hugepage_in_use", "any p: p.def_flags has VM_HUGEPAGE or (any v in p.vmas: v.flags has VM_HUGEPAGE)"),
    ("secure_exec_by_user", "any p: p.cred == setuid-root"),
    ("thp_disabled_with_vma", "any p: p.mm_flags has MMF_DISABLE_THP_COMPLETELY and (any v in p.vmas: true)"),
    ("sysfs_never_with_vma", "sysfs == never and (any p: any v in p.vmas: true)"),
    ("vma_opted_out", "any p: any v in p.vmas: v.ghost has opted-out"),
];

fn vma() -> impl Strategy<Value = Vma> {
    prop_oneof![
        Just(Vma::UNMAPPED),
        (0u16..512, 0u8..8, 0usize..5).prop_map(|(f, g, p)| Vma {
            flags: Some(VmFlags(f)),
            ghost: VmaGhost(g),
            pages: crate::state::Pages::ALL[p]
        }),
    ]
}

fn process() -> impl Strategy<Value = Process> {
    (
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u32..(1 << 24),
        0u16..512,
        0u16..4096,
        proptest::array::uniform4(vma()),
    )
        .prop_map(|(c, nnp, image, secure, ghost, def, mmf, vmas)| Process {
            cred: Cred::ALL[c],
            no_new_privs: nnp,
            image: if image { Image::SetuidRoot } else { Image::Plain },
            secure_exec: secure,
            ghost: Ghost(ghost),
            mm: Mm { def_flags: VmFlags(def), flags: MmfFlags(mmf), vmas },
            link: Link::OWN,
        })
}

fn state() -> impl Strategy<Value = State> {
    (0usize..3, proptest::array::uniform4(proptest::option::weighted(0.7, process())))
        .prop_map(|(m, procs)| State { sysfs: Sysfs::ALL[m], procs })
}

fn compiled(list: &[(&str, &str)]) -> Vec<(&'static crate::properties::PropertyDef, Predicate)> {
    list.iter()
        .map(|(name, text)| {
            let def = by_name(name).or_else(|| premise_by_name(name)).expect(name);
            (def, Predicate::compile(text).unwrap_or_else(|e| panic!("{name}: {e}")))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn rewrites_agree_with_the_catalogue(s in state()) {
        static SYS: std::sync::OnceLock<(System, Vec<(&'static crate::properties::PropertyDef, Predicate)>)> =
            std::sync::OnceLock::new();
        let (sys, preds) = SYS.get_or_init(|| {
            let mut all = compiled(REWRITES);
            all.extend(compiled(PREMISE_REWRITES));
            (System::replayer(Semantics::mainline()), all)
        });
        for (def, p) in preds {
            prop_assert_eq!(p.holds(&s), (def.condition)(sys, &s), "{} on {:?}", def.name, s);
        }
    }
}

#[test]
fn rewrites_read_the_ghosts_their_catalogue_property_reads() {
    for (def, p) in compiled(REWRITES).into_iter().chain(compiled(PREMISE_REWRITES)) {
        assert_eq!(p.reads().ghosts, def.ghosts, "{}", def.name);
        assert!(!p.reads().image && !p.reads().dumpable, "{}", def.name);
    }
    assert!(REWRITES.len() >= 5 && MAX_PROCS == 4 && MAX_VMAS == 4);
}

fn holds(text: &str, s: &State) -> bool {
    Predicate::compile(text).unwrap_or_else(|e| panic!("{text}: {e}")).holds(s)
}

#[test]
fn each_construct_means_what_it_says() {
    let mut s = State::init(Sysfs::Madvise);
    let p0 = s.procs[0].as_mut().unwrap();
    p0.mm.vmas[1] = Vma::mapped(VmFlags::VM_HUGEPAGE);
    p0.ghost = Ghost::EXEC_FRESH;
    let mut p1 = Process::INIT;
    p1.cred = Cred::SetuidRoot;
    p1.image = Image::SetuidRoot;
    p1.secure_exec = true;
    p1.mm.def_flags = VmFlags::VM_NOHUGEPAGE;
    s.procs[2] = Some(p1);
    let yes = [
        "true",
        "not false",
        "sysfs == madvise",
        "madvise == sysfs",
        "sysfs != always",
        "any p: p.image == setuid-root",
        "any p: p.at_secure and p.cred == setuid-root",
        "all p: not p.nnp",
        "any p: any v in p.vmas: v.thp_eligible",
        "any p: p.image == setuid-root and (any v in p.vmas: true) or p.def_flags has VM_NOHUGEPAGE",
        "all p: all v in p.vmas: v.flags has VM_HUGEPAGE",
        "any p: p.ghost has exec-fresh",
        "all p: p.mm_flags has MMF_DUMPABLE",
        "any p: any q: p.cred == root and q.cred == setuid-root",
    ];
    for t in yes {
        assert!(holds(t, &s), "{t}");
        assert!(!holds(&format!("not ({t})"), &s), "not ({t})");
    }
    let no = [
        "false",
        "all p: p.image == setuid-root",
        "any p: p.nnp",
        "any p: p.thp_disable_origin has kept-by-secure-exec",
        "all p: any v in p.vmas: v.thp_eligible",
        "all p: not p.def_flags has VM_HUGEPAGE and p.cred == root",
    ];
    for t in no {
        assert!(!holds(t, &s), "{t}");
    }
    // A quantifier's body extends as far right as it can.
    assert!(holds("any p: p.nnp or p.cred == setuid-root", &s));
    assert!(!holds("(any p: p.nnp) or false", &s));
}

#[test]
fn reading_history_is_recorded() {
    let p =
        Predicate::compile("any p: p.image == setuid-root and (any v in p.vmas: v.thp_eligible)").unwrap();
    assert!(p.reads().image);
    let p = Predicate::compile("all p: not p.thp_disable_origin has kept-by-secure-exec").unwrap();
    let kept = Ghost::origin_bits(Setting::ThpDisable, Origin::KEPT_BY_SECURE_EXEC);
    assert_eq!(p.reads().ghosts.process, kept, "that origin word of that setting only");
    let p = Predicate::compile("any p: any v in p.vmas: v.ghost has raised-by-prctl").unwrap();
    assert_eq!(p.reads().ghosts.process, Ghost::DEFAULT_HG_BY_PRCTL, "and what sets it");
    let p = Predicate::compile("any p: any v in p.vmas: v.flags has VM_WIPEONFORK").unwrap();
    assert_eq!(p.reads().vm_flags, VmFlags::VM_WIPEONFORK);
    assert!(Predicate::compile("all p: p.mm_flags has MMF_DUMPABLE").unwrap().reads().dumpable);
    let plain = Predicate::compile("all p: p.def_flags has VM_LOCKED and p.cred == root").unwrap();
    assert_eq!(plain.reads(), Reads::default());
}

/// (predicate, byte offset of the error, a fragment of its message).
const ERRORS: &[(&str, usize, &str)] = &[
    (
        "all p: p.def_flag has VM_HUGEPAGE",
        9,
        "unknown field `def_flag` of a process (`p`); did you mean `def_flags`?",
    ),
    ("all p: p.def_flags has VM_HUGEPAG", 23, "unknown word `VM_HUGEPAG`; did you mean `VM_HUGEPAGE`?"),
    (
        "all p: p.image == VM_HUGEPAGE",
        18,
        "`VM_HUGEPAGE` is a VMA flag (VM_*), not an image: `p.image` holds plain, setuid-root",
    ),
    ("all p: p.cred has root", 14, "`has` takes a set; `p.cred` is a credential, not a set"),
    ("all p: q.nnp", 7, "free variable `q`"),
    ("all p: p.nnp and (", 18, "ends where"),
    ("all p: (p.nnp", 7, "never closed"),
    ("all p: p.nnp and", 16, "ends where"),
    ("all p: p.flags has VM_HUGEPAGE", 9, "`p` is a process, which has no field `flags` (that is a VMA's)"),
    ("all p: p.def_flags has hg", 23, "the language spells it `VM_HUGEPAGE`"),
    ("all p: p.mm_flags has DISABLE_THP_COMPLETELY", 22, "spells it `MMF_DISABLE_THP_COMPLETELY`"),
    ("all p: p.ghost has opted-out", 19, "`opted-out` is a VMA ghost word, not a process ghost word"),
    ("all p: p.def_flags", 7, "is a set of VMA flags, not true or false"),
    ("all p: p.cred", 7, "compare it, like `p.cred == root`"),
    ("all p: p", 7, "`p` is a process, not a test"),
    ("VM_HUGEPAGE", 0, "is a word, not a test"),
    ("all p: p.nnp == true", 16, "is a test by itself"),
    ("all p: p.def_flags == VM_HUGEPAGE", 19, "ask whether it holds a word: `p.def_flags has VM_HUGEPAGE`"),
    ("all p: all p: p.nnp", 11, "already bound"),
    ("all root: root.nnp", 4, "a word of the language"),
    ("all p: all v in p: v.nnp", 16, "`in` takes the VMAs of a process"),
    (
        "all p: all v in p.vmas: all w in v.vmas: w.thp_eligible",
        35,
        "`v` is a VMA; only a process has `.vmas`",
    ),
    ("all p: p.vmas", 9, "what a quantifier ranges over"),
    ("all p: p.cred == p.image", 17, "two values cannot be compared"),
    ("all p: p.nnp && p.cred == root", 13, "write `and`"),
    ("sysfs == sometimes", 9, "unknown word `sometimes`"),
    ("sysfs.mode", 6, "has no fields"),
    ("all p: v.flags has VM_HUGEPAGE", 7, "free variable `v`"),
    ("all p p.nnp", 6, "expected `:`"),
    ("all p: p.nnp p.nnp", 13, "after a complete predicate"),
    ("", 0, "empty"),
    ("all p: p.cred == roat", 17, "did you mean `root`?"),
    ("any proc: any vma in prc.vmas: vma.thp_eligible", 21, "did you mean `proc`?"),
    ("any p: p.ghost has exec-fres", 19, "did you mean `exec-fresh`?"),
    (
        "any p: p.default_origin has by-unpriviledged",
        28,
        "unknown word `by-unpriviledged`; `p.default_origin` holds by-unpriv, without-nnp, kept-by-secure-exec",
    ),
];

#[test]
fn every_kind_of_error_points_at_its_token() {
    for &(text, at, fragment) in ERRORS {
        let e = match Predicate::compile(text) {
            Ok(_) => panic!("`{text}` compiled"),
            Err(e) => e,
        };
        assert_eq!(e.at, at, "`{text}`: {}", e.msg);
        assert!(e.msg.contains(fragment), "`{text}`: {}", e.msg);
    }
}

#[test]
fn hostile_text_is_refused_not_crashed_on() {
    let long = "p.nnp or ".repeat(MAX_CHARS / 9 + 1);
    assert!(Predicate::compile(&long).unwrap_err().msg.contains("at most"));
    let deep = format!("{}true{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(Predicate::compile(&deep).unwrap_err().msg.contains("nested"));
    let quants: String = (0..9).map(|i| format!("all p{i}: ")).collect::<String>() + "true";
    assert!(Predicate::compile(&quants).unwrap_err().msg.contains("at most 8 quantifiers"));
    // A long flat chain is fine: `and` and `or` are loops, not recursion.
    let chain = vec!["true"; 400].join(" and ");
    assert!(Predicate::compile(&chain).unwrap().holds(&State::init(Sysfs::Never)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_compiled_form_means_what_the_parse_tree_says(text in predicate(), s in state()) {
        let p = Predicate::compile(&text).map_err(|e| TestCaseError::fail(format!("`{text}`: {e}")))?;
        prop_assert_eq!(p.holds(&s), reference::holds(&text, &s), "`{}` on {:?}", text, s);
        // So does its canonical form.
        let c = canonical(&text).unwrap();
        prop_assert_eq!(Predicate::compile(&c).unwrap().holds(&s), p.holds(&s), "`{}`", c);
    }
}
