/* simulator/firmware/checks.py, check for check. */
#include "ea_checks.h"

#include "ea_schedule.h"
#include "ea_units.h"

/* SET_PROGRAM field indices (PROTOCOL.md §5.4). */
#define F_FREQ_A 3u
#define F_PHASE_A 4u
#define F_FREQ_B 5u
#define F_PHASE_B 6u
#define F_DWELL_A 7u
#define F_DWELL_B 8u
#define F_ON 9u
#define F_OFF 10u
#define F_INTERPHASE 11u
#define F_ASYM 12u
#define F_TARGET 13u
#define F_RAMP_UP 14u
#define F_MAX_RUN 16u
/* SET_INTENSITY's */
#define F_SI_TARGET 1u
#define F_SI_SLEW 2u

int ea_refuse(ea_refusal *r, uint8_t code, uint8_t field, uint32_t limit)
{
    r->code = code;
    r->field = field;
    r->limit = limit;
    return 1;
}

static int out_of_range(ea_refusal *r, uint8_t field, uint32_t limit)
{
    return ea_refuse(r, EA_NAK_CODE_OUT_OF_RANGE, field, limit);
}

static int within(uint32_t value, uint8_t field, uint32_t low, uint32_t high, ea_refusal *r)
{
    if (value < low) {
        return out_of_range(r, field, low);
    }
    if (value > high) {
        return out_of_range(r, field, high);
    }
    return 0;
}

uint32_t ea_max_target_uA(const ea_limits *m, const ea_set_program *p)
{
    uint32_t widest_us = ea_widest_phase_us(p);
    uint64_t by_charge;
    if (widest_us == 0u) {
        return m->max_intensity_uA; /* not a program the phase checks let through */
    }
    by_charge = (uint64_t)m->max_phase_charge_nC * EA_US_PER_MS / widest_us;
    return by_charge < m->max_intensity_uA ? (uint32_t)by_charge : m->max_intensity_uA;
}

static int check_target(const ea_limits *m, const ea_set_program *p, uint32_t target_uA,
                        uint8_t field, ea_refusal *r)
{
    uint32_t limit_uA;
    if (target_uA > m->max_intensity_uA) {
        return out_of_range(r, field, m->max_intensity_uA);
    }
    limit_uA = ea_max_target_uA(m, p);
    if (target_uA > limit_uA) {
        return out_of_range(r, field, limit_uA);
    }
    return 0;
}

static uint32_t pulse_us(const ea_set_program *p, uint32_t phase_us)
{
    return phase_us * (1u + p->asym_ratio) + p->interphase_us;
}

static int check_pulse_fits(const ea_set_program *p, ea_refusal *r)
{
    uint32_t freq[2];
    uint32_t phase[2];
    uint8_t phase_field[2];
    unsigned halves = 1;
    unsigned i;
    freq[0] = p->freq_a_cHz;
    phase[0] = p->phase_a_us;
    phase_field[0] = F_PHASE_A;
    if (p->mode == EA_MODE_DENSE_DISPERSE) {
        freq[1] = p->freq_b_cHz;
        phase[1] = p->phase_b_us;
        phase_field[1] = F_PHASE_B;
        halves = 2;
    }
    for (i = 0; i < halves; i++) {
        uint32_t interval_us = EA_CENTI_HZ_PERIOD_US / freq[i];
        if (pulse_us(p, phase[i]) > interval_us) {
            uint32_t room = interval_us > p->interphase_us ? interval_us - p->interphase_us : 0u;
            return out_of_range(r, phase_field[i], room / (1u + p->asym_ratio));
        }
    }
    return 0;
}

int64_t ea_boundary_clearance_us(uint32_t freq_cHz, uint32_t dwell_ms, uint32_t pulse)
{
    int64_t dwell_us = (int64_t)dwell_ms * (int64_t)EA_US_PER_MS;
    int64_t last_k = ea_ceil_div(dwell_us * freq_cHz, EA_CENTI_HZ_PERIOD_US) - 1;
    int64_t last_onset_us = ea_floor_div(last_k * (int64_t)EA_CENTI_HZ_PERIOD_US, freq_cHz);
    return dwell_us - last_onset_us - (int64_t)pulse;
}

/* The longest dwell below dwell_ms (≥ EA_MIN_MODE_MS) that keeps the gap, or 0: a downward
 * search, at most 60 000 steps, run only when a SET_PROGRAM is refused. */
static uint32_t longest_dwell_ms(uint32_t freq_cHz, uint32_t dwell_ms, uint32_t pulse)
{
    uint32_t candidate_ms;
    for (candidate_ms = dwell_ms - 1u; candidate_ms >= EA_MIN_MODE_MS; candidate_ms--) {
        if (ea_boundary_clearance_us(freq_cHz, candidate_ms, pulse) >= EA_MIN_PULSE_GAP_US) {
            return candidate_ms;
        }
    }
    return 0u;
}

static int check_boundaries(const ea_set_program *p, ea_refusal *r)
{
    uint32_t pulse = pulse_us(p, p->phase_a_us);
    if (ea_boundary_clearance_us(p->freq_a_cHz, p->dwell_a_ms, pulse) < EA_MIN_PULSE_GAP_US) {
        return out_of_range(r, F_DWELL_A, longest_dwell_ms(p->freq_a_cHz, p->dwell_a_ms, pulse));
    }
    pulse = pulse_us(p, p->phase_b_us);
    if (ea_boundary_clearance_us(p->freq_b_cHz, p->dwell_b_ms, pulse) < EA_MIN_PULSE_GAP_US) {
        return out_of_range(r, F_DWELL_B, longest_dwell_ms(p->freq_b_cHz, p->dwell_b_ms, pulse));
    }
    return 0;
}

int ea_check_program(const ea_limits *m, const ea_set_program *p, ea_refusal *r)
{
    int dense = p->mode == EA_MODE_DENSE_DISPERSE;
    int intermittent = p->mode == EA_MODE_INTERMITTENT;
    /* the fields only one mode uses, in field order: checked when used, else they must be 0 */
    const struct {
        uint32_t value;
        uint8_t field;
        int used;
        uint32_t low;
        uint32_t high;
    } mode_fields[6] = {
        {p->freq_b_cHz, F_FREQ_B, dense, m->min_freq_cHz, m->max_freq_cHz},
        {p->phase_b_us, F_PHASE_B, dense, m->min_phase_us, m->max_phase_us},
        {p->dwell_a_ms, F_DWELL_A, dense, EA_MIN_MODE_MS, EA_MAX_MODE_MS},
        {p->dwell_b_ms, F_DWELL_B, dense, EA_MIN_MODE_MS, EA_MAX_MODE_MS},
        {p->on_ms, F_ON, intermittent, EA_MIN_MODE_MS, EA_MAX_MODE_MS},
        {p->off_ms, F_OFF, intermittent, EA_MIN_MODE_MS, EA_MAX_MODE_MS},
    };
    unsigned i;
    if (within(p->freq_a_cHz, F_FREQ_A, m->min_freq_cHz, m->max_freq_cHz, r) ||
        within(p->phase_a_us, F_PHASE_A, m->min_phase_us, m->max_phase_us, r)) {
        return 1;
    }
    for (i = 0; i < 6; i++) {
        if (mode_fields[i].used) {
            if (within(mode_fields[i].value, mode_fields[i].field, mode_fields[i].low,
                       mode_fields[i].high, r)) {
                return 1;
            }
        } else if (mode_fields[i].value != 0u) {
            return out_of_range(r, mode_fields[i].field, 0u);
        }
    }
    if (within(p->interphase_us, F_INTERPHASE, 0u, m->max_interphase_us, r)) {
        return 1;
    }
    if (p->shape == EA_SHAPE_SYMMETRIC_BIPHASIC) {
        if (within(p->asym_ratio, F_ASYM, 1u, 1u, r)) {
            return 1;
        }
    } else if (within(p->asym_ratio, F_ASYM, 2u, m->max_asym_ratio, r)) {
        return 1;
    }
    if (check_target(m, p, p->target_uA, F_TARGET, r)) {
        return 1;
    }
    if (p->target_uA > 0u) {
        /* ceil(target · 1000 / slew): the ramp may not rise faster than the max slew */
        uint64_t min_ramp_ms =
            ea_ceil_div_u((uint64_t)p->target_uA * EA_US_PER_MS, m->max_slew_uA_per_s);
        if (min_ramp_ms < 1u) {
            min_ramp_ms = 1u;
        }
        if (p->ramp_up_ms < min_ramp_ms) {
            return out_of_range(r, F_RAMP_UP, ea_min_u32(min_ramp_ms));
        }
    }
    if (within(p->max_run_s, F_MAX_RUN, 1u, m->max_run_s, r) || check_pulse_fits(p, r)) {
        return 1;
    }
    if (dense) {
        return check_boundaries(p, r);
    }
    return 0;
}

int ea_check_intensity(const ea_limits *m, const ea_set_program *p, const ea_set_intensity *c,
                       ea_refusal *r)
{
    if (check_target(m, p, c->target_uA, F_SI_TARGET, r)) {
        return 1;
    }
    if (c->slew_uA_per_s < 1u) {
        return out_of_range(r, F_SI_SLEW, 1u);
    }
    if (c->slew_uA_per_s > m->max_slew_uA_per_s) {
        return out_of_range(r, F_SI_SLEW, m->max_slew_uA_per_s);
    }
    return 0;
}
