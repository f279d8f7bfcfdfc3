//! End to end on the real test host (scripts/testbed): a fresh Debian host
//! becomes a working controller over real SSH (after a first apply killed
//! mid-install), re-runs change nothing, a run killed between a config write
//! and its restart restarts exactly once next time, drift is found and fixed,
//! and no secret shows anywhere; and two hosts at once, one
//! of them failing on its own, then a Ctrl-C to the real binary mid-apply.
//! Run by scripts/test:
//!   scripts/testbed up && cargo test --test e2e -- --ignored --test-threads=1
//!   (STACKPROV_KEEP_TESTBED=1 keeps the last host up for a look)
//! Then Tempest on the converged controller (tempest.rs).

mod controller;
mod ha;
mod leaks;
mod support;
mod tempest;
mod two_hosts;
