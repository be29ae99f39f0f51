//! Numerical building blocks shared by the stages: distribution tails and quantiles,
//! order statistics, a deterministic optimiser and a seeded generator.
//!
//! [`dist`] and [`robust`] are public: their tails and quantiles are the ones
//! coalmine's numbers come from, and the simulator, the benchmarks and callers may
//! want exactly those. The rest is internal.

pub mod dist;
pub(crate) mod ew;
pub(crate) mod optimise;
pub(crate) mod rng;
pub mod robust;
mod student_t;
