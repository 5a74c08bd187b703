/* The seed's U2F logon through the C ABI: endpoint session, logon, sign request, signature of a
 * virtual key (libaa_logon_testkit, reached through aa_client_set_hid_io), OK with a login
 * session; then the login session and logout. */
#include "common.h"

static int prompts[4];

static void on_prompt(void *userdata, aa_prompt prompt) {
    CHECK(userdata == (void *)prompts);
    if (prompt >= 1 && prompt <= 3) {
        prompts[prompt]++;
    }
}

int main(void) {
    aa_error *error = NULL;
    aa_client *client = new_test_client();

    aa_virtual_key *key = plug_virtual_key(client, "demo", NULL);

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");

    char *json = NULL;
    must(aa_logon_gather_sign_request(logon, &json, &error), &error, "aa_logon_gather_sign_request");
    CHECK(strstr(json, "\"signRequests\"") != NULL);
    CHECK(strstr(json, "\"keyHandle\"") != NULL);
    aa_string_free(json);

    size_t count = 0;
    must(aa_logon_sign_request_count(logon, &count, &error), &error, "aa_logon_sign_request_count");
    CHECK(count == 1);
    char *app_id = NULL;
    must(aa_logon_sign_request_field(logon, 0, AA_SIGN_REQUEST_FIELD_APP_ID, &app_id, &error), &error,
         "aa_logon_sign_request_field");
    app_id = take_string(app_id);
    CHECK(strcmp(app_id, "https://aa-sim.local") == 0);
    free(app_id);
    EXPECT_STATUS(AA_STATUS_INVALID_ARGUMENT, aa_logon_sign_request_field(logon, 5, AA_SIGN_REQUEST_FIELD_APP_ID,
                                                                          &app_id, NULL));

    must(aa_logon_sign_with_device(logon, 60000, on_prompt, prompts, &error), &error, "aa_logon_sign_with_device");
    CHECK(prompts[AA_PROMPT_TOUCH_KEY] == 1);
    CHECK(prompts[AA_PROMPT_TOUCHED] == 1);

    char *sent = NULL;
    must(aa_logon_sign_response_json(logon, &sent, &error), &error, "aa_logon_sign_response_json");
    CHECK(strstr(sent, "\"signatureData\"") != NULL && strstr(sent, "\"clientData\"") != NULL);
    aa_string_free(sent);

    aa_server_status status = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    CHECK(status == AA_SERVER_STATUS_OK);

    char *session = NULL;
    must(aa_logon_login_session_id(logon, &session, &error), &error, "aa_logon_login_session_id");
    session = take_string(session);
    CHECK(strlen(session) == 32);

    char *user = NULL;
    must(aa_logon_user_field(logon, "user_name", &user, &error), &error, "aa_logon_user_field");
    user = take_string(user);
    CHECK(strcmp(user, DEMO_USER) == 0);
    free(user);
    EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_logon_user_field(logon, "user_no_such_field", &user, NULL));

    char *message = NULL;
    must(aa_logon_message(logon, &message, &error), &error, "aa_logon_message");
    aa_string_free(message);

    uint32_t counter = 0;
    must_tk(aa_virtual_key_counter(key, &counter), "aa_virtual_key_counter");
    CHECK(counter == 1);

    char *info = NULL;
    must(aa_client_login_session_json(client, session, &info, &error), &error, "aa_client_login_session_json");
    CHECK(strstr(info, "denis") != NULL);
    aa_string_free(info);

    must(aa_client_logout(client, session, &error), &error, "aa_client_logout");
    /* A second logout of the same session is an HTTP 434 from the server. */
    aa_status again = aa_client_logout(client, session, &error);
    CHECK(again == AA_STATUS_SERVER_ERROR);
    if (again != AA_STATUS_OK) {
        uint16_t http = 0;
        CHECK(aa_error_http_status(error, &http) == AA_STATUS_OK && http == 434);
        aa_error_free(error);
        error = NULL;
    }
    free(session);

    char *chains = NULL;
    must(aa_client_chains_json(client, DEMO_USER, DEMO_EVENT, &chains, &error), &error, "aa_client_chains_json");
    CHECK(strstr(chains, "U2F only") != NULL);
    aa_string_free(chains);

    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_u2f_logon");
}
