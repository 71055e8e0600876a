/* simulator/firmware/commands.py: one handler per host → device message, each checking in
 * the order the spec gives; a refused command changes nothing. */
#include <string.h>

#include "ea_core.h"
#include "ea_crc.h"
#include "ea_dose.h"
#include "ea_units.h"

#define BIT(mask, i) ((((unsigned)(mask)) >> (unsigned)(i)) & 1u)
#define RUNNING(s) ((s) == EA_CHANNEL_STATE_RAMPING || (s) == EA_CHANNEL_STATE_RUNNING)

uint32_t ea_program_crc(const ea_set_program *p)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    if (ea_encode_set_program(p, payload, sizeof payload, &len) != EA_OK || len == 0u) {
        return 0u; /* not reached: a decoded program encodes */
    }
    return ea_crc32c(payload + 1, len - 1u);
}

static uint8_t all_channels_mask(const ea_device *dev)
{
    return (uint8_t)((1u << dev->model.channel_count) - 1u);
}

/* _channel: the channel, or the refusal BAD_CHANNEL. */
static ea_channel *channel_at(ea_device *dev, uint8_t index, uint8_t field, ea_refusal *r)
{
    if (index >= dev->model.channel_count) {
        ea_refuse(r, EA_NAK_CODE_BAD_CHANNEL, field, dev->model.channel_count);
        return NULL;
    }
    return &dev->channels[index];
}

/* _masked: 0, or 1 with BAD_CHANNEL for bits beyond channel_count. */
static int masked(const ea_device *dev, uint8_t mask, uint8_t field, ea_refusal *r)
{
    if ((mask & (uint8_t)~all_channels_mask(dev)) != 0u) {
        return ea_refuse(r, EA_NAK_CODE_BAD_CHANNEL, field, dev->model.channel_count);
    }
    return 0;
}

static void ack(ea_message *reply, uint8_t msg_type, uint32_t value)
{
    reply->msg_type = EA_MSG_TYPE_ACK;
    reply->u.ack.acked_type = msg_type;
    reply->u.ack.value = value;
}

static int refuse_if_active(const ea_device *dev, ea_refusal *r)
{
    uint8_t i;
    for (i = 0; i < dev->model.channel_count; i++) {
        if (ea_channel_active(&dev->channels[i])) {
            return ea_refuse(r, EA_NAK_CODE_BAD_STATE, EA_NO_FIELD, dev->channels[i].state);
        }
    }
    return 0;
}

int ea_check_hello(const ea_device *dev, const ea_hello *hello, ea_refusal *r)
{
    if (hello->schema_hash != EA_SCHEMA_HASH) {
        return ea_refuse(r, EA_NAK_CODE_SCHEMA_MISMATCH, 3u, EA_SCHEMA_HASH);
    }
    if (hello->lease_ms < dev->model.min_lease_ms) {
        return ea_refuse(r, EA_NAK_CODE_OUT_OF_RANGE, 2u, dev->model.min_lease_ms);
    }
    if (hello->lease_ms > dev->model.max_lease_ms) {
        return ea_refuse(r, EA_NAK_CODE_OUT_OF_RANGE, 2u, dev->model.max_lease_ms);
    }
    return refuse_if_active(dev, r);
}

static int forget(ea_device *dev, const ea_forget *m, ea_message *reply, ea_refusal *r)
{
    /* erases the key; the receive order closes the session after the ACK if it was its key */
    if (refuse_if_active(dev, r)) {
        return 1;
    }
    if (ea_device_forget_key(dev, m->key_id) != EA_OK) {
        return ea_refuse(r, EA_NAK_CODE_NOT_PAIRED, 0u, 0u);
    }
    ack(reply, EA_MSG_TYPE_FORGET, 0u);
    return 0;
}

static int refuse_unless_idle(const ea_channel *c, uint8_t field, ea_refusal *r)
{
    if (c->state == EA_CHANNEL_STATE_FAULT) {
        return ea_refuse(r, EA_NAK_CODE_FAULT_LATCHED, field, c->faults);
    }
    if (ea_channel_active(c)) {
        return ea_refuse(r, EA_NAK_CODE_BAD_STATE, field, c->state);
    }
    return 0;
}

static int set_program(ea_device *dev, const ea_set_program *p, ea_message *reply,
                       ea_refusal *r)
{
    ea_limits limits;
    uint32_t crc;
    ea_channel *c = channel_at(dev, p->channel, 0u, r);
    if (c == NULL || refuse_unless_idle(c, 0u, r)) {
        return 1;
    }
    ea_dev_limits(dev, &limits);
    if (ea_check_program(&limits, p, r)) {
        return 1;
    }
    crc = ea_program_crc(p);
    ea_channel_store_program(c, p, crc, dev->now_us);
    ack(reply, EA_MSG_TYPE_SET_PROGRAM, crc);
    return 0;
}

static int get_program(ea_device *dev, const ea_get_program *m, ea_message *reply,
                       ea_refusal *r)
{
    const ea_set_program *s;
    ea_program *out = &reply->u.program;
    ea_channel *c = channel_at(dev, m->channel, 0u, r);
    if (c == NULL) {
        return 1;
    }
    if (!c->has_program) {
        return ea_refuse(r, EA_NAK_CODE_NO_PROGRAM, 0u, 0u);
    }
    s = &c->program;
    reply->msg_type = EA_MSG_TYPE_PROGRAM;
    out->channel = s->channel;
    out->mode = s->mode;
    out->shape = s->shape;
    out->freq_a_cHz = s->freq_a_cHz;
    out->phase_a_us = s->phase_a_us;
    out->freq_b_cHz = s->freq_b_cHz;
    out->phase_b_us = s->phase_b_us;
    out->dwell_a_ms = s->dwell_a_ms;
    out->dwell_b_ms = s->dwell_b_ms;
    out->on_ms = s->on_ms;
    out->off_ms = s->off_ms;
    out->interphase_us = s->interphase_us;
    out->asym_ratio = s->asym_ratio;
    out->target_uA = s->target_uA;
    out->ramp_up_ms = s->ramp_up_ms;
    out->ramp_down_ms = s->ramp_down_ms;
    out->max_run_s = s->max_run_s;
    out->program_crc = c->program_crc;
    return 0;
}

/* Checks 3–7 of §3.8, each over every masked channel before the next (all-or-nothing). */
static int start_checks(const ea_device *dev, uint8_t mask, const ea_start *s, ea_refusal *r)
{
    uint64_t now_us = dev->now_us;
    uint8_t n = dev->model.channel_count;
    uint8_t i;
    for (i = 0; i < n; i++) {
        const ea_channel *c = &dev->channels[i];
        if (BIT(mask, i) && (c->faults != 0u || c->state == EA_CHANNEL_STATE_FAULT)) {
            return ea_refuse(r, EA_NAK_CODE_FAULT_LATCHED, (uint8_t)(1u + i), c->faults);
        }
    }
    for (i = 0; i < n; i++) {
        if (BIT(mask, i) && !dev->channels[i].has_program) {
            return ea_refuse(r, EA_NAK_CODE_NO_PROGRAM, (uint8_t)(1u + i), 0u);
        }
    }
    for (i = 0; i < n; i++) {
        const ea_channel *c = &dev->channels[i];
        if (BIT(mask, i) && c->program_crc != s->program_crc[i]) {
            return ea_refuse(r, EA_NAK_CODE_PROGRAM_MISMATCH, (uint8_t)(1u + i), c->program_crc);
        }
    }
    for (i = 0; i < n; i++) {
        const ea_channel *c = &dev->channels[i];
        if (BIT(mask, i) && RUNNING(c->state)) {
            return ea_refuse(r, EA_NAK_CODE_BAD_STATE, (uint8_t)(1u + i), c->state);
        }
    }
    for (i = 0; i < n; i++) {
        const ea_channel *c = &dev->channels[i];
        if (BIT(mask, i)) {
            int32_t set_uA = ea_channel_set_uA(c, now_us);
            uint64_t output_uA = c->out.measured_uA(c->out.ctx, now_us);
            if (set_uA > 0 && (uint64_t)set_uA > output_uA) {
                output_uA = (uint64_t)set_uA;
            }
            if (output_uA != 0u) { /* every run starts from zero */
                return ea_refuse(r, EA_NAK_CODE_NONZERO_START, (uint8_t)(1u + i),
                                 ea_min_u32(output_uA));
            }
        }
    }
    return 0;
}

static int start(ea_device *dev, const ea_start *s, ea_message *reply, ea_refusal *r)
{
    uint8_t mask = s->channel_mask;
    uint8_t i;
    for (i = 0; i < EA_MAX_CHANNELS; i++) {
        if (!BIT(mask, i) && s->program_crc[i] != 0u) {
            return ea_refuse(r, EA_NAK_CODE_BAD_PAYLOAD, (uint8_t)(1u + i), 0u);
        }
    }
    if (mask == 0u) { /* nothing to start is a host error, not a silent success */
        return ea_refuse(r, EA_NAK_CODE_BAD_PAYLOAD, 0u, 0u);
    }
    if (!ea_device_lease_valid(dev)) {
        return ea_refuse(r, EA_NAK_CODE_NO_LEASE, EA_NO_FIELD, 0u);
    }
    if (masked(dev, mask, 0u, r) || start_checks(dev, mask, s, r)) {
        return 1;
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(mask, i)) {
            ea_channel_start(&dev->channels[i], dev->now_us);
        }
    }
    ack(reply, EA_MSG_TYPE_START, 0u);
    return 0;
}

static int set_intensity(ea_device *dev, const ea_set_intensity *m, ea_message *reply,
                         ea_refusal *r)
{
    ea_limits limits;
    ea_channel *c = channel_at(dev, m->channel, 0u, r);
    if (c == NULL) {
        return 1;
    }
    if (!RUNNING(c->state) || !c->has_program) {
        return ea_refuse(r, EA_NAK_CODE_BAD_STATE, 0u, c->state);
    }
    ea_dev_limits(dev, &limits);
    if (ea_check_intensity(&limits, &c->program, m, r)) {
        return 1;
    }
    ea_channel_set_target(c, m->target_uA, m->slew_uA_per_s, dev->now_us);
    ack(reply, EA_MSG_TYPE_SET_INTENSITY, 0u);
    return 0;
}

static void stop(ea_device *dev, const ea_stop *m, ea_message *reply)
{
    /* accepted in every state, with or without a lease, never refused for its mask: bits
     * beyond channel_count are ignored, so 0xFF always means "stop everything" (§3.7) */
    uint8_t mask = (uint8_t)(m->channel_mask & all_channels_mask(dev));
    uint8_t i;
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(mask, i)) {
            ea_channel_stop(&dev->channels[i], m->mode, dev->now_us);
        }
    }
    ack(reply, EA_MSG_TYPE_STOP, 0u);
}

static int clear_fault(ea_device *dev, const ea_clear_fault *m, ea_message *reply,
                       ea_refusal *r)
{
    /* every masked channel in FAULT is self-tested with its relay open first; only if all
     * pass are their faults cleared and relays closed (all-or-nothing, §3.10) */
    uint64_t now_us = dev->now_us;
    uint8_t faulted = 0;
    uint32_t first_failed_uA = 0;
    uint8_t i;
    if (masked(dev, m->channel_mask, 0u, r)) {
        return 1;
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(m->channel_mask, i) && dev->channels[i].state == EA_CHANNEL_STATE_FAULT) {
            faulted = (uint8_t)(faulted | (1u << i));
        }
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(faulted, i)) {
            uint32_t measured_uA = ea_channel_self_test(&dev->channels[i], now_us);
            if (measured_uA != 0u && first_failed_uA == 0u) {
                first_failed_uA = measured_uA;
            }
        }
    }
    if (first_failed_uA != 0u) {
        for (i = 0; i < dev->model.channel_count; i++) {
            if (BIT(faulted, i)) {
                ea_channel_end_refused_test(&dev->channels[i], now_us);
            }
        }
        return ea_refuse(r, EA_NAK_CODE_SELF_TEST_FAILED, 0u, first_failed_uA);
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(faulted, i)) {
            ea_channel_clear_fault(&dev->channels[i], now_us);
        }
    }
    ack(reply, EA_MSG_TYPE_CLEAR_FAULT, faulted);
    return 0;
}

static int get_dose(ea_device *dev, const ea_get_dose *m, ea_message *reply, ea_refusal *r)
{
    ea_channel *c = channel_at(dev, m->channel, 0u, r);
    if (c == NULL) {
        return 1;
    }
    ea_channel_flush(c, dev->now_us);
    reply->msg_type = EA_MSG_TYPE_DOSE;
    ea_dose_message(&c->dose, m->channel, &reply->u.dose);
    return 0;
}

int ea_command_execute(ea_device *dev, const ea_message *m, ea_message *reply, ea_refusal *r)
{
    memset(reply, 0, sizeof *reply);
    switch (m->msg_type) {
    case EA_MSG_TYPE_FORGET:
        return forget(dev, &m->u.forget, reply, r);
    case EA_MSG_TYPE_SET_PROGRAM:
        return set_program(dev, &m->u.set_program, reply, r);
    case EA_MSG_TYPE_GET_PROGRAM:
        return get_program(dev, &m->u.get_program, reply, r);
    case EA_MSG_TYPE_START:
        return start(dev, &m->u.start, reply, r);
    case EA_MSG_TYPE_SET_INTENSITY:
        return set_intensity(dev, &m->u.set_intensity, reply, r);
    case EA_MSG_TYPE_STOP:
        stop(dev, &m->u.stop, reply);
        return 0;
    case EA_MSG_TYPE_HEARTBEAT:
        ea_dev_grant_lease(dev, dev->lease_ms);
        reply->msg_type = EA_MSG_TYPE_STATUS;
        ea_device_status(dev, &reply->u.status);
        return 0;
    case EA_MSG_TYPE_GET_STATUS:
        reply->msg_type = EA_MSG_TYPE_STATUS;
        ea_device_status(dev, &reply->u.status);
        return 0;
    case EA_MSG_TYPE_CLEAR_FAULT:
        return clear_fault(dev, &m->u.clear_fault, reply, r);
    case EA_MSG_TYPE_GET_DOSE:
        return get_dose(dev, &m->u.get_dose, reply, r);
    default:
        /* not reached: the receive order answers every other type before a handler */
        return ea_refuse(r, EA_NAK_CODE_UNEXPECTED_MESSAGE, EA_NO_FIELD, 0u);
    }
}
