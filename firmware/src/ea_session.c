/* The session's ids and counters (simulator/firmware/session.py) and the receive order's
 * dispatch (receive.py): ea_rx_frame decides checks 5–12, this answers them, opens and ends
 * sessions, runs the handlers (13), caches replies and re-sends them for duplicates. */
#include <string.h>

#include "ea_core.h"
#include "ea_units.h"

/* The commands STATUS last_applied_counter reports (PROTOCOL.md §3.4). */
static int applied(uint8_t msg_type)
{
    return msg_type == EA_MSG_TYPE_SET_PROGRAM || msg_type == EA_MSG_TYPE_START ||
           msg_type == EA_MSG_TYPE_SET_INTENSITY || msg_type == EA_MSG_TYPE_STOP ||
           msg_type == EA_MSG_TYPE_CLEAR_FAULT || msg_type == EA_MSG_TYPE_FORGET;
}

uint32_t ea_session_take_id(ea_device *dev)
{
    uint32_t id;
    if (dev->next_session_id == 0u) {
        dev->next_session_id = 1u;
    }
    id = dev->next_session_id;
    dev->next_session_id = id + 1u; /* mod 2^32 */
    return id;
}

int ea_session_tx_exhausted(const ea_device *dev)
{
    return dev->tx_counter >= EA_U32 - EA_TX_RESERVE;
}

static void nak_message(ea_message *m, uint8_t nak_type, uint8_t code, uint8_t field,
                        uint32_t limit)
{
    memset(m, 0, sizeof *m);
    m->msg_type = EA_MSG_TYPE_NAK;
    m->u.nak.nak_type = nak_type;
    m->u.nak.code = code;
    m->u.nak.field = field;
    m->u.nak.limit = limit;
}

/* Key 0, executed: GET_INFO → INFO, PAIR → PAIR_ACK (or its refusal), all untagged. */
static void untagged(ea_device *dev, const ea_raw_frame *raw)
{
    ea_message reply;
    uint32_t request_id = raw->header.counter;
    memset(&reply, 0, sizeof reply);
    if (raw->header.msg_type == EA_MSG_TYPE_PAIR) {
        ea_refusal r;
        if (ea_dev_pair(dev, &reply.u.pair_ack.key_id, reply.u.pair_ack.pairing_key, &r)) {
            nak_message(&reply, raw->header.msg_type, r.code, r.field, r.limit);
        } else {
            reply.msg_type = EA_MSG_TYPE_PAIR_ACK;
            memcpy(reply.u.pair_ack.serial, dev->model.serial, EA_TEXT_SIZE);
        }
    } else {
        reply.msg_type = EA_MSG_TYPE_INFO;
        ea_dev_info(dev, &reply.u.info);
    }
    ea_dev_send_plain(dev, &reply, request_id, 0u);
}

/* Key 1, authentic: HELLO opens a session (HELLO_ACK in it). */
static void hello(ea_device *dev, const ea_raw_frame *raw, const ea_hello *h, int slot)
{
    uint32_t request_id = raw->header.counter;
    size_t len = raw->signed_len + raw->tag_len;
    ea_refusal r;
    if (dev->session_open && dev->hello_frame_len == len &&
        memcmp(dev->hello_frame, raw->bytes, len) == 0) {
        /* the HELLO_ACK was lost: the same answer again, no new session */
        if (dev->has_hello_ack) {
            ea_message again;
            again.msg_type = EA_MSG_TYPE_HELLO_ACK;
            again.u.hello_ack = dev->hello_ack;
            ea_dev_send_in_session(dev, &again, request_id);
        }
        return;
    }
    if (ea_check_hello(dev, h, &r)) {
        ea_message nak;
        nak_message(&nak, raw->header.msg_type, r.code, r.field, r.limit);
        ea_dev_send_plain(dev, &nak, request_id, 0u);
        return;
    }
    ea_dev_end_session(dev, EA_SESSION_CLOSED_REPLACED); /* an idle session: told first */
    ea_dev_open_session(dev, h, slot, raw->bytes, len);
    {
        ea_message ack;
        ack.msg_type = EA_MSG_TYPE_HELLO_ACK;
        ack.u.hello_ack = dev->hello_ack;
        ea_dev_send_in_session(dev, &ack, request_id);
    }
}

/* Key 2 past check 8: the reply (the handler's, or the NAK of checks 9–12 or 13) is cached
 * under the command's counter and tag, then sent in the session. */
static void in_session(ea_device *dev, const ea_raw_frame *raw, const ea_message *reply)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    uint32_t counter = raw->header.counter;
    if (ea_encode_message(reply, payload, sizeof payload, &len) != EA_OK) {
        return; /* not reached: every reply the core builds encodes */
    }
    (void)ea_rx_cache_put(&dev->rx, counter, EA_RAW_TAG(raw), reply->msg_type, payload, len);
    ea_dev_send_payload_in_session(dev, reply->msg_type, payload, len, counter);
    if (raw->header.msg_type == EA_MSG_TYPE_FORGET && dev->session_open &&
        !ea_device_key_held(dev, dev->session_key_id)) {
        ea_dev_end_session(dev, EA_SESSION_CLOSED_FORGOTTEN); /* its key is gone */
    }
}

static void execute(ea_device *dev, const ea_raw_frame *raw, const ea_message *m)
{
    ea_message reply;
    ea_refusal r;
    if (ea_command_execute(dev, m, &reply, &r)) {
        nak_message(&reply, raw->header.msg_type, r.code, r.field, r.limit);
    } else if (applied(m->msg_type)) {
        dev->last_applied = raw->header.counter;
    }
    in_session(dev, raw, &reply);
}

void ea_session_receive_item(ea_device *dev, int parse)
{
    ea_rx_result *res = &dev->rx_result;
    const ea_raw_frame *raw = &dev->raw;
    ea_rx_frame(&dev->rx, (ea_frame_error)parse, raw, res);
    switch (res->verdict) {
    case EA_RX_COUNTED:        /* the decoder counted it in rx_err_count */
    case EA_RX_DROPPED_AUTH:   /* auth_fail_count */
    case EA_RX_DROPPED_REPLAY: /* replay_count */
        return;
    case EA_RX_DUPLICATE: {
        const ea_cache_entry *e = &dev->rx.session.cache[res->cache_index];
        ea_dev_send_payload_in_session(dev, e->reply_type, e->reply, e->reply_len,
                                       res->ref_counter); /* a retransmission: same answer */
        return;
    }
    case EA_RX_COUNTER_EXHAUSTED:
        ea_dev_end_session(dev, EA_SESSION_CLOSED_COUNTER_EXHAUSTED); /* never executed */
        return;
    case EA_RX_NAK: {
        ea_message nak;
        nak_message(&nak, res->nak_type, res->nak_code, res->nak_field, res->nak_limit);
        if (res->nak_key == EA_KEY_KIND_SESSION) {
            in_session(dev, raw, &nak); /* checks 9–12 in a session: its counter is used */
        } else {
            ea_dev_send_plain(dev, &nak, res->ref_counter, res->nak_session_id);
        }
        return;
    }
    case EA_RX_EXECUTE:
        if (raw->header.key == EA_KEY_KIND_NONE) {
            untagged(dev, raw);
        } else if (raw->header.key == EA_KEY_KIND_PAIRING) {
            hello(dev, raw, &res->message.u.hello, res->key_slot);
        } else {
            execute(dev, raw, &res->message);
        }
        return;
    default:
        return;
    }
}
