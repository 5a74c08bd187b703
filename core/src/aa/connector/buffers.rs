//! A connection's buffers for ureq, with the output held back until the request is complete:
//! ureq hands the request line and headers, then the body, to the transport separately; sending
//! each at once would cost one TLS record and one write per part. Here ureq writes each part
//! behind the previous one ([`Buffers::output`] is the free space after what is queued), and the
//! transport sends everything queued in one go when it waits for the answer (or when the
//! free space runs low). The queued bytes (a password among them) are overwritten with zeros
//! once sent, and when the connection is dropped.

use ureq::config::Config;
use ureq::unversioned::transport::{self, LazyBuffers};
use zeroize::Zeroize;

pub(crate) struct Buffers {
    /// ureq's own input buffer (its output half is unused and kept at one byte).
    input: LazyBuffers,
    output: Vec<u8>,
    output_size: usize,
    queued: usize,
}

impl Buffers {
    pub(crate) fn new(config: &Config) -> Buffers {
        Buffers {
            input: LazyBuffers::new(config.input_buffer_size(), 1),
            output: Vec::new(),
            output_size: config.output_buffer_size(),
            queued: 0,
        }
    }

    /// ureq wrote `amount` more bytes at the start of [`output`](transport::Buffers::output).
    pub(crate) fn queue(&mut self, amount: usize) {
        self.queued = (self.queued + amount).min(self.output.len());
    }

    /// True when less than half of the buffer is free: time to send before ureq writes more.
    pub(crate) fn is_filling_up(&self) -> bool {
        self.output.len() - self.queued < self.output_size / 2
    }

    /// The bytes queued and not sent yet.
    pub(crate) fn queued(&self) -> &[u8] {
        &self.output[..self.queued]
    }

    /// The queued bytes went out (or never will): wipes them.
    pub(crate) fn sent(&mut self) {
        self.output[..self.queued].zeroize();
        self.queued = 0;
    }

    fn allocate(&mut self) {
        if self.output.is_empty() {
            // Allocated once, never grown: no copy of sent bytes is left behind anywhere.
            self.output = vec![0; self.output_size];
        }
    }
}

impl transport::Buffers for Buffers {
    fn output(&mut self) -> &mut [u8] {
        self.allocate();
        &mut self.output[self.queued..]
    }

    fn input(&self) -> &[u8] {
        self.input.input()
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.input.input_append_buf()
    }

    fn input_appended(&mut self, amount: usize) {
        self.input.input_appended(amount)
    }

    fn input_consume(&mut self, amount: usize) {
        self.input.input_consume(amount)
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.allocate();
        let (tmp, _) = self.input.tmp_and_output();
        (tmp, &mut self.output[self.queued..])
    }

    fn can_use_input(&self) -> bool {
        self.input.can_use_input()
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        // What was sent is already wiped.
        self.sent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::transport::Buffers as _;

    #[test]
    fn parts_queue_behind_each_other_and_are_wiped_once_sent() {
        let mut buffers = Buffers::new(&Config::default());
        buffers.output()[..5].copy_from_slice(b"HEAD ");
        buffers.queue(5);
        buffers.output()[..4].copy_from_slice(b"body");
        buffers.queue(4);
        assert_eq!(buffers.queued(), b"HEAD body");
        assert!(!buffers.is_filling_up());
        buffers.sent();
        assert!(buffers.queued().is_empty());
        assert!(buffers.output[..9].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_large_queue_asks_to_be_sent() {
        let mut buffers = Buffers::new(&Config::default());
        let half = buffers.output().len() / 2 + 1;
        buffers.queue(half);
        assert!(buffers.is_filling_up());
    }
}
