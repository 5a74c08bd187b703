//! uhid bridge.
