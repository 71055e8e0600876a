#include "ea_rx.h"

#include <string.h>

void ea_rx_init(ea_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

int ea_rx_find_key(const ea_rx *rx, uint32_t key_id)
{
    size_t i;
    for (i = 0; i < EA_KEY_SLOTS; i++) {
        if (rx->keys[i].used && rx->keys[i].key_id == key_id) {
            return (int)i;
        }
    }
    return -1;
}

int ea_rx_add_key(ea_rx *rx, uint32_t key_id, const uint8_t pairing_key[EA_KEY_SIZE])
{
    size_t i;
    if (key_id == 0u || ea_rx_find_key(rx, key_id) >= 0) {
        return -1;
    }
    for (i = 0; i < EA_KEY_SLOTS; i++) {
        ea_key_slot *slot = &rx->keys[i];
        if (!slot->used) {
            slot->used = 1;
            slot->key_id = key_id;
            memcpy(slot->pairing_key, pairing_key, EA_KEY_SIZE);
            ea_hello_key(pairing_key, slot->hello_key);
            return (int)i;
        }
    }
    return -1;
}

int ea_rx_forget_key(ea_rx *rx, uint32_t key_id)
{
    int slot = ea_rx_find_key(rx, key_id);
    if (slot < 0) {
        return -1;
    }
    memset(&rx->keys[slot], 0, sizeof rx->keys[slot]);
    return 0;
}

void ea_rx_open_session(ea_rx *rx, int slot, const uint8_t host_nonce[EA_NONCE_SIZE],
                        const uint8_t device_nonce[EA_NONCE_SIZE], uint32_t session_id)
{
    ea_rx_session *s = &rx->session;
    memset(s, 0, sizeof *s);
    s->session_id = session_id;
    ea_session_keys(rx->keys[slot].pairing_key, host_nonce, device_nonce, session_id,
                    s->host_to_device, s->device_to_host);
}

void ea_rx_close_session(ea_rx *rx)
{
    memset(&rx->session, 0, sizeof rx->session);
}

int ea_rx_cache_put(ea_rx *rx, uint32_t counter, const uint8_t tag[EA_TAG_SIZE],
                    uint8_t reply_type, const uint8_t *reply, size_t reply_len)
{
    ea_rx_session *s = &rx->session;
    ea_cache_entry *e = &s->cache[s->cache_next];
    size_t size;
    if (reply_len > EA_MAX_REPLY_PAYLOAD) {
        return EA_E_SPACE;
    }
    e->used = 1;
    e->counter = counter;
    memcpy(e->tag, tag, EA_TAG_SIZE);
    e->reply_type = reply_type;
    e->reply_len = (uint8_t)reply_len;
    if (reply_len > 0u) {
        memcpy(e->reply, reply, reply_len);
    }
    size = rx->cache_size == 0u || rx->cache_size > EA_REPLY_WINDOW ? EA_REPLY_WINDOW
                                                                     : rx->cache_size;
    s->cache_next = (s->cache_next + 1u) % size;
    return EA_OK;
}

static void nak(ea_rx_result *out, const ea_raw_frame *raw, uint8_t code, uint8_t field,
                uint32_t limit, uint8_t key)
{
    out->verdict = EA_RX_NAK;
    out->nak_type = raw->header.msg_type;
    out->nak_code = code;
    out->nak_field = field;
    out->nak_limit = limit;
    out->nak_key = key;
    out->nak_session_id = 0;
    out->ref_counter = raw->header.counter;
}

/* Checks 9–12: EA_RX_EXECUTE with the message, or the NAK (in the frame's own key). */
static void decoded(const ea_raw_frame *raw, uint8_t key, ea_rx_result *out)
{
    const ea_header *h = &raw->header;
    const ea_msg_meta *meta = ea_msg_meta_find(h->msg_type);
    uint8_t field = EA_NO_FIELD;
    if (meta == NULL) { /* 9 */
        nak(out, raw, EA_NAK_CODE_UNEXPECTED_MESSAGE, EA_NO_FIELD, 0u, key);
    } else if ((h->incompat_flags & (uint8_t)~EA_KNOWN_INCOMPAT_FLAGS) != 0u) { /* 10 */
        nak(out, raw, EA_NAK_CODE_UNSUPPORTED_FEATURE, EA_NO_FIELD, EA_KNOWN_INCOMPAT_FLAGS, key);
    } else if (meta->from_device) { /* 11 */
        nak(out, raw, EA_NAK_CODE_UNEXPECTED_MESSAGE, EA_NO_FIELD, 0u, key);
    } else if (ea_decode_message(h->msg_type, EA_RAW_PAYLOAD(raw), h->payload_len, &out->message,
                                 &field) != EA_OK) { /* 12 */
        nak(out, raw, EA_NAK_CODE_BAD_PAYLOAD, field, 0u, key);
    } else {
        out->verdict = EA_RX_EXECUTE;
    }
}

static void untagged(const ea_raw_frame *raw, ea_rx_result *out)
{
    uint8_t t = raw->header.msg_type;
    if (t != EA_MSG_TYPE_GET_INFO && t != EA_MSG_TYPE_PAIR) {
        nak(out, raw, EA_NAK_CODE_AUTH_REQUIRED, EA_NO_FIELD, 0u, EA_KEY_KIND_NONE);
        return;
    }
    decoded(raw, EA_KEY_KIND_NONE, out);
}

static void hello(ea_rx *rx, const ea_raw_frame *raw, ea_rx_result *out)
{
    int slot;
    if (raw->header.msg_type != EA_MSG_TYPE_HELLO) {
        nak(out, raw, EA_NAK_CODE_AUTH_REQUIRED, EA_NO_FIELD, 0u, EA_KEY_KIND_NONE);
        return;
    }
    decoded(raw, EA_KEY_KIND_NONE, out);
    if (out->verdict != EA_RX_EXECUTE) {
        return;
    }
    slot = ea_rx_find_key(rx, out->message.u.hello.key_id);
    if (slot < 0) {
        nak(out, raw, EA_NAK_CODE_NOT_PAIRED, 0u /* key_id */, 0u, EA_KEY_KIND_NONE);
        return;
    }
    if (!ea_frame_authentic(raw, rx->keys[slot].hello_key)) {
        rx->auth_fail_count++;
        out->verdict = EA_RX_DROPPED_AUTH;
        return;
    }
    out->key_slot = slot;
}

static void in_session(ea_rx *rx, const ea_raw_frame *raw, ea_rx_result *out)
{
    ea_rx_session *s = &rx->session;
    const ea_header *h = &raw->header;
    uint8_t t = h->msg_type;
    size_t i;
    if (s->session_id == 0u || h->session_id != s->session_id) {
        nak(out, raw, EA_NAK_CODE_NO_SESSION, EA_NO_FIELD, 0u, EA_KEY_KIND_NONE);
        out->nak_session_id = h->session_id; /* the id refused; its tag is not checked */
        return;
    }
    if (!ea_frame_authentic(raw, s->host_to_device)) {
        rx->auth_fail_count++;
        out->verdict = EA_RX_DROPPED_AUTH;
        return;
    }
    if (t == EA_MSG_TYPE_HELLO || t == EA_MSG_TYPE_GET_INFO || t == EA_MSG_TYPE_PAIR) {
        nak(out, raw, EA_NAK_CODE_AUTH_REQUIRED, EA_NO_FIELD, 0u, EA_KEY_KIND_NONE);
        return; /* a message with a key kind of its own: uses no counter */
    }
    if (h->counter == EA_COUNTER_EXHAUSTED) {
        out->verdict = EA_RX_COUNTER_EXHAUSTED;
        return;
    }
    if (h->counter <= s->highest) {
        for (i = 0; i < EA_REPLY_WINDOW; i++) {
            const ea_cache_entry *e = &s->cache[i];
            if (e->used && e->counter == h->counter && ea_tag_equal(e->tag, EA_RAW_TAG(raw))) {
                out->verdict = EA_RX_DUPLICATE;
                out->cache_index = i;
                out->ref_counter = h->counter;
                return;
            }
        }
        rx->replay_count++;
        out->verdict = EA_RX_DROPPED_REPLAY;
        return;
    }
    s->highest = h->counter;
    decoded(raw, EA_KEY_KIND_SESSION, out);
}

void ea_rx_frame(ea_rx *rx, ea_frame_error parse, const ea_raw_frame *raw, ea_rx_result *out)
{
    out->key_slot = -1;
    out->cache_index = 0;
    out->ref_counter = 0;
    if (parse == EA_FRAME_VERSION) { /* check 5: answered in this major, naming no type */
        out->verdict = EA_RX_NAK;
        out->nak_type = 0u;
        out->nak_code = EA_NAK_CODE_BAD_VERSION;
        out->nak_field = EA_NO_FIELD;
        out->nak_limit = EA_PROTO_MAJOR;
        out->nak_key = EA_KEY_KIND_NONE;
        out->nak_session_id = 0u;
        return;
    }
    if (parse != EA_FRAME_OK) {
        out->verdict = EA_RX_COUNTED;
        return;
    }
    out->ref_counter = raw->header.counter;
    if (raw->header.key == EA_KEY_KIND_NONE) {
        untagged(raw, out);
    } else if (raw->header.key == EA_KEY_KIND_PAIRING) {
        hello(rx, raw, out);
    } else {
        in_session(rx, raw, out);
    }
}
