/* Every AA method a login agent meets, through the C ABI against the simulator's demo fixture:
 * SMARTPHONE:1 approved, rejected, timed out and cancelled from another thread; VOICE:1;
 * SECQUEST:1; EMERG_PASSWORD:1; RADIUS:1 with its Access-Challenge; a PASSWORD:1 -> SMARTPHONE:1
 * chain chosen with aa_logon_next_methods_json; CARD:1 and FINGER:1 through aa_logon_answer_json.
 * The demo fixture's "approver" and "rejecter" phones decide at the first poll; denis's phone
 * never does, so his pushes time out or are cancelled. The cancel waits for the
 * AA_PROMPT_APPROVE_ON_PHONE prompt (an event), never for a fixed time. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>

#include "common.h"

#define USER_PHONE_APPROVES "JAGUAR\\approver"
#define USER_PHONE_APPROVES_PASSWORD "approve-me"
#define USER_PHONE_REJECTS "JAGUAR\\rejecter"
#define EVENT_REMOTE_ACCESS "Remote Access"
#define SECQUEST_ANSWERS "{\"6\": \"blue\", \"7\": \"Ada Lovelace\", \"9\": \"Jaguar Bay\"}"
#define EMERGENCY_PASSWORD "in-case-of-fire"
#define RADIUS_PASSWORD "radius-novell"
#define RADIUS_CHALLENGE_PROMPT "Enter the code shown on your token"
#define RADIUS_CHALLENGE_ANSWER "424242"
#define CARD_RESPONSE "{\"card_uid\": \"04a1b2c3d4e5f6\", \"card_cert\": \"\"}"
#define FINGER_RESPONSE                                                                              \
    "{\"capture\": {\"ISO\": \"Rk1SACAyMAAQERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\", " \
    "\"captureStatus\": \"OK\"}}"

/* Generous for the runs under valgrind; every wait below ends by an event long before. */
#define APPROVAL_TIMEOUT_MS 60000u
#define POLL_MS 20u

/* What the prompt callback was told (on the waiting thread), read by the helper thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int approve_prompts = 0;
static int call_prompts = 0;
static int other_prompts = 0;
static bool wait_returned = false;

static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    pthread_mutex_lock(&lock);
    if (prompt == AA_PROMPT_APPROVE_ON_PHONE) {
        approve_prompts++;
    } else if (prompt == AA_PROMPT_ANSWER_CALL) {
        call_prompts++;
    } else {
        other_prompts++;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void reset_prompts(void) {
    pthread_mutex_lock(&lock);
    approve_prompts = call_prompts = other_prompts = 0;
    wait_returned = false;
    pthread_mutex_unlock(&lock);
}

static void set_wait_returned(void) {
    pthread_mutex_lock(&lock);
    wait_returned = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static aa_server_status server_status(const aa_logon *logon) {
    aa_error *error = NULL;
    aa_server_status status = AA_SERVER_STATUS_UNKNOWN;
    must(aa_logon_server_status(logon, &status, &error), &error, "aa_logon_server_status");
    return status;
}

/* Checks that a call failed with `expected` and, when given, that its error names `reason`. */
static void check_failure(aa_status got, aa_error **error, aa_status expected, const char *reason) {
    if (got != expected) {
        fprintf(stderr, "expected %s, got %s\n", aa_status_str(expected), aa_status_str(got));
        failures++;
    }
    if (reason != NULL && *error != NULL) {
        char *text = NULL;
        CHECK(aa_error_reason(*error, &text) == AA_STATUS_OK);
        text = take_string(text);
        CHECK(text != NULL && strcmp(text, reason) == 0);
        free(text);
    }
    aa_error_free(*error);
    *error = NULL;
}

static aa_logon *start(aa_client *client, const char *user, const char *event, const char *method) {
    aa_error *error = NULL;
    aa_logon *logon = NULL;
    must(aa_logon_new(client, user, event, method, &logon, &error), &error, "aa_logon_new");
    return logon;
}

static void check_logged_on(aa_logon *logon) {
    aa_error *error = NULL;
    CHECK(server_status(logon) == AA_SERVER_STATUS_OK);
    char *session = NULL;
    must(aa_logon_login_session_id(logon, &session, &error), &error, "aa_logon_login_session_id");
    CHECK(session != NULL && strlen(session) > 0);
    aa_string_free(session);
}

static void smartphone_approved_rejected_and_voice(aa_client *client) {
    aa_error *error = NULL;
    reset_prompts();
    aa_logon *logon = start(client, USER_PHONE_APPROVES, DEMO_EVENT, "SMARTPHONE:1");
    must(aa_logon_wait_for_approval(logon, APPROVAL_TIMEOUT_MS, POLL_MS, on_prompt, NULL, &error), &error,
         "aa_logon_wait_for_approval (approved)");
    check_logged_on(logon);
    CHECK(approve_prompts == 1 && call_prompts == 0 && other_prompts == 0);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    reset_prompts();
    logon = start(client, USER_PHONE_REJECTS, DEMO_EVENT, "SMARTPHONE:1");
    check_failure(aa_logon_wait_for_approval(logon, APPROVAL_TIMEOUT_MS, POLL_MS, on_prompt, NULL, &error), &error,
                  AA_STATUS_LOGON_STOPPED, "AUTH_REJECTED");
    CHECK(server_status(logon) == AA_SERVER_STATUS_STOP);
    char *message = NULL;
    must(aa_logon_message(logon, &message, &error), &error, "aa_logon_message");
    message = take_string(message);
    CHECK(strcmp(message, "Auth rejected") == 0);
    free(message);
    CHECK(approve_prompts == 1);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* VOICE:1, with the defaults (0 = 120 s timeout, 3 s polls: the phone answers at the 2nd poll). */
    reset_prompts();
    logon = start(client, USER_PHONE_APPROVES, DEMO_EVENT, "VOICE:1");
    must(aa_logon_wait_for_approval(logon, 0, 0, on_prompt, NULL, &error), &error, "aa_logon_wait_for_approval (voice)");
    check_logged_on(logon);
    CHECK(call_prompts == 1 && approve_prompts == 0);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void smartphone_timed_out(aa_client *client) {
    aa_error *error = NULL;
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "SMARTPHONE:1");
    check_failure(aa_logon_wait_for_approval(logon, 200, POLL_MS, NULL, NULL, &error), &error, AA_STATUS_TIMEOUT,
                  NULL);
    /* No verdict: the process lives on, still waiting. */
    CHECK(server_status(logon) == AA_SERVER_STATUS_MORE_DATA);
    must(aa_logon_abort(logon, &error), &error, "aa_logon_abort");
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

struct canceller {
    aa_logon *logon;
    bool prompted;
};

static void *cancel_when_prompted(void *argument) {
    struct canceller *canceller = argument;
    pthread_mutex_lock(&lock);
    while (approve_prompts == 0 && !wait_returned) {
        pthread_cond_wait(&changed, &lock);
    }
    canceller->prompted = approve_prompts > 0;
    pthread_mutex_unlock(&lock);
    if (canceller->prompted) {
        CHECK(aa_logon_cancel(canceller->logon) == AA_STATUS_OK);
    }
    return NULL;
}

static void smartphone_cancelled(aa_client *client) {
    aa_error *error = NULL;
    reset_prompts();
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "SMARTPHONE:1");
    struct canceller canceller = {logon, false};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, cancel_when_prompted, &canceller) == 0);
    aa_status waited = aa_logon_wait_for_approval(logon, APPROVAL_TIMEOUT_MS, POLL_MS, on_prompt, NULL, &error);
    set_wait_returned();
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(canceller.prompted);
    check_failure(waited, &error, AA_STATUS_CANCELLED, NULL);
    /* The logon stays usable: the push still waits for the phone. */
    CHECK(server_status(logon) == AA_SERVER_STATUS_MORE_DATA);
    must(aa_logon_request_challenge(logon, &error), &error, "aa_logon_request_challenge");
    CHECK(server_status(logon) == AA_SERVER_STATUS_MORE_DATA);
    /* A cancel before the call cancels that call, once. */
    CHECK(aa_logon_cancel(logon) == AA_STATUS_OK);
    check_failure(aa_logon_wait_for_approval(logon, 200, POLL_MS, NULL, NULL, &error), &error, AA_STATUS_CANCELLED,
                  NULL);
    check_failure(aa_logon_wait_for_approval(logon, 200, POLL_MS, NULL, NULL, &error), &error, AA_STATUS_TIMEOUT,
                  NULL);
    must(aa_logon_abort(logon, &error), &error, "aa_logon_abort");
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void security_questions(aa_client *client) {
    aa_error *error = NULL;
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "SECQUEST:1");
    char *questions = NULL;
    must(aa_logon_questions_json(logon, &questions, &error), &error, "aa_logon_questions_json");
    CHECK(strstr(questions, "\"6\":\"What hue are your shoes?\"") != NULL);
    CHECK(strstr(questions, "\"9\":\"Where were you born?\"") != NULL);
    aa_string_free(questions);
    check_failure(aa_logon_answer_questions_json(logon, "[\"blue\"]", &error), &error, AA_STATUS_INVALID_ARGUMENT,
                  NULL);
    check_failure(aa_logon_answer_questions_json(logon, "{\"6\": \"blue\"}", &error), &error,
                  AA_STATUS_INVALID_ARGUMENT, NULL);
    must(aa_logon_answer_questions_json(logon, SECQUEST_ANSWERS, &error), &error, "aa_logon_answer_questions_json");
    check_logged_on(logon);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    logon = start(client, DEMO_USER, DEMO_EVENT, "SECQUEST:1");
    check_failure(aa_logon_answer_questions_json(logon, "{\"6\": \"red\", \"7\": \"x\", \"9\": \"y\"}", &error),
                  &error, AA_STATUS_LOGON_FAILED, "SECQUEST_WRONG_ANSWERS");
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void emergency_password_and_radius(aa_client *client) {
    aa_error *error = NULL;
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "EMERG_PASSWORD:1");
    must(aa_logon_answer(logon, EMERGENCY_PASSWORD, &error), &error, "aa_logon_answer (emergency)");
    check_logged_on(logon);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    logon = start(client, DEMO_USER, DEMO_EVENT, "RADIUS:1");
    must(aa_logon_answer(logon, RADIUS_PASSWORD, &error), &error, "aa_logon_answer (RADIUS password)");
    /* The Access-Challenge: success of the call, no verdict; its prompt is the message. */
    CHECK(server_status(logon) == AA_SERVER_STATUS_MORE_DATA);
    char *prompt = NULL;
    must(aa_logon_message(logon, &prompt, &error), &error, "aa_logon_message");
    prompt = take_string(prompt);
    CHECK(strcmp(prompt, RADIUS_CHALLENGE_PROMPT) == 0);
    free(prompt);
    must(aa_logon_answer(logon, RADIUS_CHALLENGE_ANSWER, &error), &error, "aa_logon_answer (RADIUS challenge)");
    check_logged_on(logon);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void password_then_smartphone(aa_client *client) {
    aa_error *error = NULL;
    reset_prompts();
    aa_logon *logon = start(client, USER_PHONE_APPROVES, EVENT_REMOTE_ACCESS, "PASSWORD:1");
    char *next = NULL;
    must(aa_logon_next_methods_json(logon, &next, &error), &error, "aa_logon_next_methods_json");
    next = take_string(next);
    CHECK(strcmp(next, "[]") == 0);
    free(next);
    must(aa_logon_answer(logon, USER_PHONE_APPROVES_PASSWORD, &error), &error, "aa_logon_answer");
    CHECK(server_status(logon) == AA_SERVER_STATUS_NEXT);
    must(aa_logon_next_methods_json(logon, &next, &error), &error, "aa_logon_next_methods_json");
    next = take_string(next);
    CHECK(strcmp(next, "[\"SMARTPHONE:1\",\"VOICE:1\"]") == 0);
    free(next);
    /* NEXT is no state to wait in: move on first. */
    check_failure(aa_logon_wait_for_approval(logon, APPROVAL_TIMEOUT_MS, POLL_MS, NULL, NULL, &error), &error,
                  AA_STATUS_INVALID_STATE, NULL);
    must(aa_logon_next(logon, "SMARTPHONE:1", &error), &error, "aa_logon_next");
    must(aa_logon_wait_for_approval(logon, APPROVAL_TIMEOUT_MS, POLL_MS, on_prompt, NULL, &error), &error,
         "aa_logon_wait_for_approval (chain)");
    check_logged_on(logon);
    char *completed = NULL;
    must(aa_logon_completed_methods_json(logon, &completed, &error), &error, "aa_logon_completed_methods_json");
    completed = take_string(completed);
    CHECK(strcmp(completed, "[\"PASSWORD:1\",\"SMARTPHONE:1\"]") == 0);
    free(completed);
    CHECK(approve_prompts == 1);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void card_and_finger_through_the_generic_answer(aa_client *client) {
    aa_error *error = NULL;
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "CARD:1");
    check_failure(aa_logon_answer_json(logon, "[\"04a1b2c3d4e5f6\"]", &error), &error, AA_STATUS_INVALID_ARGUMENT,
                  NULL);
    check_failure(aa_logon_answer_json(logon, "{\"card_uid\": ", &error), &error, AA_STATUS_INVALID_ARGUMENT, NULL);
    check_failure(aa_logon_answer_json(logon, NULL, &error), &error, AA_STATUS_NULL_ARGUMENT, NULL);
    must(aa_logon_answer_json(logon, CARD_RESPONSE, &error), &error, "aa_logon_answer_json (card)");
    check_logged_on(logon);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    logon = start(client, DEMO_USER, DEMO_EVENT, "FINGER:1");
    must(aa_logon_answer_json(logon, FINGER_RESPONSE, &error), &error, "aa_logon_answer_json (finger)");
    check_logged_on(logon);
    char *raw = NULL;
    must(aa_logon_response_json(logon, &raw, &error), &error, "aa_logon_response_json");
    CHECK(strstr(raw, "\"score\":45") != NULL);
    aa_string_free(raw);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

static void misuse(aa_client *client) {
    aa_error *error = NULL;
    aa_logon *logon = start(client, DEMO_USER, DEMO_EVENT, "PASSWORD:1");
    check_failure(aa_logon_wait_for_approval(logon, 100, POLL_MS, NULL, NULL, &error), &error,
                  AA_STATUS_INVALID_STATE, NULL);
    check_failure(aa_logon_answer_offline_totp(logon, "123456", &error), &error, AA_STATUS_INVALID_STATE, NULL);
    char *out = NULL;
    check_failure(aa_logon_questions_json(logon, &out, &error), &error, AA_STATUS_INVALID_STATE, NULL);
    CHECK(out == NULL);
    check_failure(aa_logon_questions_json(logon, NULL, &error), &error, AA_STATUS_NULL_ARGUMENT, NULL);
    check_failure(aa_logon_next_methods_json(logon, NULL, &error), &error, AA_STATUS_NULL_ARGUMENT, NULL);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    /* A freed handle is detected, never used. */
    check_failure(aa_logon_wait_for_approval(logon, 100, POLL_MS, NULL, NULL, &error), &error,
                  AA_STATUS_INVALID_HANDLE, NULL);
    check_failure(aa_logon_answer_json(logon, CARD_RESPONSE, &error), &error, AA_STATUS_INVALID_HANDLE, NULL);
    /* Too busy a poll is refused before anything is sent. */
    logon = start(client, DEMO_USER, DEMO_EVENT, "SMARTPHONE:1");
    check_failure(aa_logon_wait_for_approval(logon, 100, 1, NULL, NULL, &error), &error, AA_STATUS_INVALID_ARGUMENT,
                  NULL);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
}

int main(void) {
    aa_client *client = new_test_client();
    smartphone_approved_rejected_and_voice(client);
    smartphone_timed_out(client);
    smartphone_cancelled(client);
    security_questions(client);
    emergency_password_and_radius(client);
    password_then_smartphone(client);
    card_and_finger_through_the_generic_answer(client);
    misuse(client);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_methods");
}
