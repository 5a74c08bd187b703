#!/usr/bin/env python3
"""Writes the committed seed corpora fuzz/corpus/<target>/ (run from anywhere; deterministic).

Sources: the recorded AA answers of core/src/aa/model.rs's tests, the Google U2F vectors of
testdata/u2f-test-vectors.json, the libfido2-style CTAPHID captures of core/src/fido/ctaphid.rs's
tests, the CTAP2 examples of testdata/ctap2-vectors.json, real CTAP2 answers of the testkit's
virtual key (printed by fuzz/ctap2-seeds, which this script builds and runs with cargo), and a few
URLs, pins and PEM/DER certificates. Input layouts: see core/src/fuzzing.rs and
fuzz/fuzz_targets/c_abi_strings.rs."""
import json
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
VECTORS = json.load(open(os.path.join(ROOT, "testdata", "u2f-test-vectors.json")))
SIGN = VECTORS["sign"]
CTAP2 = json.load(open(os.path.join(ROOT, "testdata", "ctap2-vectors.json")))

CID = bytes.fromhex("00220002")
INIT_DATA, CONT_DATA = 57, 59

# A self-signed P-256 CA (CN=aa-logon fuzz seed CA), made with openssl for these seeds only.
CA_PEM = b"""-----BEGIN CERTIFICATE-----
MIIBmDCCAT2gAwIBAgIUZfajsQFBvO5qwct8Dz4J2+ba4iMwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVYWEtbG9nb24gZnV6eiBzZWVkIENBMCAXDTI2MTIwMTIyMDEy
OFoYDzIxMjYxMTA3MjIwMTI4WjAgMR4wHAYDVQQDDBVhYS1sb2dvbiBmdXp6IHNl
ZWQgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATu87kdsAA4dAct0otcz57O
ct4ixH/e9aVhthjIdv/8C/6gublzyofJ6uXwDr8B+tod25IuuoxDtuMCpR7zgpzJ
o1MwUTAdBgNVHQ4EFgQUg0z3IlSVtw5MY+FgOFXQxfQ2UfYwHwYDVR0jBBgwFoAU
g0z3IlSVtw5MY+FgOFXQxfQ2UfYwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNJADBGAiEA0SHXO1jBThHXcjRiO8M2HWbuXXtonCQHSY1ZDCq+o74CIQCw9YfS
Z62Rig5BoBtCxn6CkjI0Ni5TCf4fc96KU2YXMw==
-----END CERTIFICATE-----
"""


def pad(report):
    assert len(report) <= 64
    return report + bytes(64 - len(report))


def fragment(payload, cid=CID, cmd=0x03):
    reports = [pad(cid + bytes([0x80 | cmd]) + len(payload).to_bytes(2, "big") + payload[:INIT_DATA])]
    rest = payload[INIT_DATA:]
    for seq in range(0, (len(rest) + CONT_DATA - 1) // CONT_DATA):
        reports.append(pad(cid + bytes([seq]) + rest[seq * CONT_DATA:(seq + 1) * CONT_DATA]))
    return b"".join(reports)


def h(text):
    return bytes.fromhex(text)


# The Google vector's signatureData and libfido2's 78-byte AUTHENTICATE reply (UP, counter 44).
VECTOR_SIGNATURE = h(SIGN["response_data"])
LIBFIDO2_SIGNATURE = h("010000002c30450220") + b"\x11" * 32 + h("022100") + b"\x82" * 32
OK, PRESENCE, WRONG_DATA = h("9000"), h("6985"), h("6a80")

GATHER = {
    "webauth_challenge": {"challenge": "0932", "allowCredentials": [], "userVerification": "discouraged",
                          "extensions": {"appid": "NetIQ"}},
    "signRequests": [{"version": "U2F_V2", "appId": "https://164.99.184.45",
                      "keyHandle": "UI_fGzKv4EJyl3cmIAzLGi3BXczy7sLOBmkhL-JS5Fs4pDpDwhKVnAkqwNg3M9wepdde0ywtrrYoh-QjTt7QYg",
                      "challenge": "4ooKcq6hH4u3sG7IbF3GbPSL29Vm8bv08a3qmhBmz-Y"}],
    "status": "MORE_DATA", "msg": "Waiting for an authentication response", "linked_logon": False,
    "reason": "U2F_WAITING_AUTH_RESPONSE", "plugins": [], "msgid": "AUCORE-2059",
    "chains": [{"id_hex": "5a6cd33c8db511ee9c500242ac110003", "tenant_id": "def0", "is_trusted": None,
                "is_enabled": True, "name": "U2F only", "short_name": "", "methods": ["U2F:1"], "position": 1}],
    "categories": None, "current_method": "U2F:1", "completed_methods": [],
    "logon_process_id": "qEDeBxofr8fFS2OXrM",
}
OK_ANSWER = {
    "status": "OK", "msg": "Welcome", "login_session_id": "Z345oBnWuItOpubBsC2AaPBwAvzlIh4h",
    "completed_chain": {"id_hex": "1a1d", "name": "U2F only", "methods": ["U2F:1"]},
    "user_id": "b471", "user_name": "JAGUAR\\denis", "repo_id": "51f5", "repo_obj_id": "71a6",
    "user_mobile_phone": "+918746825777", "user_name_netbios": "JAGUAR\\denis", "tenant_name": "TOP",
    "user_role_assignments": "FULL ADMINS", "user_cn": "denis", "user_sid": "S-1-5-21",
    "user_upn": "denis@jaguar.com", "user_dn": "CN=denis,CN=Users,DC=jaguar,DC=com",
    "user_groups": ["a"], "user_level": 3, "future_field": {"x": 1},
}
VECTOR_GATHER = dict(GATHER, signRequests=[
    {"version": "U2F_V2", "appId": SIGN["app_id"], "keyHandle": SIGN["derived_sign_response"]["keyHandle"],
     "challenge": SIGN["server_challenge_b64u"]},
    {"version": "U2F_V2", "appId": "https://aa.example.com", "keyHandle": "AAE=", "challenge": "c2lnbg"},
])


def seeds():
    out = {}
    # --- logon_model: JSON answers -------------------------------------------------------------
    out["logon_model"] = {
        "gather_answer.json": json.dumps(GATHER).encode(),
        "gather_vector_two_requests.json": json.dumps(VECTOR_GATHER).encode(),
        "ok_answer.json": json.dumps(OK_ANSWER).encode(),
        "next_answer.json": json.dumps({"status": "NEXT", "current_method": "PASSWORD:1",
                                        "completed_methods": ["LDAP_PASSWORD:1"], "user_id": "b471",
                                        "logon_process_id": "qEDeBxofr8fFS2OXrM"}).encode(),
        "failed_answer.json": b'{"status":"FAILED","reason":"WRONG_PASSWORD","msg":"Wrong password","msgid":"AUCORE-1004"}',
        "chains_answer.json": b'{"chains":[{"methods":["PASSWORD:1"],"name":"Password","position":2}],"user_is_locked":false}',
        "login_session.json": b'{"user_name":"JAGUAR\\\\denis","user_id":"b471","event_name":"Search Card","created":"2024-01-01T00:00:00","chain_id":"1a1d"}',
        "bad_sign_requests.json": b'{"status":"MORE_DATA","signRequests":[{"challenge":"x"}]}',
        "bad_key_handle.json": json.dumps(dict(GATHER, signRequests=[dict(GATHER["signRequests"][0], keyHandle="AAEC+/")])).encode(),
        "unknown_status.json": b'{"status":"PENDING","user_x":1.5e300,"user_y":true}',
    }
    # --- ctaphid_reassembly: raw reports after a correct INIT --------------------------------------
    signed = fragment(LIBFIDO2_SIGNATURE + OK)
    out["ctaphid_reassembly"] = {
        "presence_then_libfido2_signature": fragment(PRESENCE) + signed,
        "presence_then_vector_signature": fragment(PRESENCE) + fragment(VECTOR_SIGNATURE + OK),
        "keepalive_stray_frames_then_signature": b"".join(pad(h(x)) for x in [
            "00220002bb000102", "", "000099018300026985", "00220002004142", "002200028300026985"]) + signed,
        "busy_then_presence": pad(h("00220002bf000106")) + fragment(PRESENCE) + signed,
        "sequence_gap": fragment(PRESENCE) + signed[:64] + pad(h("00220002014142")) + fragment(PRESENCE),
        "not_this_key": fragment(WRONG_DATA),
        "oversized_length": pad(h("00220002837fff")) + pad(h("0022000200")),
        "invalid_channel": pad(h("00220002bf00010b")),
    }
    # --- host_stack: op scripts (see fuzzing::host_stack) ------------------------------------------
    r = h(SIGN["signature"])[4:36]
    s = h(SIGN["signature"])[38:70]
    signature_op = bytes([4, 0x01]) + h("00000001") + r + s
    init_std = bytes([1, 0x01])  # INIT reply: WINK, no CBOR (a U2F-only key)
    init_cbor = bytes([1, 0x05])  # WINK | CBOR: the host asks getInfo first
    out["host_stack"] = {
        "one_key_signs": b"\x00" + init_std + bytes([2]) + PRESENCE + signature_op,
        "one_key_touch_later": b"\x00" + init_std + bytes([2]) + PRESENCE + bytes([6, 2, 2]) + PRESENCE,
        "two_keys_two_requests": b"\x03" + init_std + bytes([2]) + WRONG_DATA + bytes([2]) + PRESENCE
        + init_std + bytes([2]) + WRONG_DATA + bytes([2]) + WRONG_DATA + signature_op,
        "init_fields_and_payload": b"\x00" + bytes([0]) + h("002200020205020105") + b"\x00"
        + bytes([3, len(LIBFIDO2_SIGNATURE) + 2]) + LIBFIDO2_SIGNATURE + OK,
        "busy_keepalive_error": b"\x00" + init_std + bytes([6, 2, 5, 6, 5, 1]),
        "wrong_nonce_then_silence_failure": b"\x01" + bytes([0]) + h("003300030205020105") + b"\x01" + bytes([10, 11]),
        "raw_and_continuations": b"\x00" + init_std + bytes([8]) + h("830050") + b"\x01" * 57
        + bytes([9, 0]) + b"\x02" * 59 + bytes([9, 1]) + b"\x03" * 59,
        "first_key_fails_to_open": b"\x05" + init_std + bytes([2]) + PRESENCE + signature_op,
        "nmsg_key": b"\x00" + bytes([1, 0x0d]),
        "cbor_key_answers_u2f": b"\x00" + init_cbor + bytes([2]) + PRESENCE + bytes([2]) + PRESENCE + signature_op,
    }
    # --- u2f_parse: mode byte + reply ---------------------------------------------------------------
    out["u2f_parse"] = {
        "sign_vector_signature": b"\x00" + VECTOR_SIGNATURE + OK,
        "sign_libfido2_signature": b"\x00" + LIBFIDO2_SIGNATURE + OK,
        "sign_presence_required": b"\x00" + PRESENCE,
        "sign_wrong_data": b"\x00" + WRONG_DATA,
        "sign_no_presence_flag": b"\x00" + b"\x00" + VECTOR_SIGNATURE[1:] + OK,
        "sign_short": b"\x00\x90",
        "version_u2f_v2": b"\x01" + b"U2F_V2" + OK,
        "version_ins_not_supported": b"\x01" + h("6d00"),
        "version_wrong_length": b"\x01" + h("6700"),
        "version_long": b"\x01" + b"U2F_V2" * 8 + OK,
    }
    # --- config_parsers: flags, url, id, secret, proxy, ua, lang, allowed host, appId, pem, der ---
    attestation = h(VECTORS["register"]["attestation_certificate"])

    def config(flags, url, proxy=b"", ua=b"", lang=b"", pem=b"", der=b"", ident=b"178fa64ebafe11eaa1fb0242ac110003",
               secret=b"hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt", host=b"aa-sim.local", app_id=b"https://aa.example.com/u2f"):
        return b"\x00".join([bytes([flags]), url, ident, secret, proxy, ua, lang, host, app_id, pem, der])

    out["config_parsers"] = {
        "plain_https": config(0x00, b"https://aa.example.com"),
        "api_prefix_kept": config(0x00, b"https://aa.example.com/aa/api/v1/"),
        "ipv6_port": config(0x00, b"https://[::1]:8443"),
        "http_proxy_agent_language": config(0x07, b"http://127.0.0.1:8080", b"http://proxy.example:3128",
                                            b"aa-logon-test/1.0", b"de-DE,en;q=0.8"),
        "socks_proxy": config(0x01, b"https://aa.example.com", b"socks5://user:pw@127.0.0.1:1080"),
        "ca_pem_and_der": config(0x80, b"https://aa.example.com", pem=CA_PEM, der=attestation),
        "two_ca_pems": config(0x80, b"https://aa.example.com", pem=CA_PEM + CA_PEM),
        "not_a_pem": config(0x80, b"https://aa.example.com", pem=b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        "query_rejected": config(0x00, b"https://aa.example.com/?x=1"),
        "ftp_rejected": config(0x00, b"ftp://aa.example.com"),
        "zero_timeout_and_cap": config(0x18, b"https://aa.example.com"),
        "blank_endpoint": config(0x00, b"https://aa.example.com", ident=b"  ", secret=b""),
        "credentials_rejected": config(0x00, b"https://user:pw@aa.example.com"),
        "allowed_host_app_id": config(0x20, b"https://aa.example.com", host=b"Login.Example.COM.", app_id=b"https://login.example.com:8443/appid"),
        "allowed_ipv6_host": config(0x20, b"https://[::1]:8443", host=b"[0:0::1]", app_id=b"https://[::1]/x"),
        "foreign_app_id": config(0x00, b"https://aa.example.com", app_id=b"https://evil.example/u2f"),
        "app_id_check_off": config(0x40, b"https://aa.example.com", app_id=b"http://evil.example#x"),
        "header_injection": config(0x06, b"https://aa.example.com", ua=b"ua\r\nX-Evil: 1", lang=b"de\nx"),
        # The servers field: base URL, then failover URLs after 0x1F each.
        "failover_cluster": config(0x00, b"\x1f".join([b"https://aa1.example.com", b"https://aa2.example.com:8443",
                                                        b" https://aa3.example.com/tenant "])),
        "failover_same_server_again": config(0x00, b"\x1f".join([b"https://aa1.example.com", b"https://AA1.example.com/",
                                                                  b" https://aa2.example.com ", b"https://aa2.example.com//"])),
        "failover_credentials": config(0x00, b"\x1f".join([b"https://aa1.example.com", b"https://admin:hunter22secret@aa2.example.com",
                                                            b"https://aa3.example.com"])),
        "failover_list_full": config(0x00, b"\x1f".join([b"https://aa.example.com"]
                                                         + [b"https://aa%d.example.com" % i for i in range(70)])),
        "failover_bad_base": config(0x00, b"ftp://aa.example.com\x1fhttps://aa2.example.com"),
        "failover_bad_urls": config(0x00, b"\x1f".join([b"https://aa.example.com", b"", b"ftp://x", b"https://aa2.example.com/?q=1",
                                                         b"https://[::1]:8443", b"https://aa3.example.com#x"])),
    }
    # --- c_abi_strings: flags, base_url, id, secret, pin, proxy, ua, ca_file, appId host -----------

    def c_abi(flags, *fields):
        return bytes([flags]) + b"\x00".join(fields)

    good = [b"https://aa.example.com", b"178fa64ebafe11eaa1fb0242ac110003", b"hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt"]
    out["c_abi_strings"] = {
        "all_valid": c_abi(0x01, *good, b"ab" * 32, b"http://proxy.example:3128", b"aa-logon-test/1.0", b"/tmp/ca.pem", b"aa-sim.local"),
        "bad_values": c_abi(0x01, *good, b"ab" * 32, b"socks5://proxy:1080", b"ua\r\nX: y", b"/tmp/ca.pem", b"https://host:1/"),
        "upper_pin_timeouts": c_abi(0x13, *good, b"AB" * 32, b"http://proxy:3128", b"ua", b"ca.pem"),
        "bad_pin": c_abi(0x01, *good, b"ab" * 31 + b"zz", b"http://p:1", b"ua", b"x"),
        "short_pin_zero_cap": c_abi(0x05, *good, b"abcd", b"p", b"u", b"c"),
        "invalid_utf8": c_abi(0x01, b"https://aa.example.com/\xff", *good[1:], b"ab" * 32),
        "empty_fields": c_abi(0x01, b"", b"", b"", b"", b"", b"", b""),
        "null_tail": c_abi(0x01, *good),
        "bad_url_for_client": c_abi(0x01, b"ftp://x", *good[1:], b"ab" * 32, b"http://proxy:3128", b"ua", b"c"),
        "just_flags": b"\x01",
    }
    out["ctap2_answers"] = ctap2_answers()
    return out


def cbor(value):
    """Minimal CBOR encoder (shortest heads, definite lengths, map keys in the order given)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
        raise ValueError(n)
    if value is False or value is True:
        return bytes([0xf5 if value else 0xf4])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        return head(3, len(value.encode())) + value.encode()
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(value)


def virtual_key_answers():
    """The real answers fuzz/ctap2-seeds prints: name -> status || CBOR."""
    manifest = os.path.join(ROOT, "fuzz", "ctap2-seeds", "Cargo.toml")
    run = subprocess.run(["cargo", "run", "--quiet", "--manifest-path", manifest],
                         check=True, capture_output=True, text=True)
    return {name: bytes.fromhex(answer) for name, answer in (line.split() for line in run.stdout.splitlines())}


def ctap2_answers():
    """Mode byte (see fuzzing::ctap2_answers) + one answer of the key: status || CBOR."""
    answers = virtual_key_answers()
    info, assertion, discoverable, key_agreement, retries, token = range(6)
    bit3, bit4, bit5 = 0x08, 0x10, 0x20
    ok = b"\x00"

    spec = CTAP2["pin_protocol_1"]
    # The scripted key's own key-agreement key: the CTAP2 example's platform key.
    own_cose = {1: 2, 3: -25, -1: 1, -2: h(spec["platform_public_x"]), -3: h(spec["platform_public_y"])}
    own = ok + cbor({1: own_cose})
    auth_data = h(SIGN["application_parameter"]) + h("0100000001")
    signature = h(SIGN["signature"])
    credential = {"id": h(SIGN["key_handle"]), "type": "public-key"}
    versions = {1: ["FIDO_2_0"]}
    virtual_assertion = answers["assertion"]

    def mode(m, answer):
        return bytes([m]) + answer

    return {
        # getInfo, in describe
        "info_virtual_key_u2f_too": mode(info | bit3, answers["info_both"]),
        "info_virtual_key_ctap2_only": mode(info, answers["info_ctap2_only"]),
        "info_virtual_key_pin_and_uv": mode(info, answers["info_pin_uv"]),
        "info_spec_example": mode(info | bit3, ok + h(CTAP2["get_info"]["cbor"])),
        "info_spec_example_extra_key": mode(info, ok + h(CTAP2["get_info"]["cbor_extra_key"])),
        "info_error_status_with_body": mode(info, b"\x01" + h(CTAP2["get_info"]["cbor"])),
        "info_status_only": mode(info, ok),
        "info_truncated": mode(info, answers["info_both"][:40]),
        "info_trailing_byte": mode(info, answers["info_both"] + b"\x00"),
        "info_nested_too_deep": mode(info, ok + cbor({1: ["FIDO_2_0"], 0x20: [[[[[[[[1]]]]]]]]})),
        "info_nested_deepest": mode(info, ok + cbor({1: ["FIDO_2_0"], 0x20: [[[[[[1]]]]]]})),
        "info_too_many_items": mode(info, ok + cbor({1: ["FIDO_2_0"], 0x20: [0] * 2100})),
        "info_tag": mode(info, ok + b"\xa2" + cbor(1) + cbor(["FIDO_2_0"]) + cbor(5) + h("c11a00000400")),
        "info_float": mode(info, ok + b"\xa2" + cbor(1) + cbor(["FIDO_2_0"]) + cbor(5) + h("f93c00")),
        "info_indefinite_versions": mode(info, ok + h("a1019f68") + b"FIDO_2_0" + h("ff")),
        "info_key_twice": mode(info, ok + h("a2") + cbor(1) + cbor(["U2F_V2"]) + cbor(1) + cbor(["FIDO_2_0"])),
        "info_option_not_boolean": mode(info, ok + cbor({1: ["FIDO_2_0"], 4: {"clientPin": 1}})),
        "info_odd_pin_protocol": mode(info, ok + cbor({1: ["FIDO_2_1"], 4: {"clientPin": True}, 6: [7]})),
        # getAssertion of the allowList's credential
        "assertion_virtual_key": mode(assertion, virtual_assertion),
        "assertion_virtual_key_u2f_sign": mode(assertion | bit3, virtual_assertion),
        "assertion_built_in_uv": mode(assertion | bit4, answers["assertion_uv"]),
        "assertion_uv_flag_missing": mode(assertion | bit4, virtual_assertion),
        "assertion_no_presence": mode(assertion, answers["assertion_silent"]),
        "assertion_no_credentials": mode(assertion, answers["assertion_no_credentials"]),
        "assertion_spec_example": mode(assertion, ok + h(CTAP2["get_assertion"]["cbor"])),
        "assertion_error_status_with_body": mode(assertion | bit3, b"\x27" + virtual_assertion[1:]),
        "assertion_truncated": mode(assertion, virtual_assertion[:80]),
        "assertion_trailing_byte": mode(assertion, virtual_assertion + b"\x00"),
        "assertion_credential_implied": mode(assertion | bit3, ok + cbor({2: auth_data, 3: signature})),
        "assertion_with_extensions": mode(assertion | bit3, ok + cbor({1: credential, 2: auth_data[:32] + b"\x81" + auth_data[33:]
                                                                       + cbor({"credProtect": 1}), 3: signature})),
        "assertion_key_timed_out": mode(assertion, b"\x2f"),
        # getAssertion without allowList, and getNextAssertion's answers
        "discoverable_first": mode(discoverable, answers["assertion_discoverable"]),
        "discoverable_next": mode(discoverable, answers["next_assertion"]),
        "discoverable_none_left": mode(discoverable, answers["next_assertion_none_left"]),
        "discoverable_empty_credential_id": mode(discoverable, ok + cbor({1: {"id": b"", "type": "public-key"},
                                                                          2: auth_data, 3: signature})),
        "discoverable_user_handle_too_long": mode(discoverable, ok + cbor({1: credential, 2: auth_data, 3: signature,
                                                                           4: {"id": b"u" * 65}})),
        "discoverable_other_type": mode(discoverable, ok + cbor({1: {"id": b"c" * 16, "type": "secret-key"},
                                                                 2: auth_data, 3: signature})),
        # clientPIN getKeyAgreement
        "key_agreement_own_p2": mode(key_agreement, own),
        "key_agreement_own_p1": mode(key_agreement | bit3, own),
        "key_agreement_own_p2_permissions": mode(key_agreement | bit4, own),
        "key_agreement_virtual_key": mode(key_agreement, answers["key_agreement_p2"]),
        "key_agreement_off_curve": mode(key_agreement, ok + cbor({1: {**own_cose, -3: own_cose[-2]}})),
        "key_agreement_wrong_curve": mode(key_agreement, ok + cbor({1: {**own_cose, -1: 2}})),
        "key_agreement_short_x": mode(key_agreement, ok + cbor({1: {**own_cose, -2: own_cose[-2][1:]}})),
        "key_agreement_error_status": mode(key_agreement | bit3, b"\x01" + own[1:]),
        # clientPIN getPinRetries
        "retries_virtual_key": mode(retries, answers["pin_retries"]),
        "retries_3_p1": mode(retries | bit3, answers["pin_retries_3"]),
        "retries_blocked": mode(retries, answers["pin_retries_blocked"]),
        "retries_in_describe": mode(retries | bit5, answers["pin_retries"]),
        "retries_blocked_in_describe": mode(retries | bit5, answers["pin_retries_blocked"]),
        "retries_huge": mode(retries, ok + cbor({3: (1 << 64) - 1})),
        "retries_negative": mode(retries | bit5, ok + cbor({3: -1})),
        "retries_error_status_with_body": mode(retries | bit5, b"\x34" + answers["pin_retries"][1:]),
        # clientPIN getPinToken / getPinUvAuthTokenUsingPinWithPermissions
        "token_virtual_key_p2_permissions": mode(token | bit4, answers["pin_token_p2"]),
        "token_virtual_key_p1": mode(token | bit3, answers["pin_token_p1"]),
        "token_virtual_key_p2": mode(token, answers["pin_token_p2"]),
        "token_wrong_pin": mode(token, answers["pin_token_p2_wrong_pin"]),
        "token_p1_16_bytes": mode(token | bit3, ok + cbor({2: b"\x5a" * 16})),
        "token_p2_too_short": mode(token, ok + cbor({2: b"\x5a" * 32})),
        "token_too_long": mode(token | bit3, ok + cbor({2: b"\x5a" * 80})),
        "token_error_status_with_body": mode(token, b"\x31" + answers["pin_token_p2"][1:]),
        "empty": b"",
        "mode_only": bytes([assertion]),
    }


def main():
    for target, files in seeds().items():
        directory = os.path.join(CORPUS, target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
