/* A HID transport written here, in C, plugged into a client with aa_client_set_hid_io: it forwards
 * every call to the virtual key's io (aa_virtual_devices_hid_io) under its own device paths and
 * handles, and records what it carried. A U2F logon runs through it to OK; then the transport's
 * contract is checked from the caller's side: required functions, a failing enumerate, a failing
 * read, bad sink calls, a sink used after its enumeration, and switching back to USB HID. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

#define PATH_PREFIX "recorder:"

/* Fault injection of one recorder. */
enum fault {
    FAULT_NONE = 0,
    FAULT_ENUMERATE_FAILS,   /* enumerate returns -1 */
    FAULT_READ_FAILS,        /* read returns -1 */
    FAULT_BAD_SINK_CALLS,    /* enumerate feeds the sink bad devices (and one good fake) */
};

/* The userdata of the transport: the io it forwards to and what it saw. */
struct recorder {
    aa_hid_io inner; /* the virtual keys' io; userdata.inner.release runs from our release */
    enum fault fault;
    pthread_mutex_t lock;
    int enumerations;
    int devices_listed;
    int opens;
    int open_paths_ok; /* opens whose path was one we listed */
    int closes;
    int writes;
    int reads; /* reads that returned a report */
    int bad_lengths;
    int releases;
    uint8_t first_write[AA_HID_REPORT_LEN];
    uint8_t first_read[AA_HID_REPORT_LEN];
    /* FAULT_BAD_SINK_CALLS: what the sink answered to each bad call, and the sink kept for later. */
    aa_status null_path_status;
    aa_status null_device_status;
    aa_status empty_path_status;
    aa_status duplicate_status;
    aa_status foreign_list_status;
    aa_status fake_status;
    aa_hid_device_sink saved_sink;
    aa_hid_device_list *saved_list;
};

static void recorder_init(struct recorder *r, enum fault fault, const aa_virtual_devices *devices) {
    memset(r, 0, sizeof *r);
    r->fault = fault;
    pthread_mutex_init(&r->lock, NULL);
    if (devices != NULL) {
        must_tk(aa_virtual_devices_hid_io(devices, &r->inner), "aa_virtual_devices_hid_io");
    }
}

static void recorder_destroy(struct recorder *r) {
    pthread_mutex_destroy(&r->lock);
}

static int counter(struct recorder *r, const int *field) {
    pthread_mutex_lock(&r->lock);
    int value = *field;
    pthread_mutex_unlock(&r->lock);
    return value;
}

static void bump(struct recorder *r, int *field) {
    pthread_mutex_lock(&r->lock);
    (*field)++;
    pthread_mutex_unlock(&r->lock);
}

/* What the inner enumerate's sink calls reach: the library's sink and list of this enumeration. */
struct relay {
    struct recorder *recorder;
    aa_hid_device_sink sink;
    aa_hid_device_list *list;
};

/* The sink given to the inner enumerate: renames the device into our path space and passes it on. */
static aa_status relay_sink(aa_hid_device_list *list, const aa_hid_device_info *device) {
    struct relay *relay = (struct relay *)(void *)list;
    if (device == NULL || device->path == NULL) {
        return AA_STATUS_NULL_ARGUMENT;
    }
    char path[512];
    snprintf(path, sizeof path, "%s%s", PATH_PREFIX, device->path);
    aa_hid_device_info renamed = *device;
    renamed.path = path;
    aa_status status = relay->sink(relay->list, &renamed);
    if (status == AA_STATUS_OK) {
        bump(relay->recorder, &relay->recorder->devices_listed);
    }
    return status;
}

static int32_t rec_enumerate(void *userdata, aa_hid_device_sink sink, aa_hid_device_list *list) {
    struct recorder *r = userdata;
    bump(r, &r->enumerations);
    if (r->fault == FAULT_ENUMERATE_FAILS) {
        return -1;
    }
    if (r->fault == FAULT_BAD_SINK_CALLS) {
        aa_hid_device_info info = {NULL, 0x1050, 0x0407, "Recorder", NULL, NULL};
        r->null_path_status = sink(list, &info);
        r->null_device_status = sink(list, NULL);
        info.path = "";
        r->empty_path_status = sink(list, &info);
        info.path = "recorder:fake";
        r->fake_status = sink(list, &info);
        r->duplicate_status = sink(list, &info);
        int not_a_list = 0;
        info.path = "recorder:other";
        r->foreign_list_status = sink((aa_hid_device_list *)(void *)&not_a_list, &info);
        r->saved_sink = sink;
        r->saved_list = list;
        return 0;
    }
    struct relay relay = {r, sink, list};
    return r->inner.enumerate(r->inner.userdata, relay_sink, (aa_hid_device_list *)(void *)&relay);
}

/* A device opened through the recorder: our own handle around the inner one. */
struct rec_device {
    struct recorder *recorder;
    void *inner;
};

static void *rec_open(void *userdata, const char *path) {
    struct recorder *r = userdata;
    if (path == NULL || strncmp(path, PATH_PREFIX, strlen(PATH_PREFIX)) != 0) {
        return NULL;
    }
    bump(r, &r->open_paths_ok);
    void *inner = r->inner.open(r->inner.userdata, path + strlen(PATH_PREFIX));
    if (inner == NULL) {
        return NULL;
    }
    struct rec_device *device = malloc(sizeof *device);
    device->recorder = r;
    device->inner = inner;
    bump(r, &r->opens);
    return device;
}

static void rec_close(void *userdata, void *device) {
    struct recorder *r = userdata;
    struct rec_device *d = device;
    CHECK(d->recorder == r);
    r->inner.close(r->inner.userdata, d->inner);
    free(d);
    bump(r, &r->closes);
}

static int32_t rec_write(void *userdata, void *device, const uint8_t *report, size_t len) {
    struct recorder *r = userdata;
    struct rec_device *d = device;
    if (len != AA_HID_REPORT_LEN) {
        bump(r, &r->bad_lengths);
    }
    pthread_mutex_lock(&r->lock);
    if (r->writes == 0) {
        memcpy(r->first_write, report, len < AA_HID_REPORT_LEN ? len : AA_HID_REPORT_LEN);
    }
    r->writes++;
    pthread_mutex_unlock(&r->lock);
    return r->inner.write(r->inner.userdata, d->inner, report, len);
}

static int32_t rec_read(void *userdata, void *device, uint8_t *report, size_t len, int32_t timeout_ms) {
    struct recorder *r = userdata;
    struct rec_device *d = device;
    if (len != AA_HID_REPORT_LEN) {
        bump(r, &r->bad_lengths);
    }
    if (r->fault == FAULT_READ_FAILS) {
        return -1;
    }
    int32_t got = r->inner.read(r->inner.userdata, d->inner, report, len, timeout_ms);
    if (got > 0) {
        pthread_mutex_lock(&r->lock);
        if (r->reads == 0) {
            memcpy(r->first_read, report, AA_HID_REPORT_LEN);
        }
        r->reads++;
        pthread_mutex_unlock(&r->lock);
    }
    return got;
}

static void rec_release(void *userdata) {
    struct recorder *r = userdata;
    bump(r, &r->releases);
    if (r->inner.release != NULL) {
        r->inner.release(r->inner.userdata);
    }
}

static aa_hid_io recorder_io(struct recorder *r) {
    aa_hid_io io = {r, rec_enumerate, rec_open, rec_close, rec_write, rec_read, rec_release};
    return io;
}

/* The status a failed call left in its error, and the error freed. */
static aa_status error_status_and_free(aa_error **error) {
    aa_status status = AA_STATUS_OK;
    CHECK(*error != NULL);
    CHECK(aa_error_status(*error, &status) == AA_STATUS_OK);
    char *message = NULL;
    if (aa_error_message(*error, &message) == AA_STATUS_OK) {
        printf("  (expected failure: %s)\n", message);
        aa_string_free(message);
    }
    aa_error_free(*error);
    *error = NULL;
    return status;
}

/* 1. A whole U2F logon through the recording transport. */
static void logon_through_the_recorder(const aa_virtual_devices *devices, const aa_virtual_key *key) {
    aa_error *error = NULL;
    struct recorder r;
    recorder_init(&r, FAULT_NONE, devices);
    aa_hid_io io = recorder_io(&r);
    aa_client *client = new_test_client();
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    /* The io was copied: changing ours afterwards changes nothing. */
    io.read = NULL;

    char *listed = NULL;
    must(aa_client_devices_json(client, &listed, &error), &error, "aa_client_devices_json");
    CHECK(strstr(listed, "\"" PATH_PREFIX) != NULL);
    aa_string_free(listed);

    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, &error), &error, "aa_logon_new");
    must(aa_logon_sign_with_device(logon, 60000, NULL, NULL, &error), &error, "aa_logon_sign_with_device");
    aa_server_status verdict = AA_SERVER_STATUS_MORE_DATA;
    must(aa_logon_server_status(logon, &verdict, &error), &error, "aa_logon_server_status");
    CHECK(verdict == AA_SERVER_STATUS_OK);
    char *session = NULL;
    must(aa_logon_login_session_id(logon, &session, &error), &error, "aa_logon_login_session_id");
    CHECK(session != NULL && strlen(session) == 32);
    aa_string_free(session);
    uint32_t signatures = 0;
    must_tk(aa_virtual_key_counter(key, &signatures), "aa_virtual_key_counter");
    CHECK(signatures == 1);

    /* It really carried the exchange. */
    printf("  recorder: %d enumerations, %d devices listed, %d opens, %d closes, %d reports written, %d read\n",
           counter(&r, &r.enumerations), counter(&r, &r.devices_listed), counter(&r, &r.opens),
           counter(&r, &r.closes), counter(&r, &r.writes), counter(&r, &r.reads));
    CHECK(counter(&r, &r.enumerations) > 0);
    CHECK(counter(&r, &r.devices_listed) > 0);
    CHECK(counter(&r, &r.opens) > 0);
    CHECK(counter(&r, &r.open_paths_ok) == counter(&r, &r.opens));
    CHECK(counter(&r, &r.writes) > 0);
    CHECK(counter(&r, &r.reads) > 0);
    CHECK(counter(&r, &r.bad_lengths) == 0);
    /* The first report is a CTAPHID INIT on the broadcast channel (cid ffffffff, cmd 0x86) with an
     * 8-byte nonce, and the first answer is the INIT reply echoing that nonce. */
    static const uint8_t broadcast_init[5] = {0xff, 0xff, 0xff, 0xff, 0x86};
    CHECK(memcmp(r.first_write, broadcast_init, 5) == 0);
    CHECK(r.first_write[5] == 0 && r.first_write[6] == 8);
    CHECK(memcmp(r.first_read, broadcast_init, 5) == 0);
    CHECK(memcmp(r.first_read + 7, r.first_write + 7, 8) == 0);

    /* Released exactly once, when neither the client nor the logon uses the io any more. */
    CHECK(counter(&r, &r.releases) == 0);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    CHECK(counter(&r, &r.releases) == 0); /* the logon still uses it */
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(counter(&r, &r.releases) == 1);
    CHECK(counter(&r, &r.closes) == counter(&r, &r.opens));
    recorder_destroy(&r);
}

static int32_t never_enumerate(void *userdata, aa_hid_device_sink sink, aa_hid_device_list *list) {
    (void)userdata, (void)sink, (void)list;
    return -1;
}
static void *never_open(void *userdata, const char *path) {
    (void)userdata, (void)path;
    return NULL;
}
static void never_close(void *userdata, void *device) {
    (void)userdata, (void)device;
}
static int32_t never_write(void *userdata, void *device, const uint8_t *report, size_t len) {
    (void)userdata, (void)device, (void)report, (void)len;
    return -1;
}
static int32_t never_read(void *userdata, void *device, uint8_t *report, size_t len, int32_t timeout_ms) {
    (void)userdata, (void)device, (void)report, (void)len, (void)timeout_ms;
    return -1;
}
static int lone_releases = 0;
static void count_release(void *userdata) {
    (void)userdata;
    lone_releases++;
}

/* 2. An io without one of its required functions is refused and not taken over. */
static void required_functions(void) {
    aa_client *client = new_test_client();
    aa_error *error = NULL;
    for (int missing = 0; missing < 5; missing++) {
        aa_hid_io io = {&lone_releases, never_enumerate, never_open, never_close, never_write, never_read,
                        count_release};
        static const char *const names[5] = {"enumerate", "open", "close", "write", "read"};
        switch (missing) {
        case 0: io.enumerate = NULL; break;
        case 1: io.open = NULL; break;
        case 2: io.close = NULL; break;
        case 3: io.write = NULL; break;
        default: io.read = NULL; break;
        }
        CHECK(aa_client_set_hid_io(client, &io, &error) == AA_STATUS_NULL_ARGUMENT);
        char *message = NULL;
        CHECK(aa_error_message(error, &message) == AA_STATUS_OK);
        CHECK(message != NULL && strstr(message, names[missing]) != NULL);
        aa_string_free(message);
        aa_error_free(error);
        error = NULL;
        CHECK(lone_releases == 0);
    }
    /* A NULL or freed client: the io is not taken over either. */
    aa_hid_io io = {&lone_releases, never_enumerate, never_open, never_close, never_write, never_read,
                    count_release};
    EXPECT_STATUS(AA_STATUS_NULL_ARGUMENT, aa_client_set_hid_io(NULL, &io, NULL));
    CHECK(lone_releases == 0);

    /* A complete io without release is fine; replacing an io releases the old one. */
    io.release = NULL;
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    io.release = count_release;
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    CHECK(lone_releases == 0);
    /* NULL switches the client back to the operating system's USB HID devices. */
    must(aa_client_set_hid_io(client, NULL, &error), &error, "aa_client_set_hid_io(NULL)");
    CHECK(lone_releases == 1);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, aa_client_set_hid_io(client, &io, NULL));
    CHECK(lone_releases == 1);
}

/* A logon at the U2F step on a client that reaches its keys through `r`. */
static aa_status sign_through(struct recorder *r, aa_error **error) {
    aa_hid_io io = recorder_io(r);
    aa_client *client = new_test_client();
    must(aa_client_set_hid_io(client, &io, error), error, "aa_client_set_hid_io");
    aa_logon *logon = NULL;
    must(aa_logon_new(client, DEMO_USER, DEMO_EVENT, "U2F:1", &logon, error), error, "aa_logon_new");
    aa_status status = aa_logon_sign_with_device(logon, 60000, NULL, NULL, error);
    CHECK(aa_logon_free(logon) == AA_STATUS_OK);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    CHECK(counter(r, &r->releases) == 1);
    CHECK(counter(r, &r->closes) == counter(r, &r->opens));
    return status;
}

/* 3. A failing enumerate fails the sign with AA_STATUS_DEVICE_ERROR (aa_hid_enumerate_fn's doc). */
static void enumerate_fails(const aa_virtual_devices *devices) {
    aa_error *error = NULL;
    struct recorder r;
    recorder_init(&r, FAULT_ENUMERATE_FAILS, devices);
    aa_status status = sign_through(&r, &error);
    EXPECT_STATUS(AA_STATUS_DEVICE_ERROR, status);
    if (status != AA_STATUS_OK) {
        EXPECT_STATUS(AA_STATUS_DEVICE_ERROR, error_status_and_free(&error));
    }
    CHECK(counter(&r, &r.enumerations) >= 1);
    CHECK(counter(&r, &r.opens) == 0);

    /* A device listing reports it the same way. */
    struct recorder listing;
    recorder_init(&listing, FAULT_ENUMERATE_FAILS, NULL);
    aa_hid_io io = recorder_io(&listing);
    aa_client *client = new_test_client();
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    char *json = NULL;
    EXPECT_STATUS(AA_STATUS_DEVICE_ERROR, aa_client_devices_json(client, &json, &error));
    CHECK(json == NULL);
    aa_error_free(error);
    error = NULL;
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    CHECK(counter(&listing, &listing.releases) == 1);
    recorder_destroy(&listing);
    recorder_destroy(&r);
}

/* 4. A read that fails (-1) fails the sign with AA_STATUS_DEVICE_ERROR, without a device code. */
static void read_fails(const aa_virtual_devices *devices) {
    aa_error *error = NULL;
    struct recorder r;
    recorder_init(&r, FAULT_READ_FAILS, devices);
    aa_status status = sign_through(&r, &error);
    EXPECT_STATUS(AA_STATUS_DEVICE_ERROR, status);
    if (status != AA_STATUS_OK) {
        aa_device_code_kind kind = 0;
        uint32_t code = 0;
        EXPECT_STATUS(AA_STATUS_NOT_AVAILABLE, aa_error_device_code(error, &kind, &code));
        EXPECT_STATUS(AA_STATUS_DEVICE_ERROR, error_status_and_free(&error));
    }
    CHECK(counter(&r, &r.opens) >= 1);
    CHECK(counter(&r, &r.writes) >= 1); /* the INIT went out; its answer never came */
    CHECK(counter(&r, &r.reads) == 0);
    recorder_destroy(&r);
}

/* 5. The sink refuses bad devices, and a sink kept past its enumeration is a stale handle. */
static void bad_sink_calls(void) {
    aa_error *error = NULL;
    struct recorder r;
    recorder_init(&r, FAULT_BAD_SINK_CALLS, NULL);
    aa_hid_io io = recorder_io(&r);
    aa_client *client = new_test_client();
    must(aa_client_set_hid_io(client, &io, &error), &error, "aa_client_set_hid_io");
    char *json = NULL;
    must(aa_client_devices_json(client, &json, &error), &error, "aa_client_devices_json");
    printf("  sink answers: NULL path %u, NULL device %u, empty path %u, duplicate %u, foreign list %u\n",
           (unsigned)r.null_path_status, (unsigned)r.null_device_status, (unsigned)r.empty_path_status,
           (unsigned)r.duplicate_status, (unsigned)r.foreign_list_status);
    CHECK(r.null_path_status != AA_STATUS_OK);
    CHECK(r.null_device_status != AA_STATUS_OK);
    CHECK(r.empty_path_status != AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_OK, r.fake_status);
    CHECK(r.duplicate_status != AA_STATUS_OK);
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, r.foreign_list_status);
    /* Only the one good device was listed. */
    CHECK(json != NULL && strstr(json, "\"recorder:fake\"") != NULL);
    CHECK(json != NULL && strstr(json, "recorder:other") == NULL);
    int paths = 0;
    for (const char *at = json; at != NULL && (at = strstr(at, "\"path\"")) != NULL; at++) {
        paths++;
    }
    CHECK(paths == 1);
    aa_string_free(json);

    /* The enumeration is over: its sink and list are dead. */
    CHECK(r.saved_sink != NULL && r.saved_list != NULL);
    aa_hid_device_info late = {"recorder:late", 0, 0, NULL, NULL, NULL};
    EXPECT_STATUS(AA_STATUS_INVALID_HANDLE, r.saved_sink(r.saved_list, &late));

    /* NULL switches the client back to USB HID (not used here) and releases this io. */
    EXPECT_STATUS(AA_STATUS_OK, aa_client_set_hid_io(client, NULL, NULL));
    CHECK(counter(&r, &r.releases) == 1);
    CHECK(aa_client_free(client) == AA_STATUS_OK);
    CHECK(counter(&r, &r.releases) == 1);
    recorder_destroy(&r);
}

int main(void) {
    CHECK(AA_HID_REPORT_LEN == 64);
    aa_virtual_devices *devices = NULL;
    /* One key of seed "demo" for the whole run: the simulator rejects a signature counter it saw. */
    aa_virtual_key *key = NULL;
    must_tk(aa_virtual_devices_new(&devices), "aa_virtual_devices_new");
    must_tk(aa_virtual_key_new("demo", &key), "aa_virtual_key_new");
    must_tk(aa_virtual_devices_plug(devices, key), "aa_virtual_devices_plug");

    printf("logon through a recording transport\n");
    logon_through_the_recorder(devices, key);
    printf("required functions\n");
    required_functions();
    printf("enumerate fails\n");
    enumerate_fails(devices);
    printf("read fails\n");
    read_fails(devices);
    printf("bad sink calls\n");
    bad_sink_calls();

    CHECK(aa_virtual_key_free(key) == AA_STATUS_OK);
    CHECK(aa_virtual_devices_free(devices) == AA_STATUS_OK);
    check_nothing_live();
    return finish("test_custom_transport");
}
