/* A chain LDAP_PASSWORD:1 → U2F:1, and a wrong password rejected as FAILED with its msgid. */
#include "common.h"

int main(void) {
    aa_error *error = NULL;
    aa_client *client = new_test_client();
    aa_virtual_key *key = plug_virtual_key(client, "demo", NULL);

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "LDAP_PASSWORD:1", &logon, &error), &error, "aa_logon_new");
    must(aa_logon_answer(logon, DEMO_PASSWORD, &error), &error, "aa_logon_answer");
    aa_server_status status = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    CHECK(status == AA_SERVER_STATUS_NEXT);
    char *completed = NULL;
    must(aa_logon_completed_methods_json(logon, &completed, &error), &error, "aa_logon_completed_methods_json");
    CHECK(strstr(completed, "LDAP_PASSWORD:1") != NULL);
    aa_string_free(completed);

    must(aa_logon_next(logon, "U2F:1", &error), &error, "aa_logon_next");
    char *method = NULL;
    must(aa_logon_current_method(logon, &method, &error), &error, "aa_logon_current_method");
    method = take_string(method);
    CHECK(strcmp(method, "U2F:1") == 0);
    free(method);
    must(aa_logon_sign_with_device(logon, 60000, NULL, NULL, &error), &error, "aa_logon_sign_with_device");
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    CHECK(status == AA_SERVER_STATUS_OK);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* Wrong password: LOGON_FAILED with the server's msgid, in the error and on the logon. */
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "PASSWORD:1", &logon, &error), &error, "aa_logon_new");
    aa_status failed = aa_logon_answer(logon, "not the password", &error);
    CHECK(failed == AA_STATUS_LOGON_FAILED);
    if (failed != AA_STATUS_OK) {
        char *msgid = NULL;
        CHECK(aa_error_msgid(error, &msgid) == AA_STATUS_OK);
        msgid = take_string(msgid);
        CHECK(msgid != NULL && strcmp(msgid, "AUCORE-2007") == 0);
        free(msgid);
        char *message = NULL;
        CHECK(aa_error_message(error, &message) == AA_STATUS_OK);
        CHECK(message != NULL && strlen(message) > 0);
        aa_string_free(message);
        aa_status kind = AA_STATUS_OK;
        CHECK(aa_error_status(error, &kind) == AA_STATUS_OK && kind == AA_STATUS_LOGON_FAILED);
        aa_error_free(error);
        error = NULL;
    }
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    CHECK(status == AA_SERVER_STATUS_FAILED);
    char *reason = NULL;
    must(aa_logon_reason(logon, &reason, &error), &error, "aa_logon_reason");
    reason = take_string(reason);
    CHECK(strcmp(reason, "PASSWORD_WRONG") == 0);
    free(reason);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_chain");
}
