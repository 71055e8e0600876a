/* Frames of protocol major 2 (PROTOCOL.md §2.2–2.5): COBS(header ‖ payload ‖ tag ‖ CRC-32C) ‖
 * 0x00. Encoding builds one frame, tagged when given a key. Parsing is checks 1–6 of §2.5 in
 * their order (the codec's part); checks 7–12 need the receiver's state (ea_rx.h). */
#ifndef EA_FRAME_H
#define EA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ea_auth.h"
#include "ea_cobs.h"
#include "ea_result.h"

#define EA_HEADER_SIZE 18u
#define EA_CRC_SIZE 4u
#define EA_MAX_PAYLOAD 255u
#define EA_MIN_FRAME (EA_HEADER_SIZE + EA_CRC_SIZE)                            /* 22 */
#define EA_MAX_FRAME (EA_HEADER_SIZE + EA_MAX_PAYLOAD + EA_TAG_SIZE + EA_CRC_SIZE) /* 293 */
#define EA_MAX_ENCODED_FRAME EA_COBS_MAX_ENCODED(EA_MAX_FRAME)                  /* 295 */
/* A whole wire frame: the encoding and its 0x00 delimiter. */
#define EA_MAX_WIRE_FRAME (EA_MAX_ENCODED_FRAME + 1u)

/* The refusals of checks 1–6, in the order they are made (PROTOCOL.md §2.5). */
typedef enum {
    EA_FRAME_OK = 0,
    EA_FRAME_OVERSIZE = 1,  /* 1: more than 295 bytes before the delimiter */
    EA_FRAME_COBS = 2,      /* 2: COBS does not decode */
    EA_FRAME_TRUNCATED = 3, /* 3: decoded length < 22 */
    EA_FRAME_CRC = 4,       /* 4: CRC-32C mismatch */
    EA_FRAME_VERSION = 5,   /* 5: proto_major != 2 (a sound frame: answered NAK BAD_VERSION) */
    EA_FRAME_LENGTH = 6     /* 6: unknown key kind or payload_len disagrees */
} ea_frame_error;

/* The 18-byte header (§2.3). */
typedef struct {
    uint8_t proto_major;
    uint8_t incompat_flags;
    uint8_t compat_flags;
    uint8_t msg_type;
    uint8_t key; /* EA_KEY_KIND_*: 0 none, 1 pairing (hello key), 2 session */
    uint32_t session_id;
    uint32_t counter;
    uint32_t ref_counter;
    uint8_t payload_len;
} ea_header;

/* A sound frame of this major (checks 1–6 passed), not yet authenticated nor decoded. The
 * decoded bytes are kept: header ‖ payload (the bytes the tag covers) ‖ tag ‖ CRC. */
typedef struct {
    ea_header header;
    uint8_t bytes[EA_MAX_FRAME];
    size_t signed_len; /* header + payload */
    size_t tag_len;    /* 0 or EA_TAG_SIZE */
} ea_raw_frame;

/* The payload of a parsed frame. */
#define EA_RAW_PAYLOAD(raw) ((raw)->bytes + EA_HEADER_SIZE)
/* The tag of a parsed frame (tag_len bytes). */
#define EA_RAW_TAG(raw) ((raw)->bytes + (raw)->signed_len)

/* Encode one frame with its trailing 0x00 into out (capacity cap, EA_MAX_WIRE_FRAME always
 * suffices). h->payload_len is ignored (payload_len is used); h->key is written as given and
 * must be EA_KEY_KIND_NONE exactly when key is NULL. Returns EA_OK, EA_E_VALUE (key and key
 * kind disagree, or payload over 255 bytes) or EA_E_SPACE. */
int ea_frame_encode(const ea_header *h, const uint8_t *payload, size_t payload_len,
                    const uint8_t key[EA_KEY_SIZE], uint8_t *out, size_t cap, size_t *out_len);

/* Checks 1–6 on one frame given without its delimiter. On EA_FRAME_OK raw holds the frame;
 * on EA_FRAME_VERSION raw->header.proto_major is the major received (nothing else is read). */
ea_frame_error ea_frame_parse(const uint8_t *encoded, size_t len, ea_raw_frame *raw);

/* 1 when the frame carries a tag and it verifies under key (constant-time compare). */
int ea_frame_authentic(const ea_raw_frame *raw, const uint8_t key[EA_KEY_SIZE]);

/* Byte-at-a-time stream decoder: no allocation, its buffer never exceeds one maximal frame,
 * resyncs on the next 0x00 after garbage, skips empty frames. */
typedef struct {
    uint8_t buffer[EA_MAX_ENCODED_FRAME];
    size_t used;
    int discarding;        /* after an oversize frame: skip to the next 0x00 */
    uint32_t rx_err_count; /* frames refused at checks 1–4 and 6 (STATUS rx_err_count) */
} ea_frame_decoder;

void ea_decoder_init(ea_frame_decoder *d);

/* Feed one byte. Returns -1 when no frame ended; else the ea_frame_error of the frame the
 * byte ended (EA_FRAME_OK: raw holds it). An oversize frame is reported once, at its 296th
 * byte. Errors 1–4 and 6 are counted in rx_err_count; EA_FRAME_VERSION is not (it is
 * answered). */
int ea_decoder_push(ea_frame_decoder *d, uint8_t byte, ea_raw_frame *raw);

#endif
