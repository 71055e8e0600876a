/* The device (simulator/firmware/device.py): boot, time and the check grid, frames in and
 * out, sessions and the lease, STATUS, the inputs (power, stop button, pairing button). */
#include "ea_device.h"

#include <string.h>

#include "ea_core.h"
#include "ea_dose.h"
#include "ea_units.h"

#define BIT(mask, i) ((((unsigned)(mask)) >> (unsigned)(i)) & 1u)

/* --- the model ------------------------------------------------------------------------- */

static void set_text(char out[EA_TEXT_SIZE], const char *text)
{
    size_t i;
    memset(out, 0, EA_TEXT_SIZE);
    for (i = 0; i < EA_TEXT_SIZE && text[i] != '\0'; i++) {
        out[i] = text[i];
    }
}

void ea_model_default(ea_model *m)
{
    memset(m, 0, sizeof *m);
    set_text(m->model, "EA-SIM-6");
    set_text(m->serial, "SIM-000001");
    m->fw_major = 1;
    m->fw_minor = 0;
    m->fw_patch = 0;
    m->channel_count = 6;
    m->max_intensity_uA = 20000;
    m->min_phase_us = 50;
    m->max_phase_us = 1000;
    m->min_freq_cHz = 100;
    m->max_freq_cHz = 20000;
    m->max_phase_charge_nC = 10000;
    m->max_slew_uA_per_s = 5000;
    m->compliance_mV = 60000;
    m->min_lease_ms = 200;
    m->max_lease_ms = 1000;
    m->max_run_s = 3600;
    m->max_interphase_us = 500;
    m->max_asym_ratio = 8;
    m->check_period_us = 10000;
    m->reply_cache_size = 16;
}

/* ASCII, no NUL inside, 1..16 characters, NUL-padded after. */
static int text_ok(const char text[EA_TEXT_SIZE])
{
    size_t i;
    size_t len = 0;
    while (len < EA_TEXT_SIZE && text[len] != '\0') {
        if ((unsigned char)text[len] > 0x7Fu) {
            return 0;
        }
        len++;
    }
    for (i = len; i < EA_TEXT_SIZE; i++) {
        if (text[i] != '\0') {
            return 0;
        }
    }
    return len > 0u;
}

int ea_model_check(const ea_model *m)
{
    if (!text_ok(m->model) || !text_ok(m->serial)) {
        return EA_E_VALUE;
    }
    if (m->channel_count < 1u || m->channel_count > EA_MAX_CHANNELS ||
        m->max_intensity_uA < 1u || m->min_phase_us < 1u || m->max_phase_us < 1u ||
        m->min_freq_cHz < 1u || m->max_freq_cHz < 1u || m->max_phase_charge_nC < 1u ||
        m->max_slew_uA_per_s < 1u || m->compliance_mV < 1u || m->min_lease_ms < 1u ||
        m->max_lease_ms < 1u || m->max_run_s < 1u || m->max_asym_ratio < 1u ||
        m->check_period_us < 1u || m->check_period_us > EA_MAX_CHECK_PERIOD_US ||
        m->reply_cache_size < 1u || m->reply_cache_size > EA_REPLY_WINDOW) {
        return EA_E_VALUE;
    }
    if (m->min_phase_us > m->max_phase_us || m->min_freq_cHz > m->max_freq_cHz ||
        m->min_lease_ms > m->max_lease_ms || m->compliance_mV > EA_MAX_PEAK_OUTPUT_mV) {
        return EA_E_VALUE;
    }
    return EA_OK;
}

void ea_dev_limits(const ea_device *dev, ea_limits *out)
{
    const ea_model *m = &dev->model;
    out->max_intensity_uA = m->max_intensity_uA;
    out->min_phase_us = m->min_phase_us;
    out->max_phase_us = m->max_phase_us;
    out->min_freq_cHz = m->min_freq_cHz;
    out->max_freq_cHz = m->max_freq_cHz;
    out->max_phase_charge_nC = m->max_phase_charge_nC;
    out->max_slew_uA_per_s = m->max_slew_uA_per_s;
    out->max_run_s = m->max_run_s;
    out->max_interphase_us = m->max_interphase_us;
    out->max_asym_ratio = m->max_asym_ratio;
}

void ea_dev_info(const ea_device *dev, ea_info *out)
{
    const ea_model *m = &dev->model;
    memset(out, 0, sizeof *out);
    out->proto_minor = EA_PROTO_MINOR;
    out->schema_hash = EA_SCHEMA_HASH;
    out->fw_major = m->fw_major;
    out->fw_minor = m->fw_minor;
    out->fw_patch = m->fw_patch;
    memcpy(out->model, m->model, EA_TEXT_SIZE);
    memcpy(out->serial, m->serial, EA_TEXT_SIZE);
    out->channel_count = m->channel_count;
    out->max_intensity_uA = m->max_intensity_uA;
    out->min_phase_us = m->min_phase_us;
    out->max_phase_us = m->max_phase_us;
    out->min_freq_cHz = m->min_freq_cHz;
    out->max_freq_cHz = m->max_freq_cHz;
    out->max_phase_charge_nC = m->max_phase_charge_nC;
    out->max_slew_uA_per_s = m->max_slew_uA_per_s;
    out->compliance_mV = m->compliance_mV;
    out->min_lease_ms = m->min_lease_ms;
    out->max_lease_ms = m->max_lease_ms;
    out->max_run_s = m->max_run_s;
    out->max_interphase_us = m->max_interphase_us;
    out->max_asym_ratio = m->max_asym_ratio;
    out->flags = ea_device_info_flags(dev);
}

size_t ea_device_size(void)
{
    return sizeof(ea_device);
}

/* --- frames out ------------------------------------------------------------------------ */

static void put_frame(ea_device *dev, const ea_header *h, const uint8_t *payload, size_t len,
                      const uint8_t *key)
{
    uint8_t wire[EA_MAX_WIRE_FRAME];
    size_t n = 0;
    if (ea_frame_encode(h, payload, len, key, wire, sizeof wire, &n) != EA_OK) {
        return; /* not reached: every payload the core builds fits */
    }
    if (n > sizeof dev->out - dev->out_len) {
        dev->counters.tx_overflow_count++;
        return;
    }
    memcpy(dev->out + dev->out_len, wire, n);
    dev->out_len += n;
}

static void header(ea_header *h, uint8_t msg_type, uint8_t key, uint32_t session_id,
                   uint32_t counter, uint32_t ref_counter)
{
    memset(h, 0, sizeof *h);
    h->proto_major = EA_PROTO_MAJOR;
    h->msg_type = msg_type;
    h->key = key;
    h->session_id = session_id;
    h->counter = counter;
    h->ref_counter = ref_counter;
}

void ea_dev_send_plain(ea_device *dev, const ea_message *m, uint32_t ref_counter,
                       uint32_t session_id)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    ea_header h;
    if (ea_encode_message(m, payload, sizeof payload, &len) != EA_OK) {
        return; /* not reached */
    }
    header(&h, m->msg_type, EA_KEY_KIND_NONE, session_id, 0u, ref_counter);
    put_frame(dev, &h, payload, len, NULL);
}

void ea_dev_send_payload_in_session(ea_device *dev, uint8_t msg_type, const uint8_t *payload,
                                    size_t len, uint32_t ref_counter)
{
    ea_header h;
    dev->tx_counter++;
    header(&h, msg_type, EA_KEY_KIND_SESSION, dev->rx.session.session_id, dev->tx_counter,
           ref_counter);
    put_frame(dev, &h, payload, len, dev->rx.session.device_to_host);
    if (ea_session_tx_exhausted(dev) && dev->session_open && !dev->closing) {
        ea_dev_end_session(dev, EA_SESSION_CLOSED_COUNTER_EXHAUSTED);
    }
}

void ea_dev_send_in_session(ea_device *dev, const ea_message *m, uint32_t ref_counter)
{
    uint8_t payload[EA_MAX_PAYLOAD];
    size_t len = 0;
    if (ea_encode_message(m, payload, sizeof payload, &len) != EA_OK) {
        return; /* not reached */
    }
    ea_dev_send_payload_in_session(dev, m->msg_type, payload, len, ref_counter);
}

/* send: in the open session, or untagged when none is open. */
static void send(ea_device *dev, const ea_message *m)
{
    if (dev->session_open) {
        ea_dev_send_in_session(dev, m, 0u);
    } else {
        ea_dev_send_plain(dev, m, 0u, 0u);
    }
}

static uint32_t uptime_ms(const ea_device *dev)
{
    return (uint32_t)((dev->now_us - dev->boot_us) / EA_US_PER_MS); /* & U32 */
}

static void emit(void *ctx, uint8_t code, uint8_t channel, uint64_t detail)
{
    ea_device *dev = (ea_device *)ctx;
    ea_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = EA_MSG_TYPE_EVENT;
    m.u.event.code = code;
    m.u.event.channel = channel;
    m.u.event.detail = ea_min_u32(detail);
    m.u.event.uptime_ms = uptime_ms(dev);
    send(dev, &m);
}

size_t ea_device_take_output(ea_device *dev, uint8_t *buf, size_t cap)
{
    size_t n = dev->out_len < cap ? dev->out_len : cap;
    if (n == 0u) {
        return 0u;
    }
    memcpy(buf, dev->out, n);
    memmove(dev->out, dev->out + n, dev->out_len - n);
    dev->out_len -= n;
    return n;
}

size_t ea_device_output_pending(const ea_device *dev)
{
    return dev->out_len;
}

/* --- random, keys, the pairing window ------------------------------------------------- */

static uint32_t draw(ea_device *dev)
{
    return dev->rng.random_u32(dev->rng.ctx);
}

void ea_dev_random_bytes(ea_device *dev, uint8_t *out, size_t size)
{
    size_t i = 0;
    while (i < size) {
        uint32_t v = draw(dev);
        size_t k;
        for (k = 0; k < 4u && i < size; k++, i++) {
            out[i] = (uint8_t)(v >> (8u * k));
        }
    }
}

int ea_device_key_held(const ea_device *dev, uint32_t key_id)
{
    return key_id != 0u && ea_rx_find_key(&dev->rx, key_id) >= 0;
}

size_t ea_device_key_count(const ea_device *dev)
{
    size_t i;
    size_t n = 0;
    for (i = 0; i < EA_KEY_SLOTS; i++) {
        n += dev->rx.keys[i].used ? 1u : 0u;
    }
    return n;
}

static void stored(ea_device *dev, int slot)
{
    if (slot >= 0 && dev->keystore.store != NULL) {
        const ea_key_slot *s = &dev->rx.keys[slot];
        dev->keystore.store(dev->keystore.ctx, (unsigned)slot, s->key_id, s->pairing_key);
    }
}

int ea_device_install_key(ea_device *dev, uint32_t key_id, const uint8_t key[EA_KEY_SIZE])
{
    int slot;
    if (key_id == 0u) {
        return EA_E_VALUE;
    }
    slot = ea_rx_find_key(&dev->rx, key_id);
    if (slot >= 0) {
        ea_key_slot *s = &dev->rx.keys[slot];
        memcpy(s->pairing_key, key, EA_KEY_SIZE);
        ea_hello_key(key, s->hello_key);
    } else {
        slot = ea_rx_add_key(&dev->rx, key_id, key);
        if (slot < 0) {
            return EA_E_FULL;
        }
    }
    stored(dev, slot);
    return EA_OK;
}

int ea_device_forget_key(ea_device *dev, uint32_t key_id)
{
    int slot = ea_rx_find_key(&dev->rx, key_id);
    if (key_id == 0u || slot < 0) {
        return EA_E_ABSENT;
    }
    (void)ea_rx_forget_key(&dev->rx, key_id);
    if (dev->keystore.erase != NULL) {
        dev->keystore.erase(dev->keystore.ctx, (unsigned)slot);
    }
    return EA_OK;
}

int ea_device_pairing_window_open(const ea_device *dev)
{
    return dev->window_set && dev->window_start_us <= dev->now_us &&
           dev->now_us < dev->window_until_us;
}

uint8_t ea_device_info_flags(const ea_device *dev)
{
    return ea_device_pairing_window_open(dev) ? EA_INFO_FLAG_PAIRING_WINDOW : EA_INFO_FLAG_NONE;
}

int ea_dev_pair(ea_device *dev, uint32_t *key_id, uint8_t key[EA_KEY_SIZE], ea_refusal *r)
{
    uint32_t id = 0;
    int slot;
    if (!ea_device_pairing_window_open(dev)) {
        return ea_refuse(r, EA_NAK_CODE_PAIRING_CLOSED, EA_NO_FIELD, 0u);
    }
    if (ea_device_key_count(dev) >= EA_KEY_SLOTS) {
        return ea_refuse(r, EA_NAK_CODE_KEY_STORE_FULL, EA_NO_FIELD, EA_KEY_SLOTS);
    }
    while (id == 0u || ea_device_key_held(dev, id)) {
        id = draw(dev);
    }
    ea_dev_random_bytes(dev, key, EA_KEY_SIZE);
    slot = ea_rx_add_key(&dev->rx, id, key);
    stored(dev, slot);
    dev->window_set = 0; /* one pairing per window */
    *key_id = id;
    return 0;
}

/* --- boot, time, the check grid -------------------------------------------------------- */

void ea_dev_changed(ea_device *dev)
{
    dev->deadline_cached = 0;
}

void ea_device_hardware_changed(ea_device *dev)
{
    ea_dev_changed(dev);
}

int ea_dev_any_active(const ea_device *dev)
{
    uint8_t i;
    for (i = 0; i < dev->model.channel_count; i++) {
        if (ea_channel_active(&dev->channels[i])) {
            return 1;
        }
    }
    return 0;
}

static void boot(ea_device *dev, uint64_t now_us)
{
    uint32_t boot_id = dev->boot_id;
    uint8_t i;
    while (boot_id == 0u || boot_id == dev->boot_id) {
        boot_id = draw(dev);
    }
    dev->boot_id = boot_id;
    dev->boot_us = now_us;
    dev->checked_us = now_us;
    dev->next_session_id = draw(dev) + 1u; /* SessionIds(session_base) */
    dev->session_open = 0;
    dev->closing = 0;
    dev->has_hello_ack = 0;
    dev->hello_frame_len = 0;
    dev->session_key_id = 0;
    dev->last_applied = 0;
    dev->tx_counter = 0;
    ea_rx_close_session(&dev->rx);
    dev->lease_ms = 0;
    dev->lease_expires_us = now_us;
    dev->rx.auth_fail_count = 0;
    dev->rx.replay_count = 0;
    ea_decoder_init(&dev->decoder);
    dev->window_set = 0; /* RAM: a power cycle closes the window */
    for (i = 0; i < dev->model.channel_count; i++) {
        ea_channel_reboot(&dev->channels[i], now_us);
    }
    ea_dev_changed(dev);
    emit(dev, EA_EVENT_CODE_REBOOT, EA_NO_CHANNEL, dev->boot_id);
    for (i = 0; i < dev->model.channel_count; i++) { /* relays close only onto a sound stage */
        ea_channel_power_on_self_test(&dev->channels[i], now_us);
    }
}

int ea_device_init(ea_device *dev, const ea_model *model, const ea_output_stage *outputs,
                   size_t n, const ea_random *rng, const ea_keystore *keystore,
                   uint64_t now_us)
{
    size_t i;
    if (dev == NULL || model == NULL || outputs == NULL || rng == NULL ||
        rng->random_u32 == NULL || ea_model_check(model) != EA_OK ||
        n != model->channel_count) {
        return EA_E_VALUE;
    }
    for (i = 0; i < n; i++) {
        const ea_output_stage *o = &outputs[i];
        if (o->drive == NULL || o->open_relay == NULL || o->close_relay == NULL ||
            o->self_test_uA == NULL || o->measured_uA == NULL || o->dc_uA == NULL ||
            o->contact_lost == NULL || o->compliance_limit_uA == NULL ||
            o->impedance_ohm == NULL || o->read_delivered == NULL ||
            o->clear_delivered == NULL) {
            return EA_E_VALUE;
        }
    }
    memset(dev, 0, sizeof *dev);
    dev->model = *model;
    dev->rng = *rng;
    if (keystore != NULL) {
        dev->keystore = *keystore;
    }
    ea_rx_init(&dev->rx);
    dev->rx.cache_size = model->reply_cache_size;
    if (dev->keystore.load != NULL) {
        unsigned slot;
        for (slot = 0; slot < EA_KEY_SLOTS; slot++) {
            uint32_t key_id = 0;
            uint8_t key[EA_KEY_SIZE];
            if (dev->keystore.load(dev->keystore.ctx, slot, &key_id, key) && key_id != 0u) {
                (void)ea_rx_add_key(&dev->rx, key_id, key);
            }
        }
    }
    dev->foresee = 1;
    for (i = 0; i < n; i++) {
        ea_channel_init(&dev->channels[i], (uint8_t)i, &outputs[i], emit, dev, now_us);
        if (outputs[i].first_open_tick_us == NULL) {
            dev->foresee = 0;
        }
    }
    dev->now_us = now_us;
    dev->boot_id = 0;
    boot(dev, now_us);
    return EA_OK;
}

/* The first check instant strictly after now, on the grid from boot. */
static uint64_t next_tick_us(const ea_device *dev)
{
    uint64_t period_us = dev->model.check_period_us;
    return dev->boot_us + ((dev->now_us - dev->boot_us) / period_us + 1u) * period_us;
}

static int on_grid(const ea_device *dev, uint64_t t_us)
{
    return (t_us - dev->boot_us) % dev->model.check_period_us == 0u;
}

/* _compute_deadline: the deadline as seen from the check at first_tick_us, and whether it
 * holds only for that check instant (else for any, until the state changes). */
static void compute_deadline(ea_device *dev, uint64_t first_tick_us)
{
    uint64_t period_us = dev->model.check_period_us;
    int has = 0;
    uint64_t best = 0;
    int tick_bound = 0;
    uint8_t i;
    for (i = 0; i < dev->model.channel_count; i++) {
        uint64_t t_us;
        if (ea_channel_next_deadline_us(&dev->channels[i], &t_us) && (!has || t_us < best)) {
            best = t_us;
            has = 1;
        }
        if (ea_channel_check_tick(&dev->channels[i], first_tick_us, period_us, &t_us)) {
            if (!has || t_us < best) {
                best = t_us;
                has = 1;
            }
            tick_bound = 1;
        }
    }
    if (ea_dev_any_active(dev)) {
        int64_t late_us = (int64_t)dev->lease_expires_us - (int64_t)first_tick_us;
        uint64_t t_us;
        if (late_us <= 0) {
            tick_bound = 1;
            late_us = 0;
        }
        t_us = first_tick_us + ea_ceil_div_u((uint64_t)late_us, period_us) * period_us;
        if (!has || t_us < best) {
            best = t_us;
            has = 1;
        }
    }
    if (!dev->foresee) {
        /* a board that cannot foresee a lead coming off: every check instant is a deadline */
        if (!has || first_tick_us < best) {
            best = first_tick_us;
            has = 1;
        }
        tick_bound = 1;
    }
    dev->deadline_cached = 1;
    dev->deadline_any_tick = (uint8_t)!tick_bound;
    dev->deadline_tick_us = first_tick_us;
    dev->deadline_has = (uint8_t)has;
    dev->deadline_us = best;
}

int ea_device_next_deadline_us(ea_device *dev, uint64_t *out)
{
    /* kept until ea_dev_changed clears it wherever the state changes (a frame received,
     * something run by advance, a lease granted, a fault, a reboot); an answer that depends
     * on which check comes next holds for that check instant only */
    uint64_t first_tick_us = next_tick_us(dev);
    if (!dev->deadline_cached ||
        (!dev->deadline_any_tick && dev->deadline_tick_us != first_tick_us)) {
        compute_deadline(dev, first_tick_us);
    }
    if (dev->deadline_has && out != NULL) {
        *out = dev->deadline_us;
    }
    return dev->deadline_has;
}

static void stop_all(ea_device *dev, uint8_t event, uint8_t fault, uint8_t cause,
                     uint64_t now_us)
{
    uint8_t stopped = 0;
    uint8_t i;
    for (i = 0; i < dev->model.channel_count; i++) {
        if (ea_channel_active(&dev->channels[i])) {
            stopped = (uint8_t)(stopped | (1u << i));
        }
    }
    emit(dev, event, EA_NO_CHANNEL, stopped);
    for (i = 0; i < dev->model.channel_count; i++) {
        if (BIT(stopped, i)) {
            ea_channel_latch(&dev->channels[i], fault, now_us, cause);
        }
    }
    ea_dev_changed(dev);
}

/* The periodic check (§3.5, §3.10): the lease first, then each channel. */
static void check(ea_device *dev, uint64_t tick_us)
{
    uint8_t i;
    if (tick_us >= dev->lease_expires_us && ea_dev_any_active(dev)) {
        stop_all(dev, EA_EVENT_CODE_LEASE_EXPIRED, EA_FAULT_LEASE, EA_STOP_CAUSE_LEASE, tick_us);
        ea_dev_end_session(dev, EA_SESSION_CLOSED_LEASE); /* closed for good */
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        ea_channel_check(&dev->channels[i], tick_us);
    }
}

int ea_device_advance(ea_device *dev, uint64_t now_us)
{
    uint64_t due_us;
    if (now_us < dev->now_us) {
        return EA_E_TIME;
    }
    while (ea_device_next_deadline_us(dev, &due_us) && due_us <= now_us) {
        uint8_t i;
        if (due_us > dev->now_us) {
            dev->now_us = due_us;
        }
        for (i = 0; i < dev->model.channel_count; i++) {
            ea_channel_run_due(&dev->channels[i], dev->now_us);
        }
        if (on_grid(dev, dev->now_us) && dev->now_us > dev->checked_us) {
            dev->checked_us = dev->now_us;
            check(dev, dev->now_us);
        }
        ea_dev_changed(dev);
    }
    dev->now_us = now_us;
    return EA_OK;
}

/* --- bytes in -------------------------------------------------------------------------- */

int ea_device_receive(ea_device *dev, const uint8_t *data, size_t len, uint64_t now_us)
{
    size_t i;
    if (ea_device_advance(dev, now_us) != EA_OK) {
        return EA_E_TIME;
    }
    for (i = 0; i < len; i++) {
        int parse = ea_decoder_push(&dev->decoder, data[i], &dev->raw);
        if (parse < 0) {
            continue;
        }
        ea_session_receive_item(dev, parse);
        ea_dev_changed(dev);
        (void)ea_device_advance(dev, now_us); /* a command may have made something due */
    }
    return EA_OK;
}

/* --- sessions and the lease ------------------------------------------------------------ */

void ea_dev_grant_lease(ea_device *dev, uint16_t lease_ms)
{
    dev->lease_ms = lease_ms;
    dev->lease_expires_us = dev->now_us + (uint64_t)lease_ms * EA_US_PER_MS;
    ea_dev_changed(dev);
}

void ea_dev_open_session(ea_device *dev, const ea_hello *hello, int slot, const uint8_t *frame,
                         size_t len)
{
    uint32_t session_id = ea_session_take_id(dev);
    uint8_t device_nonce[EA_NONCE_SIZE];
    ea_info info;
    ea_hello_ack *ack = &dev->hello_ack;
    ea_dev_random_bytes(dev, device_nonce, EA_NONCE_SIZE);
    ea_rx_open_session(&dev->rx, slot, hello->host_nonce, device_nonce, session_id);
    dev->session_open = 1;
    dev->session_key_id = hello->key_id;
    dev->last_applied = 0;
    dev->tx_counter = 0;
    if (len > sizeof dev->hello_frame) {
        len = sizeof dev->hello_frame; /* not reached: HELLO has one size */
    }
    memcpy(dev->hello_frame, frame, len);
    dev->hello_frame_len = len;
    ea_dev_grant_lease(dev, hello->lease_ms);
    /* the HELLO_ACK: INFO's fields and the session's */
    ea_dev_info(dev, &info);
    memset(ack, 0, sizeof *ack);
    ack->proto_minor = info.proto_minor;
    ack->schema_hash = info.schema_hash;
    ack->fw_major = info.fw_major;
    ack->fw_minor = info.fw_minor;
    ack->fw_patch = info.fw_patch;
    memcpy(ack->model, info.model, EA_TEXT_SIZE);
    memcpy(ack->serial, info.serial, EA_TEXT_SIZE);
    ack->channel_count = info.channel_count;
    ack->max_intensity_uA = info.max_intensity_uA;
    ack->min_phase_us = info.min_phase_us;
    ack->max_phase_us = info.max_phase_us;
    ack->min_freq_cHz = info.min_freq_cHz;
    ack->max_freq_cHz = info.max_freq_cHz;
    ack->max_phase_charge_nC = info.max_phase_charge_nC;
    ack->max_slew_uA_per_s = info.max_slew_uA_per_s;
    ack->compliance_mV = info.compliance_mV;
    ack->min_lease_ms = info.min_lease_ms;
    ack->max_lease_ms = info.max_lease_ms;
    ack->max_run_s = info.max_run_s;
    ack->max_interphase_us = info.max_interphase_us;
    ack->max_asym_ratio = info.max_asym_ratio;
    ack->flags = info.flags;
    ack->boot_id = dev->boot_id;
    ack->session_id = session_id;
    ack->lease_ms = hello->lease_ms;
    memcpy(ack->device_nonce, device_nonce, EA_NONCE_SIZE);
    dev->has_hello_ack = 1;
}

void ea_dev_end_session(ea_device *dev, uint8_t reason)
{
    uint8_t i;
    if (!dev->session_open) {
        return;
    }
    dev->closing = 1;
    for (i = 0; i < dev->model.channel_count; i++) {
        if (ea_channel_active(&dev->channels[i])) {
            ea_channel_latch(&dev->channels[i], EA_FAULT_LEASE, dev->now_us,
                             EA_STOP_CAUSE_LEASE);
        }
    }
    emit(dev, EA_EVENT_CODE_SESSION_CLOSED, EA_NO_CHANNEL, reason);
    dev->session_open = 0;
    dev->has_hello_ack = 0;
    dev->hello_frame_len = 0;
    dev->lease_ms = 0;
    dev->lease_expires_us = dev->now_us;
    if (reason == EA_SESSION_CLOSED_LEASE || reason == EA_SESSION_CLOSED_COUNTER_EXHAUSTED) {
        ea_message status;
        status.msg_type = EA_MSG_TYPE_STATUS;
        ea_device_status(dev, &status.u.status);
        ea_dev_send_in_session(dev, &status, 0u); /* the evidence that outputs are off */
    }
    ea_rx_close_session(&dev->rx); /* its keys erased: its frames get NO_SESSION */
    dev->closing = 0;
    ea_dev_changed(dev);
}

/* --- state ----------------------------------------------------------------------------- */

uint32_t ea_device_boot_id(const ea_device *dev)
{
    return dev->boot_id;
}

uint64_t ea_device_now_us(const ea_device *dev)
{
    return dev->now_us;
}

uint32_t ea_device_session_id(const ea_device *dev)
{
    return dev->session_open ? dev->rx.session.session_id : 0u;
}

uint16_t ea_device_lease_ms(const ea_device *dev)
{
    return dev->lease_ms;
}

int ea_device_lease_valid(const ea_device *dev)
{
    return dev->session_open && dev->now_us < dev->lease_expires_us;
}

void ea_device_status(const ea_device *dev, ea_status *out)
{
    uint8_t flags = EA_DEVICE_FLAG_NONE;
    uint8_t i;
    memset(out, 0, sizeof *out);
    if (dev->session_open) {
        flags |= EA_DEVICE_FLAG_SESSION_OPEN;
    }
    if (ea_device_lease_valid(dev)) {
        flags |= EA_DEVICE_FLAG_LEASE_VALID;
        out->lease_remaining_ms =
            ea_min_u16(ea_ceil_div_u(dev->lease_expires_us - dev->now_us, EA_US_PER_MS));
    }
    for (i = 0; i < dev->model.channel_count; i++) {
        if (dev->channels[i].faults != 0u) {
            flags |= EA_DEVICE_FLAG_FAULT_LATCHED;
        }
    }
    if (ea_dev_any_active(dev)) {
        flags |= EA_DEVICE_FLAG_OUTPUT_ACTIVE;
    }
    out->boot_id = dev->boot_id;
    out->uptime_ms = uptime_ms(dev);
    out->last_applied_counter = dev->session_open ? dev->last_applied : 0u;
    out->rx_err_count = dev->decoder.rx_err_count;
    out->auth_fail_count = dev->rx.auth_fail_count;
    out->replay_count = dev->rx.replay_count;
    out->flags = flags;
    out->channels_count = dev->model.channel_count;
    for (i = 0; i < dev->model.channel_count; i++) {
        ea_channel_get_status(&dev->channels[i], dev->now_us, &out->channels[i]);
    }
}

void ea_device_counters(const ea_device *dev, ea_counters *out)
{
    *out = dev->counters;
    out->rx_err_count = dev->decoder.rx_err_count;
    out->auth_fail_count = dev->rx.auth_fail_count;
    out->replay_count = dev->rx.replay_count;
}

uint8_t ea_device_channel_state(const ea_device *dev, uint8_t ch)
{
    return ch < dev->model.channel_count ? dev->channels[ch].state : EA_CHANNEL_STATE_IDLE;
}

uint8_t ea_device_channel_faults(const ea_device *dev, uint8_t ch)
{
    return ch < dev->model.channel_count ? dev->channels[ch].faults : 0u;
}

int ea_device_channel_active(const ea_device *dev, uint8_t ch)
{
    return ch < dev->model.channel_count && ea_channel_active(&dev->channels[ch]);
}

void ea_device_channel_dose(const ea_device *dev, uint8_t ch, ea_dose *out)
{
    ea_delivered none;
    memset(&none, 0, sizeof none);
    ea_dose_message(ch < dev->model.channel_count ? &dev->channels[ch].dose : &none, ch, out);
}

/* --- inputs ---------------------------------------------------------------------------- */

int ea_device_reboot(ea_device *dev, uint64_t now_us)
{
    if (ea_device_advance(dev, now_us) != EA_OK) {
        return EA_E_TIME;
    }
    boot(dev, now_us);
    return ea_device_advance(dev, now_us);
}

int ea_device_press_stop_button(ea_device *dev, uint64_t now_us)
{
    if (ea_device_advance(dev, now_us) != EA_OK) {
        return EA_E_TIME;
    }
    stop_all(dev, EA_EVENT_CODE_BUTTON_STOP, EA_FAULT_BUTTON_STOP, EA_STOP_CAUSE_FAULT, now_us);
    return EA_OK;
}

int ea_device_open_pairing_window(ea_device *dev, uint64_t now_us, uint32_t seconds)
{
    if (ea_device_advance(dev, now_us) != EA_OK) {
        return EA_E_TIME;
    }
    if (seconds > EA_MAX_WINDOW_S) {
        return EA_E_VALUE;
    }
    dev->window_start_us = now_us;
    dev->window_set = (uint8_t)(seconds != 0u);
    dev->window_until_us = now_us + (uint64_t)seconds * EA_US_PER_S;
    return EA_OK;
}
