//! Numerical building blocks shared by the stages: distribution tails and quantiles,
//! a deterministic optimiser and a seeded generator.
//!
//! Only [`dist`] is public: its tails are the ones coalmine's p-values come from, and
//! benchmarks and callers may want exactly those. The rest is internal.

pub mod dist;
pub(crate) mod optimise;
pub(crate) mod rng;
pub(crate) mod robust;
