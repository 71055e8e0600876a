/* libFuzzer target: bytes through the stream decoder and the device's receive order (checks
 * 1-12) in a session-open state. The first input byte picks how the rest is read, so that
 * random inputs get past the CRC and the tag: 0, the raw byte stream; 1, frame bodies (header,
 * payload, tag) that get a correct CRC and COBS; 2, the same with a correct session tag too,
 * so counters, the reply cache and the payload checks are reached. Every verdict must be a
 * defined one; ASan and UBSan catch the rest.
 *
 *   make -C firmware fuzz                 bounded run (FUZZ_RUNS inputs)
 *   make -C firmware fuzz FUZZ_RUNS=-1    until stopped (by hand) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ea_auth.h"
#include "ea_cobs.h"
#include "ea_crc.h"
#include "ea_frame.h"
#include "ea_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[EA_KEY_SIZE] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                         0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                                         0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
                                         0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};

static ea_rx rx;
static ea_frame_decoder dec;
static ea_raw_frame raw;

static void feed(const uint8_t *data, size_t size)
{
    ea_rx_result r;
    size_t i;
    for (i = 0; i < size; i++) {
        int parse = ea_decoder_push(&dec, data[i], &raw);
        if (parse < 0) {
            continue;
        }
        ea_rx_frame(&rx, (ea_frame_error)parse, &raw, &r);
        if (r.verdict == EA_RX_EXECUTE && raw.header.key == EA_KEY_KIND_SESSION) {
            (void)ea_rx_cache_put(&rx, raw.header.counter, EA_RAW_TAG(&raw), 0x89u,
                                  EA_RAW_PAYLOAD(&raw),
                                  raw.header.payload_len > EA_MAX_REPLY_PAYLOAD
                                      ? EA_MAX_REPLY_PAYLOAD
                                      : raw.header.payload_len);
        }
        if (r.verdict > EA_RX_EXECUTE || dec.used > sizeof dec.buffer) {
            __builtin_trap();
        }
    }
}

/* Mode 1 and 2: each piece (a length byte, then that many bytes) is one frame body. */
static void feed_bodies(const uint8_t *data, size_t size, int tagged)
{
    size_t at = 0;
    while (at < size) {
        uint8_t body[EA_MAX_FRAME];
        uint8_t wire[EA_MAX_WIRE_FRAME];
        size_t len = data[at++];
        size_t n;
        uint32_t crc;
        if (len > size - at) {
            len = size - at;
        }
        if (len > EA_HEADER_SIZE + EA_MAX_PAYLOAD) {
            len = EA_HEADER_SIZE + EA_MAX_PAYLOAD;
        }
        memcpy(body, data + at, len);
        at += len;
        n = len;
        if (tagged && n >= EA_HEADER_SIZE) {
            body[0] = EA_PROTO_MAJOR;
            body[4] = EA_KEY_KIND_SESSION;
            body[5] = 1u; /* the open session's id, 1 */
            body[6] = body[7] = body[8] = 0u;
            body[17] = (uint8_t)(n - EA_HEADER_SIZE);
            ea_tag(rx.session.host_to_device, body, n, body + n);
            n += EA_TAG_SIZE;
        }
        crc = ea_crc32c(body, n);
        body[n] = (uint8_t)crc;
        body[n + 1u] = (uint8_t)(crc >> 8);
        body[n + 2u] = (uint8_t)(crc >> 16);
        body[n + 3u] = (uint8_t)(crc >> 24);
        n = ea_cobs_encode(body, n + EA_CRC_SIZE, wire, sizeof wire - 1u);
        wire[n] = 0u;
        feed(wire, n + 1u);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t nonce[EA_NONCE_SIZE] = {0};
    ea_rx_init(&rx);
    (void)ea_rx_add_key(&rx, 0x4B1Du, KEY);
    ea_rx_open_session(&rx, 0, nonce, nonce, 1u);
    ea_decoder_init(&dec);
    if (size == 0u) {
        return 0;
    }
    if (data[0] % 3u == 0u) {
        feed(data + 1, size - 1u);
    } else {
        feed_bodies(data + 1, size - 1u, data[0] % 3u == 2u);
    }
    return 0;
}
