/* Every misuse returns its own status without crashing: NULL arguments, freed and double-freed
 * handles, foreign pointers, handles of the wrong type, invalid UTF-8, oversized strings,
 * strings freed twice, calls in the wrong state. Runs under valgrind with zero errors. */
#include "common.h"

int main(void) {
    aa_error *error = NULL;

    /* Static strings. */
    CHECK(strlen(aa_version()) >= 5);
    CHECK(strcmp(aa_status_str(AA_STATUS_OK), "success") == 0);
    CHECK(strcmp(aa_status_str(999999), "unknown status") == 0);
    CHECK(strcmp(aa_log_level_str(AA_LOG_LEVEL_WARN), "WARN") == 0);

    /* NULL arguments. */
    aa_client_options *options = NULL;
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_options_new(NULL, DEMO_ENDPOINT_ID, "s", &options, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_options_new("https://x", DEMO_ENDPOINT_ID, "s", NULL, NULL));
    CHECK(options == NULL); /* nothing written on failure */
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_client_options_new("", DEMO_ENDPOINT_ID, "s", &options, NULL));

    /* The error out-parameter carries a readable message. */
    CHECK(aa_client_options_new(NULL, DEMO_ENDPOINT_ID, "s", &options, &error) == AA_STATUS_NULL_ARGUMENT);
    CHECK(error != NULL);
    char *message = NULL;
    CHECK(aa_error_message(error, &message) == AA_STATUS_OK);
    CHECK(message != NULL && strstr(message, "base_url") != NULL);
    aa_string_free(message);
    uint16_t http = 0;
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_error_http_status(error, &http));
    /* A failure that did not come from a security key carries no device code. */
    aa_device_code_kind code_kind = 0;
    uint32_t device_code = 12345;
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_error_device_code(error, &code_kind, &device_code));
    CHECK(code_kind == 0 && device_code == 12345); /* nothing written */
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_error_device_code(error, NULL, &device_code));
    CHECK(aa_error_free(error) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_error_free(error)); /* double free */
    error = NULL;

    /* Invalid UTF-8 and oversized strings. */
    EXPECT_STATUS(AA_STATUS_INVALID_UTF8, aa_client_options_new("https://\xff\xfe", DEMO_ENDPOINT_ID, "s", &options,
                                                                NULL));
    size_t huge_len = AA_LOGON_MAX_ARGUMENT_LEN + 10;
    char *huge = malloc(huge_len + 1);
    memset(huge, 'a', huge_len);
    huge[huge_len] = '\0';
    EXPECT_STATUS(AA_STATUS_ARGUMENT_TOO_LONG, aa_client_options_new(huge, DEMO_ENDPOINT_ID, "s", &options, NULL));
    free(huge);

    /* Options: bad values, then a valid client. */
    must(aa_client_options_new("https://127.0.0.1:9", DEMO_ENDPOINT_ID, DEMO_ENDPOINT_SECRET, &options, &error),
         &error, "aa_client_options_new");
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_client_options_set_pinned_public_key(options, "abc", NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_client_options_set_timeouts(options, 0, 1000, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_client_options_allow_app_id_host(options, "https://x", NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_client_options_allow_app_id_host(options, "*.example.com", NULL));
    aa_client *client = NULL;
    must(aa_client_new(options, &client, &error), &error, "aa_client_new");

    /* A handle of the wrong type, and a foreign pointer. */
    int on_stack = 0;
    aa_logon *logon = NULL;
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_new((const aa_client *)options, DEMO_USER, DEMO_EVENT, "U2F:1",
                                                         &logon, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_cancel((const aa_logon *)client));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_cancel((const aa_logon *)&on_stack));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_free((aa_client *)&on_stack));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_logon_cancel(NULL));

    /* Freed handles and double frees. */
    CHECK(aa_client_options_free(options) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_options_free(options));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_new(options, &client, NULL));
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_free(client));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, NULL));
    CHECK(logon == NULL);
    CHECK(aa_client_free(NULL) == AA_STATUS_OK); /* like free(NULL) */

    /* Strings: double free and foreign pointers are reported, not freed. */
    char *version_copy = NULL;
    CHECK(aa_string_free(NULL) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_string_free((char *)aa_version()));
    char local[] = "not ours";
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_string_free(local));
    (void)version_copy;

    /* Wrong state: a U2F request for a PASSWORD:1 logon; accessors before the values exist. */
    client = new_test_client();
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "PASSWORD:1", &logon, &error), &error, "aa_logon_new");
    char *json = NULL;
    EXPECT_STATUS(AA_STATUS_INVALID_STATE, aa_logon_gather_sign_request(logon, &json, NULL));
    CHECK(json == NULL);
    size_t count = 0;
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_logon_sign_request_count(logon, &count, NULL));
    char *session = NULL;
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_logon_login_session_id(logon, &session, NULL));
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_logon_sign_response_json(logon, &session, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_UTF8, aa_logon_answer(logon, "\xc3\x28", NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_logon_answer(logon, NULL, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_logon_forward_sign_response(logon, "{not json", NULL));
    CHECK(aa_logon_abort(logon, NULL) == AA_STATUS_OK);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_free(logon));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_answer(logon, "x", NULL));

    /* Unknown user: the server's 400 with its msgid. */
    aa_status unknown = aa_logon_new(client, "JAGUAR\\nobody", DEMO_EVENT, "PASSWORD:1", &logon, &error);
    CHECK(unknown == AA_STATUS_SERVER_ERROR);
    if (unknown != AA_STATUS_OK) {
        char *msgid = NULL;
        CHECK(aa_error_msgid(error, &msgid) == AA_STATUS_OK);
        msgid = take_string(msgid);
        CHECK(msgid != NULL && strcmp(msgid, "AUCORE-1056") == 0);
        free(msgid);
        CHECK(aa_error_http_status(error, &http) == AA_STATUS_OK && http == 400);
        aa_error_free(error);
    }

    /* Invalid enum values from C are rejected, never trusted. */
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_set_log_callback(NULL, NULL, 77));

    CHECK(aa_client_free(client) == AA_STATUS_OK);

    /* The testkit reports its misuse the same way. */
    aa_virtual_key *key = NULL;
    aa_virtual_devices *devices = NULL;
    aa_hid_io io;
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_virtual_key_new(NULL, &key));
    char reason_text[256] = "";
    CHECK(aa_testkit_last_error(reason_text, sizeof reason_text) > 0 && strstr(reason_text, "seed") != NULL);
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_virtual_key_new("demo", NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_UTF8, aa_virtual_key_new("\xff", &key));
    CHECK(key == NULL);
    must_tk(aa_virtual_key_new("misuse", &key), "aa_virtual_key_new");
    must_tk(aa_virtual_devices_new(&devices), "aa_virtual_devices_new");
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_virtual_key_set_presence(key, 77, 0));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_devices_plug((const aa_virtual_devices *)key, key));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_devices_plug(devices, (const aa_virtual_key *)devices));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_key_touch((const aa_virtual_key *)&on_stack));
    EXPECT_STATUS(AA_STATUS_INVALID_STATE, aa_virtual_devices_unplug(devices, key));
    must_tk(aa_virtual_devices_plug(devices, key), "aa_virtual_devices_plug");
    EXPECT_STATUS(AA_STATUS_INVALID_STATE, aa_virtual_devices_plug(devices, key));
    must_tk(aa_virtual_devices_unplug(devices, key), "aa_virtual_devices_unplug");
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_virtual_devices_hid_io(devices, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_virtual_devices_hid_io(NULL, &io));
    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_key_free(key));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_devices_free((aa_virtual_devices *)key));
    CHECK(aa_virtual_devices_free(devices) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_virtual_devices_free(devices));
    CHECK(aa_virtual_key_free(NULL) == AA_STATUS_OK);

    check_nothing_live();
    return finish("test_misuse");
}
