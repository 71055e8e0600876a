/* The golden vectors of firmware_protocol/vectors/ through the C core (PROTOCOL.md §9.1):
 * CRC-32C and COBS (crc.json), RFC 5869 HKDF, RFC 4231 HMAC and the derived keys (auth.json),
 * every valid frame both ways (messages.json), every invalid frame refused with its outcome
 * (invalid.json), and the schema hash recomputed from the generated descriptors.
 *
 * Host-only test code: it uses <stdio.h>, which the core itself never does. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ea_auth.h"
#include "ea_cobs.h"
#include "ea_codec.h"
#include "ea_crc.h"
#include "ea_frame.h"
#include "ea_rx.h"
#include "ea_vectors.h"

static const uint8_t *key_bytes(int key)
{
    switch (key) {
    case KEY_HELLO:
        return TEST_HELLO_KEY;
    case KEY_H2D:
        return TEST_H2D_KEY;
    case KEY_D2H:
        return TEST_D2H_KEY;
    default:
        return NULL;
    }
}

static void test_crc_cobs(void)
{
    size_t i;
    uint8_t buf[600];
    size_t n;
    for (i = 0; i < COUNT(CRC_CASES); i++) {
        const crc_case *c = &CRC_CASES[i];
        CHECK_IN(ea_crc32c(c->data, c->len) == c->crc, "crc32c", "crc.json");
        /* In two pieces: the streaming form agrees. */
        CHECK_IN(ea_crc32c_update(ea_crc32c(c->data, c->len / 2u), c->data + c->len / 2u,
                                  c->len - c->len / 2u) == c->crc,
                 "crc32c_update", "crc.json");
    }
    for (i = 0; i < COUNT(COBS_CASES); i++) {
        const cobs_case *c = &COBS_CASES[i];
        n = ea_cobs_encode(c->dec, c->dec_len, buf, sizeof buf);
        CHECK_IN(n == c->enc_len && memcmp(buf, c->enc, n) == 0, "cobs encode", "crc.json");
        CHECK_IN(ea_cobs_encode(c->dec, c->dec_len, buf, c->enc_len - 1u) == 0u,
                 "cobs encode refuses a short buffer", "crc.json");
        CHECK_IN(ea_cobs_decode(c->enc, c->enc_len, buf, sizeof buf, &n) == 0 && n == c->dec_len &&
                     memcmp(buf, c->dec, n) == 0,
                 "cobs decode", "crc.json");
    }
}

static void test_auth(void)
{
    size_t i;
    uint8_t out[EA_SHA256_SIZE * 4u];
    uint8_t h2d[EA_KEY_SIZE];
    uint8_t d2h[EA_KEY_SIZE];
    for (i = 0; i < COUNT(HKDF_CASES); i++) {
        const hkdf_case *c = &HKDF_CASES[i];
        ea_hkdf_extract(c->salt, c->salt_len, c->ikm, c->ikm_len, out);
        CHECK_IN(memcmp(out, c->prk, EA_SHA256_SIZE) == 0, "HKDF PRK", "RFC 5869");
        CHECK_IN(ea_hkdf(c->salt, c->salt_len, c->ikm, c->ikm_len, c->info, c->info_len, out,
                         c->okm_len) == 0 &&
                     memcmp(out, c->okm, c->okm_len) == 0,
                 "HKDF OKM", "RFC 5869");
    }
    for (i = 0; i < COUNT(HMAC_CASES); i++) {
        const hmac_case *c = &HMAC_CASES[i];
        ea_hmac_sha256(c->key, c->key_len, c->data, c->data_len, out);
        CHECK_IN(memcmp(out, c->mac, c->mac_len) == 0, "HMAC-SHA-256", "RFC 4231");
    }
    ea_hello_key(TEST_PAIRING_KEY, out);
    CHECK_IN(memcmp(out, TEST_HELLO_KEY, EA_KEY_SIZE) == 0, "hello key", "auth.json");
    ea_session_keys(TEST_PAIRING_KEY, TEST_HOST_NONCE, TEST_DEVICE_NONCE, TEST_SESSION_ID, h2d,
                    d2h);
    CHECK_IN(memcmp(h2d, TEST_H2D_KEY, EA_KEY_SIZE) == 0, "host->device key", "auth.json");
    CHECK_IN(memcmp(d2h, TEST_D2H_KEY, EA_KEY_SIZE) == 0, "device->host key", "auth.json");
}

static void test_schema_hash(void)
{
    uint32_t crc = ea_crc32c((const uint8_t *)EA_SCHEMA_PREFIX, strlen(EA_SCHEMA_PREFIX));
    size_t i;
    for (i = 0; i < EA_MESSAGE_COUNT; i++) {
        const char *d = EA_MESSAGES[i].descriptor;
        if (i > 0u) {
            crc = ea_crc32c_update(crc, (const uint8_t *)"\n", 1u);
        }
        crc = ea_crc32c_update(crc, (const uint8_t *)d, strlen(d));
        CHECK_IN(i == 0u || EA_MESSAGES[i - 1u].msg_type < EA_MESSAGES[i].msg_type,
                 "descriptors in ascending msg_type order", "schema.json");
    }
    CHECK_IN(crc == EA_SCHEMA_HASH, "schema hash from the descriptors", "schema.json");
}

static int header_equal(const ea_header *a, const ea_header *b)
{
    return a->proto_major == b->proto_major && a->incompat_flags == b->incompat_flags &&
           a->compat_flags == b->compat_flags && a->msg_type == b->msg_type &&
           a->key == b->key && a->session_id == b->session_id && a->counter == b->counter &&
           a->ref_counter == b->ref_counter && a->payload_len == b->payload_len;
}

static void test_messages(void)
{
    size_t i;
    for (i = 0; i < COUNT(MESSAGE_CASES); i++) {
        const message_case *c = &MESSAGE_CASES[i];
        static ea_raw_frame raw;
        ea_message decoded;
        uint8_t payload[EA_MAX_PAYLOAD];
        uint8_t wire[EA_MAX_WIRE_FRAME];
        size_t payload_len = 0;
        size_t wire_len = 0;
        uint8_t field = 0;
        const uint8_t *key = key_bytes(c->key);
        uint32_t crc;

        /* Decode: checks 1-6, tag, header, payload, CRC, fields. */
        CHECK_IN(c->wire[c->wire_len - 1u] == 0u, "ends with the delimiter", c->name);
        CHECK_IN(ea_frame_parse(c->wire, c->wire_len - 1u, &raw) == EA_FRAME_OK, "parses", c->name);
        CHECK_IN(header_equal(&raw.header, &c->header), "header", c->name);
        CHECK_IN(raw.header.payload_len == c->payload_len &&
                     memcmp(EA_RAW_PAYLOAD(&raw), c->payload, c->payload_len) == 0,
                 "payload bytes", c->name);
        CHECK_IN(raw.tag_len == c->tag_len && memcmp(EA_RAW_TAG(&raw), c->tag, c->tag_len) == 0,
                 "tag bytes", c->name);
        crc = (uint32_t)raw.bytes[raw.signed_len + raw.tag_len] |
              ((uint32_t)raw.bytes[raw.signed_len + raw.tag_len + 1u] << 8) |
              ((uint32_t)raw.bytes[raw.signed_len + raw.tag_len + 2u] << 16) |
              ((uint32_t)raw.bytes[raw.signed_len + raw.tag_len + 3u] << 24);
        CHECK_IN(crc == c->crc, "CRC", c->name);
        if (key != NULL) {
            CHECK_IN(ea_frame_authentic(&raw, key), "tag verifies under its key", c->name);
            CHECK_IN(!ea_frame_authentic(&raw, c->key == KEY_H2D ? TEST_D2H_KEY : TEST_H2D_KEY),
                     "tag fails under another key", c->name);
        }
        memset(&decoded, 0, sizeof decoded);
        CHECK_IN(ea_decode_message(raw.header.msg_type, EA_RAW_PAYLOAD(&raw),
                                   raw.header.payload_len, &decoded, &field) == EA_OK,
                 "decodes", c->name);
        CHECK_IN(message_equal(&decoded, &c->message), "fields", c->name);

        /* Encode: the vector's fields, header and key give exactly its bytes. */
        CHECK_IN(ea_encode_message(&c->message, payload, sizeof payload, &payload_len) == EA_OK &&
                     payload_len == c->payload_len && memcmp(payload, c->payload, payload_len) == 0,
                 "encodes the payload", c->name);
        CHECK_IN(ea_frame_encode(&c->header, payload, payload_len, key, wire, sizeof wire,
                                 &wire_len) == EA_OK &&
                     wire_len == c->wire_len && memcmp(wire, c->wire, wire_len) == 0,
                 "encodes the frame", c->name);
        /* A buffer one byte short is refused, never overrun. */
        CHECK_IN(ea_frame_encode(&c->header, payload, payload_len, key, wire, c->wire_len - 1u,
                                 &wire_len) == EA_E_SPACE,
                 "short frame buffer refused", c->name);
        if (payload_len > 0u) {
            CHECK_IN(ea_encode_message(&c->message, payload, c->payload_len - 1u, &payload_len) ==
                         EA_E_SPACE,
                     "short payload buffer refused", c->name);
            /* Every wrong length is refused naming no field (a group's count aside). */
            CHECK_IN(ea_decode_message(c->header.msg_type, c->payload, c->payload_len - 1u,
                                       &decoded, &field) == EA_E_PAYLOAD,
                     "a payload one byte short is refused", c->name);
        }
    }
}

/* The receiver states of invalid.json. */
static void state_no_session(ea_rx *rx)
{
    ea_rx_init(rx);
    (void)ea_rx_add_key(rx, TEST_KEY_ID, TEST_PAIRING_KEY);
}

static void state_open(ea_rx *rx)
{
    uint32_t n;
    state_no_session(rx);
    ea_rx_open_session(rx, ea_rx_find_key(rx, TEST_KEY_ID), TEST_HOST_NONCE, TEST_DEVICE_NONCE,
                       TEST_SESSION_ID);
    /* Host counters 1..40 executed, each a GET_STATUS; the window keeps 25..40. */
    for (n = 1; n <= 40u; n++) {
        ea_header h = {EA_PROTO_MAJOR, 0u, 0u, EA_MSG_TYPE_GET_STATUS, EA_KEY_KIND_SESSION,
                       TEST_SESSION_ID, 0u, 0u, 0u};
        uint8_t wire[EA_MAX_WIRE_FRAME];
        size_t len;
        static ea_raw_frame raw;
        ea_rx_result r;
        h.counter = n;
        (void)ea_frame_encode(&h, NULL, 0u, TEST_H2D_KEY, wire, sizeof wire, &len);
        ea_rx_frame(rx, ea_frame_parse(wire, len - 1u, &raw), &raw, &r);
        CHECK_IN(r.verdict == EA_RX_EXECUTE, "state set-up: GET_STATUS executed", "session_open");
        (void)ea_rx_cache_put(rx, n, EA_RAW_TAG(&raw), EA_MSG_TYPE_STATUS, NULL, 0u);
    }
}

static void apply_invalid(const invalid_case *c, int state)
{
    static ea_rx rx;
    static ea_raw_frame raw;
    ea_frame_decoder dec;
    ea_rx_result r;
    size_t i;
    int parse = -1;
    uint32_t auth_before;
    uint32_t replay_before;
    if (state == STATE_OPEN) {
        state_open(&rx);
    } else {
        state_no_session(&rx);
    }
    auth_before = rx.auth_fail_count;
    replay_before = rx.replay_count;
    /* Through the stream decoder, byte by byte, as a device receives. */
    ea_decoder_init(&dec);
    for (i = 0; i < c->wire_len; i++) {
        int got = ea_decoder_push(&dec, c->wire[i], &raw);
        if (got >= 0) {
            CHECK_IN(parse < 0, "one frame per vector", c->name);
            parse = got;
        }
    }
    CHECK_IN(parse >= 0, "the vector ends a frame", c->name);
    ea_rx_frame(&rx, (ea_frame_error)parse, &raw, &r);
    CHECK_IN(r.verdict == c->verdict, "outcome", c->name);
    CHECK_IN((dec.rx_err_count == 1u) == (c->verdict == EA_RX_COUNTED), "rx_err_count", c->name);
    CHECK_IN((rx.auth_fail_count == auth_before + 1u) == (c->verdict == EA_RX_DROPPED_AUTH),
             "auth_fail_count", c->name);
    CHECK_IN((rx.replay_count == replay_before + 1u) == (c->verdict == EA_RX_DROPPED_REPLAY),
             "replay_count", c->name);
    if (c->verdict == EA_RX_NAK) {
        CHECK_IN(r.nak_code == c->nak_code, "NAK code", c->name);
        CHECK_IN(r.nak_field == c->nak_field, "NAK field", c->name);
        CHECK_IN(r.nak_key == c->nak_key, "NAK key kind", c->name);
    }
}

static void test_invalid(void)
{
    size_t i;
    for (i = 0; i < COUNT(INVALID_CASES); i++) {
        const invalid_case *c = &INVALID_CASES[i];
        if (c->state == STATE_ANY) {
            /* The outcome does not depend on the state: check it in both. */
            apply_invalid(c, STATE_NO_SESSION);
            apply_invalid(c, STATE_OPEN);
        } else {
            apply_invalid(c, c->state);
        }
    }
}

int main(void)
{
    test_crc_cobs();
    test_auth();
    test_schema_hash();
    test_messages();
    test_invalid();
    printf("vectors: %u crc, %u cobs, %u hkdf, %u hmac, %u messages, %u invalid; %d checks, "
           "%d failed\n",
           (unsigned)COUNT(CRC_CASES), (unsigned)COUNT(COBS_CASES), (unsigned)COUNT(HKDF_CASES),
           (unsigned)COUNT(HMAC_CASES), (unsigned)COUNT(MESSAGE_CASES),
           (unsigned)COUNT(INVALID_CASES), checks, failures);
    return failures == 0 ? 0 : 1;
}
