/* ea-host: the C firmware core behind a pty or TCP in real time, like `python -m simulator`.
 *
 *   ea-host --pty [--channels N] [--serial TEXT] [--pairing-window SECONDS] [--seed N]
 *           [--load CH=OHMS]... [--key-file PATH] [-q|-v]
 *   ea-host --tcp [HOST:]PORT ...
 *
 * The first line on stdout is what a host passes to serial.serial_for_url (the pty's path or
 * socket://HOST:PORT); the log goes to stderr. SIGTERM or SIGINT stops it (exit status 0);
 * a usage error exits 2. The device is the core (firmware/src) on the ideal output stage of
 * host_stage.c, a monotonic clock, /dev/urandom (or a seeded generator) and a key file.
 *
 * The loop is simulator/serve/realtime.py's: wait in select for host bytes or the device's
 * next deadline; a pass later than a deadline by more than one check period is a stall of this
 * process, not of the host: the device's clock pauses for the overrun and the bytes that
 * waited reach the device just before that deadline (issue 14). */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "ea_device.h"
#include "host_platform.h"
#include "host_serve.h"
#include "host_stage.h"

#define USAGE                                                                                  \
    "usage: ea-host (--pty | --tcp [HOST:]PORT) [--channels N] [--serial TEXT]\n"            \
    "               [--pairing-window SECONDS] [--seed N] [--load CH=OHMS]...\n"             \
    "               [--key-file PATH] [-q | -v]\n"
#define DEFAULT_LOAD_OHM 500u

typedef struct {
    int pty;
    const char *tcp;
    const char *serial;
    const char *key_file;
    long channels;
    long window_s;
    int seeded;
    unsigned long long seed;
    uint32_t load_ohm[EA_MAX_CHANNELS];
    int verbosity; /* 0 quiet (warnings), 1 info, 2 verbose */
} options;

static volatile sig_atomic_t stop_requested = 0;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    (void)sig;
    stop_requested = 1;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
        /* the flag alone stops the loop at its next pass */
    }
    errno = saved;
}

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, USAGE "ea-host: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static long whole(const char *flag, const char *text, long low, long high)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < low || v > high) {
        fprintf(stderr, USAGE "ea-host: error: %s %s: expected a whole number %ld..%ld\n", flag,
                text, low, high);
        exit(2);
    }
    return v;
}

/* "500", "10k", "1.5k"-free: whole ohms with an optional k or M; "open" is an open circuit. */
static uint32_t parse_ohms(const char *text)
{
    char *end = NULL;
    unsigned long v;
    if (strcmp(text, "open") == 0) {
        return 0u;
    }
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || v == 0u) {
        usage_error("--load: %s is not a resistance (whole ohms, k or M suffix, or open)", text);
    }
    if (*end == 'k' && end[1] == '\0') {
        v *= 1000u;
    } else if (*end == 'M' && end[1] == '\0') {
        v *= 1000000u;
    } else if (*end != '\0') {
        usage_error("--load: %s is not a resistance (whole ohms, k or M suffix, or open)", text);
    }
    if (v > 100000000u) {
        usage_error("--load: %s is larger than 100 MΩ", text);
    }
    return (uint32_t)v;
}

static const char *value_of(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        usage_error("%s needs a value", argv[*i]);
    }
    *i += 1;
    return argv[*i];
}

static void parse_args(int argc, char **argv, options *o)
{
    int i;
    unsigned ch;
    memset(o, 0, sizeof *o);
    o->channels = -1;
    o->verbosity = 1;
    for (ch = 0; ch < EA_MAX_CHANNELS; ch++) {
        o->load_ohm[ch] = DEFAULT_LOAD_OHM;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(USAGE "\nRun the C firmware core in real time behind a pty or a TCP socket "
                         "(docs/firmware-host.md).\n");
            exit(0);
        } else if (strcmp(a, "--pty") == 0) {
            o->pty = 1;
        } else if (strcmp(a, "--tcp") == 0) {
            o->tcp = value_of(argc, argv, &i);
        } else if (strcmp(a, "--channels") == 0) {
            o->channels = whole(a, value_of(argc, argv, &i), 1, EA_MAX_CHANNELS);
        } else if (strcmp(a, "--serial") == 0) {
            o->serial = value_of(argc, argv, &i);
        } else if (strcmp(a, "--pairing-window") == 0) {
            o->window_s = whole(a, value_of(argc, argv, &i), 0, EA_MAX_WINDOW_S);
        } else if (strcmp(a, "--seed") == 0) {
            o->seeded = 1;
            o->seed = (unsigned long long)whole(a, value_of(argc, argv, &i), 0, 0x7FFFFFFFL);
        } else if (strcmp(a, "--key-file") == 0) {
            o->key_file = value_of(argc, argv, &i);
        } else if (strcmp(a, "--load") == 0) {
            const char *spec = value_of(argc, argv, &i);
            const char *eq = strchr(spec, '=');
            char number[8];
            long channel;
            if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof number) {
                usage_error("--load %s: expected CH=OHMS with CH from 1, e.g. 1=10k", spec);
            }
            memcpy(number, spec, (size_t)(eq - spec));
            number[eq - spec] = '\0';
            channel = whole("--load", number, 1, EA_MAX_CHANNELS);
            o->load_ohm[channel - 1] = parse_ohms(eq + 1);
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->verbosity = 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->verbosity = 2;
        } else if (strcmp(a, "--scenario") == 0 || strcmp(a, "--baud") == 0 ||
                   strcmp(a, "-o") == 0 || strcmp(a, "--option") == 0) {
            usage_error("%s: the C host has no scenarios, wire model or fault layer; run "
                        "`python -m simulator --core c` for them",
                        a);
        } else {
            usage_error("unrecognised argument %s", a);
        }
    }
    if (o->pty == (o->tcp != NULL)) {
        usage_error("%s", "one of the arguments --pty --tcp is required (not both)");
    }
    if (o->serial != NULL && (strlen(o->serial) == 0 || strlen(o->serial) > EA_TEXT_SIZE)) {
        usage_error("--serial %s: 1..16 ASCII characters", o->serial);
    }
}

/* The device's EVENT frames, logged as the Python bench logs them (its output is parsed by a
 * decoder of its own; the tags need not be checked: they are the device's own frames). */
static const char *const EVENT_NAMES[] = {
    "?",          "LEASE_EXPIRED", "ELECTRODE_FAULT", "COMPLIANCE", "REBOOT",        "BUTTON_STOP",
    "STUCK_OUTPUT", "MAX_RUN_TIME", "RAMP_DONE",     "STOPPED",    "SESSION_CLOSED"};

static void log_events(ea_frame_decoder *dec, const uint8_t *data, size_t len, uint64_t t_us)
{
    static ea_raw_frame raw;
    size_t i;
    for (i = 0; i < len; i++) {
        ea_message m;
        uint8_t field = 0;
        if (ea_decoder_push(dec, data[i], &raw) != EA_FRAME_OK ||
            raw.header.msg_type != EA_MSG_TYPE_EVENT ||
            ea_decode_message(EA_MSG_TYPE_EVENT, EA_RAW_PAYLOAD(&raw), raw.header.payload_len,
                              &m, &field) != EA_OK) {
            continue;
        }
        char where[16] = "device";
        if (m.u.event.channel != 0xFFu) {
            snprintf(where, sizeof where, "channel %u", m.u.event.channel + 1u);
        }
        fprintf(stderr, "INFO device EVENT %s %s detail=%lu (t=%lu.%06lu s)\n",
                m.u.event.code <= 10u ? EVENT_NAMES[m.u.event.code] : "?", where,
                (unsigned long)m.u.event.detail, (unsigned long)(t_us / 1000000u),
                (unsigned long)(t_us % 1000000u));
    }
}

static ea_device device; /* static: the core's state is a few tens of KB */

int main(int argc, char **argv)
{
    options o;
    ea_model model;
    host_stage stages[EA_MAX_CHANNELS];
    ea_output_stage hal[EA_MAX_CHANNELS];
    host_random rng;
    ea_random rng_hal;
    host_keyfile keys;
    ea_keystore keys_hal;
    host_endpoint ep;
    ea_frame_decoder events;
    struct sigaction sa;
    char err[512];
    static uint8_t in[4096];
    static uint8_t out[EA_OUTPUT_CAPACITY];
    size_t pending = 0;
    uint64_t start_us, look_by_us = 0, paused_us = 0;
    int has_look_by = 0;
    unsigned ch;

    parse_args(argc, argv, &o);
    ea_model_default(&model);
    if (o.channels > 0) {
        model.channel_count = (uint8_t)o.channels;
    }
    if (o.serial != NULL) {
        memset(model.serial, 0, sizeof model.serial);
        memcpy(model.serial, o.serial, strlen(o.serial));
    }
    if (host_random_open(&rng, o.seeded, o.seed, err, sizeof err) != 0 ||
        host_keyfile_open(&keys, o.key_file, err, sizeof err) != 0 ||
        (o.pty ? host_open_pty(&ep, err, sizeof err)
               : host_open_tcp(&ep, o.tcp, err, sizeof err)) != 0) {
        fprintf(stderr, "ea-host: error: %s\n", err);
        return 1;
    }
    if (pipe(wake_pipe) != 0) {
        perror("ea-host: pipe");
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    start_us = host_monotonic_us();
    for (ch = 0; ch < model.channel_count; ch++) {
        host_stage_init(&stages[ch], o.load_ohm[ch], model.compliance_mV,
                        model.max_intensity_uA, 0);
        hal[ch] = host_stage_hal(&stages[ch]);
    }
    rng_hal = host_random_hal(&rng);
    keys_hal = host_keyfile_hal(&keys);
    if (ea_device_init(&device, &model, hal, model.channel_count, &rng_hal,
                       o.key_file != NULL ? &keys_hal : NULL, 0) != EA_OK) {
        fprintf(stderr, "ea-host: error: the core refused the model\n");
        return 1;
    }
    if (o.window_s > 0) {
        ea_device_open_pairing_window(&device, 0, (uint32_t)o.window_s);
    }
    ea_decoder_init(&events);
    printf("%s\n", ep.url);
    fflush(stdout);
    if (o.verbosity >= 1) {
        fprintf(stderr, "INFO serving %.16s (%.16s) on %s: the C core, %u channels\n",
                model.model, model.serial, ep.url, (unsigned)model.channel_count);
        if (o.window_s > 0) {
            fprintf(stderr, "INFO pairing window open for %ld s: pair now\n", o.window_s);
        }
    }
    while (!stop_requested) {
        uint64_t real_us = host_monotonic_us();
        uint64_t now_us, deadline_us, wait_us = 0;
        int has_deadline, top, ready;
        size_t n;
        fd_set readable, writable;
        struct timeval tv;
        if (has_look_by && real_us > look_by_us) {
            uint64_t due_us = look_by_us - start_us - paused_us;
            uint64_t overrun_us = real_us - look_by_us;
            if (pending > 0) {
                uint64_t at_us = due_us > 0u ? due_us - 1u : 0u;
                uint64_t ran_us = ea_device_now_us(&device);
                ea_device_receive(&device, in, pending, at_us > ran_us ? at_us : ran_us);
                pending = 0;
            }
            if (overrun_us > model.check_period_us) {
                paused_us += overrun_us;
                fprintf(stderr,
                        "WARNING the host build did not run for %lu µs past a deadline: the "
                        "device's clock paused meanwhile\n",
                        (unsigned long)overrun_us);
            }
        }
        now_us = real_us - start_us - paused_us;
        if (now_us < ea_device_now_us(&device)) {
            now_us = ea_device_now_us(&device);
        }
        if (pending > 0) {
            ea_device_receive(&device, in, pending, now_us);
            pending = 0;
        } else {
            ea_device_advance(&device, now_us);
        }
        while ((n = ea_device_take_output(&device, out, sizeof out)) > 0) {
            if (o.verbosity >= 1) {
                log_events(&events, out, n, now_us);
            }
            host_send(&ep, out, n);
        }
        has_deadline = ea_device_next_deadline_us(&device, &deadline_us);
        if (has_deadline) {
            wait_us = deadline_us > now_us ? deadline_us - now_us : 0u;
        }
        has_look_by = has_deadline;
        look_by_us = real_us + wait_us;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(wake_pipe[0], &readable);
        top = host_fds(&ep, &readable, &writable);
        if (wake_pipe[0] > top) {
            top = wake_pipe[0];
        }
        tv.tv_sec = (time_t)(wait_us / 1000000u);
        tv.tv_usec = (suseconds_t)(wait_us % 1000000u);
        ready = select(top + 1, &readable, &writable, NULL, has_deadline ? &tv : NULL);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("ea-host: select");
            break;
        }
        if (FD_ISSET(wake_pipe[0], &readable)) {
            char drain[16];
            if (read(wake_pipe[0], drain, sizeof drain) < 0) {
                /* nothing to drain */
            }
        }
        pending = host_on_ready(&ep, &readable, &writable, in, sizeof in);
    }
    if (o.verbosity >= 1) {
        fprintf(stderr, "INFO stopped by signal\n");
    }
    host_close(&ep);
    return 0;
}
