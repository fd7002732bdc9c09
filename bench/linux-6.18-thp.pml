/*
 * linux-6.18-thp.pml: the SPIN twin of specs/linux-6.18-thp.toml, for the
 * benchmark of docs/design.md 8 (bench/run builds and runs it).
 *
 * It mirrors what our checker stores with --no-symmetry, no more and no
 * less, so that SPIN's "states, stored" is our unique-state count (plus one,
 * see "Initial states" below). What the checker keeps of a state is
 * model/src/key.rs (`Projection`, `canonical_key`) as configured by
 * model/src/model.rs (`System::new`) for this spec:
 *   - not the sysfs THP mode: no transition reads it, so the checker
 *     stores one state for all modes and checks the properties under each
 *     mode the spec lists (`Projection::sysfs`); the never claim here does
 *     the same;
 *   - per process slot: alive, cred, no_new_privs, the ghost bit EXEC_FRESH
 *     (the only ghost a checked property reads: unmodified_program_gets_eligible_vma),
 *     mm->def_flags and the THP bits of mm->flags;
 *   - per VMA slot: mapped or not, and VM_HUGEPAGE / VM_NOHUGEPAGE.
 * Projected away, and so absent here: the running image and AT_SECURE
 * (history no transition reads), MMF_DUMPABLE (read only by a remote
 * process_madvise, which this alphabet lacks), the other ghost bits.
 * The other VM_* flags (locked, dontcopy, wipeonfork) cannot arise: no call
 * of this alphabet sets them.
 *
 * Parameters (C preprocessor, e.g. `spin -o2 -DNPROC=2 -DNVMA=2 -a ...`):
 *   NPROC    process slots, 1..4 (our [bounds] processes)
 *   NVMA     VMA slots per process, 1..4 (our [bounds] vmas)
 *   NOPROPS  do not check the spec's properties (no never claim)
 *   DUMP     print the state after every transition, in the line format
 *            of `check bench --dump-states`, and check nothing: then
 *            `./pan | grep '^sysfs=' | sort -u` is our state set (the
 *            mode prints as 0, as ours does: it is not stored)
 * Always generate with `spin -o2`, so that SPIN keeps every variable of the
 * state vector as written.
 *
 * Transitions: one d_step per syscall of one process; the alphabet is
 * exactly `check bench linux-6.18-thp --alphabet` (22 calls per process at
 * two VMA slots), each enabled where `System::enabled` enables it (mmap only
 * with a free VMA slot, munmap(vN) only when vN is mapped, fork only with a
 * free process slot, everything else always, failing calls included). So
 * SPIN's transition count is our "total states" plus 4 (see below), which
 * checks the enabling conditions too, not only the reachable set.
 *
 * Initial state: ours is P0 root and fresh. SPIN's init first makes P0
 * alive in one d_step; the state before it (program counter at the start)
 * is the one extra state SPIN stores: SPIN stored = ours + 1. SPIN
 * transitions = ours + 1 (that step) + 1 (pan counts the initial state as a
 * transition), with pan built -DNOSTUTTER; without it pan adds one
 * stuttering step of the never claim at the state without successors (in
 * which every process has exited).
 *
 * Properties: checked like ours, on every state and under each of the three
 * sysfs modes, by a one-state never claim `do :: assert(...) od` (SPIN's
 * idiom for an invariant; it adds no states).
 * The four `always` properties are asserted, and the `sometimes` property
 * unmodified_program_gets_eligible_vma, which this spec expects to be unreachable,
 * is asserted never to hold.
 */

#ifndef NPROC
#define NPROC 3
#endif
#ifndef NVMA
#define NVMA 2
#endif
#if NPROC < 1 || NPROC > 4
#error "NPROC must be 1..4 (the model's MAX_PROCS)"
#endif
#if NVMA < 1 || NVMA > 4
#error "NVMA must be 1..4 (the model's MAX_VMAS)"
#endif

/* /sys/kernel/mm/transparent_hugepage/enabled (model/src/state.rs Sysfs) */
#define SYSFS_NEVER     0
#define SYSFS_MADVISE   1
#define SYSFS_ALWAYS    2

/* Credentials (model/src/state.rs Cred) */
#define CRED_ROOT        0   /* uid = euid = 0 */
#define CRED_USER        1   /* uid = euid = user */
#define CRED_SETUID_ROOT 2   /* uid = user, euid = 0 */

/* vm_flags / def_flags bits (model/src/flags.rs VmFlags) */
#define VM_HUGEPAGE     1
#define VM_NOHUGEPAGE   2
#define VM_THP_MASK     3
/* kernel/fork.c mm_init: what def_flags keeps (specs/linux-6.18.toml) */
#define VM_INIT_DEF_MASK VM_NOHUGEPAGE

/* mm->flags bits (model/src/flags.rs MmfFlags; MMF_DUMPABLE = 1 projected away) */
#define MMF_DISABLE_THP_COMPLETELY      2
#define MMF_DISABLE_THP_EXCEPT_ADVISED  4
#define MMF_DISABLE_THP_MASK            6
/* mm_init's MMF mask: the THP bits survive fork and exec */
#define MMF_INIT_MASK   MMF_DISABLE_THP_MASK

#define MADV_HUGEPAGE   14
#define MADV_NOHUGEPAGE 15
#define PR_THP_DISABLE_EXCEPT_ADVISED 2
#define EINVAL 22
#define ENOMEM 12

typedef Vma {
    bool mapped;
    byte vm_flags
}

typedef Mm {
    byte def_flags;
    byte flags;          /* MMF_* */
    Vma vmas[NVMA]
}

typedef Process {
    bool alive;
    byte cred;
    bool no_new_privs;
    bool exec_fresh;     /* ghost EXEC_FRESH */
    Mm mm
}

Process procs[NPROC];

/* Scratch, not part of the state vector. */
hidden byte i;
hidden byte child;
hidden byte unmapped;     /* bool: SPIN cannot hide a bit variable */
hidden short ret;        /* the syscall's return value, for reading along */

/*
 * DUMP: print the state after every transition (every reached state but the
 * pre-choice initial one, each at least once; `sort -u` gives the set).
 */
#ifdef DUMP
c_code {
    /* The line format of `check bench --dump-states`. */
    void dump_state(void) {
        int p, v;
        printf("sysfs=0");
        for (p = 0; p < NPROC; p++) {
            printf("|%d,%d,%d,%d,%d,%d", now.procs[p].alive, now.procs[p].cred,
                   now.procs[p].no_new_privs, now.procs[p].exec_fresh,
                   now.procs[p].mm.def_flags, now.procs[p].mm.flags);
            for (v = 0; v < NVMA; v++)
                printf(",%d:%d", now.procs[p].mm.vmas[v].mapped,
                       now.procs[p].mm.vmas[v].vm_flags);
        }
        printf("\n");
    }
}
#define STEP_END ; c_code { dump_state(); }
#else
#define STEP_END
#endif

/* ---- enabling conditions (model/src/model.rs System::enabled) ---------- */

#if NVMA == 1
#define FREE_VMA(P) (!procs[P].mm.vmas[0].mapped)
#elif NVMA == 2
#define FREE_VMA(P) (!procs[P].mm.vmas[0].mapped || !procs[P].mm.vmas[1].mapped)
#elif NVMA == 3
#define FREE_VMA(P) (!procs[P].mm.vmas[0].mapped || !procs[P].mm.vmas[1].mapped || \
                     !procs[P].mm.vmas[2].mapped)
#else
#define FREE_VMA(P) (!procs[P].mm.vmas[0].mapped || !procs[P].mm.vmas[1].mapped || \
                     !procs[P].mm.vmas[2].mapped || !procs[P].mm.vmas[3].mapped)
#endif

#if NPROC == 1
#define FREE_PROC (!procs[0].alive)
#elif NPROC == 2
#define FREE_PROC (!procs[0].alive || !procs[1].alive)
#elif NPROC == 3
#define FREE_PROC (!procs[0].alive || !procs[1].alive || !procs[2].alive)
#else
#define FREE_PROC (!procs[0].alive || !procs[1].alive || !procs[2].alive || \
                   !procs[3].alive)
#endif

/* ---- the syscalls, one inline each, named after the Rust they mirror --- */

/* mmap(): syscalls/mmap.rs mmap. The lowest free slot gets mm->def_flags. */
inline sys_mmap(P) {
    i = 0;
    do
    :: i < NVMA && procs[P].mm.vmas[i].mapped -> i++
    :: else -> break
    od;
    procs[P].mm.vmas[i].mapped = true;
    procs[P].mm.vmas[i].vm_flags = procs[P].mm.def_flags;
    ret = i                                  /* = vN */
}

/* munmap(vN): syscalls/mmap.rs munmap. */
inline sys_munmap(P, N) {
    procs[P].mm.vmas[N].mapped = false;
    procs[P].mm.vmas[N].vm_flags = 0;
    ret = 0
}

/* The flags madvise_vma_behavior sets and clears (syscalls/madvise.rs BEHAVIORS). */
#define ADVICE_SET(A)   ((A) == MADV_HUGEPAGE -> VM_HUGEPAGE : VM_NOHUGEPAGE)
#define ADVICE_CLEAR(A) ((A) == MADV_HUGEPAGE -> VM_NOHUGEPAGE : VM_HUGEPAGE)

/*
 * madvise(vFIRST..vLAST, A), or madvise(vN, A) with FIRST = LAST = N:
 * syscalls/madvise.rs madvise + walk (madvise_walk_vmas). Mapped slots get
 * the advice; an unmapped slot, or the gap a run always spans (GAP), makes
 * it -ENOMEM after the walk, with the mapped parts still changed.
 */
inline sys_madvise(P, FIRST, LAST, GAP, A) {
    procs[P].exec_fresh = false;
    unmapped = GAP;
    i = FIRST;
    do
    :: i <= LAST ->
        if
        :: procs[P].mm.vmas[i].mapped ->
            procs[P].mm.vmas[i].vm_flags =
                (procs[P].mm.vmas[i].vm_flags & ~ADVICE_CLEAR(A)) | ADVICE_SET(A)
        :: else -> unmapped = true
        fi;
        i++
    :: else -> break
    od;
    ret = (unmapped -> -ENOMEM : 0)
}

/* madvise(hole, A): syscalls/madvise.rs madvise + walk: -ENOMEM, nothing advised. */
inline sys_madvise_hole(P, A) {
    procs[P].exec_fresh = false;
    ret = -ENOMEM
}

/*
 * prctl(PR_SET_THP_DISABLE, ARG2, FLAGS): syscalls/prctl.rs set_thp_disable.
 * EXEC_FRESH is cleared first, so the -EINVAL calls change the state too.
 */
inline sys_prctl_set_thp_disable(P, ARG2, FLAGS) {
    procs[P].exec_fresh = false;
    if
    :: (FLAGS & ~PR_THP_DISABLE_EXCEPT_ADVISED) != 0 || (ARG2 == 0 && FLAGS != 0) ->
        ret = -EINVAL
    :: else ->
        procs[P].mm.flags = (procs[P].mm.flags & ~MMF_DISABLE_THP_MASK) |
            (ARG2 == 0 -> 0 :
             ((FLAGS & PR_THP_DISABLE_EXCEPT_ADVISED) != 0 ->
                 MMF_DISABLE_THP_EXCEPT_ADVISED : MMF_DISABLE_THP_COMPLETELY));
        ret = 0
    fi
}

/* prctl(PR_SET_NO_NEW_PRIVS, 1): syscalls/prctl.rs set_no_new_privs. */
inline sys_prctl_set_no_new_privs(P) {
    procs[P].no_new_privs = true;
    ret = 0
}

/*
 * fork(): syscalls/task.rs fork (mm_init + dup_mmap). The child takes the
 * lowest free slot with the parent's cred, NNP and EXEC_FRESH; its mm keeps
 * def_flags & VM_INIT_DEF_MASK and flags & MMF_INIT_MASK, and a copy of
 * every VMA (no VM_DONTCOPY or VM_LOCKED can arise in this alphabet).
 */
inline sys_fork(P) {
    child = 0;
    do
    :: child < NPROC && procs[child].alive -> child++
    :: else -> break
    od;
    procs[child].alive = true;
    procs[child].cred = procs[P].cred;
    procs[child].no_new_privs = procs[P].no_new_privs;
    procs[child].exec_fresh = procs[P].exec_fresh;
    procs[child].mm.def_flags = procs[P].mm.def_flags & VM_INIT_DEF_MASK;
    procs[child].mm.flags = procs[P].mm.flags & MMF_INIT_MASK;
    i = 0;
    do
    :: i < NVMA ->
        procs[child].mm.vmas[i].mapped = procs[P].mm.vmas[i].mapped;
        procs[child].mm.vmas[i].vm_flags = procs[P].mm.vmas[i].vm_flags;
        i++
    :: else -> break
    od;
    ret = child                              /* = Pn */
}

/*
 * execve(plain) / execve(setuid-root): syscalls/task.rs execve. Credentials
 * as bprm_fill_uid: root stays root, setuid-root stays setuid-root, a user
 * becomes setuid-root only through the setuid image and only without NNP.
 * A new mm from mm_init (def_flags & VM_INIT_DEF_MASK, flags & MMF_INIT_MASK,
 * nothing mapped); EXEC_FRESH is set.
 */
inline sys_execve(P, SETUID_IMAGE) {
    if
    :: procs[P].cred == CRED_USER && SETUID_IMAGE && !procs[P].no_new_privs ->
        procs[P].cred = CRED_SETUID_ROOT
    :: else -> skip
    fi;
    procs[P].mm.def_flags = procs[P].mm.def_flags & VM_INIT_DEF_MASK;
    procs[P].mm.flags = procs[P].mm.flags & MMF_INIT_MASK;
    i = 0;
    do
    :: i < NVMA ->
        procs[P].mm.vmas[i].mapped = false;
        procs[P].mm.vmas[i].vm_flags = 0;
        i++
    :: else -> break
    od;
    procs[P].exec_fresh = true;
    ret = 0
}

/* setresuid(user, user, user): syscalls/task.rs setresuid. */
inline sys_setresuid(P) {
    procs[P].cred = CRED_USER;
    ret = 0
}

/* exit(): syscalls/task.rs exit. The slot is freed (and zeroed, so that a
 * free slot has one representation, as in our packed key). */
inline sys_exit(P) {
    procs[P].alive = false;
    procs[P].cred = 0;
    procs[P].no_new_privs = false;
    procs[P].exec_fresh = false;
    procs[P].mm.def_flags = 0;
    procs[P].mm.flags = 0;
    i = 0;
    do
    :: i < NVMA ->
        procs[P].mm.vmas[i].mapped = false;
        procs[P].mm.vmas[i].vm_flags = 0;
        i++
    :: else -> break
    od;
    ret = 0      /* never seen: exit does not return (and a loop may not end a d_step) */
}

/* ---- the alphabet (model/src/alphabet.rs candidates + the spec's include) */

/*
 * One transition: a syscall of one process, atomic and deterministic, taken
 * only where GUARD holds (the call is enabled in System::enabled's sense).
 */
#define SYSCALL(GUARD, CALL) :: d_step { GUARD -> CALL STEP_END }

/* Calls naming VMA slot N: munmap(vN), madvise(vN, ...). */
#define SLOT_CALLS(P, N) \
    SYSCALL(procs[P].alive && procs[P].mm.vmas[N].mapped, sys_munmap(P, N)) \
    SYSCALL(procs[P].alive, sys_madvise(P, N, N, false, MADV_HUGEPAGE)) \
    SYSCALL(procs[P].alive, sys_madvise(P, N, N, false, MADV_NOHUGEPAGE))

/* madvise(vA..vB, ...): a run always spans the unmapped gap between slots. */
#define RUN_CALLS(P, A, B) \
    SYSCALL(procs[P].alive, sys_madvise(P, A, B, true, MADV_HUGEPAGE)) \
    SYSCALL(procs[P].alive, sys_madvise(P, A, B, true, MADV_NOHUGEPAGE))

#if NVMA >= 2
#define SLOT1_CALLS(P) SLOT_CALLS(P, 1) RUN_CALLS(P, 0, 1)
#else
#define SLOT1_CALLS(P)
#endif
#if NVMA >= 3
#define SLOT2_CALLS(P) SLOT_CALLS(P, 2) RUN_CALLS(P, 0, 2) RUN_CALLS(P, 1, 2)
#else
#define SLOT2_CALLS(P)
#endif
#if NVMA >= 4
#define SLOT3_CALLS(P) SLOT_CALLS(P, 3) RUN_CALLS(P, 0, 3) RUN_CALLS(P, 1, 3) \
                       RUN_CALLS(P, 2, 3)
#else
#define SLOT3_CALLS(P)
#endif

/* Every call process slot P may make. */
#define PROCESS_CALLS(P) \
    SYSCALL(procs[P].alive && FREE_VMA(P), sys_mmap(P)) \
    SLOT_CALLS(P, 0) SLOT1_CALLS(P) SLOT2_CALLS(P) SLOT3_CALLS(P) \
    SYSCALL(procs[P].alive, sys_madvise_hole(P, MADV_HUGEPAGE)) \
    SYSCALL(procs[P].alive, sys_madvise_hole(P, MADV_NOHUGEPAGE)) \
    SYSCALL(procs[P].alive, sys_prctl_set_thp_disable(P, 1, 0)) \
    SYSCALL(procs[P].alive, \
            sys_prctl_set_thp_disable(P, 1, PR_THP_DISABLE_EXCEPT_ADVISED)) \
    SYSCALL(procs[P].alive, sys_prctl_set_thp_disable(P, 0, 0)) \
    SYSCALL(procs[P].alive, \
            sys_prctl_set_thp_disable(P, 0, PR_THP_DISABLE_EXCEPT_ADVISED)) \
    SYSCALL(procs[P].alive, sys_prctl_set_thp_disable(P, 1, 1)) \
    SYSCALL(procs[P].alive, sys_prctl_set_no_new_privs(P)) \
    SYSCALL(procs[P].alive && FREE_PROC, sys_fork(P)) \
    SYSCALL(procs[P].alive, sys_execve(P, false)) \
    SYSCALL(procs[P].alive, sys_execve(P, true)) \
    SYSCALL(procs[P].alive, sys_setresuid(P)) \
    SYSCALL(procs[P].alive, sys_exit(P))

init {
    /* Our initial state: P0 root with a fresh mm. */
    d_step { procs[0].alive = true STEP_END };
end:
    do
    PROCESS_CALLS(0)
#if NPROC >= 2
    PROCESS_CALLS(1)
#endif
#if NPROC >= 3
    PROCESS_CALLS(2)
#endif
#if NPROC >= 4
    PROCESS_CALLS(3)
#endif
    od
}

/* ---- properties (model/src/properties.rs, model/src/thp.rs) ------------ */

/* thp.rs sysfs_allows + vma_thp_disabled: smaps THPeligible under mode S. */
#define SYSFS_ALLOWS(S, F) \
    ((S) == SYSFS_ALWAYS || ((S) == SYSFS_MADVISE && ((F) & VM_HUGEPAGE) != 0))
#define VMA_THP_DISABLED(F, MMF) \
    (((F) & VM_NOHUGEPAGE) != 0 || ((MMF) & MMF_DISABLE_THP_COMPLETELY) != 0 || \
     (((F) & VM_HUGEPAGE) == 0 && ((MMF) & MMF_DISABLE_THP_EXCEPT_ADVISED) != 0))
#define THP_ELIGIBLE(S, F, MMF) (SYSFS_ALLOWS(S, F) && !VMA_THP_DISABLED(F, MMF))

#define VMF(P, N)  procs[P].mm.vmas[N].vm_flags
#define MMF(P)     procs[P].mm.flags
#define ELIG(S, P, N) THP_ELIGIBLE(S, VMF(P, N), MMF(P))

/* What every checked property asks of one mapped VMA (N) of process P under
 * sysfs mode S. */
#define VMA_OK_IN(S, P, N) ( \
    /* thp_flags_exclusive */ \
    (VMF(P, N) & VM_THP_MASK) != VM_THP_MASK && \
    /* disable_means_no_eligible_vma */ \
    ((MMF(P) & MMF_DISABLE_THP_COMPLETELY) == 0 || !ELIG(S, P, N)) && \
    /* no_eligible_vma_under_never */ \
    ((S) != SYSFS_NEVER || !ELIG(S, P, N)) && \
    /* prctl_only_reduces_eligibility (the prctl THP bits are MMF_DISABLE_THP_MASK) */ \
    (!ELIG(S, P, N) || THP_ELIGIBLE(S, VMF(P, N), MMF(P) & ~MMF_DISABLE_THP_MASK)) && \
    /* unmodified_program_gets_eligible_vma stays unreachable */ \
    !((S) == SYSFS_MADVISE && procs[P].exec_fresh && ELIG(S, P, N)))
#define VMA_OK(P, N) (!procs[P].mm.vmas[N].mapped || ( \
    VMA_OK_IN(SYSFS_NEVER, P, N) && VMA_OK_IN(SYSFS_MADVISE, P, N) && VMA_OK_IN(SYSFS_ALWAYS, P, N)))

#if NVMA == 1
#define VMAS_OK(P) VMA_OK(P, 0)
#elif NVMA == 2
#define VMAS_OK(P) (VMA_OK(P, 0) && VMA_OK(P, 1))
#elif NVMA == 3
#define VMAS_OK(P) (VMA_OK(P, 0) && VMA_OK(P, 1) && VMA_OK(P, 2))
#else
#define VMAS_OK(P) (VMA_OK(P, 0) && VMA_OK(P, 1) && VMA_OK(P, 2) && VMA_OK(P, 3))
#endif

#define PROC_OK(P) (!procs[P].alive || \
    ((procs[P].mm.def_flags & VM_THP_MASK) != VM_THP_MASK && VMAS_OK(P)))

#if NPROC == 1
#define ALL_OK PROC_OK(0)
#elif NPROC == 2
#define ALL_OK (PROC_OK(0) && PROC_OK(1))
#elif NPROC == 3
#define ALL_OK (PROC_OK(0) && PROC_OK(1) && PROC_OK(2))
#else
#define ALL_OK (PROC_OK(0) && PROC_OK(1) && PROC_OK(2) && PROC_OK(3))
#endif

#if !defined(NOPROPS) && !defined(DUMP)
never {
    do
    :: assert(ALL_OK)
    od
}
#endif
