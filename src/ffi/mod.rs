//! The C ABI. The only module with `extern "C"` and `unsafe`.
