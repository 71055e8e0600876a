/* The device's receive order, checks 5–12 of PROTOCOL.md §2.5 after ea_frame_parse's 1–6:
 * the key kind and tag (7), the counter with the reply cache (8), then the message (9–12).
 * Sans-I/O like the rest of the core: ea_rx_frame returns a verdict (what to count, what to
 * answer, what to execute); sending and executing are the caller's (the device core).
 *
 * It mirrors simulator/firmware/receive.py step for step; vectors/invalid.json checks both. */
#ifndef EA_RX_H
#define EA_RX_H

#include <stddef.h>
#include <stdint.h>

#include "ea_auth.h"
#include "ea_codec.h"
#include "ea_frame.h"

/* Key slots of the reference device (PROTOCOL.md §3.1: 8 keys, a design value). */
#define EA_KEY_SLOTS 8u

typedef struct {
    uint8_t used;
    uint32_t key_id; /* != 0 */
    uint8_t pairing_key[EA_KEY_SIZE];
    uint8_t hello_key[EA_KEY_SIZE]; /* derived once when stored (§2.4) */
} ea_key_slot;

/* One executed command of the session: its counter and tag, and the reply it got, which a
 * duplicate gets again (re-encoded with the next device counter, §3.4). */
typedef struct {
    uint8_t used;
    uint32_t counter;
    uint8_t tag[EA_TAG_SIZE];
    uint8_t reply_type;
    uint8_t reply_len;
    uint8_t reply[EA_MAX_REPLY_PAYLOAD];
} ea_cache_entry;

typedef struct {
    uint32_t session_id; /* 0: no session open */
    uint8_t host_to_device[EA_KEY_SIZE];
    uint8_t device_to_host[EA_KEY_SIZE];
    uint32_t highest; /* H: the greatest host counter executed (0 at HELLO) */
    ea_cache_entry cache[EA_REPLY_WINDOW];
    size_t cache_next; /* ring position of the next entry */
} ea_rx_session;

typedef struct {
    ea_key_slot keys[EA_KEY_SLOTS];
    ea_rx_session session;
    uint32_t auth_fail_count; /* STATUS auth_fail_count: frames dropped at check 7 */
    uint32_t replay_count;    /* STATUS replay_count: frames dropped at check 8 */
    size_t cache_size; /* replies kept, 1..EA_REPLY_WINDOW (the model's reply_cache_size);
                        * 0 (ea_rx_init) keeps EA_REPLY_WINDOW */
} ea_rx;

typedef enum {
    EA_RX_COUNTED,           /* checks 1–4, 6: not a frame; count it in rx_err_count */
    EA_RX_DROPPED_AUTH,      /* check 7: bad tag; auth_fail_count was incremented */
    EA_RX_DROPPED_REPLAY,    /* check 8: a replay; replay_count was incremented */
    EA_RX_DUPLICATE,         /* check 8: a retransmission: send cache[cache_index] again */
    EA_RX_COUNTER_EXHAUSTED, /* check 8: counter 0xFFFFFFFF: end the session, not executed */
    EA_RX_NAK,               /* answer NAK {nak_type, nak_code, nak_field, nak_limit} */
    EA_RX_EXECUTE            /* execute message (key 2: its counter is now H) */
} ea_rx_verdict;

typedef struct {
    ea_rx_verdict verdict;
    /* EA_RX_NAK: the NAK and the key kind of its frame (EA_KEY_KIND_NONE or _SESSION); its
     * header's session_id (nak_session_id: the refused id for NO_SESSION, else 0 for key 0)
     * and ref_counter (the frame's counter; 0 for BAD_VERSION). */
    uint8_t nak_type;
    uint8_t nak_code;
    uint8_t nak_field;
    uint32_t nak_limit;
    uint8_t nak_key;
    uint32_t nak_session_id;
    uint32_t ref_counter;
    /* EA_RX_EXECUTE: the message; key_slot: the slot whose key verified a HELLO (else -1). */
    ea_message message;
    int key_slot;
    /* EA_RX_DUPLICATE: the cache entry to answer with. */
    size_t cache_index;
} ea_rx_result;

void ea_rx_init(ea_rx *rx);

/* Store a pairing key; returns the slot, or -1 when key_id is 0, already held, or no slot is
 * free. Derives and keeps its hello key. */
int ea_rx_add_key(ea_rx *rx, uint32_t key_id, const uint8_t pairing_key[EA_KEY_SIZE]);
/* The slot holding key_id, or -1. */
int ea_rx_find_key(const ea_rx *rx, uint32_t key_id);
/* Erase key_id (FORGET); returns 0, or -1 when it is not held. */
int ea_rx_forget_key(ea_rx *rx, uint32_t key_id);

/* Open a session under slot's key (HELLO accepted): derive its keys, empty the cache, H = 0. */
void ea_rx_open_session(ea_rx *rx, int slot, const uint8_t host_nonce[EA_NONCE_SIZE],
                        const uint8_t device_nonce[EA_NONCE_SIZE], uint32_t session_id);
/* Close the session for good: its keys are erased, later frames of it get NAK NO_SESSION. */
void ea_rx_close_session(ea_rx *rx);

/* Cache the reply to the command of (counter, tag) just executed; the oldest entry goes once
 * cache_size (EA_REPLY_WINDOW when 0) are held. Returns EA_OK, or EA_E_SPACE for a reply over the entry's size. */
int ea_rx_cache_put(ea_rx *rx, uint32_t counter, const uint8_t tag[EA_TAG_SIZE],
                    uint8_t reply_type, const uint8_t *reply, size_t reply_len);

/* Checks 5–12 for a frame ea_frame_parse returned parse on (checks 1–6). */
void ea_rx_frame(ea_rx *rx, ea_frame_error parse, const ea_raw_frame *raw, ea_rx_result *out);

#endif
