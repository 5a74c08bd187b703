/* FIDO2 through the C ABI: a FIDO2:1 logon with a CTAP2-only virtual key, the PIN callback of
 * aa_logon_sign_with_device_ex (retries told, a wrong PIN with its retries left and device code,
 * the right PIN, a callback that cancels or gives none), a blocked PIN, and a U2F:1 logon
 * answered over CTAP2 by a key without U2F. */
#include "common.h"

#define FIDO2_EVENT "FIDO2 Logon"
#define UV_USER "JAGUAR\\carol"
#define UV_KEY_SEED "demo-uv"
#define PIN "4711"

/* What the PIN callback answers, and what it was told. */
struct pin_script {
    const char *pin;        /* written into the buffer when `answer` is AA_STATUS_OK */
    aa_status answer;
    int calls;
    uint32_t last_retries;
    size_t buffer_len;
};

static aa_status on_pin(void *userdata, uint32_t retries_left, char *pin_buffer, size_t buffer_len) {
    struct pin_script *script = userdata;
    script->calls++;
    script->last_retries = retries_left;
    script->buffer_len = buffer_len;
    if (script->answer != AA_STATUS_OK) {
        return script->answer;
    }
    size_t len = strlen(script->pin);
    CHECK(len < buffer_len);
    memcpy(pin_buffer, script->pin, len + 1);
    return AA_STATUS_OK;
}

static int touched_prompts;

static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    if (prompt == AA_PROMPT_TOUCHED) {
        touched_prompts++;
    }
}

static aa_virtual_key *plug_ctap2_key(const aa_client *client, const char *seed) {
    aa_error *error = NULL;
    aa_virtual_devices *devices = NULL;
    aa_virtual_key *key = NULL;
    aa_hid_io io;
    must_tk(aa_virtual_devices_new(&devices), "aa_virtual_devices_new");
    must_tk(aa_virtual_key_new_with_protocols(seed, AA_KEY_PROTOCOLS_CTAP2_ONLY, &key),
            "aa_virtual_key_new_with_protocols");
    must_tk(aa_virtual_devices_plug(devices, key), "aa_virtual_devices_plug");
    must_tk(aa_virtual_devices_hid_io(devices, &io), "aa_virtual_devices_hid_io");
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    must_tk(aa_virtual_devices_free(devices), "aa_virtual_devices_free");
    return key;
}

/* The status of `call`, and its error's message and device code (the error is freed). */
static aa_status sign_ex(aa_logon *logon, const aa_sign_options *options, char **message_out, uint32_t *code_out) {
    aa_error *error = NULL;
    aa_status status = aa_logon_sign_with_device_ex(logon, options, &error);
    if (status != AA_STATUS_OK) {
        char *message = NULL;
        CHECK(aa_error_message(error, &message) == AA_STATUS_OK);
        if (message_out != NULL) {
            *message_out = take_string(message);
        } else {
            aa_string_free(message);
        }
        aa_device_code_kind kind = 0;
        uint32_t code = 0;
        if (aa_error_device_code(error, &kind, &code) == AA_STATUS_OK && kind == AA_DEVICE_CODE_KIND_CTAP2_STATUS &&
            code_out != NULL) {
            *code_out = code;
        }
        aa_error_free(error);
    }
    return status;
}

static void server_status_is(aa_logon *logon, aa_server_status expected) {
    aa_error *error = NULL;
    aa_server_status status = AA_SERVER_STATUS_UNKNOWN;
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    CHECK(status == expected);
}

int main(void) {
    aa_error *error = NULL;
    aa_client *client = new_test_client();

    /* FIDO2:1 for the demo user (no user verification needed): the PIN callback is not called. */
    aa_virtual_key *key = plug_ctap2_key(client, "demo");
    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, FIDO2_EVENT, "FIDO2:1", &logon, &error), &error, "aa_logon_new");
    struct pin_script unused = {PIN, AA_STATUS_OK, 0, 0, 0};
    aa_sign_options options = {0};
    options.timeout_ms = 60000;
    options.prompt = on_prompt;
    options.pin = on_pin;
    options.userdata = &unused;
    EXPECT_STATUS(AA_STATUS_OK, sign_ex(logon, &options, NULL, NULL));
    server_status_is(logon, AA_SERVER_STATUS_OK);
    CHECK(unused.calls == 0);
    CHECK(touched_prompts == 1);
    char *session = NULL;
    must(aa_logon_login_session_id(logon, &session, &error), &error, "aa_logon_login_session_id");
    aa_string_free(session);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* U2F:1 answered over CTAP2 by the same key (it has no U2F). */
    logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new (U2F)");
    must(aa_logon_sign_with_device(logon, 60000, NULL, NULL, &error), &error, "aa_logon_sign_with_device");
    server_status_is(logon, AA_SERVER_STATUS_OK);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);

    /* FIDO2:1 for a user whose policy requires user verification: the key's PIN. */
    key = plug_ctap2_key(client, UV_KEY_SEED);
    must_tk(aa_virtual_key_set_pin(key, PIN), "aa_virtual_key_set_pin");
    logon = NULL;
    must(aa_logon_new(client, UV_USER, FIDO2_EVENT, "FIDO2:1", &logon, &error), &error, "aa_logon_new (UV)");

    /* No options at all: no PIN callback, so the PIN is missing; no retry is spent. */
    EXPECT_STATUS(AA_STATUS_PIN_REQUIRED, sign_ex(logon, NULL, NULL, NULL));

    struct pin_script wrong = {"0000", AA_STATUS_OK, 0, 0, 0};
    options.userdata = &wrong;
    char *message = NULL;
    uint32_t code = 0;
    EXPECT_STATUS(AA_STATUS_PIN_INVALID, sign_ex(logon, &options, &message, &code));
    CHECK(wrong.calls == 1 && wrong.last_retries == 8 && wrong.buffer_len == 64);
    CHECK(code == 0x31);
    CHECK(message != NULL && strstr(message, "7 retries left") != NULL);
    CHECK(message != NULL && strstr(message, "0000") == NULL);
    free(message);

    /* A callback that cancels ends the sign as cancelled; one that gives none, as PIN required. */
    struct pin_script cancelling = {NULL, AA_STATUS_CANCELLED, 0, 0, 0};
    options.userdata = &cancelling;
    EXPECT_STATUS(AA_STATUS_CANCELLED, sign_ex(logon, &options, NULL, NULL));
    struct pin_script declining = {NULL, AA_STATUS_NOT_AVAILABLE, 0, 0, 0};
    options.userdata = &declining;
    EXPECT_STATUS(AA_STATUS_PIN_REQUIRED, sign_ex(logon, &options, NULL, NULL));
    CHECK(cancelling.calls == 1 && declining.calls == 1 && declining.last_retries == 7);

    struct pin_script right = {PIN, AA_STATUS_OK, 0, 0, 0};
    options.userdata = &right;
    EXPECT_STATUS(AA_STATUS_OK, sign_ex(logon, &options, NULL, NULL));
    server_status_is(logon, AA_SERVER_STATUS_OK);
    CHECK(right.calls == 1 && right.last_retries == 7);
    uint8_t retries = 0;
    must_tk(aa_virtual_key_pin_retries(key, &retries), "aa_virtual_key_pin_retries");
    CHECK(retries == 8);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* A blocked PIN is reported without asking for it. */
    must_tk(aa_virtual_key_set_pin_retries(key, 0), "aa_virtual_key_set_pin_retries");
    logon = NULL;
    must(aa_logon_new(client, UV_USER, FIDO2_EVENT, "FIDO2:1", &logon, &error), &error, "aa_logon_new (blocked)");
    struct pin_script blocked = {PIN, AA_STATUS_OK, 0, 0, 0};
    options.userdata = &blocked;
    EXPECT_STATUS(AA_STATUS_PIN_BLOCKED, sign_ex(logon, &options, NULL, &code));
    CHECK(blocked.calls == 0);
    CHECK(code == 0x32);
    CHECK(aa_logon_abort(logon, NULL) == AA_STATUS_OK);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);

    /* A stale logon handle is detected before the options are read. */
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_sign_with_device_ex(logon, &options, NULL));

    CHECK(aa_client_free(client) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_fido2");
}
