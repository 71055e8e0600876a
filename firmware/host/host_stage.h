/* The host build's output stage: an ideal current source into a resistor, implementing
 * ea_output_stage (ea_hal.h). Host code, integers only.
 *
 * With its contact made it delivers exactly the set value of every pulse (ea_ramp_at at the
 * onset, the core's own rule), limited to compliance_mV / load_ohm, and measures it exactly;
 * an open load ("open") has no contact and takes nothing. Its pulse engine lays the onsets out
 * by the core's schedule (ea_schedule.h, PROTOCOL.md §8) and accounts them as the simulator's
 * recorder does (simulator/hardware/recorder.py): counts and times exactly, the charges and
 * ∫i²dt as exact integer totals (pC, µA²·µs) each handed over rounded to the nearest unit, ties
 * to even, as the change since the previous reading. It never sticks and sees no DC. */
#ifndef HOST_STAGE_H
#define HOST_STAGE_H

#include <stdint.h>

#include "ea_hal.h"

typedef struct {
    uint32_t load_ohm; /* 0: open circuit */
    uint32_t limit_uA; /* compliance_mV·1000 / load_ohm, rounded down */
    uint32_t max_uA;   /* the model's max_intensity_uA: a limit at or above it is none */
    int relay_closed;
    int driving;
    ea_set_program program;
    uint64_t run_start_us;
    ea_ramp ramp;
    uint64_t flushed_us;
    /* Exact totals since the last clear (pC, µA²·µs scaled by the asymmetric ratio). */
    uint64_t pulses_a, pulses_b, time_a_us, time_b_us, on_time_us;
    uint64_t charge_pos_pC, charge_neg_pC, square_scaled;
    uint32_t square_ratio; /* the ratio square_scaled is scaled by (1: symmetric) */
    uint64_t peak_since_read_uA;
    ea_delivered read; /* the rounded totals handed over by the readings so far */
} host_stage;

/* A stage into load_ohm (0: open) for a model's compliance and maximum intensity. */
void host_stage_init(host_stage *s, uint32_t load_ohm, uint32_t compliance_mV, uint32_t max_uA,
                     uint64_t now_us);
/* The ea_output_stage table with ctx = s. */
ea_output_stage host_stage_hal(host_stage *s);

#endif
