/* A channel's set value over time (simulator/firmware/ramp.py): start_uA at t0_us, linear to
 * end_uA at t1_us, level after; the set value between is the line rounded down (toward −∞). */
#ifndef EA_RAMP_H
#define EA_RAMP_H

#include <stdint.h>

typedef struct {
    uint64_t t0_us;
    uint64_t t1_us; /* == t0_us for a step or a level */
    int32_t start_uA;
    int32_t end_uA;
} ea_ramp;

/* Ramp.level: value_uA from t_us on. */
ea_ramp ea_ramp_level(uint64_t t_us, int32_t value_uA);
/* Ramp.over: start_uA at t_us to end_uA duration_us later. */
ea_ramp ea_ramp_over(uint64_t t_us, int32_t start_uA, int32_t end_uA, uint64_t duration_us);
/* Ramp.at_slew: at slew_uA_per_s (> 0), the duration rounded up to a whole µs. */
ea_ramp ea_ramp_at_slew(uint64_t t_us, int32_t start_uA, int32_t end_uA,
                        uint32_t slew_uA_per_s);
/* Ramp.at: the set value at t_us. */
int32_t ea_ramp_at(const ea_ramp *r, uint64_t t_us);
/* Ramp.first_above: the first instant from t0_us on with a set value above limit_uA; returns
 * 1 and *t_us, or 0 when it never is. */
int ea_ramp_first_above(const ea_ramp *r, int64_t limit_uA, uint64_t *t_us);

#endif
