//! Runnable examples of coalmine; each one is also run as a test
//! (`cargo test -p coalmine-examples`). See the `examples/` folder:
//!
//! - `quickstart`: the three streaming detectors on a seasonal series with a fault;
//! - `rollout`: a whole rollout through the library API, decision by decision.
