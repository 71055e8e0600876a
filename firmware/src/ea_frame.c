#include "ea_frame.h"

#include <string.h>

#include "ea_codec.h"
#include "ea_crc.h"
#include "ea_wire.h"

int ea_frame_encode(const ea_header *h, const uint8_t *payload, size_t payload_len,
                    const uint8_t key[EA_KEY_SIZE], uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t body[EA_MAX_FRAME];
    size_t n = EA_HEADER_SIZE;
    size_t encoded;
    if (payload_len > EA_MAX_PAYLOAD || (h->key == EA_KEY_KIND_NONE) != (key == NULL) ||
        h->key > EA_KEY_KIND_SESSION) {
        return EA_E_VALUE;
    }
    body[0] = h->proto_major;
    body[1] = h->incompat_flags;
    body[2] = h->compat_flags;
    body[3] = h->msg_type;
    body[4] = h->key;
    ea_put_u32(body + 5, h->session_id);
    ea_put_u32(body + 9, h->counter);
    ea_put_u32(body + 13, h->ref_counter);
    body[17] = (uint8_t)payload_len;
    if (payload_len > 0u) {
        memcpy(body + n, payload, payload_len);
        n += payload_len;
    }
    if (key != NULL) {
        ea_tag(key, body, n, body + n);
        n += EA_TAG_SIZE;
    }
    ea_put_u32(body + n, ea_crc32c(body, n));
    n += EA_CRC_SIZE;
    encoded = ea_cobs_encode(body, n, out, cap);
    if (encoded == 0u || encoded >= cap) {
        return EA_E_SPACE;
    }
    out[encoded] = 0u;
    *out_len = encoded + 1u;
    return EA_OK;
}

ea_frame_error ea_frame_parse(const uint8_t *encoded, size_t len, ea_raw_frame *raw)
{
    size_t n;
    size_t tag_len;
    ea_header *h = &raw->header;
    if (len > EA_MAX_ENCODED_FRAME) { /* check 1 */
        return EA_FRAME_OVERSIZE;
    }
    if (ea_cobs_decode(encoded, len, raw->bytes, sizeof raw->bytes, &n) != 0) { /* check 2 */
        return EA_FRAME_COBS;
    }
    if (n < EA_MIN_FRAME) { /* check 3 */
        return EA_FRAME_TRUNCATED;
    }
    if (ea_crc32c(raw->bytes, n - EA_CRC_SIZE) != ea_get_u32(raw->bytes + n - EA_CRC_SIZE)) {
        return EA_FRAME_CRC; /* check 4 */
    }
    h->proto_major = raw->bytes[0];
    if (h->proto_major != EA_PROTO_MAJOR) { /* check 5 */
        return EA_FRAME_VERSION;
    }
    h->incompat_flags = raw->bytes[1];
    h->compat_flags = raw->bytes[2];
    h->msg_type = raw->bytes[3];
    h->key = raw->bytes[4];
    h->session_id = ea_get_u32(raw->bytes + 5);
    h->counter = ea_get_u32(raw->bytes + 9);
    h->ref_counter = ea_get_u32(raw->bytes + 13);
    h->payload_len = raw->bytes[17];
    if (h->key == EA_KEY_KIND_NONE) { /* check 6 */
        tag_len = 0u;
    } else if (h->key == EA_KEY_KIND_PAIRING || h->key == EA_KEY_KIND_SESSION) {
        tag_len = EA_TAG_SIZE;
    } else {
        return EA_FRAME_LENGTH;
    }
    if (n < EA_MIN_FRAME + tag_len ||
        (size_t)h->payload_len != n - EA_HEADER_SIZE - tag_len - EA_CRC_SIZE) {
        return EA_FRAME_LENGTH;
    }
    raw->signed_len = EA_HEADER_SIZE + h->payload_len;
    raw->tag_len = tag_len;
    return EA_FRAME_OK;
}

int ea_frame_authentic(const ea_raw_frame *raw, const uint8_t key[EA_KEY_SIZE])
{
    uint8_t expected[EA_TAG_SIZE];
    if (raw->tag_len != EA_TAG_SIZE) {
        return 0;
    }
    ea_tag(key, raw->bytes, raw->signed_len, expected);
    return ea_tag_equal(expected, EA_RAW_TAG(raw));
}

void ea_decoder_init(ea_frame_decoder *d)
{
    d->used = 0;
    d->discarding = 0;
    d->rx_err_count = 0;
}

int ea_decoder_push(ea_frame_decoder *d, uint8_t byte, ea_raw_frame *raw)
{
    ea_frame_error err;
    if (byte == 0u) {
        size_t used = d->used;
        d->used = 0;
        if (d->discarding) {
            d->discarding = 0;
            return -1;
        }
        if (used == 0u) {
            return -1; /* an empty frame (repeated delimiters) */
        }
        err = ea_frame_parse(d->buffer, used, raw);
        if (err != EA_FRAME_OK && err != EA_FRAME_VERSION) {
            d->rx_err_count++;
        }
        return (int)err;
    }
    if (d->discarding) {
        return -1;
    }
    if (d->used == sizeof d->buffer) {
        d->used = 0;
        d->discarding = 1;
        d->rx_err_count++;
        return (int)EA_FRAME_OVERSIZE;
    }
    d->buffer[d->used++] = byte;
    return -1;
}
