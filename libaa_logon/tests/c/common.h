/* Shared helpers for the C tests: they run against the simulator whose URL and CA file the Rust
 * driver (tests/c_abi.rs) passes in AA_TEST_URL and AA_TEST_CA_FILE, and reach virtual security
 * keys of the test-only libaa_logon_testkit through libaa_logon's public HID transport
 * (aa_client_set_hid_io), exactly as a caller's own devices would be reached. */
#ifndef AA_TEST_COMMON_H
#define AA_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aa_logon.h"
#include "aa_logon_testkit.h"

#define DEMO_ENDPOINT_ID "178fa64ebafe11eaa1fb0242ac110003"
#define DEMO_ENDPOINT_SECRET "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt"
#define DEMO_USER "JAGUAR\\denis"
#define DEMO_PASSWORD "novell"
#define DEMO_EVENT "Search Card"

static int failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                             \
        }                                                                           \
    } while (0)

/* Checks that `call` returned `expected`; on failure prints the aa_error message. */
#define EXPECT_STATUS(expected, call)                                                         \
    do {                                                                                      \
        aa_status got_ = (call);                                                              \
        if (got_ != (expected)) {                                                             \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u (%s)\n", __FILE__, __LINE__, \
                    #call, (unsigned)got_, aa_status_str(got_), (unsigned)(expected),        \
                    aa_status_str(expected));                                                 \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

/* Runs a call that must succeed; prints the error's message and aborts the test otherwise.
 * Takes the error slot's address: C does not order the evaluation of a call's arguments, so the
 * error must be read after the call, not passed by value next to it. */
static void must(aa_status status, aa_error **error_slot, const char *what) {
    aa_error *error = error_slot ? *error_slot : NULL;
    if (status == AA_STATUS_OK) {
        return;
    }
    char *message = NULL;
    if (error != NULL && aa_error_message(error, &message) == AA_STATUS_OK) {
        fprintf(stderr, "%s failed: %s\n", what, message);
        aa_string_free(message);
    } else {
        fprintf(stderr, "%s failed: %s\n", what, aa_status_str(status));
    }
    aa_error_free(error);
    exit(1);
}

/* Runs a testkit call that must succeed; prints aa_testkit_last_error and aborts otherwise. */
static inline void must_tk(aa_status status, const char *what) {
    if (status == AA_STATUS_OK) {
        return;
    }
    char message[512];
    aa_testkit_last_error(message, sizeof message);
    fprintf(stderr, "%s failed: %s (%s)\n", what, aa_status_str(status), message);
    exit(1);
}

static const char *env_or_die(const char *name) {
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "%s is not set (the Rust driver tests/c_abi.rs sets it)\n", name);
        exit(2);
    }
    return value;
}

/* A client for the simulator of this test run, with its CA trusted. */
static aa_client *new_test_client(void) {
    aa_error *error = NULL;
    aa_client_options *options = NULL;
    aa_client *client = NULL;
    must(aa_client_options_new(env_or_die("AA_TEST_URL"), DEMO_ENDPOINT_ID, DEMO_ENDPOINT_SECRET, &options,
                               &error),
         &error, "aa_client_options_new");
    must(aa_client_options_set_ca_file(options, env_or_die("AA_TEST_CA_FILE"), &error), &error,
         "aa_client_options_set_ca_file");
    /* The simulator's sign requests carry the appId https://aa-sim.local, not its 127.0.0.1 URL. */
    must(aa_client_options_allow_app_id_host(options, "aa-sim.local", &error), &error,
         "aa_client_options_allow_app_id_host");
    /* Generous timeouts: the same programs also run under valgrind, which is slow. */
    must(aa_client_options_set_timeouts(options, 60000, 120000, &error), &error, "aa_client_options_set_timeouts");
    must(aa_client_new(options, &client, &error), &error, "aa_client_new");
    must(aa_client_options_free(options), NULL, "aa_client_options_free");
    return client;
}

/* A virtual key of `seed` plugged into a fresh device set that `client` reaches through
 * aa_client_set_hid_io. The set's handle is freed at once (the io keeps the set alive until
 * libaa_logon releases it); the key handle is the caller's (aa_virtual_key_free). When
 * `devices_out` is not NULL it receives the set's handle instead (the caller frees it). */
static inline aa_virtual_key *plug_virtual_key(const aa_client *client, const char *seed,
                                               aa_virtual_devices **devices_out) {
    aa_error *error = NULL;
    aa_virtual_devices *devices = NULL;
    aa_virtual_key *key = NULL;
    aa_hid_io io;
    must_tk(aa_virtual_devices_new(&devices), "aa_virtual_devices_new");
    must_tk(aa_virtual_key_new(seed, &key), "aa_virtual_key_new");
    must_tk(aa_virtual_devices_plug(devices, key), "aa_virtual_devices_plug");
    must_tk(aa_virtual_devices_hid_io(devices, &io), "aa_virtual_devices_hid_io");
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    if (devices_out != NULL) {
        *devices_out = devices;
    } else {
        must_tk(aa_virtual_devices_free(devices), "aa_virtual_devices_free");
    }
    return key;
}

/* Returns a copy of a library string (freed through the library) for easy comparisons. */
static inline char *take_string(char *library_string) {
    char *copy = NULL;
    if (library_string != NULL) {
        size_t len = strlen(library_string) + 1;
        copy = malloc(len);
        memcpy(copy, library_string, len);
    }
    aa_string_free(library_string);
    return copy;
}

/* Every handle and string of both libraries was freed (call after freeing everything). */
static inline void check_nothing_live(void) {
    size_t live = 99;
    CHECK(aa_live_objects(&live) == AA_STATUS_OK);
    if (live != 0) {
        fprintf(stderr, "aa_live_objects: %zu handles or strings still allocated\n", live);
        failures++;
    }
    live = 99;
    CHECK(aa_testkit_live_objects(&live) == AA_STATUS_OK);
    if (live != 0) {
        fprintf(stderr, "aa_testkit_live_objects: %zu testkit handles still allocated\n", live);
        failures++;
    }
}

/* Prints the verdict; call it last, after check_nothing_live. */
static int finish(const char *name) {
    if (failures == 0) {
        printf("%s: all checks passed\n", name);
        return 0;
    }
    printf("%s: %d check(s) failed\n", name, failures);
    return 1;
}

#endif
