//! AA server simulator.
