#include "ea_schedule.h"

#include <stddef.h>

#include "ea_units.h"

uint64_t ea_burst_count(const ea_burst *b)
{
    return ea_ceil_div_u(b->length_us * b->freq_cHz, EA_CENTI_HZ_PERIOD_US);
}

static void burst(ea_burst *b, uint64_t start_us, uint64_t length_us, uint32_t freq_cHz,
                  uint8_t half)
{
    b->start_us = start_us;
    b->length_us = length_us;
    b->freq_cHz = freq_cHz;
    b->half = half;
}

int ea_schedule_of(const ea_set_program *p, ea_schedule *out)
{
    if (p->freq_a_cHz == 0u) {
        return -1;
    }
    if (p->mode == EA_MODE_CONTINUOUS) {
        out->cycle_us = EA_CENTI_HZ_PERIOD_US;
        burst(&out->bursts[0], 0u, EA_CENTI_HZ_PERIOD_US, p->freq_a_cHz, 0u);
        out->count = 1u;
        return 0;
    }
    if (p->mode == EA_MODE_DENSE_DISPERSE) {
        uint64_t dwell_a_us = (uint64_t)p->dwell_a_ms * EA_US_PER_MS;
        uint64_t dwell_b_us = (uint64_t)p->dwell_b_ms * EA_US_PER_MS;
        if (dwell_a_us == 0u || dwell_b_us == 0u || p->freq_b_cHz == 0u) {
            return -1;
        }
        out->cycle_us = dwell_a_us + dwell_b_us;
        burst(&out->bursts[0], 0u, dwell_a_us, p->freq_a_cHz, 0u);
        burst(&out->bursts[1], dwell_a_us, dwell_b_us, p->freq_b_cHz, 1u);
        out->count = 2u;
        return 0;
    }
    if (p->mode == EA_MODE_INTERMITTENT) {
        uint64_t on_us = (uint64_t)p->on_ms * EA_US_PER_MS;
        if (on_us == 0u) {
            return -1;
        }
        out->cycle_us = on_us + (uint64_t)p->off_ms * EA_US_PER_MS;
        burst(&out->bursts[0], 0u, on_us, p->freq_a_cHz, 0u);
        out->count = 1u;
        return 0;
    }
    return -1;
}

const ea_burst *ea_schedule_burst_at(const ea_schedule *s, uint64_t t_us, uint64_t run_start_us)
{
    uint64_t phase_us;
    uint8_t i;
    if (t_us < run_start_us) {
        return NULL;
    }
    phase_us = (t_us - run_start_us) % s->cycle_us;
    for (i = 0; i < s->count; i++) {
        const ea_burst *b = &s->bursts[i];
        if (b->start_us <= phase_us && phase_us < b->start_us + b->length_us) {
            return b;
        }
    }
    return NULL;
}

uint64_t ea_schedule_time_in_half_b_us(const ea_schedule *s, uint64_t offset_us)
{
    uint64_t cycles = offset_us / s->cycle_us;
    uint64_t phase_us = offset_us % s->cycle_us;
    uint64_t total = 0;
    uint8_t i;
    for (i = 0; i < s->count; i++) {
        const ea_burst *b = &s->bursts[i];
        uint64_t inside = 0;
        if (b->half != 1u) {
            continue;
        }
        if (phase_us > b->start_us) {
            inside = phase_us - b->start_us;
            if (inside > b->length_us) {
                inside = b->length_us;
            }
        }
        total += cycles * b->length_us + inside;
    }
    return total;
}

uint32_t ea_widest_phase_us(const ea_set_program *p)
{
    if (p->mode == EA_MODE_DENSE_DISPERSE && p->phase_b_us > p->phase_a_us) {
        return p->phase_b_us;
    }
    return p->phase_a_us;
}

uint32_t ea_phase_at_us(const ea_set_program *p, uint64_t run_start_us, uint64_t t_us)
{
    int64_t cycle_us;
    int64_t offset;
    int64_t phase;
    if (p->mode != EA_MODE_DENSE_DISPERSE) {
        return p->phase_a_us;
    }
    cycle_us = ((int64_t)p->dwell_a_ms + (int64_t)p->dwell_b_ms) * (int64_t)EA_US_PER_MS;
    if (cycle_us == 0) {
        return p->phase_a_us; /* not a program the checks accept */
    }
    /* Python's % takes the sign of the divisor: a time before the start is folded forward */
    offset = (int64_t)t_us - (int64_t)run_start_us;
    phase = offset - ea_floor_div(offset, cycle_us) * cycle_us;
    return phase >= (int64_t)p->dwell_a_ms * (int64_t)EA_US_PER_MS ? p->phase_b_us
                                                                     : p->phase_a_us;
}

uint32_t ea_freq_at_cHz(const ea_set_program *p, uint64_t run_start_us, uint64_t t_us)
{
    ea_schedule s;
    const ea_burst *b;
    if (ea_schedule_of(p, &s) != 0) {
        return 0u;
    }
    b = ea_schedule_burst_at(&s, t_us, run_start_us);
    return b == NULL ? 0u : b->freq_cHz;
}

int ea_time_per_half_us(const ea_set_program *p, uint64_t run_start_us, uint64_t t0_us,
                        uint64_t t1_us, uint64_t *time_a_us, uint64_t *time_b_us)
{
    ea_schedule s;
    uint64_t b;
    if (t1_us < t0_us || t0_us < run_start_us || ea_schedule_of(p, &s) != 0) {
        return -1;
    }
    b = ea_schedule_time_in_half_b_us(&s, t1_us - run_start_us) -
        ea_schedule_time_in_half_b_us(&s, t0_us - run_start_us);
    *time_b_us = b;
    *time_a_us = t1_us - t0_us - b;
    return 0;
}
