//! terraform-provider-sigil (placeholder; built out in provider/).
fn main() {}
