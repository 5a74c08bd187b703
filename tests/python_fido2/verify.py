"""Checks aa-logon's CTAP2 output with python-fido2 (PyPI `fido2`), an implementation nobody here
wrote. Input: one JSON file (argv[1]) written by tests/logon_fido2.rs with

- cbor_requests: hex of every CTAPHID_CBOR request payload the host sent (command byte + CBOR);
- fido2: a FIDO2:1 assertion as posted (base64url), its rpId and origin, the credential's COSE
  public key, whether user verification was required;
- u2f: a U2F:1 signResponse a CTAP2-only key produced, its appId, challenge and the enrolled
  public key (uncompressed point, base64url).

Every check prints one line; any failure raises and exits non-zero.
"""

import hashlib
import json
import sys

from fido2 import cbor
from fido2.cose import CoseKey
from fido2.ctap1 import SignatureData
from fido2.server import Fido2Server
from fido2.utils import websafe_decode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    UserVerificationRequirement,
)

CTAP2_COMMANDS = {0x02: "getAssertion", 0x04: "getInfo", 0x06: "clientPIN"}


def check_cbor_requests(requests):
    """Each request decodes with python-fido2 and re-encodes to the very same bytes (so ours is
    CTAP2 canonical CBOR), and has the shape of its command."""
    seen = {}
    for payload_hex in requests:
        payload = bytes.fromhex(payload_hex)
        command, body = payload[0], payload[1:]
        name = CTAP2_COMMANDS.get(command)
        assert name, f"unexpected CTAP2 command 0x{command:02x}"
        seen[name] = seen.get(name, 0) + 1
        if not body:
            assert name == "getInfo", f"{name} without parameters"
            continue
        decoded = cbor.decode(body)
        assert cbor.encode(decoded) == body, f"{name}: not canonical CBOR: {body.hex()}"
        assert all(isinstance(k, int) for k in decoded), f"{name}: non-integer keys"
        if name == "getAssertion":
            assert isinstance(decoded[1], str) and len(decoded[2]) == 32, f"getAssertion: {decoded}"
            for entry in decoded.get(3, []):
                assert entry["type"] == "public-key" and isinstance(entry["id"], bytes)
            if 6 in decoded:
                # pinUvAuthParam: 16 bytes for protocol 1, 32 for protocol 2
                assert len(decoded[6]) == (16 if decoded[7] == 1 else 32), f"pinUvAuthParam {decoded}"
        if name == "clientPIN":
            assert decoded[1] in (1, 2) and decoded[2] in (1, 2, 5, 9), f"clientPIN {decoded}"
            if 3 in decoded:
                # Our key-agreement key parses as a COSE key python-fido2 accepts.
                key = CoseKey.parse(decoded[3])
                assert decoded[3][1] == 2 and decoded[3][-1] == 1, f"key agreement {decoded[3]}"
                assert key is not None
    print(f"ok: {len(requests)} CBOR requests are canonical and well-formed: {seen}")
    return seen


def check_fido2(case):
    """The posted assertion passes python-fido2's own relying-party verification."""
    client_data_bytes = websafe_decode(case["client_data_json"])
    client_data = CollectedClientData(client_data_bytes)
    rebuilt = CollectedClientData.create(
        type=CollectedClientData.TYPE.GET,
        challenge=client_data.challenge,
        origin=case["origin"],
        cross_origin=False,
    )
    assert bytes(rebuilt) == client_data_bytes, f"clientDataJSON differs from python-fido2's: {client_data_bytes!r} vs {bytes(rebuilt)!r}"
    print("ok: clientDataJSON is byte for byte python-fido2's CollectedClientData")

    server = Fido2Server(
        PublicKeyCredentialRpEntity(name="AA", id=case["rp_id"]),
        verify_origin=lambda origin: origin == case["origin"],
    )
    required = case["uv_required"]
    state = server._make_internal_state(
        client_data.challenge,
        UserVerificationRequirement.REQUIRED if required else UserVerificationRequirement.DISCOURAGED,
    )
    credential_id = websafe_decode(case["credential_id"])
    public_key = CoseKey.parse(cbor.decode(websafe_decode(case["public_key_cose"])))
    credential = AttestedCredentialData.create(b"\0" * 16, credential_id, public_key)
    response = {
        "id": case["credential_id"],
        "rawId": case["credential_id"],
        "type": "public-key",
        "response": {
            "clientDataJSON": case["client_data_json"],
            "authenticatorData": case["authenticator_data"],
            "signature": case["signature"],
        },
        "clientExtensionResults": {},
    }
    server.authenticate_complete(state, [credential], response)
    auth_data = AuthenticatorData(websafe_decode(case["authenticator_data"]))
    assert auth_data.is_user_present()
    assert auth_data.is_user_verified() == required, f"UV flag {auth_data.flags:#x}"
    print(f"ok: FIDO2 assertion verified by Fido2Server (rpId {case['rp_id']}, UV {auth_data.is_user_verified()})")


def check_u2f(case):
    """The U2F signResponse made by a CTAP2-only key verifies as U2F signatureData."""
    response = case["sign_response"]
    client_data = websafe_decode(response["clientData"])
    parsed = json.loads(client_data)
    assert parsed["typ"] == "navigator.id.getAssertion", parsed
    assert parsed["challenge"] == case["challenge"], parsed
    signature_data = SignatureData(websafe_decode(response["signatureData"]))
    assert signature_data.user_presence & 1, "user presence"
    signature_data.verify(
        hashlib.sha256(case["app_id"].encode()).digest(),
        hashlib.sha256(client_data).digest(),
        websafe_decode(case["public_key"]),
    )
    print(f"ok: U2F signatureData from a CTAP2 assertion verified (counter {signature_data.counter})")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        case = json.load(file)
    seen = check_cbor_requests(case["cbor_requests"])
    for command in ("getInfo", "getAssertion", "clientPIN"):
        assert seen.get(command), f"no {command} request was captured"
    check_fido2(case["fido2"])
    check_u2f(case["u2f"])
    print("python-fido2: all checks passed")


if __name__ == "__main__":
    main()
