//! A connection's buffers for ureq, with the output held back until the request is complete:
//! ureq hands the request line and headers, then the body, to the transport separately; sending
//! each at once would cost one TLS record and one write per part. Here ureq writes each part
//! behind the previous one ([`Buffers::output`] is the free space after what is queued), and the
//! transport sends everything queued in one go when it waits for the answer (or when the
//! free space runs low). The queued bytes (a password among them) are overwritten with zeros
//! once sent, and when the connection is dropped. The input side does the same for the answers
//! (a login session id among them): bytes ureq has consumed are wiped at once, the rest when the
//! connection is dropped.

use ureq::config::Config;
use ureq::unversioned::transport;
use zeroize::Zeroize;

pub(crate) struct Buffers {
    input: WipedInput,
    output: Vec<u8>,
    output_size: usize,
    queued: usize,
}

impl Buffers {
    pub(crate) fn new(config: &Config) -> Buffers {
        Buffers {
            input: WipedInput::new(config.input_buffer_size()),
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
        self.input.unconsumed()
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.input.free()
    }

    fn input_appended(&mut self, amount: usize) {
        self.input.filled = (self.input.filled + amount).min(self.input.buf.len());
    }

    fn input_consume(&mut self, amount: usize) {
        self.input.consume(amount)
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.allocate();
        (self.input.scratch(), &mut self.output[self.queued..])
    }

    fn can_use_input(&self) -> bool {
        !self.input.unconsumed().is_empty() && self.input.progress
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        // What was sent is already wiped; what was read and consumed too.
        self.sent();
        self.input.buf.zeroize();
    }
}

/// The input buffer, as ureq's own (`LazyBuffers`) but wiping: consumed bytes are zeroed at once,
/// moved bytes leave zeros behind, and it never reallocates in place (a grown buffer is a new
/// one, the old one wiped), so no copy of an answer stays behind in freed memory.
struct WipedInput {
    size: usize,
    buf: Vec<u8>,
    consumed: usize,
    filled: usize,
    /// The last consume took something: ureq may parse what is left before reading more.
    progress: bool,
}

/// Scratch space ureq wants for a request body it reads from a `Read` (chunked bodies only; ours
/// always have a length).
const MIN_SCRATCH: usize = 10 * 1024;

impl WipedInput {
    fn new(size: usize) -> WipedInput {
        WipedInput { size: size.max(1), buf: Vec::new(), consumed: 0, filled: 0, progress: false }
    }

    fn unconsumed(&self) -> &[u8] {
        &self.buf[self.consumed..self.filled]
    }

    fn consume(&mut self, amount: usize) {
        let end = (self.consumed + amount).min(self.filled);
        self.buf[self.consumed..end].zeroize();
        self.consumed = end;
        self.progress = amount > 0;
        if self.consumed == self.filled {
            (self.consumed, self.filled) = (0, 0);
        }
    }

    /// The free space after the unconsumed bytes, moved to the front first when more than half
    /// of the buffer is behind them.
    fn free(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = vec![0; self.size];
        }
        if self.consumed > 0 && self.filled > self.buf.len() / 2 {
            let (consumed, filled) = (self.consumed, self.filled);
            self.buf.copy_within(consumed..filled, 0);
            let moved = filled - consumed;
            self.buf[moved..filled].zeroize();
            (self.consumed, self.filled) = (0, moved);
        }
        &mut self.buf[self.filled..]
    }

    /// At least [`MIN_SCRATCH`] free bytes, growing into a new buffer when needed.
    fn scratch(&mut self) -> &mut [u8] {
        let free = self.free().len();
        if free < MIN_SCRATCH {
            let mut grown = vec![0; self.buf.len() + MIN_SCRATCH - free];
            grown[..self.filled - self.consumed].copy_from_slice(self.unconsumed());
            self.filled -= self.consumed;
            self.consumed = 0;
            self.buf.zeroize();
            self.buf = grown;
        }
        &mut self.buf[self.filled..]
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
    fn consumed_input_is_wiped_and_moved_input_leaves_zeros() {
        let mut buffers = Buffers::new(&Config::default());
        let size = buffers.input_append_buf().len();
        let answer = b"HTTP/1.1 200 OK\r\n\r\n{\"login_session_id\":\"TOKEN\"}";
        buffers.input_append_buf()[..answer.len()].copy_from_slice(answer);
        buffers.input_appended(answer.len());
        assert_eq!(buffers.input(), answer);
        buffers.input_consume(19);
        assert!(buffers.can_use_input());
        assert!(buffers.input.buf[..19].iter().all(|&b| b == 0), "consumed head wiped");
        buffers.input_consume(answer.len() - 19);
        assert!(buffers.input().is_empty() && !buffers.can_use_input());
        assert!(buffers.input.buf.iter().all(|&b| b == 0), "the whole answer is gone");

        // Unconsumed bytes behind the middle move to the front; their old place is zeroed.
        let tail = size - 4;
        buffers.input_appended(tail);
        buffers.input.buf[tail - 4..tail].copy_from_slice(b"abcd");
        buffers.input_consume(tail - 4);
        assert_eq!(buffers.input(), b"abcd");
        let free = buffers.input_append_buf().len();
        assert_eq!((buffers.input(), free), (&b"abcd"[..], size - 4));
        assert!(buffers.input.buf[4..].iter().all(|&b| b == 0));

        // The scratch space never comes from a buffer grown in place.
        buffers.input_appended(size - 4 - 100);
        let (scratch, _) = buffers.tmp_and_output();
        assert!(scratch.len() >= MIN_SCRATCH);
        assert_eq!(&buffers.input()[..4], b"abcd");
    }

    #[test]
    fn a_large_queue_asks_to_be_sent() {
        let mut buffers = Buffers::new(&Config::default());
        let half = buffers.output().len() / 2 + 1;
        buffers.queue(half);
        assert!(buffers.is_filling_up());
    }
}
