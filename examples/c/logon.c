/*
 * logon.c — log a user on to NetIQ / OpenText Advanced Authentication with a U2F security key.
 *
 * Build against an installed libaa_logon (scripts/install.sh PREFIX; see docs/INSTALL.md):
 *
 *   cc logon.c -o logon $(pkg-config --cflags --libs aa_logon)
 *   export AA_ENDPOINT_SECRET=...      # from the environment: never visible in a process listing
 *   ./logon https://aa.example.com 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis'
 *   ./logon --failover-url https://aa2.example.com https://aa1.example.com \
 *      178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis'     # a cluster: aa1 first, then aa2
 *
 * To test without a key (docs/testing-without-a-key.md), build it with the test-only virtual key
 * of libaa_logon_testkit, which reaches the library through the public aa_client_set_hid_io:
 *
 *   scripts/install.sh --with-testkit PREFIX     # from the root of the repository
 *   cc -DAA_LOGON_EXAMPLE_VIRTUAL_KEY logon.c -o logon \
 *      $(pkg-config --cflags --libs aa_logon) -laa_logon_testkit -Wl,-rpath,PREFIX/lib
 *   ./logon --ca-file /tmp/aa-sim-ca.pem --allow-app-id-host aa-sim.local --virtual-key demo \
 *      https://127.0.0.1:8443 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis'
 *
 * Exit status: 0 logged on, 1 the logon failed (the reason is printed), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aa_logon.h>
#ifdef AA_LOGON_EXAMPLE_VIRTUAL_KEY
#include <aa_logon_testkit.h>
#endif

#define MAX_APP_ID_HOSTS 8
#define MAX_FAILOVER_URLS 8

struct arguments {
    const char *url, *endpoint_id, *user;
    const char *event;      /* --event, default "Search Card" */
    const char *ca_file;    /* --ca-file: a PEM CA trusted in addition to the system store */
    const char *virtual_key; /* --virtual-key SEED: the testkit's key instead of USB keys */
    const char *app_id_hosts[MAX_APP_ID_HOSTS]; /* --allow-app-id-host */
    size_t app_id_host_count;
    const char *failover_urls[MAX_FAILOVER_URLS]; /* --failover-url: the cluster's other servers */
    size_t failover_url_count;
    unsigned timeout_ms;    /* --timeout SECONDS to wait for a touch, default 30 */
};

static int usage(const char *program) {
    fprintf(stderr,
            "usage: AA_ENDPOINT_SECRET=... %s [OPTIONS] URL ENDPOINT_ID USER\n"
            "  --event EVENT             authentication event (default: Search Card)\n"
            "  --ca-file PEM             trust this CA file in addition to the system trust store\n"
            "  --allow-app-id-host HOST  sign U2F requests whose appId names HOST (repeatable)\n"
            "  --failover-url URL        another server of URL's AA cluster (repeatable), tried in\n"
            "                            order when URL cannot be reached or answers 502/503/504\n"
            "  --virtual-key SEED        use the test-only virtual key SEED instead of USB keys\n"
            "                            (needs a build with -DAA_LOGON_EXAMPLE_VIRTUAL_KEY)\n"
            "  --timeout SECONDS         how long to wait for the key and its touch (default: 30)\n",
            program);
    return 2;
}

/* Parses argv into `args`; returns 0, or the exit status of a usage error. */
static int parse_arguments(int argc, char **argv, struct arguments *args) {
    const char *positional[3];
    int count = 0;
    args->event = "Search Card";
    args->timeout_ms = 30000;
    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (option[0] != '-' || option[1] != '-') {
            if (count == 3) return usage(argv[0]);
            positional[count++] = option;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, "%s needs a value\n", option);
            return usage(argv[0]);
        }
        i++;
        if (strcmp(option, "--event") == 0) {
            args->event = value;
        } else if (strcmp(option, "--ca-file") == 0) {
            args->ca_file = value;
        } else if (strcmp(option, "--virtual-key") == 0) {
            args->virtual_key = value;
        } else if (strcmp(option, "--allow-app-id-host") == 0) {
            if (args->app_id_host_count == MAX_APP_ID_HOSTS) return usage(argv[0]);
            args->app_id_hosts[args->app_id_host_count++] = value;
        } else if (strcmp(option, "--failover-url") == 0) {
            if (args->failover_url_count == MAX_FAILOVER_URLS) return usage(argv[0]);
            args->failover_urls[args->failover_url_count++] = value;
        } else if (strcmp(option, "--timeout") == 0) {
            char *end = NULL;
            unsigned long seconds = strtoul(value, &end, 10);
            if (*value == '\0' || *end != '\0' || seconds == 0 || seconds > 600) {
                fprintf(stderr, "--timeout takes 1 to 600 seconds, not %s\n", value);
                return 2;
            }
            args->timeout_ms = (unsigned)seconds * 1000u;
        } else {
            fprintf(stderr, "unknown option %s\n", option);
            return usage(argv[0]);
        }
    }
    if (count != 3) return usage(argv[0]);
    args->url = positional[0];
    args->endpoint_id = positional[1];
    args->user = positional[2];
    return 0;
}

/* Prints what failed with the library's message (which names the cause and, for connection
 * problems, what to try), frees the error, and returns the exit status 1. */
static int fail(const char *what, aa_status status, aa_error *error) {
    char *message = NULL;
    if (aa_error_message(error, &message) == AA_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, message);
        aa_string_free(message);
    } else {
        fprintf(stderr, "%s: %s\n", what, aa_status_str(status));
    }
    aa_error_free(error);
    return 1;
}

/* Tells the user what to do while aa_logon_sign_with_device waits. */
static void on_prompt(void *userdata, aa_prompt prompt) {
    (void)userdata;
    switch (prompt) {
    case AA_PROMPT_INSERT_KEY: fputs("Insert your security key.\n", stderr); break;
    case AA_PROMPT_TOUCH_KEY: fputs("Touch your security key.\n", stderr); break;
    case AA_PROMPT_TOUCHED: fputs("Thank you.\n", stderr); break;
    }
}

/* Makes `client` reach the virtual key of `seed` instead of USB keys, through the public HID
 * transport (aa_client_set_hid_io): what a test of your own agent does. */
static int attach_virtual_key(aa_client *client, const char *seed) {
#ifdef AA_LOGON_EXAMPLE_VIRTUAL_KEY
    aa_virtual_key *key = NULL;
    aa_virtual_devices *devices = NULL;
    aa_hid_io io;
    aa_error *error = NULL;
    char testkit_message[512];
    if (aa_virtual_key_new(seed, &key) != AA_STATUS_OK || aa_virtual_devices_new(&devices) != AA_STATUS_OK ||
        aa_virtual_devices_plug(devices, key) != AA_STATUS_OK ||
        aa_virtual_devices_hid_io(devices, &io) != AA_STATUS_OK) {
        aa_testkit_last_error(testkit_message, sizeof testkit_message);
        fprintf(stderr, "virtual key: %s\n", testkit_message);
        aa_virtual_devices_free(devices);
        aa_virtual_key_free(key);
        return 1;
    }
    /* The io keeps the device set (and the key plugged into it) alive until the client releases
     * it, so both handles can go now. */
    aa_virtual_devices_free(devices);
    aa_virtual_key_free(key);
    aa_status status = aa_client_set_hid_io(client, &io, &error);
    if (status != AA_STATUS_OK) {
        if (io.release != NULL) io.release(io.userdata); /* not taken over: drop its reference */
        return fail("aa_client_set_hid_io", status, error);
    }
    return 0;
#else
    (void)client;
    fprintf(stderr,
            "--virtual-key %s: this program was built without the virtual key; rebuild it with "
            "-DAA_LOGON_EXAMPLE_VIRTUAL_KEY and -laa_logon_testkit (docs/testing-without-a-key.md)\n",
            seed);
    return 2;
#endif
}

/* Prints who logged on, or which method the chain wants next; returns the exit status. */
static int report(const aa_logon *logon) {
    aa_server_status verdict = AA_SERVER_STATUS_FAILED;
    aa_logon_server_status(logon, &verdict, NULL);
    if (verdict != AA_SERVER_STATUS_OK) {
        /* NEXT: the chain wants another method (e.g. "LDAP + U2F"); a full agent answers it. */
        char *method = NULL;
        aa_logon_current_method(logon, &method, NULL);
        fprintf(stderr, "the chain continues with %s, which this example does not answer\n",
                method ? method : "another method");
        aa_string_free(method);
        return 1;
    }
    char *session = NULL, *user = NULL, *server = NULL;
    aa_logon_login_session_id(logon, &session, NULL);
    aa_logon_user_field(logon, "user_name", &user, NULL);
    aa_logon_server(logon, &server, NULL); /* with failover URLs: the one that answered */
    printf("Logged on as %s (login session %s)\n", user ? user : "?", session ? session : "?");
    printf("server: %s\n", server ? server : "?");
    aa_string_free(session);
    aa_string_free(user);
    aa_string_free(server);
    return 0;
}

int main(int argc, char **argv) {
    struct arguments args;
    memset(&args, 0, sizeof args);
    int bad_usage = parse_arguments(argc, argv, &args);
    if (bad_usage) return bad_usage;
    const char *secret = getenv("AA_ENDPOINT_SECRET");
    if (secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "set AA_ENDPOINT_SECRET to the endpoint's secret\n");
        return usage(argv[0]);
    }
    aa_error *error = NULL;
    aa_status status;

    /* 1. The client configuration: server, endpoint, and whom to trust. */
    aa_client_options *options = NULL;
    status = aa_client_options_new(args.url, args.endpoint_id, secret, &options, &error);
    if (status != AA_STATUS_OK) return fail("aa_client_options_new", status, error);
    if (args.ca_file != NULL) {
        status = aa_client_options_set_ca_file(options, args.ca_file, &error);
        if (status != AA_STATUS_OK) {
            aa_client_options_free(options);
            return fail("aa_client_options_set_ca_file", status, error);
        }
    }
    for (size_t i = 0; i < args.app_id_host_count; i++) {
        status = aa_client_options_allow_app_id_host(options, args.app_id_hosts[i], &error);
        if (status != AA_STATUS_OK) {
            aa_client_options_free(options);
            return fail("aa_client_options_allow_app_id_host", status, error);
        }
    }
    /* The other servers of the cluster, in order of preference (same endpoint id and secret). */
    for (size_t i = 0; i < args.failover_url_count; i++) {
        status = aa_client_options_add_failover_url(options, args.failover_urls[i], &error);
        if (status != AA_STATUS_OK) {
            aa_client_options_free(options);
            return fail("aa_client_options_add_failover_url", status, error);
        }
    }

    /* 2. One client per server (or cluster) and endpoint: thread-safe, keeps connections alive. */
    aa_client *client = NULL;
    status = aa_client_new(options, &client, &error);
    aa_client_options_free(options);
    if (status != AA_STATUS_OK) return fail("aa_client_new", status, error);
    if (args.virtual_key != NULL) {
        int failed = attach_virtual_key(client, args.virtual_key);
        if (failed) {
            aa_client_free(client);
            return failed;
        }
    }

    /* 3. Start the logon with the U2F method, then sign the server's challenge with the key and
     *    send the answer (the library waits for the key and its touch up to the timeout). */
    aa_logon *logon = NULL;
    int exit_status;
    status = aa_logon_new(client, args.user, args.event, "U2F:1", &logon, &error);
    if (status != AA_STATUS_OK) {
        exit_status = fail("aa_logon_new", status, error);
    } else {
        status = aa_logon_sign_with_device(logon, args.timeout_ms, on_prompt, NULL, &error);
        exit_status = status == AA_STATUS_OK ? report(logon) : fail("aa_logon_sign_with_device", status, error);
    }

    aa_logon_free(logon);
    aa_client_free(client);
    return exit_status;
}
