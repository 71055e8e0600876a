/* The binding's side of sim://?core=c: what ctypes needs beside the core's own API
 * (ea_device.h), compiled into the same shared library (simulator/ccore/build.py).
 *
 * - eacc_new / eacc_free: the device with its HAL tables in one allocation (host code may
 *   allocate; the core never does).
 * - The output stages' calls go to one table of callbacks (eacc_stage_fns, written in Python
 *   with ctypes) with the channel index first; a drive's program is handed over as its
 *   SET_PROGRAM payload bytes (the generated encoder), so Python decodes it with its own codec
 *   and never mirrors a C struct layout.
 * - The model from its fields in DeviceModel's order; STATUS and DOSE as payload bytes. */
#include <stdlib.h>
#include <string.h>

#include "ea_device.h"

typedef struct {
    void (*drive)(unsigned ch, uint64_t t_us, const uint8_t *program, size_t program_len,
                  uint64_t run_start_us, uint64_t t0_us, uint64_t t1_us, int32_t start_uA,
                  int32_t end_uA);
    void (*open_relay)(unsigned ch, uint64_t t_us);
    void (*close_relay)(unsigned ch, uint64_t t_us);
    uint32_t (*self_test_uA)(unsigned ch, uint64_t t_us);
    uint32_t (*measured_uA)(unsigned ch, uint64_t t_us);
    uint32_t (*dc_uA)(unsigned ch, uint64_t t_us);
    int (*contact_lost)(unsigned ch, uint64_t t_us);
    uint32_t (*compliance_limit_uA)(unsigned ch);
    uint32_t (*impedance_ohm)(unsigned ch, uint32_t phase_us, uint64_t t_us);
    /* out: the nine ea_delivered fields in hal.Delivered's order */
    void (*read_delivered)(unsigned ch, uint64_t t_us, uint64_t *out);
    void (*clear_delivered)(unsigned ch, uint64_t t_us);
    uint64_t (*first_open_tick_us)(unsigned ch, uint64_t first_tick_us, uint64_t period_us);
    uint32_t (*random_u32)(void);
    int (*key_load)(unsigned slot, uint32_t *key_id, uint8_t *key);
    void (*key_store)(unsigned slot, uint32_t key_id, const uint8_t *key);
    void (*key_erase)(unsigned slot);
} eacc_stage_fns;

typedef struct eacc eacc;

typedef struct {
    eacc *owner;
    unsigned index;
} eacc_channel;

struct eacc {
    ea_device dev;
    eacc_stage_fns fns;
    eacc_channel channels[EA_MAX_CHANNELS];
};

#define CH(ctx) ((const eacc_channel *)(ctx))
#define FNS(ctx) (&CH(ctx)->owner->fns)

static void t_drive(void *ctx, uint64_t t_us, const ea_drive *drive)
{
    uint8_t payload[64];
    size_t len = 0;
    if (drive == NULL) {
        FNS(ctx)->drive(CH(ctx)->index, t_us, NULL, 0, 0, 0, 0, 0, 0);
        return;
    }
    if (ea_encode_set_program(drive->program, payload, sizeof payload, &len) != EA_OK) {
        len = 0; /* cannot happen for a program the core stored; Python refuses len 0 */
    }
    FNS(ctx)->drive(CH(ctx)->index, t_us, payload, len, drive->run_start_us, drive->ramp.t0_us,
                    drive->ramp.t1_us, drive->ramp.start_uA, drive->ramp.end_uA);
}

static void t_open_relay(void *ctx, uint64_t t_us) { FNS(ctx)->open_relay(CH(ctx)->index, t_us); }

static void t_close_relay(void *ctx, uint64_t t_us)
{
    FNS(ctx)->close_relay(CH(ctx)->index, t_us);
}

static uint32_t t_self_test_uA(void *ctx, uint64_t t_us)
{
    return FNS(ctx)->self_test_uA(CH(ctx)->index, t_us);
}

static uint32_t t_measured_uA(void *ctx, uint64_t t_us)
{
    return FNS(ctx)->measured_uA(CH(ctx)->index, t_us);
}

static uint32_t t_dc_uA(void *ctx, uint64_t t_us) { return FNS(ctx)->dc_uA(CH(ctx)->index, t_us); }

static int t_contact_lost(void *ctx, uint64_t t_us)
{
    return FNS(ctx)->contact_lost(CH(ctx)->index, t_us);
}

static uint32_t t_compliance_limit_uA(void *ctx)
{
    return FNS(ctx)->compliance_limit_uA(CH(ctx)->index);
}

static uint32_t t_impedance_ohm(void *ctx, uint32_t phase_us, uint64_t t_us)
{
    return FNS(ctx)->impedance_ohm(CH(ctx)->index, phase_us, t_us);
}

static void t_read_delivered(void *ctx, uint64_t t_us, ea_delivered *out)
{
    uint64_t v[9] = {0};
    FNS(ctx)->read_delivered(CH(ctx)->index, t_us, v);
    out->pulses_a = v[0];
    out->pulses_b = v[1];
    out->time_a_us = v[2];
    out->time_b_us = v[3];
    out->on_time_us = v[4];
    out->charge_pos_nC = v[5];
    out->charge_neg_nC = v[6];
    out->peak_uA = v[7];
    out->square_uA2_us = v[8];
}

static void t_clear_delivered(void *ctx, uint64_t t_us)
{
    FNS(ctx)->clear_delivered(CH(ctx)->index, t_us);
}

static uint64_t t_first_open_tick_us(void *ctx, uint64_t first_tick_us, uint64_t period_us)
{
    return FNS(ctx)->first_open_tick_us(CH(ctx)->index, first_tick_us, period_us);
}

static uint32_t t_random_u32(void *ctx) { return ((eacc *)ctx)->fns.random_u32(); }

static int t_key_load(void *ctx, unsigned slot, uint32_t *key_id, uint8_t key[32])
{
    return ((eacc *)ctx)->fns.key_load(slot, key_id, key);
}

static void t_key_store(void *ctx, unsigned slot, uint32_t key_id, const uint8_t key[32])
{
    ((eacc *)ctx)->fns.key_store(slot, key_id, key);
}

static void t_key_erase(void *ctx, unsigned slot) { ((eacc *)ctx)->fns.key_erase(slot); }

/* The values in DeviceModel's field order after model and serial: fw_version (3),
 * channel_count, max_intensity_uA, min_phase_us, max_phase_us, min_freq_cHz, max_freq_cHz,
 * max_phase_charge_nC, max_slew_uA_per_s, compliance_mV, min_lease_ms, max_lease_ms,
 * max_run_s, max_interphase_us, max_asym_ratio, check_period_us, reply_cache_size. */
#define EACC_MODEL_VALUES 19u

static void text(char *out, const char *in)
{
    size_t n = strlen(in);
    memset(out, 0, EA_TEXT_SIZE);
    memcpy(out, in, n < EA_TEXT_SIZE ? n : EA_TEXT_SIZE);
}

static int model_of(ea_model *m, const char *name, const char *serial, const uint32_t *v,
                    size_t n)
{
    if (n != EACC_MODEL_VALUES || strlen(name) > EA_TEXT_SIZE || strlen(serial) > EA_TEXT_SIZE) {
        return EA_E_VALUE;
    }
    memset(m, 0, sizeof *m);
    text(m->model, name);
    text(m->serial, serial);
    m->fw_major = (uint8_t)v[0];
    m->fw_minor = (uint8_t)v[1];
    m->fw_patch = (uint8_t)v[2];
    m->channel_count = (uint8_t)v[3];
    m->max_intensity_uA = (uint16_t)v[4];
    m->min_phase_us = (uint16_t)v[5];
    m->max_phase_us = (uint16_t)v[6];
    m->min_freq_cHz = (uint16_t)v[7];
    m->max_freq_cHz = (uint16_t)v[8];
    m->max_phase_charge_nC = (uint16_t)v[9];
    m->max_slew_uA_per_s = (uint16_t)v[10];
    m->compliance_mV = v[11];
    m->min_lease_ms = (uint16_t)v[12];
    m->max_lease_ms = (uint16_t)v[13];
    m->max_run_s = (uint16_t)v[14];
    m->max_interphase_us = (uint16_t)v[15];
    m->max_asym_ratio = (uint8_t)v[16];
    m->check_period_us = v[17];
    m->reply_cache_size = (uint16_t)v[18];
    return ea_model_check(m);
}

size_t eacc_model_values(void) { return EACC_MODEL_VALUES; }

/* A device switched on at now_us; NULL (and *status set) when the core refuses the model or a
 * table, or memory runs out. foresee: give the stages first_open_tick_us. */
eacc *eacc_new(const char *name, const char *serial, const uint32_t *values, size_t n,
               const eacc_stage_fns *fns, int foresee, int keystore, uint64_t now_us,
               int *status)
{
    ea_model model;
    ea_output_stage stages[EA_MAX_CHANNELS];
    ea_random rng;
    ea_keystore keys;
    eacc *self;
    unsigned i;
    *status = model_of(&model, name, serial, values, n);
    if (*status != EA_OK) {
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (self == NULL) {
        *status = EA_E_VALUE;
        return NULL;
    }
    self->fns = *fns;
    for (i = 0; i < model.channel_count; i++) {
        self->channels[i].owner = self;
        self->channels[i].index = i;
        stages[i].drive = t_drive;
        stages[i].open_relay = t_open_relay;
        stages[i].close_relay = t_close_relay;
        stages[i].self_test_uA = t_self_test_uA;
        stages[i].measured_uA = t_measured_uA;
        stages[i].dc_uA = t_dc_uA;
        stages[i].contact_lost = t_contact_lost;
        stages[i].compliance_limit_uA = t_compliance_limit_uA;
        stages[i].impedance_ohm = t_impedance_ohm;
        stages[i].read_delivered = t_read_delivered;
        stages[i].clear_delivered = t_clear_delivered;
        stages[i].first_open_tick_us = foresee ? t_first_open_tick_us : NULL;
        stages[i].ctx = &self->channels[i];
    }
    rng.random_u32 = t_random_u32;
    rng.ctx = self;
    keys.load = t_key_load;
    keys.store = t_key_store;
    keys.erase = t_key_erase;
    keys.ctx = self;
    *status = ea_device_init(&self->dev, &model, stages, model.channel_count, &rng,
                             keystore ? &keys : NULL, now_us);
    if (*status != EA_OK) {
        free(self);
        return NULL;
    }
    return self;
}

void eacc_free(eacc *self) { free(self); }

ea_device *eacc_device(eacc *self) { return &self->dev; }

/* STATUS as of now, as its payload bytes; returns the length (0: cannot happen). */
size_t eacc_status(const eacc *self, uint8_t *buf, size_t cap)
{
    ea_status status;
    size_t len = 0;
    ea_device_status(&self->dev, &status);
    return ea_encode_status(&status, buf, cap, &len) == EA_OK ? len : 0u;
}

/* The DOSE reply of channel ch as of its last reading, as payload bytes. */
size_t eacc_dose(const eacc *self, uint8_t ch, uint8_t *buf, size_t cap)
{
    ea_dose dose;
    size_t len = 0;
    ea_device_channel_dose(&self->dev, ch, &dose);
    return ea_encode_dose(&dose, buf, cap, &len) == EA_OK ? len : 0u;
}
