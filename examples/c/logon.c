/*
 * logon.c — log a user on to Advanced Authentication with a U2F security key.
 *
 *   cc logon.c -o logon $(pkg-config --cflags --libs aa_logon)
 *   AA_ENDPOINT_SECRET=... ./logon https://aa.example.com <endpoint-id> 'REPO\user' 'Search Card'
 *
 * The endpoint secret comes from the environment so it never shows in a process listing.
 */
#include <stdio.h>
#include <stdlib.h>

#include <aa_logon.h>

/* Prints the library's error message, frees the error, and exits. */
static void fail(const char *what, aa_status status, aa_error *error) {
    char *message = NULL;
    if (aa_error_message(error, &message) == AA_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, message);
        aa_string_free(message);
    } else {
        fprintf(stderr, "%s: %s\n", what, aa_status_str(status));
    }
    aa_error_free(error);
    exit(1);
}

/* Tells the user what to do while aa_logon_sign_with_device waits. */
static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    switch (prompt) {
    case AA_PROMPT_INSERT_KEY: puts("Insert your security key."); break;
    case AA_PROMPT_TOUCH_KEY: puts("Touch your security key."); break;
    case AA_PROMPT_TOUCHED: puts("Thank you."); break;
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 5 || getenv("AA_ENDPOINT_SECRET") == NULL) {
        fprintf(stderr, "usage: AA_ENDPOINT_SECRET=... %s URL ENDPOINT_ID USER EVENT\n", argv[0]);
        return 2;
    }
    aa_error *error = NULL;
    aa_status status;

    /* 1. A client for the server and endpoint (system trust store; see aa_client_options_set_ca_file). */
    aa_client_options *options = NULL;
    status = aa_client_options_new(argv[1], argv[2], getenv("AA_ENDPOINT_SECRET"), &options, &error);
    if (status != AA_STATUS_OK) fail("options", status, error);
    aa_client *client = NULL;
    status = aa_client_new(options, &client, &error);
    aa_client_options_free(options);
    if (status != AA_STATUS_OK) fail("client", status, error);

    /* 2. Start the logon with the U2F method. */
    aa_logon *logon = NULL;
    status = aa_logon_new(client, argv[3], argv[4], "U2F:1", &logon, &error);
    if (status != AA_STATUS_OK) fail("logon", status, error);

    /* 3. Sign the server's challenge with the key and send the answer: up to 30 s for the touch. */
    status = aa_logon_sign_with_device(logon, 30000, on_prompt, NULL, &error);
    if (status != AA_STATUS_OK) fail("security key", status, error);

    /* 4. OK means the user is logged on; NEXT means the chain wants another method. */
    aa_server_status verdict;
    aa_logon_server_status(logon, &verdict, NULL);
    if (verdict == AA_SERVER_STATUS_OK) {
        char *session = NULL, *user = NULL;
        aa_logon_login_session_id(logon, &session, NULL);
        aa_logon_user_field(logon, "user_name", &user, NULL);
        printf("Logged on as %s (login session %s)\n", user ? user : "?", session ? session : "?");
        aa_string_free(session);
        aa_string_free(user);
    } else {
        char *method = NULL;
        aa_logon_current_method(logon, &method, NULL);
        printf("The chain continues with another method (%s)\n", method ? method : "?");
        aa_string_free(method);
    }

    aa_logon_free(logon);
    aa_client_free(client);
    return verdict == AA_SERVER_STATUS_OK ? 0 : 1;
}
