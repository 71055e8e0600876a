/* The host build's ideal output stage (see host_stage.h). */
#include "host_stage.h"

#include <string.h>

#include "ea_schedule.h"
#include "ea_units.h"

#define PC_PER_NC 1000u

void host_stage_init(host_stage *s, uint32_t load_ohm, uint32_t compliance_mV, uint32_t max_uA,
                     uint64_t now_us)
{
    memset(s, 0, sizeof *s);
    s->load_ohm = load_ohm;
    s->max_uA = max_uA;
    s->limit_uA = load_ohm == 0u ? 0u
                                 : (uint32_t)ea_min_u32((uint64_t)compliance_mV * 1000u / load_ohm);
    s->flushed_us = now_us;
    s->square_ratio = 1u;
}

static uint64_t amp_at(const host_stage *s, uint64_t t_us)
{
    int32_t set_uA = ea_ramp_at(&s->ramp, t_us);
    uint64_t amp = set_uA > 0 ? (uint64_t)set_uA : 0u;
    return amp < s->limit_uA ? amp : s->limit_uA;
}

/* The pulses with onsets in [a_us, b_us) (at or after the run start): counted, charged. */
static void account_pulses(host_stage *s, const ea_schedule *cycle, uint64_t a_us, uint64_t b_us)
{
    const ea_set_program *p = &s->program;
    uint32_t ratio = p->shape == EA_SHAPE_ASYMMETRIC_BIPHASIC ? p->asym_ratio : 1u;
    uint64_t lo = a_us - s->run_start_us;
    uint64_t hi = b_us - s->run_start_us;
    uint64_t c;
    unsigned i;
    if (ratio == 0u) {
        ratio = 1u;
    }
    for (c = lo / cycle->cycle_us; c * cycle->cycle_us < hi; c++) {
        uint64_t base = c * cycle->cycle_us;
        for (i = 0; i < cycle->count; i++) {
            const ea_burst *burst = &cycle->bursts[i];
            uint64_t count = ea_burst_count(burst);
            uint64_t width = burst->half ? p->phase_b_us : p->phase_a_us;
            uint64_t start = base + burst->start_us;
            uint64_t k = 0;
            if (lo > start) { /* the first k with floor(k·10^8 / f) >= lo − start */
                k = ea_ceil_div_u((lo - start) * burst->freq_cHz, EA_CENTI_HZ_PERIOD_US);
            }
            for (; k < count; k++) {
                uint64_t onset = start + k * EA_CENTI_HZ_PERIOD_US / burst->freq_cHz;
                uint64_t amp;
                if (onset >= hi) {
                    break;
                }
                if (onset < lo) {
                    continue;
                }
                amp = amp_at(s, s->run_start_us + onset);
                if (amp == 0u) {
                    continue; /* a pulse of 0 µA delivers nothing and is not counted */
                }
                if (burst->half) {
                    s->pulses_b++;
                } else {
                    s->pulses_a++;
                }
                /* Both phases carry amp·width: the second is amp/ratio for width·ratio. */
                s->charge_pos_pC += amp * width;
                s->charge_neg_pC += amp * width;
                s->square_scaled += amp * amp * width * (ratio + 1u);
                if (amp > s->peak_since_read_uA) {
                    s->peak_since_read_uA = amp;
                }
            }
        }
    }
    s->square_ratio = ratio;
}

static void deliver(host_stage *s, const ea_schedule *cycle, uint64_t a_us, uint64_t b_us)
{
    uint64_t time_a = 0;
    uint64_t time_b = 0;
    if (b_us <= a_us || (ea_ramp_at(&s->ramp, a_us) <= 0 && ea_ramp_at(&s->ramp, b_us) <= 0)) {
        return; /* nothing flows while the set value is zero all through */
    }
    if (ea_time_per_half_us(&s->program, s->run_start_us, a_us, b_us, &time_a, &time_b) != 0) {
        return;
    }
    s->time_a_us += time_a;
    s->time_b_us += time_b;
    s->on_time_us += b_us - a_us;
    account_pulses(s, cycle, a_us, b_us);
}

/* Account what was delivered from the last flush up to now_us. */
static void flush(host_stage *s, uint64_t now_us)
{
    uint64_t t0 = s->flushed_us;
    ea_schedule cycle;
    if (now_us <= t0) {
        return;
    }
    s->flushed_us = now_us;
    if (!s->driving || s->load_ohm == 0u || s->limit_uA == 0u) {
        return;
    }
    if (ea_schedule_of(&s->program, &cycle) != 0) {
        return;
    }
    if (t0 < s->run_start_us) {
        t0 = s->run_start_us;
    }
    /* Cut at the ramp's end, as the simulator's stage does: a level of zero after a
     * ramp-down is not on-time. */
    if (t0 < s->ramp.t1_us && s->ramp.t1_us < now_us) {
        deliver(s, &cycle, t0, s->ramp.t1_us);
        t0 = s->ramp.t1_us;
    }
    deliver(s, &cycle, t0, now_us);
}

/* x / d to the nearest integer, ties to even (Python's round of a float quotient). */
static uint64_t round_div(uint64_t x, uint64_t d)
{
    uint64_t q = x / d;
    uint64_t r = x % d;
    if (2u * r > d || (2u * r == d && (q & 1u) != 0u)) {
        q++;
    }
    return q;
}

static void stage_drive(void *ctx, uint64_t t_us, const ea_drive *drive)
{
    host_stage *s = ctx;
    flush(s, t_us);
    s->driving = drive != NULL;
    if (drive != NULL) {
        s->program = *drive->program;
        s->run_start_us = drive->run_start_us;
        s->ramp = drive->ramp;
    }
}

static void stage_open_relay(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    flush(s, t_us);
    s->relay_closed = 0;
}

static void stage_close_relay(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    flush(s, t_us);
    s->relay_closed = 1;
}

static uint32_t stage_self_test_uA(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    int32_t set_uA = s->driving ? ea_ramp_at(&s->ramp, t_us) : 0;
    return set_uA > 0 ? (uint32_t)set_uA : 0u;
}

static uint32_t stage_measured_uA(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    if (!s->driving || s->load_ohm == 0u) {
        return 0u;
    }
    return (uint32_t)amp_at(s, t_us);
}

static uint32_t stage_dc_uA(void *ctx, uint64_t t_us)
{
    (void)ctx;
    (void)t_us;
    return 0u;
}

static int stage_contact_lost(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    (void)t_us;
    return s->load_ohm == 0u;
}

static uint32_t stage_compliance_limit_uA(void *ctx)
{
    host_stage *s = ctx;
    if (!s->driving || s->limit_uA >= s->max_uA) {
        return EA_NOT_LIMITED;
    }
    return s->limit_uA;
}

static uint32_t stage_impedance_ohm(void *ctx, uint32_t phase_us, uint64_t t_us)
{
    host_stage *s = ctx;
    (void)phase_us;
    (void)t_us;
    if (s->load_ohm == 0u || s->load_ohm > EA_OPEN_OHM) {
        return EA_OPEN_OHM;
    }
    return s->load_ohm;
}

static void stage_read_delivered(void *ctx, uint64_t t_us, ea_delivered *out)
{
    host_stage *s = ctx;
    ea_delivered total;
    flush(s, t_us);
    total.pulses_a = s->pulses_a;
    total.pulses_b = s->pulses_b;
    total.time_a_us = s->time_a_us;
    total.time_b_us = s->time_b_us;
    total.on_time_us = s->on_time_us;
    total.charge_pos_nC = round_div(s->charge_pos_pC, PC_PER_NC);
    total.charge_neg_nC = round_div(s->charge_neg_pC, PC_PER_NC);
    total.square_uA2_us = round_div(s->square_scaled, s->square_ratio);
    total.peak_uA = s->peak_since_read_uA;
    out->pulses_a = total.pulses_a - s->read.pulses_a;
    out->pulses_b = total.pulses_b - s->read.pulses_b;
    out->time_a_us = total.time_a_us - s->read.time_a_us;
    out->time_b_us = total.time_b_us - s->read.time_b_us;
    out->on_time_us = total.on_time_us - s->read.on_time_us;
    out->charge_pos_nC = total.charge_pos_nC - s->read.charge_pos_nC;
    out->charge_neg_nC = total.charge_neg_nC - s->read.charge_neg_nC;
    out->square_uA2_us = total.square_uA2_us - s->read.square_uA2_us;
    out->peak_uA = total.peak_uA; /* a peak since the last reading, not a running total */
    s->read = total;
    s->peak_since_read_uA = 0u;
}

static void stage_clear_delivered(void *ctx, uint64_t t_us)
{
    host_stage *s = ctx;
    flush(s, t_us);
    s->pulses_a = s->pulses_b = s->time_a_us = s->time_b_us = s->on_time_us = 0u;
    s->charge_pos_pC = s->charge_neg_pC = s->square_scaled = 0u;
    s->square_ratio = 1u;
    s->peak_since_read_uA = 0u;
    memset(&s->read, 0, sizeof s->read);
}

static uint64_t stage_first_open_tick_us(void *ctx, uint64_t first_tick_us, uint64_t period_us)
{
    host_stage *s = ctx;
    (void)period_us;
    return s->load_ohm == 0u ? first_tick_us : EA_NO_TICK;
}

ea_output_stage host_stage_hal(host_stage *s)
{
    ea_output_stage hal;
    hal.drive = stage_drive;
    hal.open_relay = stage_open_relay;
    hal.close_relay = stage_close_relay;
    hal.self_test_uA = stage_self_test_uA;
    hal.measured_uA = stage_measured_uA;
    hal.dc_uA = stage_dc_uA;
    hal.contact_lost = stage_contact_lost;
    hal.compliance_limit_uA = stage_compliance_limit_uA;
    hal.impedance_ohm = stage_impedance_ohm;
    hal.read_delivered = stage_read_delivered;
    hal.clear_delivered = stage_clear_delivered;
    hal.first_open_tick_us = stage_first_open_tick_us;
    hal.ctx = s;
    return hal;
}
