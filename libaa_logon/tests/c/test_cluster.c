/* A client of a two-server AA cluster through the C ABI (issue 15). The Rust driver
 * (tests/c_abi.rs) starts a two-instance simulator (AA_TEST_URL, AA_TEST_URL_2), takes instances
 * down before starting this program and names what it did in AA_TEST_SCENARIO:
 * - unset: the cluster options are checked (no traffic);
 * - "threads": 8 threads log on 10 times each through one shared client limited to 4
 *   connections (the driver checks the simulator saw no more at once);
 * - "refuse" / "unavailable": instance 0 refuses connections / answers HTTP 503; a U2F logon
 *   with the virtual key succeeds on instance 1, and the logon and the client say so;
 * - "all_down": instance 0 refuses, instance 1 answers 503; the logon fails with one error
 *   naming both servers. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "common.h"

#define THREADS 8
#define LOGONS_PER_THREAD 10
#define MAX_CONNECTIONS 4

/* Options for the cluster of this run: AA_TEST_URL preferred, AA_TEST_URL_2 as failover, the
 * simulator's CA trusted and its appId host allowed, timeouts generous enough for valgrind. */
static aa_client_options *new_cluster_options(void) {
    aa_error *error = NULL;
    aa_client_options *options = NULL;
    must(aa_client_options_new(env_or_die("AA_TEST_URL"), DEMO_ENDPOINT_ID, DEMO_ENDPOINT_SECRET, &options,
                               &error),
         &error, "aa_client_options_new");
    must(aa_client_options_add_failover_url(options, env_or_die("AA_TEST_URL_2"), &error), &error,
         "aa_client_options_add_failover_url");
    must(aa_client_options_set_ca_file(options, env_or_die("AA_TEST_CA_FILE"), &error), &error,
         "aa_client_options_set_ca_file");
    must(aa_client_options_allow_app_id_host(options, "aa-sim.local", &error), &error,
         "aa_client_options_allow_app_id_host");
    must(aa_client_options_set_timeouts(options, 60000, 120000, &error), &error, "aa_client_options_set_timeouts");
    return options;
}

static aa_client *new_client_of(aa_client_options *options) {
    aa_error *error = NULL;
    aa_client *client = NULL;
    must(aa_client_new(options, &client, &error), &error, "aa_client_new");
    CHECK(aa_client_options_free(options) == AA_STATUS_OK);
    return client;
}

/* Checks that `status` is `expected` and that the error's message contains `needle`; frees the
 * error. */
static void expect_error(aa_status expected, aa_status status, aa_error *error, const char *needle,
                         const char *what) {
    if (status != expected) {
        fprintf(stderr, "%s returned %u (%s), expected %u (%s)\n", what, (unsigned)status, aa_status_str(status),
                (unsigned)expected, aa_status_str(expected));
        failures++;
    }
    char *message = NULL;
    CHECK(error != NULL && aa_error_message(error, &message) == AA_STATUS_OK);
    if (message != NULL && strstr(message, needle) == NULL) {
        fprintf(stderr, "%s: the message lacks %s: %s\n", what, needle, message);
        failures++;
    }
    aa_string_free(message);
    aa_error_free(error);
}

/* A copy of the client's current server (free with free()). */
static char *current_server(const aa_client *client) {
    aa_error *error = NULL;
    char *url = NULL;
    must(aa_client_current_server(client, &url, &error), &error, "aa_client_current_server");
    return take_string(url);
}

static void check_cluster_options(void) {
    const char *first = env_or_die("AA_TEST_URL");
    const char *second = env_or_die("AA_TEST_URL_2");
    aa_error *error = NULL;
    aa_client_options *options = NULL;
    must(aa_client_options_new(first, DEMO_ENDPOINT_ID, DEMO_ENDPOINT_SECRET, &options, &error), &error,
         "aa_client_options_new");

    aa_status status = aa_client_options_add_failover_url(options, NULL, &error);
    expect_error(AA_STATUS_NULL_ARGUMENT, status, error, "url is NULL", "add_failover_url(NULL)");
    error = NULL;
    status = aa_client_options_add_failover_url(options, "not a url", &error);
    expect_error(AA_STATUS_INVALID_ARGUMENT, status, error, "not a url", "add_failover_url(\"not a url\")");
    error = NULL;
    status = aa_client_options_add_failover_url(options, "", &error);
    expect_error(AA_STATUS_INVALID_ARGUMENT, status, error, "url is empty", "add_failover_url(\"\")");
    error = NULL;
    /* The base URL is in the list already, and so is a failover URL once added. */
    status = aa_client_options_add_failover_url(options, first, &error);
    expect_error(AA_STATUS_INVALID_ARGUMENT, status, error, "already in the list", "add_failover_url(base URL)");
    error = NULL;
    must(aa_client_options_add_failover_url(options, second, &error), &error, "aa_client_options_add_failover_url");
    status = aa_client_options_add_failover_url(options, second, &error);
    expect_error(AA_STATUS_INVALID_ARGUMENT, status, error, "already in the list", "add_failover_url(twice)");
    error = NULL;

    status = aa_client_options_set_max_connections(options, 0, &error);
    expect_error(AA_STATUS_INVALID_ARGUMENT, status, error, "connection", "set_max_connections(0)");
    error = NULL;
    must(aa_client_options_set_max_connections(options, 1, &error), &error, "aa_client_options_set_max_connections");
    must(aa_client_options_set_server_backoff_ms(options, 0, &error), &error,
         "aa_client_options_set_server_backoff_ms(0)");
    must(aa_client_options_set_server_backoff_ms(options, 30000, &error), &error,
         "aa_client_options_set_server_backoff_ms");
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_options_add_failover_url(NULL, second, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_options_set_max_connections(NULL, 4, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_options_set_server_backoff_ms(NULL, 0, NULL));

    /* The rejected URLs left the options usable: a client of both servers, the first preferred. */
    aa_client *client = new_client_of(options);
    /* The options are freed now: a stale handle, detected. */
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_options_add_failover_url(options, second, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_options_set_max_connections(options, 4, NULL));
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_options_set_server_backoff_ms(options, 0, NULL));
    char *url = current_server(client);
    CHECK(strcmp(url, first) == 0);
    free(url);
    char *none = NULL;
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_current_server(client, NULL, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_current_server(NULL, &none, NULL));
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_logon_server(NULL, &none, NULL));
    CHECK(none == NULL);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_current_server(client, &none, NULL));

    /* A client of one server names that one. */
    client = new_test_client();
    url = current_server(client);
    CHECK(strcmp(url, first) == 0);
    free(url);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
}

/* The seed's U2F logon, with instance 0 down: every call is served by instance 1. */
static void u2f_logon_fails_over(void) {
    const char *first = env_or_die("AA_TEST_URL");
    const char *second = env_or_die("AA_TEST_URL_2");
    aa_error *error = NULL;
    aa_client *client = new_client_of(new_cluster_options());
    aa_virtual_key *key = plug_virtual_key(client, "demo", NULL);

    char *url = current_server(client);
    CHECK(strcmp(url, first) == 0); /* preferred until a call was made */
    free(url);

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");
    must(aa_logon_sign_with_device(logon, 60000, NULL, NULL, &error), &error, "aa_logon_sign_with_device");
    aa_server_status verdict = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &verdict, &error), &error, "aa_logon_server_status");
    CHECK(verdict == AA_SERVER_STATUS_OK);

    char *server = NULL;
    must(aa_logon_server(logon, &server, &error), &error, "aa_logon_server");
    server = take_string(server);
    if (strcmp(server, second) != 0) {
        fprintf(stderr, "aa_logon_server: %s, expected %s\n", server, second);
        failures++;
    }
    free(server);
    url = current_server(client);
    if (strcmp(url, second) != 0) {
        fprintf(stderr, "aa_client_current_server: %s, expected %s\n", url, second);
        failures++;
    }
    free(url);
    uint32_t counter = 0;
    must_tk(aa_virtual_key_counter(key, &counter), "aa_virtual_key_counter");
    CHECK(counter == 1);

    /* The login session is the cluster's: ending it goes to instance 1 as well. */
    char *session = NULL;
    must(aa_logon_login_session_id(logon, &session, &error), &error, "aa_logon_login_session_id");
    must(aa_client_logout(client, session, &error), &error, "aa_client_logout");
    aa_string_free(session);

    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
}

/* Both servers down: one error, naming each server. */
static void no_server_can_serve(void) {
    const char *first = env_or_die("AA_TEST_URL");
    const char *second = env_or_die("AA_TEST_URL_2");
    aa_error *error = NULL;
    aa_client *client = new_client_of(new_cluster_options());
    aa_logon *logon = NULL;
    aa_status status = aa_logon_new(client, DEMO_USER, DEMO_EVENT, "PASSWORD:1", &logon, &error);
    EXPECT_STATUS(AA_STATUS_NETWORK, status);
    CHECK(logon == NULL); /* results are written only on success */
    aa_status kind = AA_STATUS_OK;
    CHECK(error != NULL && aa_error_status(error, &kind) == AA_STATUS_OK && kind == status);
    char *message = NULL;
    CHECK(error != NULL && aa_error_message(error, &message) == AA_STATUS_OK);
    message = take_string(message);
    if (message != NULL) {
        printf("all servers down: %s (%s)\n", message, aa_status_str(status));
        CHECK(strstr(message, "none of the 2 AA servers") != NULL);
        CHECK(strstr(message, first) != NULL);
        CHECK(strstr(message, second) != NULL);
    }
    free(message);
    aa_error_free(error);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
}

struct worker {
    const aa_client *client;
    int ok;                /* logons that ended OK */
    aa_status first_error; /* the first failure's status, AA_STATUS_OK when none */
    char *first_message;   /* its message (malloc'd copy), or NULL */
};

/* Records a failure of a worker (threads do not touch the shared `failures` counter). */
static void worker_failed(struct worker *worker, aa_status status, aa_error *error) {
    if (worker->first_error == AA_STATUS_OK) {
        worker->first_error = status;
        char *message = NULL;
        if (error != NULL && aa_error_message(error, &message) == AA_STATUS_OK) {
            worker->first_message = take_string(message);
        }
    }
    aa_error_free(error);
}

static void *log_on_repeatedly(void *arg) {
    struct worker *worker = arg;
    for (int i = 0; i < LOGONS_PER_THREAD; i++) {
        aa_error *error = NULL;
        aa_logon *logon = NULL;
        aa_status status = aa_logon_new(worker->client, DEMO_USER, DEMO_EVENT, "PASSWORD:1", &logon, &error);
        if (status != AA_STATUS_OK) {
            worker_failed(worker, status, error);
            continue;
        }
        status = aa_logon_answer(logon, DEMO_PASSWORD, &error);
        aa_server_status verdict = AA_SERVER_STATUS_MORE_DATA;
        if (status == AA_STATUS_OK) {
            status = aa_logon_server_status(logon, &verdict, &error);
        }
        if (status != AA_STATUS_OK) {
            worker_failed(worker, status, error);
        } else if (verdict == AA_SERVER_STATUS_OK) {
            worker->ok++;
        } else {
            worker_failed(worker, AA_STATUS_LOGON_FAILED, NULL);
        }
        if (aa_logon_free(logon) != AA_STATUS_OK) {
            worker_failed(worker, AA_STATUS_INVALID_HANDLE, NULL);
        }
    }
    return NULL;
}

/* 8 threads × 10 password logons through one client that may open at most 4 connections. */
static void threads_share_one_client(void) {
    size_t live_before = 99;
    CHECK(aa_live_objects(&live_before) == AA_STATUS_OK);
    aa_error *error = NULL;
    aa_client_options *options = new_cluster_options();
    must(aa_client_options_set_max_connections(options, MAX_CONNECTIONS, &error), &error,
         "aa_client_options_set_max_connections");
    aa_client *client = new_client_of(options);

    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){client, 0, AA_STATUS_OK, NULL};
        CHECK(pthread_create(&threads[i], NULL, log_on_repeatedly, &workers[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        ok += workers[i].ok;
        if (workers[i].first_error != AA_STATUS_OK) {
            fprintf(stderr, "thread %d: %s: %s\n", i, aa_status_str(workers[i].first_error),
                    workers[i].first_message ? workers[i].first_message : "(no message)");
            failures++;
        }
        free(workers[i].first_message);
    }
    if (ok != THREADS * LOGONS_PER_THREAD) {
        fprintf(stderr, "%d of %d logons ended OK\n", ok, THREADS * LOGONS_PER_THREAD);
        failures++;
    }
    printf("%d threads x %d logons through %d connections: %d OK\n", THREADS, LOGONS_PER_THREAD, MAX_CONNECTIONS,
           ok);
    char *url = current_server(client);
    CHECK(strcmp(url, env_or_die("AA_TEST_URL")) == 0); /* nothing failed: the preferred served all */
    free(url);

    CHECK(aa_client_free(client) == AA_STATUS_OK);
    size_t live_after = 99;
    CHECK(aa_live_objects(&live_after) == AA_STATUS_OK);
    if (live_after != live_before) {
        fprintf(stderr, "aa_live_objects: %zu before the threads, %zu after\n", live_before, live_after);
        failures++;
    }
}

int main(void) {
    const char *scenario = getenv("AA_TEST_SCENARIO");
    if (scenario == NULL || scenario[0] == '\0') {
        check_cluster_options();
    } else if (strcmp(scenario, "threads") == 0) {
        threads_share_one_client();
    } else if (strcmp(scenario, "refuse") == 0 || strcmp(scenario, "unavailable") == 0) {
        u2f_logon_fails_over();
    } else if (strcmp(scenario, "all_down") == 0) {
        no_server_can_serve();
    } else {
        fprintf(stderr, "unknown AA_TEST_SCENARIO %s\n", scenario);
        return 2;
    }
    check_nothing_live();
    return finish("test_cluster");
}
