/* aa_logon_cancel from a second thread ends a touch wait with AA_STATUS_CANCELLED; the logon stays
 * usable; freeing a logon while another thread waits in it cancels that wait. Every step waits for
 * an event (the AA_PROMPT_TOUCH_KEY prompt, the key asking for a touch), never for a fixed time. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "common.h"

/* Set by the prompt callback (on the signing thread), waited for by the helper threads. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int touch_prompts = 0;
static bool sign_returned = false; /* so a helper never waits for a prompt that cannot come */

static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    if (prompt == AA_PROMPT_TOUCH_KEY) {
        pthread_mutex_lock(&lock);
        touch_prompts++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
}

/* Blocks until the prompt callback has asked for a touch `count` times in all; false when the
 * sign returned before that. */
static bool wait_for_touch_prompt(int count) {
    pthread_mutex_lock(&lock);
    while (touch_prompts < count && !sign_returned) {
        pthread_cond_wait(&changed, &lock);
    }
    bool prompted = touch_prompts >= count;
    pthread_mutex_unlock(&lock);
    return prompted;
}

static bool has_sign_returned(void) {
    pthread_mutex_lock(&lock);
    bool returned = sign_returned;
    pthread_mutex_unlock(&lock);
    return returned;
}

/* Called by the main thread when aa_logon_sign_with_device returned (true) or is about to start. */
static void set_sign_returned(bool returned) {
    pthread_mutex_lock(&lock);
    sign_returned = returned;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits until the virtual key itself refused a request for want of a touch (it has told the host
 * "user presence required"), polling its state; false when the sign returned first. */
static bool wait_until_key_waits_for_touch(const aa_virtual_key *key) {
    struct timespec poll = {0, 5 * 1000 * 1000};
    while (!has_sign_returned()) {
        bool waiting = false;
        must_tk(aa_virtual_key_is_waiting_for_touch(key, &waiting), "aa_virtual_key_is_waiting_for_touch");
        if (waiting) {
            return true;
        }
        nanosleep(&poll, NULL);
    }
    return false;
}

struct helper {
    aa_logon *logon;
    const aa_virtual_key *key;
    int prompt_count; /* the touch prompt to wait for */
    bool key_was_waiting;
};

/* Both waits: the touch prompt, then the key asking for a touch. */
static bool wait_for_touch_wait(struct helper *helper) {
    helper->key_was_waiting =
        wait_for_touch_prompt(helper->prompt_count) && wait_until_key_waits_for_touch(helper->key);
    return helper->key_was_waiting;
}

/* Waits until the sign on the main thread waits for a touch, then cancels it from this thread. */
static void *cancel_during_touch_wait(void *arg) {
    struct helper *helper = arg;
    if (wait_for_touch_wait(helper)) {
        CHECK(aa_logon_cancel(helper->logon) == AA_STATUS_OK);
    }
    return NULL;
}

/* Touches the key when it asks for a touch, as a user would. */
static void *touch_when_asked(void *arg) {
    struct helper *helper = arg;
    if (wait_for_touch_wait(helper)) {
        must_tk(aa_virtual_key_touch(helper->key), "aa_virtual_key_touch");
    }
    return NULL;
}

/* Waits for the touch wait, then frees the logon out from under the waiting thread. */
static void *free_during_touch_wait(void *arg) {
    struct helper *helper = arg;
    if (wait_for_touch_wait(helper)) {
        CHECK(aa_logon_free(helper->logon) == AA_STATUS_OK);
    }
    return NULL;
}

int main(void) {
    aa_error *error = NULL;
    aa_client *client = new_test_client();
    aa_virtual_key *key = plug_virtual_key(client, "demo", NULL);
    must_tk(aa_virtual_key_set_presence(key, AA_PRESENCE_NEVER, 0), "aa_virtual_key_set_presence");

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");

    /* Cancel while the key waits for a touch. The timeout is long: only the cancel can end it. */
    struct helper canceller_state = {logon, key, 1, false};
    pthread_t canceller;
    CHECK(pthread_create(&canceller, NULL, cancel_during_touch_wait, &canceller_state) == 0);
    aa_status status = aa_logon_sign_with_device(logon, 120000, on_prompt, NULL, &error);
    set_sign_returned(true);
    pthread_join(canceller, NULL);
    set_sign_returned(false);
    CHECK(status == AA_STATUS_CANCELLED);
    CHECK(touch_prompts == 1);
    CHECK(canceller_state.key_was_waiting);
    if (status != AA_STATUS_OK) {
        aa_status kind = AA_STATUS_OK;
        CHECK(aa_error_status(error, &kind) == AA_STATUS_OK && kind == AA_STATUS_CANCELLED);
        aa_error_free(error);
        error = NULL;
    }

    /* The logon stays usable: a touch now completes it. */
    must_tk(aa_virtual_key_set_presence(key, AA_PRESENCE_ON_DEMAND, 0), "aa_virtual_key_set_presence");
    struct helper toucher_state = {logon, key, 2, false};
    pthread_t toucher;
    CHECK(pthread_create(&toucher, NULL, touch_when_asked, &toucher_state) == 0);
    status = aa_logon_sign_with_device(logon, 120000, on_prompt, NULL, &error);
    set_sign_returned(true);
    pthread_join(toucher, NULL);
    set_sign_returned(false);
    must(status, &error, "aa_logon_sign_with_device");
    CHECK(toucher_state.key_was_waiting);
    aa_server_status verdict = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &verdict, &error), &error, "aa_logon_server_status");
    CHECK(verdict == AA_SERVER_STATUS_OK);
    uint32_t counter = 0;
    must_tk(aa_virtual_key_counter(key, &counter), "aa_virtual_key_counter");
    CHECK(counter == 1); /* the cancelled wait signed nothing */

    CHECK(aa_logon_free(logon) == AA_STATUS_OK);

    /* Freeing a logon while another thread waits in it cancels that wait; nothing dangles. */
    must_tk(aa_virtual_key_set_presence(key, AA_PRESENCE_NEVER, 0), "aa_virtual_key_set_presence");
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");
    struct helper freer_state = {logon, key, 3, false};
    pthread_t freer;
    CHECK(pthread_create(&freer, NULL, free_during_touch_wait, &freer_state) == 0);
    status = aa_logon_sign_with_device(logon, 120000, on_prompt, NULL, NULL);
    set_sign_returned(true);
    pthread_join(freer, NULL);
    set_sign_returned(false);
    CHECK(status == AA_STATUS_CANCELLED);
    CHECK(freer_state.key_was_waiting);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_logon_free(logon));

    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_cancel");
}
