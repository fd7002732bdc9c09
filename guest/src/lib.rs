//! mmflags-guest: other kernels than the host's, booted under qemu.
//!
//! The kernel specs of specs/ each claim kernel series (`[spec] kernels`,
//! every series of `kernels.toml` claimed by one); this crate is how the claim is proved on those kernels
//! without touching the host: `kernels` is the list the project checks
//! (`kernels.toml`), `apt` resolves a series to Debian's newest package of
//! it and fetches only its kernel image under a private apt state,
//! `initramfs` packs the checker, the agent, the specs and the trace files
//! into a minimal busybox initramfs, and `qemu` boots it (TCG unless a
//! bounded probe shows KVM works), runs `check conform` inside as real
//! root, and brings its JSON back over a second serial port.
//!
//! What is not here: deciding what to run or what the results mean (the
//! checker does), and any syscall on the model's behalf (conformance does,
//! inside the guest).

pub mod agent;
pub mod apt;
pub mod cache;
pub mod cpio;
pub mod debver;
pub mod initramfs;
pub mod kernels;
pub mod qemu;
