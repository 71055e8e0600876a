/* Unit tests of the core beyond the golden vectors: the stream decoder (chunking, garbage,
 * resync, empty frames), COBS and frame round trips on generated inputs, single-bit damage,
 * SHA-256 block boundaries, the key store, and the receive order's counter and reply cache.
 * Deterministic (a fixed LCG); host-only test code. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ea_auth.h"
#include "ea_cobs.h"
#include "ea_codec.h"
#include "ea_crc.h"
#include "ea_frame.h"
#include "ea_rx.h"

static uint32_t lcg_state = 12345u;

static uint32_t next_random(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u; /* Numerical Recipes LCG */
    return lcg_state >> 8;
}

static const uint8_t KEY[EA_KEY_SIZE] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                         0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                                         0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
                                         0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
static const uint8_t HOST_NONCE[EA_NONCE_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                  9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t DEVICE_NONCE[EA_NONCE_SIZE] = {16, 15, 14, 13, 12, 11, 10, 9,
                                                    8, 7, 6, 5, 4, 3, 2, 1};
#define KEY_ID 0x4B1Du
#define SESSION 0x01020304u

static size_t frame(uint8_t msg_type, uint8_t key_kind, uint32_t session, uint32_t counter,
                    const uint8_t *payload, size_t len, const uint8_t *key, uint8_t *out)
{
    ea_header h;
    size_t n = 0;
    memset(&h, 0, sizeof h);
    h.proto_major = EA_PROTO_MAJOR;
    h.msg_type = msg_type;
    h.key = key_kind;
    h.session_id = session;
    h.counter = counter;
    CHECK(ea_frame_encode(&h, payload, len, key, out, EA_MAX_WIRE_FRAME, &n) == EA_OK,
          "frame encodes");
    return n;
}

static void test_cobs_round_trip(void)
{
    static uint8_t in[700], enc[720], dec[720];
    size_t len, n, m, i;
    int round;
    for (round = 0; round < 400; round++) {
        uint32_t zero_every = 1u + next_random() % 300u;
        len = next_random() % 600u;
        for (i = 0; i < len; i++) {
            in[i] = next_random() % zero_every == 0u ? 0u : (uint8_t)(1u + next_random() % 255u);
        }
        n = ea_cobs_encode(in, len, enc, sizeof enc);
        CHECK(n > 0u && n <= EA_COBS_MAX_ENCODED(len), "cobs length within the bound");
        CHECK(memchr(enc, 0, n) == NULL, "cobs output has no zero");
        CHECK(ea_cobs_decode(enc, n, dec, sizeof dec, &m) == 0 && m == len &&
                  memcmp(dec, in, len) == 0,
              "cobs round trip");
    }
    CHECK(ea_cobs_decode(enc, 0u, dec, sizeof dec, &m) != 0, "empty cobs input refused");
}

static void test_sha256_boundaries(void)
{
    /* FIPS 180-4 examples: "abc", and one million 'a' fed in uneven pieces. */
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t million[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92,
                                        0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
                                        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
                                        0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    uint8_t out[32], again[32];
    static uint8_t chunk[997];
    ea_sha256_ctx ctx;
    size_t done = 0, len;
    ea_sha256((const uint8_t *)"abc", 3u, out);
    CHECK(memcmp(out, abc, 32) == 0, "SHA-256 of abc");
    memset(chunk, 'a', sizeof chunk);
    ea_sha256_init(&ctx);
    while (done < 1000000u) {
        size_t take = 1u + next_random() % sizeof chunk;
        if (take > 1000000u - done) {
            take = 1000000u - done;
        }
        ea_sha256_update(&ctx, chunk, take);
        done += take;
    }
    ea_sha256_final(&ctx, out);
    CHECK(memcmp(out, million, 32) == 0, "SHA-256 of a million a, in pieces");
    /* Around the padding boundary (55, 56, 63, 64, 65 bytes): one-shot equals byte by byte. */
    for (len = 50; len < 70u; len++) {
        size_t i;
        ea_sha256(chunk, len, out);
        ea_sha256_init(&ctx);
        for (i = 0; i < len; i++) {
            ea_sha256_update(&ctx, chunk + i, 1u);
        }
        ea_sha256_final(&ctx, again);
        CHECK(memcmp(out, again, 32) == 0, "SHA-256 one-shot equals byte by byte");
    }
}

static void test_frames_and_stream(void)
{
    static uint8_t stream[8000];
    static uint8_t wire[EA_MAX_WIRE_FRAME];
    static uint8_t payloads[20][EA_MAX_PAYLOAD];
    static size_t lens[20];
    static ea_raw_frame raw;
    ea_frame_decoder d;
    size_t used = 0, i, k;
    size_t frames = 0;
    int errors = 0;
    ea_decoder_init(&d);
    /* Twenty tagged frames with random payloads, garbage and extra delimiters between. */
    for (i = 0; i < 20u; i++) {
        size_t n;
        lens[i] = next_random() % 256u;
        for (k = 0; k < lens[i]; k++) {
            payloads[i][k] = (uint8_t)next_random();
        }
        if (i % 5u == 2u) { /* an oversize run of garbage, then a delimiter */
            for (k = 0; k < 400u; k++) {
                stream[used++] = (uint8_t)(1u + next_random() % 255u);
            }
            stream[used++] = 0u;
        }
        stream[used++] = 0u; /* an empty frame: skipped */
        n = frame(EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION, SESSION, (uint32_t)i + 1u,
                  payloads[i], lens[i], KEY, stream + used);
        used += n;
    }
    for (i = 0, k = 0; i < used; i++) {
        int r = ea_decoder_push(&d, stream[i], &raw);
        if (r == EA_FRAME_OK) {
            CHECK(raw.header.counter == (uint32_t)frames + 1u, "frames in order");
            CHECK(raw.header.payload_len == lens[frames] &&
                      memcmp(EA_RAW_PAYLOAD(&raw), payloads[frames], lens[frames]) == 0,
                  "payload intact through the stream");
            CHECK(ea_frame_authentic(&raw, KEY), "tag verifies");
            frames++;
        } else if (r >= 0) {
            CHECK(r == EA_FRAME_OVERSIZE, "only the garbage runs are refused");
            errors++;
        }
    }
    CHECK(frames == 20u, "every frame out of the stream");
    CHECK(errors == 4 && d.rx_err_count == 4u, "each garbage run counted once");
    CHECK(d.used == 0u, "nothing left buffered");

    /* Every single-bit flip of a tagged frame's wire bytes is refused at checks 1-6. */
    {
        size_t n = frame(EA_MSG_TYPE_SET_INTENSITY, EA_KEY_KIND_SESSION, SESSION, 7u,
                         payloads[0], 5u, KEY, wire);
        size_t byte;
        int bit;
        int refused = 1;
        for (byte = 0; byte + 1u < n; byte++) {
            for (bit = 0; bit < 8; bit++) {
                uint8_t saved = wire[byte];
                wire[byte] = (uint8_t)(saved ^ (1u << bit));
                if (wire[byte] != 0u && ea_frame_parse(wire, n - 1u, &raw) == EA_FRAME_OK) {
                    refused = 0;
                }
                wire[byte] = saved;
            }
        }
        CHECK(refused, "every single-bit flip refused");
    }

    /* Random payloads of every message type never decode out of bounds (sanitize build). */
    for (i = 0; i < 3000u; i++) {
        uint8_t p[EA_MAX_PAYLOAD];
        ea_message m;
        uint8_t field = 0;
        const ea_msg_meta *meta = &EA_MESSAGES[next_random() % EA_MESSAGE_COUNT];
        size_t len = meta->min_size + next_random() % 3u;
        int r;
        for (k = 0; k < len; k++) {
            p[k] = (uint8_t)next_random();
        }
        r = ea_decode_message(meta->msg_type, p, len, &m, &field);
        CHECK(r == EA_OK || r == EA_E_PAYLOAD, "decode returns a payload verdict");
        if (r == EA_OK) {
            uint8_t back[EA_MAX_PAYLOAD];
            size_t n = 0;
            CHECK(ea_encode_message(&m, back, sizeof back, &n) == EA_OK && n == len &&
                      memcmp(back, p, len) == 0,
                  "what decodes encodes to the same bytes");
        }
    }
}

static void receive(ea_rx *rx, const uint8_t *wire, size_t n, ea_rx_result *r)
{
    static ea_raw_frame raw;
    ea_rx_frame(rx, ea_frame_parse(wire, n - 1u, &raw), &raw, r);
    if (r->verdict == EA_RX_EXECUTE && raw.header.key == EA_KEY_KIND_SESSION) {
        (void)ea_rx_cache_put(rx, raw.header.counter, EA_RAW_TAG(&raw), EA_MSG_TYPE_STATUS,
                              NULL, 0u);
    }
}

static void test_key_store_and_session(void)
{
    static ea_rx rx;
    uint8_t wire[EA_MAX_WIRE_FRAME];
    uint8_t first[EA_MAX_WIRE_FRAME];
    uint8_t hello_key[EA_KEY_SIZE];
    uint8_t h2d[EA_KEY_SIZE], d2h[EA_KEY_SIZE];
    uint8_t payload[26];
    ea_hello hello;
    ea_rx_result r;
    size_t n, first_n, len;
    uint32_t c;
    ea_rx_init(&rx);
    CHECK(ea_rx_add_key(&rx, 0u, KEY) < 0, "key_id 0 refused");
    for (c = 1; c <= EA_KEY_SLOTS; c++) {
        CHECK(ea_rx_add_key(&rx, c == 1u ? KEY_ID : 100u + c, KEY) >= 0, "a free slot taken");
    }
    CHECK(ea_rx_add_key(&rx, 999u, KEY) < 0, "a full store refuses");
    CHECK(ea_rx_add_key(&rx, KEY_ID, KEY) < 0, "a held key_id refused");
    CHECK(ea_rx_forget_key(&rx, 102u) == 0 && ea_rx_find_key(&rx, 102u) < 0, "forget");
    CHECK(ea_rx_forget_key(&rx, 102u) != 0, "forget twice");

    /* HELLO under the hello key: executed, naming its key's slot. */
    memset(&hello, 0, sizeof hello);
    hello.key_id = KEY_ID;
    memcpy(hello.host_nonce, HOST_NONCE, EA_NONCE_SIZE);
    hello.lease_ms = 500u;
    hello.schema_hash = EA_SCHEMA_HASH;
    CHECK(ea_encode_hello(&hello, payload, sizeof payload, &len) == EA_OK, "hello encodes");
    ea_hello_key(KEY, hello_key);
    n = frame(EA_MSG_TYPE_HELLO, EA_KEY_KIND_PAIRING, 0u, 1u, payload, len, hello_key, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_EXECUTE && r.key_slot == ea_rx_find_key(&rx, KEY_ID) &&
              r.message.u.hello.lease_ms == 500u,
          "HELLO executed");
    n = frame(EA_MSG_TYPE_HELLO, EA_KEY_KIND_PAIRING, 0u, 1u, payload, len, KEY, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_DROPPED_AUTH && rx.auth_fail_count == 1u,
          "HELLO under the pairing key itself is a bad tag");

    ea_rx_open_session(&rx, ea_rx_find_key(&rx, KEY_ID), HOST_NONCE, DEVICE_NONCE, SESSION);
    ea_session_keys(KEY, HOST_NONCE, DEVICE_NONCE, SESSION, h2d, d2h);
    /* Counters may start anywhere >= 1 and leave gaps. */
    for (c = 10; c < 10u + 2u * 20u; c += 2u) {
        n = frame(EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION, SESSION, c, NULL, 0u, h2d, wire);
        if (c == 10u) {
            memcpy(first, wire, n);
            first_n = n;
        }
        receive(&rx, wire, n, &r);
        CHECK(r.verdict == EA_RX_EXECUTE && rx.session.highest == c, "new counter executed");
        receive(&rx, wire, n, &r);
        CHECK(r.verdict == EA_RX_DUPLICATE && r.ref_counter == c &&
                  rx.session.cache[r.cache_index].counter == c,
              "the same frame again is a duplicate");
    }
    /* 20 commands executed, the cache holds the last 16: the first is now a replay. */
    receive(&rx, first, first_n, &r);
    CHECK(r.verdict == EA_RX_DROPPED_REPLAY && rx.replay_count == 1u,
          "evicted from the cache: a replay");
    /* A gap counter below H, never executed: a replay too. */
    n = frame(EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION, SESSION, 45u, NULL, 0u, h2d, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_DROPPED_REPLAY && rx.replay_count == 2u, "gap below H: replay");
    /* The device->host key never verifies a host frame. */
    n = frame(EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION, SESSION, 100u, NULL, 0u, d2h, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_DROPPED_AUTH && rx.session.highest == 48u,
          "a reflected frame is dropped and uses no counter");
    /* GET_INFO tagged in the session: AUTH_REQUIRED, key 0, no counter used. */
    n = frame(EA_MSG_TYPE_GET_INFO, EA_KEY_KIND_SESSION, SESSION, 101u, NULL, 0u, h2d, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_NAK && r.nak_code == EA_NAK_CODE_AUTH_REQUIRED &&
              r.nak_key == EA_KEY_KIND_NONE && rx.session.highest == 48u,
          "GET_INFO in a session is refused");
    /* A refused command uses its counter: a NAK in the session. */
    payload[0] = 0u;
    payload[1] = 9u; /* STOP mode 9: not a StopMode */
    n = frame(EA_MSG_TYPE_STOP, EA_KEY_KIND_SESSION, SESSION, 102u, payload, 2u, h2d, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_NAK && r.nak_code == EA_NAK_CODE_BAD_PAYLOAD &&
              r.nak_field == 1u && r.nak_key == EA_KEY_KIND_SESSION &&
              rx.session.highest == 102u,
          "bad STOP mode: NAK in the session, counter used");
    /* After the session is closed its frames are NO_SESSION, naming the refused id. */
    ea_rx_close_session(&rx);
    n = frame(EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION, SESSION, 200u, NULL, 0u, h2d, wire);
    receive(&rx, wire, n, &r);
    CHECK(r.verdict == EA_RX_NAK && r.nak_code == EA_NAK_CODE_NO_SESSION &&
              r.nak_session_id == SESSION,
          "closed session: NO_SESSION");
}

int main(void)
{
    test_cobs_round_trip();
    test_sha256_boundaries();
    test_frames_and_stream();
    test_key_store_and_session();
    printf("units: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
