/* The unit suite of the device core (ea_device.h and the modules behind it), on the bench
 * stage of tests/bench.h, with a small host written against the core's own frame, codec and
 * key functions: the integer helpers, ramps and schedule, then whole conversations — HELLO,
 * SET_PROGRAM, START, ramps and STATUS; dense-disperse switching instants; the lease expiry
 * and its closing frames; fault latching, the self-test and its lock-out; counter
 * exhaustion both ways; duplicates answered from the cache; the HELLO retransmission rule;
 * FORGET; the pairing window; the stop button; dose counters; the key-store hooks.
 *
 * Host test code: <stdio.h>. Deterministic (scripted random source, then a fixed LCG). */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "ea_auth.h"
#include "ea_checks.h"
#include "ea_device.h"
#include "ea_dose.h"
#include "ea_schedule.h"
#include "ea_units.h"

static const uint8_t KEY[EA_KEY_SIZE] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                         0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                                         0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
                                         0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
#define KEY_ID 19229u

/* --- a RAM flash behind the key-store hooks ------------------------------------------- */

typedef struct {
    int used[EA_KEY_SLOTS];
    uint32_t key_id[EA_KEY_SLOTS];
    uint8_t key[EA_KEY_SLOTS][EA_KEY_SIZE];
    unsigned stores;
    unsigned erases;
} flash;

static int flash_load(void *ctx, unsigned slot, uint32_t *key_id, uint8_t key[32])
{
    flash *f = (flash *)ctx;
    if (!f->used[slot]) {
        return 0;
    }
    *key_id = f->key_id[slot];
    memcpy(key, f->key[slot], EA_KEY_SIZE);
    return 1;
}

static void flash_store(void *ctx, unsigned slot, uint32_t key_id, const uint8_t key[32])
{
    flash *f = (flash *)ctx;
    f->used[slot] = 1;
    f->key_id[slot] = key_id;
    memcpy(f->key[slot], key, EA_KEY_SIZE);
    f->stores++;
}

static void flash_erase(void *ctx, unsigned slot)
{
    flash *f = (flash *)ctx;
    f->used[slot] = 0;
    f->erases++;
}

/* --- the rig: a device on bench stages, and a host ------------------------------------ */

typedef struct {
    uint8_t msg_type;
    uint8_t key;
    uint32_t session_id;
    uint32_t counter;
    uint32_t ref_counter;
    int authentic;
    ea_message m;
} rx_frame;

typedef struct {
    ea_device dev;
    bench_stage stages[EA_MAX_CHANNELS];
    ea_output_stage hal[EA_MAX_CHANNELS];
    scripted_random rng;
    flash flash;
    ea_model model;
    /* the host */
    uint8_t hello_key[EA_KEY_SIZE];
    uint8_t h2d[EA_KEY_SIZE];
    uint8_t d2h[EA_KEY_SIZE];
    uint32_t session_id;
    uint32_t counter;
    uint8_t last_frame[EA_MAX_WIRE_FRAME];
    size_t last_len;
    /* what the device sent, parsed */
    ea_raw_frame raws[32];
    rx_frame got[32];
    size_t n_got;
} rig;

static rig G;

static const uint32_t RANDOM[] = {0xB72AAB35u, 0xB72C2B71u, 0x017D332Au, 0x7C9AB496u,
                                  0x499DB98Bu, 0x4B2B48B9u};

static void rig_boot(uint8_t channels, uint32_t load_ohm, int with_flash, int foresee)
{
    ea_random rng;
    ea_keystore ks;
    uint8_t i;
    flash saved = G.flash;
    memset(&G, 0, sizeof G);
    if (with_flash) {
        G.flash = saved;
    }
    ea_model_default(&G.model);
    G.model.channel_count = channels;
    for (i = 0; i < channels; i++) {
        bench_stage_init(&G.stages[i], &G.hal[i], load_ohm, G.model.compliance_mV,
                         G.model.max_intensity_uA, foresee);
    }
    G.rng.values = RANDOM;
    G.rng.count = 6;
    G.rng.lcg = 777u;
    rng.random_u32 = scripted_u32;
    rng.ctx = &G.rng;
    ks.load = flash_load;
    ks.store = flash_store;
    ks.erase = flash_erase;
    ks.ctx = &G.flash;
    CHECK(ea_device_init(&G.dev, &G.model, G.hal, channels, &rng, with_flash ? &ks : NULL, 0u) ==
              EA_OK,
          "init");
    ea_hello_key(KEY, G.hello_key);
}

/* Parse everything the device sent since the last call into G.got. */
static size_t collect(void)
{
    uint8_t out[EA_OUTPUT_CAPACITY];
    size_t n = ea_device_take_output(&G.dev, out, sizeof out);
    size_t start = 0;
    size_t i;
    ea_raw_frame raw;
    G.n_got = 0;
    for (i = 0; i < n; i++) {
        rx_frame *f;
        uint8_t field;
        if (out[i] != 0u) {
            continue;
        }
        CHECK(ea_frame_parse(out + start, i - start, &raw) == EA_FRAME_OK, "device frame parses");
        start = i + 1u;
        if (G.n_got >= 32u) {
            continue;
        }
        G.raws[G.n_got] = raw;
        f = &G.got[G.n_got++];
        f->msg_type = raw.header.msg_type;
        f->key = raw.header.key;
        f->session_id = raw.header.session_id;
        f->counter = raw.header.counter;
        f->ref_counter = raw.header.ref_counter;
        f->authentic = raw.header.key == EA_KEY_KIND_SESSION ? ea_frame_authentic(&raw, G.d2h) : 1;
        CHECK(ea_decode_message(raw.header.msg_type, EA_RAW_PAYLOAD(&raw),
                                raw.header.payload_len, &f->m, &field) == EA_OK,
              "device payload decodes");
    }
    CHECK(start == n, "output ends on a delimiter");
    return G.n_got;
}

static void send_bytes(const uint8_t *p, size_t n, uint64_t t_us)
{
    CHECK(ea_device_receive(&G.dev, p, n, t_us) == EA_OK, "receive");
    collect();
}

/* Encode and send m with key kind `key`; returns the counter used. */
static uint32_t send_msg(const ea_message *m, uint8_t key, uint64_t t_us)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    ea_header h;
    const uint8_t *k = NULL;
    CHECK(ea_encode_message(m, payload, sizeof payload, &len) == EA_OK, "host encodes");
    memset(&h, 0, sizeof h);
    h.proto_major = EA_PROTO_MAJOR;
    h.msg_type = m->msg_type;
    h.key = key;
    if (key == EA_KEY_KIND_SESSION) {
        h.session_id = G.session_id;
        h.counter = ++G.counter;
        k = G.h2d;
    } else if (key == EA_KEY_KIND_PAIRING) {
        h.counter = ++G.counter;
        k = G.hello_key;
    } else {
        h.counter = ++G.counter;
    }
    CHECK(ea_frame_encode(&h, payload, len, k, G.last_frame, sizeof G.last_frame, &G.last_len) ==
              EA_OK,
          "host frame");
    send_bytes(G.last_frame, G.last_len, t_us);
    return h.counter;
}

static const rx_frame *find(uint8_t msg_type)
{
    size_t i;
    for (i = 0; i < G.n_got; i++) {
        if (G.got[i].msg_type == msg_type) {
            return &G.got[i];
        }
    }
    return NULL;
}

static const rx_frame *find_event(uint8_t code)
{
    size_t i;
    for (i = 0; i < G.n_got; i++) {
        if (G.got[i].msg_type == EA_MSG_TYPE_EVENT && G.got[i].m.u.event.code == code) {
            return &G.got[i];
        }
    }
    return NULL;
}

static const uint8_t HOST_NONCE[EA_NONCE_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                  9, 10, 11, 12, 13, 14, 15, 16};

static ea_message hello_msg(uint16_t lease_ms)
{
    ea_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_HELLO;
    m.u.hello.key_id = KEY_ID;
    memcpy(m.u.hello.host_nonce, HOST_NONCE, EA_NONCE_SIZE);
    m.u.hello.lease_ms = lease_ms;
    m.u.hello.schema_hash = EA_SCHEMA_HASH;
    return m;
}

/* HELLO under the hello key; on HELLO_ACK the host derives the session keys. */
static int open_session(uint16_t lease_ms, uint64_t t_us)
{
    ea_message m = hello_msg(lease_ms);
    const rx_frame *ack;
    send_msg(&m, EA_KEY_KIND_PAIRING, t_us);
    ack = find(EA_MSG_TYPE_HELLO_ACK);
    if (ack == NULL) {
        return 0;
    }
    G.session_id = ack->m.u.hello_ack.session_id;
    ea_session_keys(KEY, HOST_NONCE, ack->m.u.hello_ack.device_nonce, G.session_id, G.h2d, G.d2h);
    G.got[ack - G.got].authentic = ea_frame_authentic(&G.raws[ack - G.got], G.d2h);
    G.counter = 0;
    return 1;
}

/* A device on bench stages (no flash), the key installed, a session open with a 1 s lease. */
static void rig_in_session(uint8_t channels, uint32_t load_ohm, int foresee)
{
    rig_boot(channels, load_ohm, 0, foresee);
    ea_device_install_key(&G.dev, KEY_ID, KEY);
    open_session(1000, 0);
}

static ea_set_program continuous(uint8_t channel, uint16_t target_uA, uint16_t ramp_up_ms)
{
    ea_set_program p;
    memset(&p, 0, sizeof p);
    p.channel = channel;
    p.mode = EA_MODE_CONTINUOUS;
    p.shape = EA_SHAPE_SYMMETRIC_BIPHASIC;
    p.freq_a_cHz = 1000;
    p.phase_a_us = 200;
    p.asym_ratio = 1;
    p.target_uA = target_uA;
    p.ramp_up_ms = ramp_up_ms;
    p.ramp_down_ms = 1000;
    p.max_run_s = 600;
    return p;
}

static const rx_frame *command(const ea_message *m, uint64_t t_us)
{
    uint32_t counter = send_msg(m, EA_KEY_KIND_SESSION, t_us);
    size_t i;
    for (i = 0; i < G.n_got; i++) {
        if (G.got[i].ref_counter == counter && G.got[i].key == EA_KEY_KIND_SESSION) {
            CHECK(G.got[i].authentic, "reply verifies under the session key");
            CHECK(G.got[i].session_id == G.session_id, "reply in the session");
            return &G.got[i];
        }
    }
    return NULL;
}

static uint32_t program(const ea_set_program *p, uint64_t t_us)
{
    ea_message m;
    const rx_frame *r;
    m.msg_type = EA_MSG_TYPE_SET_PROGRAM;
    m.u.set_program = *p;
    r = command(&m, t_us);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK, "SET_PROGRAM acked");
    return r != NULL ? r->m.u.ack.value : 0u;
}

static const rx_frame *start(uint8_t mask, const uint32_t crc[EA_MAX_CHANNELS], uint64_t t_us)
{
    ea_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_START;
    m.u.start.channel_mask = mask;
    memcpy(m.u.start.program_crc, crc, sizeof m.u.start.program_crc);
    return command(&m, t_us);
}

static const rx_frame *simple(uint8_t msg_type, uint8_t arg, uint64_t t_us)
{
    ea_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = msg_type;
    if (msg_type == EA_MSG_TYPE_STOP) {
        m.u.stop.channel_mask = arg;
        m.u.stop.mode = EA_STOP_MODE_RAMP_DOWN;
    } else if (msg_type == EA_MSG_TYPE_CLEAR_FAULT) {
        m.u.clear_fault.channel_mask = arg;
    } else if (msg_type == EA_MSG_TYPE_GET_DOSE) {
        m.u.get_dose.channel = arg;
    } else if (msg_type == EA_MSG_TYPE_GET_PROGRAM) {
        m.u.get_program.channel = arg;
    }
    return command(&m, t_us);
}

static const rx_frame *heartbeat(uint64_t t_us)
{
    return simple(EA_MSG_TYPE_HEARTBEAT, 0, t_us);
}

static int is_nak(const rx_frame *r, uint8_t code, uint8_t field, uint32_t limit)
{
    if (r == NULL) {
        printf("    (no reply)\n");
    } else if (r->msg_type != EA_MSG_TYPE_NAK || r->m.u.nak.code != code ||
               r->m.u.nak.field != field || r->m.u.nak.limit != limit) {
        printf("    (got type 0x%02X nak %u field %u limit %u)\n", r->msg_type, r->m.u.nak.code,
               r->m.u.nak.field, r->m.u.nak.limit);
    }
    return r != NULL && r->msg_type == EA_MSG_TYPE_NAK && r->m.u.nak.code == code &&
           r->m.u.nak.field == field && r->m.u.nak.limit == limit;
}

/* --- the integer helpers -------------------------------------------------------------- */

static void test_units(void)
{
    ea_ramp r;
    uint64_t t;
    CHECK(ea_floor_div(-7, 2) == -4 && ea_floor_div(7, 2) == 3 && ea_floor_div(-6, 2) == -3,
          "floor_div rounds toward -inf");
    CHECK(ea_ceil_div(7, 2) == 4 && ea_ceil_div(-7, 2) == -3 && ea_ceil_div(6, 2) == 3,
          "ceil_div");
    CHECK(ea_isqrt(0) == 0 && ea_isqrt(15) == 3 && ea_isqrt(16) == 4 &&
              ea_isqrt(UINT64_MAX) == 0xFFFFFFFFu,
          "isqrt");
    /* sqrt(6.25) = 2.5 → 2 (even), sqrt(12.25) = 3.5 → 4, sqrt(6.26) → 3 */
    CHECK(ea_round_sqrt_ratio(625, 100) == 2 && ea_round_sqrt_ratio(1225, 100) == 4 &&
              ea_round_sqrt_ratio(626, 100) == 3 && ea_round_sqrt_ratio(0, 5) == 0,
          "round_sqrt_ratio ties to even");
    CHECK(ea_round_sqrt_ratio(UINT64_MAX, UINT64_MAX) == 1 &&
              ea_round_sqrt_ratio(UINT64_MAX - 1u, 3) == 2479700525u,
          "round_sqrt_ratio without overflow");
    CHECK(ea_tick_at_or_after(5, 10, 10) == 10 && ea_tick_at_or_after(11, 10, 10) == 20 &&
              ea_tick_at_or_after(20, 10, 10) == 20,
          "tick_at_or_after");
    /* a falling ramp floors toward -inf: 1000 → 0 over 3 µs, at 1 µs 1000 + floor(-1000/3) */
    r = ea_ramp_over(0, 1000, 0, 3);
    CHECK(ea_ramp_at(&r, 1) == 666 && ea_ramp_at(&r, 2) == 333 && ea_ramp_at(&r, 3) == 0,
          "falling ramp floors");
    r = ea_ramp_over(100, 0, 1000, 1000);
    CHECK(ea_ramp_at(&r, 50) == 0 && ea_ramp_at(&r, 600) == 500 && ea_ramp_at(&r, 2000) == 1000,
          "rising ramp");
    CHECK(ea_ramp_first_above(&r, 499, &t) && t == 600 && ea_ramp_at(&r, t) == 500 &&
              ea_ramp_at(&r, t - 1u) == 499,
          "first_above is the first instant above");
    CHECK(!ea_ramp_first_above(&r, 1000, &t), "first_above never");
    r = ea_ramp_at_slew(0, 0, 1000, 3000); /* 333 333.3 µs, rounded up */
    CHECK(r.t1_us == 333334u, "at_slew rounds the duration up");
}

static void test_schedule_and_checks(void)
{
    ea_set_program p = continuous(0, 1000, 1000);
    ea_limits lim;
    ea_refusal r;
    uint64_t a;
    uint64_t b;
    ea_device *dev = &G.dev;
    rig_boot(2, 1000, 0, 1);
    (void)dev;
    memset(&lim, 0, sizeof lim);
    lim.max_intensity_uA = 20000;
    lim.min_phase_us = 50;
    lim.max_phase_us = 1000;
    lim.min_freq_cHz = 100;
    lim.max_freq_cHz = 20000;
    lim.max_phase_charge_nC = 10000;
    lim.max_slew_uA_per_s = 5000;
    lim.max_run_s = 3600;
    lim.max_interphase_us = 500;
    lim.max_asym_ratio = 8;
    CHECK(ea_check_program(&lim, &p, &r) == 0, "a sound program passes");
    p.phase_a_us = 1000; /* 10 mA · 1000 µs = 10 µC: 1000 µA fine, 10 001 µA not */
    p.target_uA = 10001;
    p.ramp_up_ms = 5000;
    CHECK(ea_check_program(&lim, &p, &r) == 1 && r.code == EA_NAK_CODE_OUT_OF_RANGE &&
              r.field == 13u && r.limit == 10000u,
          "phase charge bounds the target");
    p = continuous(0, 1000, 100);
    CHECK(ea_check_program(&lim, &p, &r) == 1 && r.field == 14u && r.limit == 200u,
          "ramp_up below the max slew: min ramp in ms");
    p = continuous(0, 1000, 1000);
    p.freq_a_cHz = 20000; /* 5000 µs between onsets; 2 × 1000 + 500 fits */
    p.phase_a_us = 1000;
    p.interphase_us = 500;
    p.target_uA = 100;
    CHECK(ea_check_program(&lim, &p, &r) == 0, "a pulse that fits");
    p.shape = EA_SHAPE_ASYMMETRIC_BIPHASIC;
    p.asym_ratio = 8; /* 1000 · 9 + 500 > 5000: widest (5000 − 500) / 9 = 500 */
    CHECK(ea_check_program(&lim, &p, &r) == 1 && r.field == 4u && r.limit == 500u,
          "a pulse longer than its period");
    p = continuous(0, 1000, 1000);
    p.on_ms = 100;
    CHECK(ea_check_program(&lim, &p, &r) == 1 && r.field == 9u && r.limit == 0u,
          "a field of another mode must be 0");
    p = continuous(0, 1000, 1000);
    p.mode = EA_MODE_DENSE_DISPERSE;
    p.freq_a_cHz = 200;     /* 2 Hz: onsets every 500 ms */
    p.freq_b_cHz = 10000;   /* 100 Hz */
    p.phase_b_us = 200;
    p.dwell_a_ms = 3000;
    p.dwell_b_ms = 3000;
    CHECK(ea_check_program(&lim, &p, &r) == 0, "dense-disperse passes");
    CHECK(ea_boundary_clearance_us(200, 3000, 400) == 500000 - 400, "clearance");
    /* a dwell a whose last pulse runs into dwell b: 2 Hz, last onset at 3 000 000 − 0 µs? use
     * 30 Hz: onsets every 33 333.3 µs; dwell 100 ms: last k = 2 at 66 666 µs, clear. */
    CHECK(ea_phase_at_us(&p, 1000, 1000 + 2999999u) == 200 &&
              ea_phase_at_us(&p, 1000, 1000 + 3000000u) == 200 &&
              ea_freq_at_cHz(&p, 1000, 1000 + 2999999u) == 200 &&
              ea_freq_at_cHz(&p, 1000, 1000 + 3000000u) == 10000 &&
              ea_freq_at_cHz(&p, 1000, 1000 + 6000000u) == 200 &&
              ea_freq_at_cHz(&p, 1000, 999) == 0,
          "dense-disperse switches at the dwell boundary");
    p.phase_b_us = 300;
    CHECK(ea_phase_at_us(&p, 0, 3000000u) == 300 && ea_phase_at_us(&p, 0, 2999999u) == 200,
          "the phase follows the dwell");
    CHECK(ea_time_per_half_us(&p, 0, 1000000u, 8000000u, &a, &b) == 0 && b == 3000000u &&
              a == 4000000u,
          "time per half");
    CHECK(ea_time_per_half_us(&p, 10, 5, 8, &a, &b) == -1, "a window before the start");
    p = continuous(0, 1000, 1000);
    p.mode = EA_MODE_INTERMITTENT;
    p.on_ms = 500;
    p.off_ms = 1500;
    CHECK(ea_check_program(&lim, &p, &r) == 0 && ea_freq_at_cHz(&p, 0, 499999u) == 1000 &&
              ea_freq_at_cHz(&p, 0, 500000u) == 0 && ea_freq_at_cHz(&p, 0, 2000000u) == 1000,
          "intermittent on and off windows");
}

/* --- conversations ---------------------------------------------------------------------- */

static void test_session_and_ramp(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 2000, 1000);
    const rx_frame *r;
    ea_status st;
    uint64_t due;
    ea_message m;
    rig_boot(2, 1000, 0, 1);
    collect();
    CHECK(G.n_got == 1 && G.got[0].msg_type == EA_MSG_TYPE_EVENT &&
              G.got[0].m.u.event.code == EA_EVENT_CODE_REBOOT &&
              G.got[0].m.u.event.detail == RANDOM[0] && G.got[0].key == EA_KEY_KIND_NONE,
          "EVENT REBOOT untagged at power-on");
    CHECK(ea_device_boot_id(&G.dev) == RANDOM[0], "boot id is the first draw");
    CHECK(!ea_device_next_deadline_us(&G.dev, &due), "an idle device has no deadline");
    CHECK(ea_device_install_key(&G.dev, KEY_ID, KEY) == EA_OK, "install");
    /* a HELLO asking for too short a lease */
    m = hello_msg(100);
    send_msg(&m, EA_KEY_KIND_PAIRING, 5000);
    CHECK(G.n_got == 1 && is_nak(&G.got[0], EA_NAK_CODE_OUT_OF_RANGE, 2u, 200u) &&
              G.got[0].key == EA_KEY_KIND_NONE,
          "HELLO lease out of range: NAK untagged");
    CHECK(open_session(1000, 10000), "HELLO_ACK");
    r = find(EA_MSG_TYPE_HELLO_ACK);
    CHECK(r != NULL && r->counter == 1u && r->authentic && r->m.u.hello_ack.lease_ms == 1000 &&
              r->m.u.hello_ack.session_id == RANDOM[1] + 1u &&
              r->m.u.hello_ack.boot_id == RANDOM[0] && r->m.u.hello_ack.channel_count == 2,
          "HELLO_ACK: counter 1, session base + 1, lease, boot id");
    CHECK(ea_device_session_id(&G.dev) == G.session_id && ea_device_lease_valid(&G.dev),
          "session open, lease valid");
    crcs[0] = program(&p, 20000);
    r = simple(EA_MSG_TYPE_GET_PROGRAM, 0, 20000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_PROGRAM && r->m.u.program.program_crc == crcs[0] &&
              r->m.u.program.target_uA == 2000,
          "GET_PROGRAM reads the program back with its CRC");
    r = start(1, crcs, 30000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK && r->m.u.ack.acked_type == EA_MSG_TYPE_START,
          "START acked");
    CHECK(ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_RAMPING && G.stages[0].driving,
          "ramping, the stage driven");
    /* heartbeat halfway up the 1 s ramp: set 1000 µA, measured the same (ideal stage) */
    r = heartbeat(530000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_STATUS, "HEARTBEAT answers STATUS");
    if (r != NULL) {
        const ea_status *s = &r->m.u.status;
        CHECK(s->channels[0].set_uA == 1000 && s->channels[0].measured_uA == 1000 &&
                  s->channels[0].target_uA == 2000 && s->channels[0].impedance_ohm == 1000 &&
                  s->channels[0].freq_cHz == 1000 && s->channels[0].state == EA_CHANNEL_STATE_RAMPING,
              "STATUS halfway up the ramp");
        CHECK(s->flags == (EA_DEVICE_FLAG_SESSION_OPEN | EA_DEVICE_FLAG_LEASE_VALID |
                           EA_DEVICE_FLAG_OUTPUT_ACTIVE) &&
                  s->lease_remaining_ms == 1000 && s->uptime_ms == 530 &&
                  s->last_applied_counter == 3u && s->channels_count == 2,
              "STATUS flags, lease, uptime, last applied (START)");
        CHECK(s->channels[1].state == EA_CHANNEL_STATE_IDLE &&
                  s->channels[1].impedance_ohm == EA_OPEN_OHM,
              "an idle channel reads open");
    }
    /* the ramp ends at 1.03 s: RAMP_DONE then */
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 1030000u,
          "the next deadline is the ramp's end (the lease outlasts it)");
    heartbeat(1000000);
    CHECK(ea_device_advance(&G.dev, 1030000) == EA_OK, "advance");
    collect();
    r = find_event(EA_EVENT_CODE_RAMP_DONE);
    CHECK(r != NULL && r->m.u.event.channel == 0 && r->m.u.event.detail == 2000 &&
              r->m.u.event.uptime_ms == 1030,
          "RAMP_DONE at the ramp's end, in the session");
    CHECK(ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_RUNNING, "running");
    ea_device_status(&G.dev, &st);
    CHECK(st.channels[0].set_uA == 2000, "running at the target");
    /* STOP ramps down over the program's 1 s, from the target */
    r = simple(EA_MSG_TYPE_STOP, 0xFF, 1100000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK, "STOP 0xFF acked");
    r = heartbeat(1350000);
    CHECK(r != NULL && r->m.u.status.channels[0].set_uA == 1500 &&
              r->m.u.status.channels[0].state == EA_CHANNEL_STATE_STOPPING &&
              r->m.u.status.last_applied_counter == 6u,
          "ramping down");
    heartbeat(1800000);
    CHECK(ea_device_advance(&G.dev, 2100000) == EA_OK, "advance");
    collect();
    r = find_event(EA_EVENT_CODE_STOPPED);
    CHECK(r != NULL && r->m.u.event.detail == EA_STOP_CAUSE_RAMP_DOWN &&
              r->m.u.event.uptime_ms == 2100,
          "STOPPED (ramp down) when the ramp reaches 0");
    CHECK(ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_PROGRAMMED && !G.stages[0].driving,
          "programmed again, the stage not driven");
    /* SET_INTENSITY on a channel not running */
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_SET_INTENSITY;
    m.u.set_intensity.channel = 0;
    m.u.set_intensity.target_uA = 100;
    m.u.set_intensity.slew_uA_per_s = 100;
    r = command(&m, 2100000);
    CHECK(is_nak(r, EA_NAK_CODE_BAD_STATE, 0u, EA_CHANNEL_STATE_PROGRAMMED),
          "SET_INTENSITY when not running: BAD_STATE");
    CHECK(ea_device_advance(&G.dev, 2000000) == EA_E_TIME &&
              ea_device_receive(&G.dev, G.last_frame, G.last_len, 1) == EA_E_TIME,
          "time never goes backwards");
}

static void test_set_intensity_and_start_checks(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(1, 1000, 1000);
    const rx_frame *r;
    ea_message m;
    rig_in_session(2, 1000, 1);
    r = start(2, crcs, 0);
    CHECK(is_nak(r, EA_NAK_CODE_NO_PROGRAM, 2u, 0u), "START without a program: field 1 + ch");
    crcs[1] = program(&p, 0);
    crcs[0] = 5;
    r = start(2, crcs, 0);
    CHECK(is_nak(r, EA_NAK_CODE_BAD_PAYLOAD, 1u, 0u), "a CRC for an unmasked channel");
    crcs[0] = 0;
    {
        uint32_t none[EA_MAX_CHANNELS] = {0};
        r = start(0, crcs, 0);
        CHECK(is_nak(r, EA_NAK_CODE_BAD_PAYLOAD, 2u, 0u), "a CRC for channel 1, unmasked, first");
        r = start(0, none, 0);
        CHECK(is_nak(r, EA_NAK_CODE_BAD_PAYLOAD, 0u, 0u), "an empty mask");
        r = start(4, none, 0);
        CHECK(is_nak(r, EA_NAK_CODE_BAD_CHANNEL, 0u, 2u), "a mask beyond the channels");
    }
    crcs[1] ^= 1u;
    r = start(2, crcs, 0);
    CHECK(is_nak(r, EA_NAK_CODE_PROGRAM_MISMATCH, 2u, crcs[1] ^ 1u), "PROGRAM_MISMATCH");
    crcs[1] ^= 1u;
    r = start(2, crcs, 10000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK, "START");
    r = start(2, crcs, 20000);
    CHECK(is_nak(r, EA_NAK_CODE_BAD_STATE, 2u, EA_CHANNEL_STATE_RAMPING), "START twice");
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_SET_INTENSITY;
    m.u.set_intensity.channel = 1;
    m.u.set_intensity.target_uA = 1500;
    m.u.set_intensity.slew_uA_per_s = 6000;
    r = command(&m, 510000);
    CHECK(is_nak(r, EA_NAK_CODE_OUT_OF_RANGE, 2u, 5000u), "slew above the max");
    m.u.set_intensity.slew_uA_per_s = 1000;
    r = command(&m, 510000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK, "SET_INTENSITY");
    /* from 500 µA (halfway) to 1500 µA at 1000 µA/s: 1 s */
    heartbeat(900000);
    r = simple(EA_MSG_TYPE_GET_PROGRAM, 1, 1010000);
    {
        ea_status st;
        ea_device_status(&G.dev, &st);
        CHECK(st.channels[1].set_uA == 1000 && st.channels[1].target_uA == 1500,
              "slewing toward the new target");
    }
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_STOP;
    m.u.stop.channel_mask = 2;
    m.u.stop.mode = EA_STOP_MODE_IMMEDIATE;
    r = command(&m, 1020000);
    CHECK(find_event(EA_EVENT_CODE_STOPPED) != NULL &&
              find_event(EA_EVENT_CODE_STOPPED)->m.u.event.detail == EA_STOP_CAUSE_IMMEDIATE,
          "STOP immediate: STOPPED (immediate) at once");
    (void)r;
}

static void test_dense_disperse_status(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 1000, 500);
    const rx_frame *r;
    rig_in_session(1, 1000, 1);
    p.mode = EA_MODE_DENSE_DISPERSE;
    p.freq_a_cHz = 200;
    p.freq_b_cHz = 10000;
    p.phase_b_us = 100;
    p.dwell_a_ms = 1000;
    p.dwell_b_ms = 2000;
    crcs[0] = program(&p, 0);
    start(1, crcs, 100000);
    heartbeat(900000);
    r = heartbeat(1099999);
    CHECK(r != NULL && r->m.u.status.channels[0].freq_cHz == 200, "dwell a just before 1 s");
    r = heartbeat(1100000);
    CHECK(r != NULL && r->m.u.status.channels[0].freq_cHz == 10000, "dwell b from 1 s");
    heartbeat(2000000);
    heartbeat(2900000);
    r = heartbeat(3099999);
    CHECK(r != NULL && r->m.u.status.channels[0].freq_cHz == 10000, "dwell b until 3 s");
    r = heartbeat(3100000);
    CHECK(r != NULL && r->m.u.status.channels[0].freq_cHz == 200, "dwell a again at 3 s");
    CHECK(G.stages[0].driving && G.stages[0].drive.run_start_us == 100000u &&
              G.stages[0].drive.program->dwell_b_ms == 2000,
          "the stage's drive names the program and run start");
}

static void test_lease_expiry(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 1000, 1000);
    const rx_frame *r;
    uint64_t due;
    size_t i;
    rig_boot(2, 1000, 0, 1);
    ea_device_install_key(&G.dev, KEY_ID, KEY);
    open_session(500, 3000); /* lease to 503 000 µs */
    crcs[0] = program(&p, 3000);
    start(1, crcs, 3000);
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 510000u,
          "the deadline is the first check at or after the expiry");
    /* a replayed (duplicate) HEARTBEAT does not renew; a new one does */
    heartbeat(400000);
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 900000u, "renewed to 900 ms");
    send_bytes(G.last_frame, G.last_len, 450000);
    CHECK(G.n_got == 1 && G.got[0].msg_type == EA_MSG_TYPE_STATUS &&
              G.got[0].m.u.status.lease_remaining_ms == 500,
          "a duplicate HEARTBEAT gets the cached STATUS again");
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 900000u,
          "and does not renew the lease");
    CHECK(ea_device_advance(&G.dev, 899999) == EA_OK && collect() == 0, "nothing before");
    CHECK(ea_device_advance(&G.dev, 900000) == EA_OK, "advance");
    collect();
    CHECK(G.n_got == 4, "four closing frames");
    if (G.n_got != 4) {
        for (i = 0; i < G.n_got; i++) {
            printf("    got 0x%02X event %u\n", G.got[i].msg_type, G.got[i].m.u.event.code);
        }
    }
    if (G.n_got == 4) {
        CHECK(G.got[0].m.u.event.code == EA_EVENT_CODE_LEASE_EXPIRED &&
                  G.got[0].m.u.event.detail == 1u && G.got[0].m.u.event.channel == EA_NO_CHANNEL,
              "LEASE_EXPIRED names the channels stopped");
        CHECK(G.got[1].m.u.event.code == EA_EVENT_CODE_STOPPED &&
                  G.got[1].m.u.event.detail == EA_STOP_CAUSE_LEASE,
              "STOPPED (lease)");
        CHECK(G.got[2].m.u.event.code == EA_EVENT_CODE_SESSION_CLOSED &&
                  G.got[2].m.u.event.detail == EA_SESSION_CLOSED_LEASE,
              "SESSION_CLOSED (lease)");
        CHECK(G.got[3].msg_type == EA_MSG_TYPE_STATUS && G.got[3].ref_counter == 0u &&
                  !(G.got[3].m.u.status.flags & EA_DEVICE_FLAG_SESSION_OPEN) &&
                  !(G.got[3].m.u.status.flags & EA_DEVICE_FLAG_OUTPUT_ACTIVE) &&
                  (G.got[3].m.u.status.flags & EA_DEVICE_FLAG_FAULT_LATCHED) &&
                  G.got[3].m.u.status.last_applied_counter == 0u &&
                  G.got[3].m.u.status.channels[0].faults == EA_FAULT_LEASE,
              "the closing STATUS: outputs off, LEASE latched");
        for (i = 0; i < 4; i++) {
            CHECK(G.got[i].authentic && G.got[i].session_id == G.session_id,
                  "closing frames in the session's keys");
        }
    }
    r = heartbeat(910000);
    CHECK(G.n_got == 1 && G.got[0].key == EA_KEY_KIND_NONE &&
              is_nak(&G.got[0], EA_NAK_CODE_NO_SESSION, EA_NO_FIELD, 0u) &&
              G.got[0].session_id == G.session_id,
          "the session is closed for good: NO_SESSION naming it");
    (void)r;
}

static void test_faults_and_self_test(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 1000, 200);
    const rx_frame *r;
    rig_in_session(2, 1000, 0); /* a board's stages: every grid instant checked */
    crcs[0] = program(&p, 0);
    p.channel = 1;
    crcs[1] = program(&p, 0);
    start(3, crcs, 0);
    heartbeat(200000);
    ea_device_advance(&G.dev, 205000);
    G.stages[0].contact_lost = 1; /* no hardware_changed: a board's checks sample anyway */
    ea_device_advance(&G.dev, 215000);
    collect();
    r = find_event(EA_EVENT_CODE_ELECTRODE_FAULT);
    CHECK(r != NULL && r->m.u.event.channel == 0 && r->m.u.event.detail == EA_OPEN_OHM &&
              r->m.u.event.uptime_ms == 210,
          "ELECTRODE_FAULT at the next grid instant");
    CHECK(G.n_got == 2 && G.got[1].m.u.event.code == EA_EVENT_CODE_STOPPED &&
              G.got[1].m.u.event.detail == EA_STOP_CAUSE_FAULT,
          "then STOPPED (fault)");
    CHECK(ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_FAULT &&
              ea_device_channel_faults(&G.dev, 0) == EA_FAULT_ELECTRODE &&
              ea_device_channel_state(&G.dev, 1) == EA_CHANNEL_STATE_RUNNING,
          "latched on channel 0 only");
    simple(EA_MSG_TYPE_STOP, 2, 220000);
    heartbeat(1000000);
    ea_device_advance(&G.dev, 2000000);
    collect();
    heartbeat(2000000);
    {
        uint32_t only0[EA_MAX_CHANNELS] = {0};
        only0[0] = crcs[0];
        r = start(1, only0, 2000000);
        CHECK(is_nak(r, EA_NAK_CODE_FAULT_LATCHED, 1u, EA_FAULT_ELECTRODE), "START on a fault");
    }
    p.channel = 0;
    {
        ea_message m;
        m.msg_type = EA_MSG_TYPE_SET_PROGRAM;
        m.u.set_program = p;
        r = command(&m, 2000000);
        CHECK(is_nak(r, EA_NAK_CODE_FAULT_LATCHED, 0u, EA_FAULT_ELECTRODE), "SET_PROGRAM on a fault");
    }
    /* re-clipped but the stage sticks: the clear's self-test fails, locked until power cycle */
    G.stages[0].contact_lost = 0;
    G.stages[0].stuck_uA = 800;
    r = simple(EA_MSG_TYPE_CLEAR_FAULT, 1, 2000000);
    CHECK(is_nak(r, EA_NAK_CODE_SELF_TEST_FAILED, 0u, 800u), "CLEAR_FAULT: self-test failed");
    CHECK(!G.stages[0].relay_closed, "the relay stays open");
    CHECK(ea_device_channel_faults(&G.dev, 0) == (EA_FAULT_ELECTRODE | EA_FAULT_STUCK_OUTPUT),
          "STUCK_OUTPUT latched too");
    G.stages[0].stuck_uA = 0;
    r = simple(EA_MSG_TYPE_CLEAR_FAULT, 1, 2000000);
    CHECK(is_nak(r, EA_NAK_CODE_SELF_TEST_FAILED, 0u, 800u),
          "failed once: refused until a power cycle, the test not run again");
    r = simple(EA_MSG_TYPE_CLEAR_FAULT, 4, 2000000);
    CHECK(is_nak(r, EA_NAK_CODE_BAD_CHANNEL, 0u, 2u), "CLEAR_FAULT beyond the channels");
    /* a power cycle: the lock-out is gone, the power-on self-test passes */
    CHECK(ea_device_reboot(&G.dev, 3000000) == EA_OK, "reboot");
    collect();
    CHECK(G.n_got == 1 && G.got[0].m.u.event.code == EA_EVENT_CODE_REBOOT &&
              G.got[0].m.u.event.detail == ea_device_boot_id(&G.dev) &&
              ea_device_boot_id(&G.dev) != RANDOM[0],
          "REBOOT with a new boot id");
    if (G.n_got != 1) {
        size_t k;
        for (k = 0; k < G.n_got; k++) {
            printf("    got 0x%02X event %u ch %u\n", G.got[k].msg_type, G.got[k].m.u.event.code, G.got[k].m.u.event.channel);
        }
    }
    CHECK(ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_IDLE &&
              G.stages[0].relay_closed && ea_device_session_id(&G.dev) == 0u,
          "after the power cycle: idle, relay closed, no session");
    /* a stage stuck at power-on boots in FAULT, relay open */
    G.stages[1].stuck_uA = 300;
    ea_device_reboot(&G.dev, 3000000); /* at once: no periodic check finds it first */
    collect();
    CHECK(G.n_got == 2 && G.got[1].m.u.event.code == EA_EVENT_CODE_STUCK_OUTPUT &&
              G.got[1].m.u.event.channel == 1 && G.got[1].m.u.event.detail == 300,
          "power-on self-test: STUCK_OUTPUT");
    CHECK(ea_device_channel_state(&G.dev, 1) == EA_CHANNEL_STATE_FAULT && !G.stages[1].relay_closed,
          "boots in FAULT with its relay open");
}

static void test_stuck_while_running_and_compliance(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 5000, 1000);
    const rx_frame *r;
    uint64_t due;
    /* 10 kΩ: 60 V / 10 kΩ = 6 mA; a 5 mA target fits, SET_INTENSITY to 8 mA crosses it */
    rig_in_session(1, 10000, 1);
    crcs[0] = program(&p, 0);
    start(1, crcs, 0);
    {
        heartbeat(900000);
    }
    ea_device_advance(&G.dev, 1000000);
    collect();
    {
        ea_message m;
        memset(&m, 0, sizeof m);
        m.msg_type = EA_MSG_TYPE_SET_INTENSITY;
        m.u.set_intensity.channel = 0;
        m.u.set_intensity.target_uA = 8000;
        m.u.set_intensity.slew_uA_per_s = 5000;
        r = command(&m, 1000000);
        CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK, "SET_INTENSITY 8 mA");
    }
    /* 5000 → 8000 at 5 mA/s: above 6000 from 1.2 s + 1 µs; the check at 1.21 s finds it */
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 1210000u,
          "the deadline is the check that finds the compliance fault");
    ea_device_advance(&G.dev, 1210000);
    collect();
    r = find_event(EA_EVENT_CODE_COMPLIANCE);
    CHECK(r != NULL && r->m.u.event.detail == 6000u && r->m.u.event.uptime_ms == 1210,
          "COMPLIANCE with the limit");
    CHECK(ea_device_channel_faults(&G.dev, 0) == EA_FAULT_COMPLIANCE, "latched");
    /* a stage that sticks on an idle channel: found at the next check, relay opened */
    G.stages[0].relay_closed = 1;
    G.stages[0].stuck_uA = 50;
    ea_device_hardware_changed(&G.dev);
    CHECK(ea_device_next_deadline_us(&G.dev, &due) && due == 1220000u, "the next check");
    ea_device_advance(&G.dev, 1220000);
    collect();
    r = find_event(EA_EVENT_CODE_STUCK_OUTPUT);
    CHECK(r != NULL && r->m.u.event.detail == 50u && !G.stages[0].relay_closed,
          "STUCK_OUTPUT: the relay opened");
}

static void test_cache_and_replay(void)
{
    const rx_frame *r;
    ea_message m;
    uint8_t first[EA_MAX_WIRE_FRAME];
    size_t first_len;
    uint32_t tx_before;
    int i;
    ea_counters c;
    rig_in_session(1, 1000, 1);
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_GET_STATUS;
    r = command(&m, 1000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_STATUS && r->m.u.status.uptime_ms == 1,
          "GET_STATUS");
    tx_before = r->counter;
    memcpy(first, G.last_frame, G.last_len);
    first_len = G.last_len;
    send_bytes(first, first_len, 5000);
    CHECK(G.n_got == 1 && G.got[0].ref_counter == 1u && G.got[0].counter == tx_before + 1u &&
              G.got[0].m.u.status.uptime_ms == 1 && G.got[0].authentic,
          "a duplicate: the cached reply (old uptime), a new device counter, the same ref");
    /* 16 more commands push counter 1 out of the cache: then it is a replay */
    for (i = 0; i < 16; i++) {
        command(&m, 6000);
    }
    send_bytes(first, first_len, 7000);
    ea_device_counters(&G.dev, &c);
    CHECK(G.n_got == 0 && c.replay_count == 1u, "evicted: a replay, dropped and counted");
    /* a frame with a bad tag */
    G.last_frame[G.last_len - 8u] ^= 0x01u; /* inside the tag/CRC: CRC fails → rx_err */
    send_bytes(G.last_frame, G.last_len, 8000);
    ea_device_counters(&G.dev, &c);
    CHECK(G.n_got == 0 && c.rx_err_count == 1u, "a damaged frame is counted, not answered");
    /* the same HELLO again: its HELLO_ACK again, the same session */
    {
        ea_message h = hello_msg(1000);
        uint32_t session = G.session_id;
        uint8_t hello_frame[EA_MAX_WIRE_FRAME];
        size_t hello_len;
        G.counter = 100; /* another HELLO than the first (which had counter 1) */
        send_msg(&h, EA_KEY_KIND_PAIRING, 9000);
        memcpy(hello_frame, G.last_frame, G.last_len);
        hello_len = G.last_len;
        r = find(EA_MSG_TYPE_HELLO_ACK);
        CHECK(r != NULL && r->m.u.hello_ack.session_id != session,
              "a new HELLO (new counter) replaces an idle session");
        CHECK(find_event(EA_EVENT_CODE_SESSION_CLOSED) != NULL &&
                  find_event(EA_EVENT_CODE_SESSION_CLOSED)->m.u.event.detail ==
                      EA_SESSION_CLOSED_REPLACED &&
                  find_event(EA_EVENT_CODE_SESSION_CLOSED)->session_id == session,
              "the old session is told it was replaced, in its keys");
        session = r->m.u.hello_ack.session_id;
        send_bytes(hello_frame, hello_len, 10000);
        CHECK(G.n_got == 1 && G.got[0].msg_type == EA_MSG_TYPE_HELLO_ACK &&
                  G.got[0].m.u.hello_ack.session_id == session && G.got[0].counter == 2u,
              "a retransmitted HELLO: HELLO_ACK again, counter 2, no new session");
        CHECK(G.rng.used == 2u + 4u + 4u, "draws: boot 2, two sessions 4 each");
    }
}

static void test_counter_exhaustion(void)
{
    ea_message m;
    const rx_frame *r;
    rig_in_session(1, 1000, 1);
    /* the device's own counter: the reply that reaches 2^32 − 1 − 16 ends the session */
    G.dev.tx_counter = EA_U32 - EA_TX_RESERVE - 1u;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_GET_STATUS;
    r = command(&m, 1000);
    CHECK(r != NULL && r->counter == EA_U32 - EA_TX_RESERVE, "the reply uses the counter");
    CHECK(G.n_got == 3 && G.got[1].m.u.event.code == EA_EVENT_CODE_SESSION_CLOSED &&
              G.got[1].m.u.event.detail == EA_SESSION_CLOSED_COUNTER_EXHAUSTED &&
              G.got[2].msg_type == EA_MSG_TYPE_STATUS && G.got[2].counter == EA_U32 - 14u &&
              G.got[2].authentic,
          "then SESSION_CLOSED and the closing STATUS, within the reserve");
    CHECK(ea_device_session_id(&G.dev) == 0u, "closed");
    /* the host's counter 0xFFFFFFFF: never executed, the session ends */
    open_session(1000, 2000);
    G.counter = EA_U32 - 1u;
    m.msg_type = EA_MSG_TYPE_STOP;
    m.u.stop.channel_mask = 1;
    command(&m, 3000);
    CHECK(G.n_got == 2 && G.got[0].m.u.event.code == EA_EVENT_CODE_SESSION_CLOSED &&
              G.got[0].m.u.event.detail == EA_SESSION_CLOSED_COUNTER_EXHAUSTED &&
              G.got[1].msg_type == EA_MSG_TYPE_STATUS,
          "host counter 0xFFFFFFFF: SESSION_CLOSED, STATUS, no ACK");
}

static void test_pairing_forget_and_flash(void)
{
    ea_message m;
    const rx_frame *r;
    uint32_t key_id;
    memset(&G.flash, 0, sizeof G.flash);
    rig_boot(1, 1000, 1, 1);
    collect();
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_PAIR;
    send_msg(&m, EA_KEY_KIND_NONE, 1000);
    CHECK(G.n_got == 1 && is_nak(&G.got[0], EA_NAK_CODE_PAIRING_CLOSED, EA_NO_FIELD, 0u),
          "PAIR outside the window");
    CHECK(ea_device_open_pairing_window(&G.dev, 2000, 3601) == EA_E_VALUE, "window too long");
    CHECK(ea_device_open_pairing_window(&G.dev, 2000, 30) == EA_OK, "the pairing button");
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_GET_INFO;
    send_msg(&m, EA_KEY_KIND_NONE, 3000);
    CHECK(G.n_got == 1 && G.got[0].msg_type == EA_MSG_TYPE_INFO &&
              G.got[0].m.u.info.flags == EA_INFO_FLAG_PAIRING_WINDOW &&
              G.got[0].ref_counter == G.counter,
          "INFO shows the window");
    m.msg_type = EA_MSG_TYPE_PAIR;
    send_msg(&m, EA_KEY_KIND_NONE, 4000);
    r = find(EA_MSG_TYPE_PAIR_ACK);
    CHECK(r != NULL && r->m.u.pair_ack.key_id == RANDOM[2] &&
              r->m.u.pair_ack.pairing_key[0] == (uint8_t)RANDOM[3] &&
              memcmp(r->m.u.pair_ack.serial, "SIM-000001", 10) == 0,
          "PAIR_ACK: key id and key from the random source, the serial");
    key_id = r != NULL ? r->m.u.pair_ack.key_id : 0u;
    CHECK(G.flash.stores == 1u && G.flash.used[0] && G.flash.key_id[0] == key_id,
          "the key was stored through the hook");
    CHECK(!ea_device_pairing_window_open(&G.dev), "one pairing per window");
    /* a power cycle keeps the keys (loaded from flash at init) */
    rig_boot(1, 1000, 1, 1);
    CHECK(ea_device_key_held(&G.dev, key_id) && ea_device_key_count(&G.dev) == 1u,
          "the key survives a power cycle through the load hook");
    /* FORGET the session's own key: ACK, then SESSION_CLOSED (forgotten) */
    CHECK(ea_device_install_key(&G.dev, KEY_ID, KEY) == EA_OK, "install");
    open_session(1000, 0);
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_FORGET;
    m.u.forget.key_id = 12345u;
    r = command(&m, 1000);
    CHECK(is_nak(r, EA_NAK_CODE_NOT_PAIRED, 0u, 0u), "FORGET an unknown key");
    m.u.forget.key_id = KEY_ID;
    r = command(&m, 2000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK && G.n_got == 2 &&
              G.got[1].m.u.event.code == EA_EVENT_CODE_SESSION_CLOSED &&
              G.got[1].m.u.event.detail == EA_SESSION_CLOSED_FORGOTTEN,
          "FORGET its own key: ACK, then SESSION_CLOSED (forgotten)");
    CHECK(!ea_device_key_held(&G.dev, KEY_ID) && G.flash.erases == 1u, "erased through the hook");
    {
        ea_message h = hello_msg(1000);
        send_msg(&h, EA_KEY_KIND_PAIRING, 3000);
        CHECK(G.n_got == 1 && is_nak(&G.got[0], EA_NAK_CODE_NOT_PAIRED, 0u, 0u),
              "HELLO under a forgotten key: NOT_PAIRED");
    }
}

static void test_stop_button_and_dose(void)
{
    uint32_t crcs[EA_MAX_CHANNELS] = {0};
    ea_set_program p = continuous(0, 1000, 1000);
    const rx_frame *r;
    rig_in_session(2, 1000, 1);
    crcs[0] = program(&p, 0);
    start(1, crcs, 0);
    G.stages[0].pending.pulses_a = 42;
    G.stages[0].pending.on_time_us = 4000;
    G.stages[0].pending.time_a_us = 4200;
    G.stages[0].pending.charge_pos_nC = 123456789012ull;
    G.stages[0].pending.peak_uA = 70000; /* clipped to u16 in DOSE */
    G.stages[0].pending.square_uA2_us = 4000ull * 250000ull; /* rms 500 µA */
    r = simple(EA_MSG_TYPE_GET_DOSE, 0, 100000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_DOSE && r->m.u.dose.pulses_a == 42 &&
              r->m.u.dose.time_a_ms == 4 && r->m.u.dose.on_time_ms == 4 &&
              r->m.u.dose.charge_pos_nC == 123456789012ull && r->m.u.dose.peak_uA == 65535 &&
              r->m.u.dose.rms_uA == 500,
          "GET_DOSE: the stage's reading added up and clipped");
    r = simple(EA_MSG_TYPE_GET_DOSE, 0, 110000);
    CHECK(r != NULL && r->m.u.dose.pulses_a == 42, "totals persist between readings");
    r = simple(EA_MSG_TYPE_GET_DOSE, 2, 110000);
    CHECK(is_nak(r, EA_NAK_CODE_BAD_CHANNEL, 0u, 2u), "GET_DOSE beyond the channels");
    CHECK(ea_device_press_stop_button(&G.dev, 200000) == EA_OK, "the stop button");
    collect();
    CHECK(G.n_got == 2 && G.got[0].m.u.event.code == EA_EVENT_CODE_BUTTON_STOP &&
              G.got[0].m.u.event.detail == 1u && G.got[1].m.u.event.code == EA_EVENT_CODE_STOPPED,
          "BUTTON_STOP names the channels, then STOPPED");
    CHECK(ea_device_channel_faults(&G.dev, 0) == EA_FAULT_BUTTON_STOP && !G.stages[0].driving,
          "BUTTON_STOP latched, the output off");
    r = simple(EA_MSG_TYPE_CLEAR_FAULT, 3, 300000);
    CHECK(r != NULL && r->msg_type == EA_MSG_TYPE_ACK && r->m.u.ack.value == 1u &&
              ea_device_channel_state(&G.dev, 0) == EA_CHANNEL_STATE_PROGRAMMED,
          "CLEAR_FAULT after a passing self-test: ACK names the channels cleared");
    /* HELLO while an output is active: BAD_STATE */
    start(1, crcs, 300000);
    {
        ea_message h = hello_msg(1000);
        h.u.hello.host_nonce[0] ^= 1u;
        send_msg(&h, EA_KEY_KIND_PAIRING, 310000);
        CHECK(G.n_got == 1 && is_nak(&G.got[0], EA_NAK_CODE_BAD_STATE, EA_NO_FIELD,
                                     EA_CHANNEL_STATE_RAMPING),
              "a second HELLO cannot take over a running stimulation");
    }
}

static void test_model_and_init(void)
{
    ea_model m;
    ea_device *dev = &G.dev;
    ea_output_stage hal[1];
    bench_stage s;
    ea_random rng;
    scripted_random sr;
    ea_model_default(&m);
    CHECK(ea_model_check(&m) == EA_OK, "the reference model");
    m.compliance_mV = 500001;
    CHECK(ea_model_check(&m) == EA_E_VALUE, "compliance above 500 V");
    ea_model_default(&m);
    m.min_lease_ms = 2000;
    CHECK(ea_model_check(&m) == EA_E_VALUE, "min lease above max");
    ea_model_default(&m);
    m.reply_cache_size = EA_REPLY_WINDOW + 1u;
    CHECK(ea_model_check(&m) == EA_E_VALUE, "cache beyond this core's");
    ea_model_default(&m);
    memset(m.serial, 0, sizeof m.serial);
    CHECK(ea_model_check(&m) == EA_E_VALUE, "an empty serial");
    ea_model_default(&m);
    m.check_period_us = 10001;
    CHECK(ea_model_check(&m) == EA_E_VALUE, "checks slower than 100 Hz");
    ea_model_default(&m);
    m.channel_count = 1;
    memset(&sr, 0, sizeof sr);
    rng.random_u32 = scripted_u32;
    rng.ctx = &sr;
    bench_stage_init(&s, &hal[0], 1000, m.compliance_mV, m.max_intensity_uA, 1);
    CHECK(ea_device_init(dev, &m, hal, 2, &rng, NULL, 0) == EA_E_VALUE, "n != channel_count");
    hal[0].dc_uA = NULL;
    CHECK(ea_device_init(dev, &m, hal, 1, &rng, NULL, 0) == EA_E_VALUE, "a missing hook");
    CHECK(ea_device_size() == sizeof(ea_device), "ea_device_size");
}

static void test_reply_cache_size(void)
{
    ea_message m;
    uint8_t first[EA_MAX_WIRE_FRAME];
    size_t len;
    int i;
    ea_counters c;
    /* a model keeping 2 replies: the third command evicts the first */
    memset(&G, 0, sizeof G);
    rig_boot(1, 1000, 0, 1);
    G.model.reply_cache_size = 2;
    {
        ea_random rng;
        rng.random_u32 = scripted_u32;
        rng.ctx = &G.rng;
        G.rng.used = 0;
        CHECK(ea_device_init(&G.dev, &G.model, G.hal, 1, &rng, NULL, 0) == EA_OK, "init");
    }
    ea_device_install_key(&G.dev, KEY_ID, KEY);
    open_session(1000, 0);
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_GET_STATUS;
    command(&m, 1000);
    memcpy(first, G.last_frame, G.last_len);
    len = G.last_len;
    command(&m, 1000);
    send_bytes(first, len, 1000);
    CHECK(G.n_got == 1, "within 2: answered again");
    for (i = 0; i < 2; i++) {
        command(&m, 1000);
    }
    send_bytes(first, len, 1000);
    ea_device_counters(&G.dev, &c);
    CHECK(G.n_got == 0 && c.replay_count == 1u, "beyond 2: a replay");
}

int main(void)
{
    test_units();
    test_schedule_and_checks();
    test_session_and_ramp();
    test_set_intensity_and_start_checks();
    test_dense_disperse_status();
    test_lease_expiry();
    test_faults_and_self_test();
    test_stuck_while_running_and_compliance();
    test_cache_and_replay();
    test_counter_exhaustion();
    test_pairing_forget_and_flash();
    test_stop_button_and_dose();
    test_model_and_init();
    test_reply_cache_size();
    printf("device: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
