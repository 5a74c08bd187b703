//! Misbehaviours a test can inject so hosts prove they cope with them.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::apdu;
use crate::ctaphid::{Report, BROADCAST_CID};

/// Where the DER signature starts in an AUTHENTICATE answer (after presence byte and counter).
const SIGNATURE_OFFSET: usize = 5;

/// One injected misbehaviour. Each fault is used once, by the first response it applies to;
/// several faults may be pending together and then combine on that response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next request (any command except INIT and CANCEL) is answered with ERROR CHANNEL_BUSY
    /// instead of being processed, as when another application holds the key. Continuation packets
    /// the host still sends for that request are ignored.
    ChannelBusy,
    /// Before the next response the key emits one nonsense report on the host's channel: random bytes
    /// after the CID, with bit 7 of byte 4 clear so it reads as a stray continuation packet. A host
    /// waiting for an initialization packet must skip it.
    GarbageFrame,
    /// The key drops the first continuation packet (SEQ 0) of its next response that needs more than
    /// one report; the host sees a sequence gap or times out and must fail cleanly (then re-INIT).
    DropContinuation,
    /// The next response is sent on a different channel id instead of the host's, so a well-behaved
    /// host ignores it and times out waiting (the answer never arrives on its channel).
    WrongCid,
    /// The key holds its answer to the next MSG for this long (or starts processing the next CBOR
    /// request only after it), sending KEEPALIVE (STATUS_PROCESSING) on the host's channel every
    /// 100 ms meanwhile. Other channels get CHANNEL_BUSY while it waits; INIT on the host's channel
    /// abandons the held answer; CANCEL ends a held CBOR request with KEEPALIVE_CANCEL.
    SlowKeepalive(Duration),
    /// The next AUTHENTICATE signed after the user's touch (enforce-presence, `9000`) is answered
    /// short: presence byte, counter and only the first 3 bytes of the DER signature, then `9000`.
    /// The key did sign (its counter advanced); only the reply is broken.
    ShortSignature,
    /// The next AUTHENTICATE signed after the user's touch keeps its length and `9000`, but every
    /// signature byte is replaced by `0xA5`, which is not DER.
    GarbageSignature,
    /// The next AUTHENTICATE that would be signed after the user's touch is answered with this
    /// status word alone (e.g. `0x6F00`, as a key whose signing failed). The counter advances.
    StatusAfterTouch(u16),
}

/// Pending faults of one device.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<Fault>,
    garbage_frames: u64,
}

impl Faults {
    pub(crate) fn inject(&mut self, fault: Fault) {
        self.pending.push(fault);
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Removes and returns the oldest pending fault accepted by `wanted`.
    pub(crate) fn take(&mut self, wanted: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let index = self.pending.iter().position(wanted)?;
        Some(self.pending.remove(index))
    }

    /// Takes a pending fault equal to `fault`; true when there was one.
    pub(crate) fn take_exact(&mut self, fault: Fault) -> bool {
        self.take(|f| *f == fault).is_some()
    }

    /// Takes a pending SlowKeepalive and returns its delay.
    pub(crate) fn take_slow_keepalive(&mut self) -> Option<Duration> {
        match self.take(|f| matches!(f, Fault::SlowKeepalive(_)))? {
            Fault::SlowKeepalive(delay) => Some(delay),
            _ => None,
        }
    }

    /// Applies a pending signature fault ([`Fault::ShortSignature`], [`Fault::GarbageSignature`],
    /// [`Fault::StatusAfterTouch`]) to `answer`, the reply to `request`, when that reply carries a
    /// signature made after a touch; other answers pass unchanged and leave the faults pending.
    pub(crate) fn after_touch(&mut self, request: &[u8], answer: Vec<u8>) -> Vec<u8> {
        let signed_after_touch = request.get(1) == Some(&apdu::INS_AUTHENTICATE)
            && request.get(2) == Some(&apdu::CONTROL_ENFORCE_PRESENCE)
            && answer.len() > SIGNATURE_OFFSET + 2
            && answer.ends_with(&apdu::SW_NO_ERROR.to_be_bytes());
        if !signed_after_touch {
            return answer;
        }
        let fault = self.take(|f| {
            matches!(f, Fault::ShortSignature | Fault::GarbageSignature | Fault::StatusAfterTouch(_))
        });
        let data_end = answer.len() - 2;
        match fault {
            Some(Fault::ShortSignature) => {
                let mut short = answer[..(SIGNATURE_OFFSET + 3).min(data_end)].to_vec();
                short.extend_from_slice(&apdu::SW_NO_ERROR.to_be_bytes());
                short
            }
            Some(Fault::GarbageSignature) => {
                let mut garbage = answer;
                garbage[SIGNATURE_OFFSET..data_end].fill(0xA5);
                garbage
            }
            Some(Fault::StatusAfterTouch(status)) => status.to_be_bytes().to_vec(),
            _ => answer,
        }
    }

    /// A nonsense report on `cid` (see [`Fault::GarbageFrame`]); reproducible per device.
    pub(crate) fn garbage_frame(&mut self, cid: u32) -> Report {
        self.garbage_frames += 1;
        let mut report = [0u8; 64];
        report[..4].copy_from_slice(&cid.to_be_bytes());
        let first = Sha256::new().chain_update(b"garbage").chain_update(self.garbage_frames.to_be_bytes());
        let second = first.clone().chain_update(b"more").finalize();
        report[4..36].copy_from_slice(&first.finalize());
        report[36..].copy_from_slice(&second[..28]);
        report[4] &= 0x7F;
        report
    }
}

/// A channel id other than `cid`, never the reserved 0 or the broadcast CID.
pub(crate) fn foreign_cid(cid: u32) -> u32 {
    match cid ^ 0x5A5A_5A5A {
        0 | BROADCAST_CID => 0x1234_5678,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_taken_oldest_first_and_once() {
        let mut faults = Faults::default();
        faults.inject(Fault::SlowKeepalive(Duration::from_millis(5)));
        faults.inject(Fault::WrongCid);
        faults.inject(Fault::SlowKeepalive(Duration::from_millis(7)));
        assert!(!faults.take_exact(Fault::ChannelBusy));
        assert_eq!(faults.take_slow_keepalive(), Some(Duration::from_millis(5)));
        assert!(faults.take_exact(Fault::WrongCid));
        assert!(!faults.take_exact(Fault::WrongCid));
        faults.clear();
        assert_eq!(faults.take_slow_keepalive(), None);
    }

    #[test]
    fn garbage_frames_keep_the_cid_and_look_like_continuations() {
        let mut faults = Faults::default();
        let a = faults.garbage_frame(0x0102_0304);
        let b = faults.garbage_frame(0x0102_0304);
        assert_eq!(&a[..4], &[1, 2, 3, 4]);
        assert_eq!(a[4] & 0x80, 0);
        assert_ne!(a, b);
    }

    #[test]
    fn signature_faults_break_only_a_signature_made_after_a_touch() {
        let enforce = [0x00, apdu::INS_AUTHENTICATE, apdu::CONTROL_ENFORCE_PRESENCE, 0x00];
        let check = [0x00, apdu::INS_AUTHENTICATE, apdu::CONTROL_CHECK_ONLY, 0x00];
        let mut signed = vec![0x01, 0, 0, 0, 7, 0x30, 0x44, 0x02, 0x20];
        signed.extend_from_slice(&[0x11; 40]);
        signed.extend_from_slice(&[0x90, 0x00]);
        let mut faults = Faults::default();
        faults.inject(Fault::ShortSignature);
        faults.inject(Fault::GarbageSignature);
        faults.inject(Fault::StatusAfterTouch(0x6F00));
        // Not a signature after a touch: untouched, the faults stay pending.
        assert_eq!(faults.after_touch(&check, vec![0x69, 0x85]), [0x69, 0x85]);
        assert_eq!(faults.after_touch(&enforce, vec![0x69, 0x85]), [0x69, 0x85]);
        assert_eq!(
            faults.after_touch(&enforce, signed.clone()),
            [0x01, 0, 0, 0, 7, 0x30, 0x44, 0x02, 0x90, 0x00]
        );
        let garbage = faults.after_touch(&enforce, signed.clone());
        assert_eq!(garbage.len(), signed.len());
        assert_eq!(&garbage[..5], &signed[..5]);
        assert!(garbage[5..garbage.len() - 2].iter().all(|&b| b == 0xA5));
        assert_eq!(&garbage[garbage.len() - 2..], &[0x90, 0x00]);
        assert_eq!(faults.after_touch(&enforce, signed.clone()), [0x6F, 0x00]);
        assert_eq!(faults.after_touch(&enforce, signed.clone()), signed, "each fault is used once");
    }

    #[test]
    fn foreign_cid_is_never_the_same_reserved_or_broadcast() {
        for cid in [1, 0x5A5A_5A5A, 0xA5A5_A5A5, BROADCAST_CID, 0x1234_5678 ^ 0x5A5A_5A5A] {
            let other = foreign_cid(cid);
            assert!(other != cid && other != 0 && other != BROADCAST_CID);
        }
    }
}
