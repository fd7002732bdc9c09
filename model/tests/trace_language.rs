//! The trace language round-trips: every step the model can print parses
//! back to the same step (docs/design.md 3a: one format is what `check trace`
//! prints and what `check replay` reads), for arbitrary arguments, not just the ones exploration uses.

use mmflags_model::action::*;
use mmflags_model::alphabet::candidates;
use mmflags_model::state::{Image, MAX_PROCS, MAX_VMAS};
use mmflags_model::{Semantics, Step};
use proptest::prelude::*;

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![(0..MAX_VMAS as u8).prop_map(Item::Vma), Just(Item::Hole)]
}

fn range() -> impl Strategy<Value = Range> {
    prop_oneof![
        item().prop_map(Range::One),
        (0..MAX_VMAS as u8 - 1)
            .prop_flat_map(|a| (Just(a), a + 1..MAX_VMAS as u8))
            .prop_map(|(a, b)| Range::Run(a, b)),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::SelfProc), (0..MAX_PROCS as u8).prop_map(Target::Pid)]
}

fn advice() -> impl Strategy<Value = Advice> {
    any::<u32>().prop_map(Advice::from_number)
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        Just(Call::Mmap),
        range().prop_map(Call::Munmap),
        (range(), advice()).prop_map(|(r, a)| Call::Madvise(r, a)),
        (
            target(),
            prop_oneof![
                prop::collection::vec(range(), 1..=MAX_IOV)
                    .prop_map(|v| Iovec::List(IovList::new(&v).unwrap())),
                Just(Iovec::Null)
            ],
            advice(),
            any::<u32>()
        )
            .prop_map(|(target, iov, advice, f)| Call::ProcessMadvise {
                target,
                iov,
                advice,
                flags: PmadvFlags(f)
            }),
        (any::<u32>(), any::<u32>()).prop_map(|(a, f)| Call::PrctlSetThpDisable(a, ThpDisableFlags(f))),
        Just(Call::PrctlGetThpDisable),
        any::<u32>().prop_map(Call::PrctlSetNoNewPrivs),
        any::<u32>().prop_map(|f| Call::Mlockall(MclFlags(f))),
        Just(Call::Munlockall),
        Just(Call::Fork),
        prop_oneof![Just(Image::Plain), Just(Image::SetuidRoot)].prop_map(Call::Execve),
        Just(Call::Setresuid),
        Just(Call::Exit),
        item().prop_map(Call::VmFlags),
        item().prop_map(Call::ThpEligible),
        Just(Call::ThpEnabled),
        any::<u32>().prop_map(|p| Call::PrctlSetThpPolicy(ThpPolicy(p))),
        Just(Call::PrctlGetThpPolicy),
        any::<u32>().prop_map(Call::PrctlSetThpAlways),
        Just(Call::PrctlGetThpAlways),
        (target(), any::<u32>(), any::<u32>()).prop_map(|(target, a, f)| Call::Mctl {
            target,
            action: MctlAction(a),
            flags: MctlFlags(f)
        }),
    ]
}

fn ret() -> impl Strategy<Value = Ret> {
    prop_oneof![
        (0..i64::MAX).prop_map(Ret::Val),
        prop::sample::select(Errno::ALL.iter().map(|e| e.0).collect::<Vec<_>>()).prop_map(Ret::Err),
        (0..MAX_PROCS as u8).prop_map(Ret::Pid),
        (0..MAX_VMAS as u8).prop_map(Ret::Vma),
        (0u16..512).prop_map(|f| {
            Ret::Flags(mmflags_model::flags::VmFlags(f).intersection(mmflags_model::flags::VmFlags::PRINTED))
        }),
        Just(Ret::Unmapped),
        Just(Ret::NoReturn),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn every_step_round_trips(pid in 0..MAX_PROCS as u8, call in call(), ret in prop::option::of(ret())) {
        let step = Step { action: Action { pid, call }, ret };
        let text = step.to_string();
        let back: Step = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, step, "{}", text);
    }

    #[test]
    fn the_parser_never_panics(s in "\\PC{0,80}") {
        let _ = s.parse::<Step>();
    }

    #[test]
    fn the_parser_never_panics_on_near_misses(call in call(), cut in 0usize..60, junk in "[ -~]{0,4}") {
        let text = format!("P0 {call}");
        let mut chars: Vec<char> = text.chars().collect();
        let at = cut.min(chars.len());
        chars.splice(at..at, junk.chars());
        let _ = chars.into_iter().collect::<String>().parse::<Step>();
    }
}

#[test]
fn every_candidate_call_round_trips() {
    for call in candidates(&Semantics::mainline(), MAX_PROCS, MAX_VMAS) {
        let text = call.to_string();
        assert_eq!(text.parse::<Call>().unwrap(), call, "{text}");
    }
}

#[test]
fn errors_point_at_the_column() {
    let e = "P0 madvise(v0, MADV_HUGEPAG)".parse::<Step>().unwrap_err();
    assert_eq!(e.col, 16);
    assert!(e.msg.contains("did you mean `MADV_HUGEPAGE`"), "{}", e.msg);
    let e = "P0 fork() = P9".parse::<Step>().unwrap_err();
    assert_eq!(e.col, 13);
    let e = "P0 madvise(v1..v0, MADV_HUGEPAGE)".parse::<Step>().unwrap_err();
    assert!(e.msg.contains("upwards"), "{}", e.msg);
}
