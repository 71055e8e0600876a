/* libFuzzer target: the whole device core (ea_device.h) on bench stages, driven by a script
 * the input encodes, with a session opened by a real HELLO so that fuzzed commands carry a
 * correct session tag and reach the command handlers (PROTOCOL.md check 13).
 *
 * Each step takes an opcode byte and its arguments:
 *   0  a command frame: msg_type, counter step (0 repeats the last: a duplicate or a
 *      replay), payload length and bytes, tagged in the session
 *   1  a SET_PROGRAM built from fuzzed fields (mostly within the limits, sometimes raw),
 *      a START naming its CRC (so runs actually start), perhaps a SET_INTENSITY
 *   2  time passes (u16 ms), the device advancing through its checks
 *   3  the hardware changes: a lead off or back, a stuck stage or a repair
 *   4  the stop button, a power cycle, the pairing window, a new HELLO
 *   5  raw bytes on the wire (the stream decoder)
 * After every step the safety invariants are checked, and a violation traps:
 *   - a channel the core drives is active, and a stage is driven only by an active channel;
 *   - an active channel has an open session whose lease has not been expired for a whole
 *     check period (the lease is enforced within one check of its expiry);
 *   - the set value never exceeds max_intensity_uA nor the program's phase-charge bound;
 *   - every frame the device sends parses and, in the session, verifies.
 *
 *   make -C firmware fuzz                 bounded run of both targets (FUZZ_RUNS inputs)
 *   make -C firmware fuzz FUZZ_RUNS=-1    until stopped (by hand) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "ea_auth.h"
#include "ea_core.h"
#include "ea_device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHANNELS 2u
#define KEY_ID 0x4B1Du

static const uint8_t KEY[EA_KEY_SIZE] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                         0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                                         0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
                                         0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};

static ea_device dev;
static bench_stage stages[CHANNELS];
static scripted_random rng;
static uint8_t hello_key[EA_KEY_SIZE];
static uint8_t h2d[EA_KEY_SIZE];
static uint8_t d2h[EA_KEY_SIZE];
static uint32_t session_id;
static uint32_t counter;
static uint64_t now_us;
static uint8_t nonce_seed;
static ea_raw_frame raw;

typedef struct {
    const uint8_t *p;
    size_t n;
} cursor;

static uint8_t u8(cursor *c)
{
    uint8_t v;
    if (c->n == 0u) {
        return 0u;
    }
    v = *c->p++;
    c->n--;
    return v;
}

static uint16_t u16(cursor *c)
{
    uint16_t lo = u8(c);
    return (uint16_t)(lo | (uint16_t)(u8(c) << 8));
}

/* Take the device's output: every frame parses; in the session, HELLO_ACK gives the keys
 * and every other key-2 frame verifies under them. */
static void drain(void)
{
    uint8_t out[EA_OUTPUT_CAPACITY];
    size_t n = ea_device_take_output(&dev, out, sizeof out);
    size_t start = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        ea_message m;
        uint8_t field;
        if (out[i] != 0u) {
            continue;
        }
        if (ea_frame_parse(out + start, i - start, &raw) != EA_FRAME_OK ||
            ea_decode_message(raw.header.msg_type, EA_RAW_PAYLOAD(&raw), raw.header.payload_len,
                              &m, &field) != EA_OK) {
            __builtin_trap();
        }
        start = i + 1u;
        if (raw.header.key != EA_KEY_KIND_SESSION) {
            continue;
        }
        if (m.msg_type == EA_MSG_TYPE_HELLO_ACK && raw.header.session_id != session_id) {
            uint8_t host_nonce[EA_NONCE_SIZE];
            memset(host_nonce, nonce_seed, sizeof host_nonce);
            session_id = m.u.hello_ack.session_id;
            ea_session_keys(KEY, host_nonce, m.u.hello_ack.device_nonce, session_id, h2d, d2h);
            counter = 0;
        }
        if (raw.header.session_id == session_id && !ea_frame_authentic(&raw, d2h)) {
            __builtin_trap();
        }
    }
    if (start != n) {
        __builtin_trap();
    }
}

static void send(uint8_t msg_type, uint8_t key, const uint8_t *payload, size_t len)
{
    uint8_t wire[EA_MAX_WIRE_FRAME];
    size_t n = 0;
    ea_header h;
    memset(&h, 0, sizeof h);
    h.proto_major = EA_PROTO_MAJOR;
    h.msg_type = msg_type;
    h.key = key;
    h.session_id = key == EA_KEY_KIND_SESSION ? session_id : 0u;
    h.counter = counter;
    if (ea_frame_encode(&h, payload, len,
                        key == EA_KEY_KIND_SESSION ? h2d
                        : key == EA_KEY_KIND_PAIRING ? hello_key
                                                     : NULL,
                        wire, sizeof wire, &n) == EA_OK) {
        (void)ea_device_receive(&dev, wire, n, now_us);
    }
    drain();
}

static void send_message(const ea_message *m, uint8_t key)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    if (ea_encode_message(m, payload, sizeof payload, &len) == EA_OK) {
        counter++;
        send(m->msg_type, key, payload, len);
    }
}

static void hello(uint16_t lease_ms)
{
    ea_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_HELLO;
    m.u.hello.key_id = KEY_ID;
    nonce_seed++;
    memset(m.u.hello.host_nonce, nonce_seed, EA_NONCE_SIZE);
    m.u.hello.lease_ms = lease_ms;
    m.u.hello.schema_hash = EA_SCHEMA_HASH;
    send_message(&m, EA_KEY_KIND_PAIRING);
}

/* A field value: mostly within [low, low + span) (so programs pass the checks and runs
 * start), sometimes the raw u16 (so the refusals are reached too). */
static uint16_t ranged(cursor *c, int raw_values, uint32_t low, uint32_t span)
{
    uint16_t v = u16(c);
    return raw_values ? v : (uint16_t)(low + v % span);
}

static void program_and_start(cursor *c)
{
    ea_message m;
    uint8_t flags = u8(c);
    uint8_t ch = (uint8_t)(flags % CHANNELS);
    int raw_values = (flags & 0x80u) != 0u;
    ea_set_program *p = &m.u.set_program;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_SET_PROGRAM;
    p->channel = ch;
    p->mode = (uint8_t)(u8(c) % 3u);
    p->shape = (uint8_t)(u8(c) % 2u);
    p->freq_a_cHz = ranged(c, raw_values, 100u, 19901u);
    p->phase_a_us = ranged(c, raw_values, 50u, 200u);
    if (p->mode == EA_MODE_DENSE_DISPERSE) {
        p->freq_b_cHz = ranged(c, raw_values, 100u, 19901u);
        p->phase_b_us = ranged(c, raw_values, 50u, 200u);
        p->dwell_a_ms = ranged(c, raw_values, 100u, 3000u);
        p->dwell_b_ms = ranged(c, raw_values, 100u, 3000u);
    } else if (p->mode == EA_MODE_INTERMITTENT) {
        p->on_ms = ranged(c, raw_values, 100u, 3000u);
        p->off_ms = ranged(c, raw_values, 100u, 3000u);
    }
    p->interphase_us = ranged(c, raw_values, 0u, 100u);
    p->asym_ratio = (uint8_t)(p->shape == EA_SHAPE_SYMMETRIC_BIPHASIC ? 1u : 2u + u8(c) % 7u);
    p->target_uA = ranged(c, raw_values, 0u, 8000u);
    p->ramp_up_ms = ranged(c, raw_values, 1600u, 3000u);
    p->ramp_down_ms = ranged(c, raw_values, 0u, 3000u);
    p->max_run_s = (uint16_t)(1u + u8(c) % 8u);
    send_message(&m, EA_KEY_KIND_SESSION);
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_START;
    m.u.start.channel_mask = (uint8_t)(1u << ch);
    m.u.start.program_crc[ch] = dev.channels[ch].program_crc;
    send_message(&m, EA_KEY_KIND_SESSION);
    if (flags & 0x40u) { /* and change its intensity */
        memset(&m, 0, sizeof m);
        m.msg_type = EA_MSG_TYPE_SET_INTENSITY;
        m.u.set_intensity.channel = ch;
        m.u.set_intensity.target_uA = ranged(c, raw_values, 0u, 12000u);
        m.u.set_intensity.slew_uA_per_s = ranged(c, raw_values, 1u, 6000u);
        send_message(&m, EA_KEY_KIND_SESSION);
    }
}

static void invariants(void)
{
    ea_limits limits;
    uint8_t i;
    ea_dev_limits(&dev, &limits);
    for (i = 0; i < CHANNELS; i++) {
        const ea_channel *ch = &dev.channels[i];
        int active = ea_channel_active(ch);
        int32_t set_uA = ea_channel_set_uA(ch, dev.now_us);
        if (stages[i].driving != active) {
            __builtin_trap(); /* the stage is driven exactly while the channel is active */
        }
        if (!active) {
            continue;
        }
        if (!dev.session_open ||
            dev.now_us >= dev.lease_expires_us + dev.model.check_period_us) {
            __builtin_trap(); /* an output outlived its lease by a whole check period */
        }
        if (set_uA < 0 || (uint32_t)set_uA > dev.model.max_intensity_uA ||
            (uint32_t)set_uA > ea_max_target_uA(&limits, &ch->program)) {
            __builtin_trap(); /* above the device's limit or the program's phase charge */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ea_model model;
    ea_output_stage hal[CHANNELS];
    ea_random random;
    cursor c;
    uint8_t i;
    int steps = 0;
    c.p = data;
    c.n = size;
    ea_model_default(&model);
    model.channel_count = CHANNELS;
    for (i = 0; i < CHANNELS; i++) {
        bench_stage_init(&stages[i], &hal[i], 1000u + 9000u * i, model.compliance_mV,
                         model.max_intensity_uA, (size > 0u && (data[0] & 1u)));
    }
    memset(&rng, 0, sizeof rng);
    rng.lcg = 1u;
    random.random_u32 = scripted_u32;
    random.ctx = &rng;
    now_us = 0;
    counter = 0;
    session_id = 0;
    nonce_seed = 0;
    if (ea_device_init(&dev, &model, hal, CHANNELS, &random, NULL, 0u) != EA_OK ||
        ea_device_install_key(&dev, KEY_ID, KEY) != EA_OK) {
        __builtin_trap();
    }
    ea_hello_key(KEY, hello_key);
    drain();
    hello(1000);
    while (c.n > 0u && steps++ < 64) {
        uint8_t op = (uint8_t)(u8(&c) % 6u);
        if (op == 0u) {
            uint8_t payload[EA_MAX_PAYLOAD];
            uint8_t msg_type = u8(&c);
            uint8_t step = u8(&c) % 4u;
            size_t len = u8(&c);
            size_t k;
            if (len > c.n) {
                len = c.n;
            }
            for (k = 0; k < len; k++) {
                payload[k] = u8(&c);
            }
            counter += step;
            send(msg_type % 16u == 15u ? msg_type : (uint8_t)(msg_type % 16u),
                 EA_KEY_KIND_SESSION, payload, len);
        } else if (op == 1u) {
            program_and_start(&c);
        } else if (op == 2u) {
            now_us += (uint64_t)u16(&c) * 1000u;
            (void)ea_device_advance(&dev, now_us);
            drain();
        } else if (op == 3u) {
            uint8_t what = u8(&c);
            uint8_t ch = (uint8_t)(what % CHANNELS);
            if (what & 0x10u) {
                stages[ch].contact_lost = (what & 0x20u) != 0u;
            } else {
                stages[ch].stuck_uA = (what & 0x20u) ? u8(&c) : 0u;
            }
            ea_device_hardware_changed(&dev);
        } else if (op == 4u) {
            uint8_t what = u8(&c) % 4u;
            if (what == 0u) {
                (void)ea_device_press_stop_button(&dev, now_us);
            } else if (what == 1u) {
                (void)ea_device_reboot(&dev, now_us);
                session_id = 0;
            } else if (what == 2u) {
                (void)ea_device_open_pairing_window(&dev, now_us, u8(&c));
            } else {
                hello((uint16_t)(150u + u8(&c) * 4u));
            }
            drain();
        } else {
            size_t len = u8(&c);
            if (len > c.n) {
                len = c.n;
            }
            (void)ea_device_receive(&dev, c.p, len, now_us);
            c.p += len;
            c.n -= len;
            drain();
        }
        invariants();
    }
    return 0;
}
