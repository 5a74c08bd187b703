/* aa_logon_cancel from a second thread ends a touch wait with AA_STATUS_CANCELLED, promptly. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "common.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Atomic int touch_prompted = 0;
static double cancelled_at = 0;

static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    if (prompt == AA_PROMPT_TOUCH_KEY) {
        touch_prompted = 1;
    }
}

/* Waits until the key asks for a touch, then cancels from this second thread. */
static void *cancel_during_touch_wait(void *logon) {
    struct timespec poll = {0, 10 * 1000 * 1000};
    while (!touch_prompted) {
        nanosleep(&poll, NULL);
    }
    struct timespec delay = {0, 300 * 1000 * 1000};
    nanosleep(&delay, NULL);
    cancelled_at = now_seconds();
    CHECK(aa_logon_cancel((const aa_logon *)logon) == AA_STATUS_OK);
    return NULL;
}

/* Waits for the touch prompt, then frees the logon out from under the waiting thread. */
static void *free_during_touch_wait(void *logon) {
    struct timespec poll = {0, 10 * 1000 * 1000};
    while (!touch_prompted) {
        nanosleep(&poll, NULL);
    }
    CHECK(aa_logon_free((aa_logon *)logon) == AA_STATUS_OK);
    return NULL;
}

int main(void) {
    aa_error *error = NULL;
    aa_client *client = new_test_client();
    aa_virtual_key *key = NULL;
    must(aa_virtual_key_new("demo", &key, &error), &error, "aa_virtual_key_new");
    must(aa_virtual_key_set_presence(key, AA_PRESENCE_NEVER, 0, &error), &error, "aa_virtual_key_set_presence");
    must(aa_client_attach_virtual_key(client, key, &error), &error, "aa_client_attach_virtual_key");

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");

    pthread_t canceller;
    CHECK(pthread_create(&canceller, NULL, cancel_during_touch_wait, logon) == 0);
    aa_status status = aa_logon_sign_with_device(logon, 20000, on_prompt, NULL, &error);
    double returned_at = now_seconds();
    pthread_join(canceller, NULL);

    CHECK(status == AA_STATUS_CANCELLED);
    CHECK(touch_prompted == 1);
    printf("cancel took effect after %.0f ms\n", (returned_at - cancelled_at) * 1000.0);
    /* Well under a second natively; valgrind (AA_TEST_SLOW) slows every poll down. */
    CHECK(returned_at - cancelled_at < (getenv("AA_TEST_SLOW") ? 3.0 : 1.0));
    aa_error_free(error);
    error = NULL;

    /* The logon stays usable: a touch now completes it. */
    must(aa_virtual_key_set_presence(key, AA_PRESENCE_ALWAYS, 0, &error), &error, "aa_virtual_key_set_presence");
    must(aa_logon_sign_with_device(logon, 60000, NULL, NULL, &error), &error, "aa_logon_sign_with_device");
    aa_server_status verdict = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &verdict, &error), &error, "aa_logon_server_status");
    CHECK(verdict == AA_SERVER_STATUS_OK);

    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* Freeing a logon while another thread waits in it cancels that wait; nothing dangles. */
    touch_prompted = 0;
    must(aa_virtual_key_set_presence(key, AA_PRESENCE_NEVER, 0, &error), &error, "aa_virtual_key_set_presence");
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");
    pthread_t freer;
    CHECK(pthread_create(&freer, NULL, free_during_touch_wait, logon) == 0);
    status = aa_logon_sign_with_device(logon, 20000, on_prompt, NULL, NULL);
    pthread_join(freer, NULL);
    CHECK(status == AA_STATUS_CANCELLED);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_free(logon));

    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    return finish("test_cancel");
}
