#include "ea_ramp.h"

#include "ea_units.h"

ea_ramp ea_ramp_level(uint64_t t_us, int32_t value_uA)
{
    return ea_ramp_over(t_us, value_uA, value_uA, 0u);
}

ea_ramp ea_ramp_over(uint64_t t_us, int32_t start_uA, int32_t end_uA, uint64_t duration_us)
{
    ea_ramp r;
    r.t0_us = t_us;
    r.t1_us = t_us + duration_us;
    r.start_uA = start_uA;
    r.end_uA = end_uA;
    return r;
}

ea_ramp ea_ramp_at_slew(uint64_t t_us, int32_t start_uA, int32_t end_uA, uint32_t slew_uA_per_s)
{
    int64_t change = (int64_t)end_uA - (int64_t)start_uA;
    uint64_t magnitude = (uint64_t)(change < 0 ? -change : change);
    uint64_t duration_us = ea_ceil_div_u(magnitude * EA_US_PER_S, slew_uA_per_s);
    return ea_ramp_over(t_us, start_uA, end_uA, duration_us);
}

int32_t ea_ramp_at(const ea_ramp *r, uint64_t t_us)
{
    int64_t rise;
    if (t_us >= r->t1_us) {
        return r->end_uA;
    }
    if (t_us <= r->t0_us) {
        return r->start_uA;
    }
    rise = ((int64_t)r->end_uA - (int64_t)r->start_uA) * (int64_t)(t_us - r->t0_us);
    return (int32_t)(r->start_uA + ea_floor_div(rise, (int64_t)(r->t1_us - r->t0_us)));
}

int ea_ramp_first_above(const ea_ramp *r, int64_t limit_uA, uint64_t *t_us)
{
    int64_t needed;
    int64_t duration;
    if (ea_ramp_at(r, r->t0_us) > limit_uA) {
        *t_us = r->t0_us;
        return 1;
    }
    if (r->end_uA <= limit_uA) {
        return 0;
    }
    needed = limit_uA + 1 - r->start_uA;
    duration = (int64_t)(r->t1_us - r->t0_us);
    *t_us = r->t0_us +
            (uint64_t)ea_ceil_div(needed * duration, (int64_t)r->end_uA - (int64_t)r->start_uA);
    return 1;
}
