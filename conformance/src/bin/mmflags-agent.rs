//! The conformance agent as a binary of its own (the `check` binary embeds
//! the same agent): `mmflags-agent __mmflags_agent CHANNEL_FD`. The runner
//! starts it; it is not meant to be run by hand.

fn main() {
    mmflags_conformance::agent::main_if_agent();
    eprintln!(
        "mmflags-agent: started without a channel; the conformance runner (`check conform`) starts agents itself"
    );
    std::process::exit(2);
}
