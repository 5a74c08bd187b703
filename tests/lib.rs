//! Integration tests of the Rust core live in this package's [[test]] targets; nothing to export.
