//! Placeholder until the claims benchmark lands.
fn main() {}
