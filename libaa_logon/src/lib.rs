//! libaa_logon: the shipped C library. All of its exports are the C ABI of `aa-logon-ffi`;
//! this crate only gives them the cdylib / staticlib form and the SONAME (build.rs).

pub use aa_logon_ffi::*;
