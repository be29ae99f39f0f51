//! Unit tests of the ABI, called as C would call it.
