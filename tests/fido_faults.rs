//! The sign flow against virtual keys that misbehave the way real keys and busy hosts do: each
//! injectable fault, once on the first answer (INIT) and once while waiting for the touch.

mod fido_support;

use std::sync::Arc;
use std::time::Duration;

use aa_logon::fido::{self, Prompt};
use aa_virtual_key::VirtualDevices;
use aa_virtual_key::{Fault, Presence, VirtualKey};
use fido_support::{options, request_for, verify, APP_ID};

/// When the fault is injected.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// Before sign starts: the fault hits the first answer (the INIT reply).
    BeforeSign,
    /// When the touch prompt fires: the fault hits the presence polls and the signature reply.
    AtTouchPrompt,
}

/// Signs with one key that suffers `faults` at `moment`; the signature must still verify.
/// Returns the signature counter.
fn sign_despite(faults: &[Fault], moment: Moment) -> u32 {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(format!("{faults:?}").as_bytes());
    // The touch comes a little later, so several presence polls meet the injected faults.
    key.set_presence(Presence::AfterDelay(Duration::from_millis(300)));
    devices.insert(key.clone());
    let request = request_for(&key);
    let (mut options, _) = options(Duration::from_secs(20));
    match moment {
        Moment::BeforeSign => faults.iter().for_each(|fault| key.inject_fault(*fault)),
        Moment::AtTouchPrompt => {
            let (key, faults) = (key.clone(), faults.to_vec());
            options.prompt = Some(Arc::new(move |prompt| {
                if prompt == Prompt::TouchKey {
                    faults.iter().for_each(|fault| key.inject_fault(*fault));
                }
            }));
        }
    }
    let response = fido::sign(&devices, std::slice::from_ref(&request), &options)
        .unwrap_or_else(|e| panic!("{faults:?} at {moment:?}: {e}"));

    let counter = verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!(counter, key.counter(), "the response carries the key's last signature");
    counter
}

#[test]
fn channel_busy_is_retried() {
    sign_despite(&[Fault::ChannelBusy], Moment::BeforeSign);
    sign_despite(&[Fault::ChannelBusy, Fault::ChannelBusy], Moment::AtTouchPrompt);
}

#[test]
fn garbage_frames_are_skipped() {
    sign_despite(&[Fault::GarbageFrame], Moment::BeforeSign);
    sign_despite(&[Fault::GarbageFrame, Fault::GarbageFrame], Moment::AtTouchPrompt);
}

#[test]
fn a_dropped_continuation_is_recovered_by_re_init() {
    // Only the signature reply spans two reports, so the fault waits for it in both cases: the
    // first signature is lost on the wire and the key must be asked (and touched) again.
    for moment in [Moment::BeforeSign, Moment::AtTouchPrompt] {
        let counter = sign_despite(&[Fault::DropContinuation], moment);
        assert_eq!(counter, 2, "{moment:?}");
    }
}

#[test]
fn an_answer_on_a_wrong_channel_is_ignored_then_recovered() {
    sign_despite(&[Fault::WrongCid], Moment::BeforeSign);
    sign_despite(&[Fault::WrongCid], Moment::AtTouchPrompt);
}

#[test]
fn slow_keepalives_are_waited_out() {
    sign_despite(&[Fault::SlowKeepalive(Duration::from_millis(800))], Moment::BeforeSign);
    sign_despite(&[Fault::SlowKeepalive(Duration::from_millis(1500))], Moment::AtTouchPrompt);
}

#[test]
fn several_faults_at_once() {
    let all = [Fault::GarbageFrame, Fault::ChannelBusy, Fault::SlowKeepalive(Duration::from_millis(300))];
    sign_despite(&all, Moment::BeforeSign);
    sign_despite(&[Fault::DropContinuation, Fault::GarbageFrame, Fault::ChannelBusy], Moment::AtTouchPrompt);
}
