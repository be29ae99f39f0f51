//! Writes the parity fixture.
fn main() {}
