//! Which protocols a virtual key speaks: U2F (CTAP1 over CTAPHID_MSG), CTAP2 (CTAPHID_CBOR), or both.

use crate::ctaphid::{CAPABILITY_CBOR, CAPABILITY_NMSG, CAPABILITY_WINK};

/// The protocols of a key, fixed when it is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocols {
    /// A U2F-only key: INIT reports WINK only, CTAPHID_CBOR is an invalid command.
    U2fOnly,
    /// A FIDO2-only key: INIT reports WINK, CBOR and NMSG; CTAPHID_MSG is an invalid command.
    Ctap2Only,
    /// A FIDO2 key that also speaks U2F, like most keys sold today: WINK and CBOR.
    #[default]
    Both,
}

impl Protocols {
    pub fn u2f(self) -> bool {
        matches!(self, Protocols::U2fOnly | Protocols::Both)
    }

    pub fn ctap2(self) -> bool {
        matches!(self, Protocols::Ctap2Only | Protocols::Both)
    }

    /// The capability byte of the INIT response.
    pub fn capabilities(self) -> u8 {
        match self {
            Protocols::U2fOnly => CAPABILITY_WINK,
            Protocols::Ctap2Only => CAPABILITY_WINK | CAPABILITY_CBOR | CAPABILITY_NMSG,
            Protocols::Both => CAPABILITY_WINK | CAPABILITY_CBOR,
        }
    }

    /// The `versions` of authenticatorGetInfo (empty for a U2F-only key, which has no getInfo).
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Protocols::U2fOnly => &[],
            Protocols::Ctap2Only => &["FIDO_2_0", "FIDO_2_1"],
            Protocols::Both => &["U2F_V2", "FIDO_2_0", "FIDO_2_1"],
        }
    }
}
