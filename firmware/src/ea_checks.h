/* The core's own checks of programs and intensities against the device's limits table
 * (simulator/firmware/checks.py, PROTOCOL.md §3.9): fields in the order of their index, so a
 * refusal names the first offending field and the bound crossed; checks combining fields come
 * after the single ones. */
#ifndef EA_CHECKS_H
#define EA_CHECKS_H

#include <stdint.h>

#include "ea_codec.h"

/* Shortest and longest dense-disperse dwell and intermittent on/off time (§3.9). */
#define EA_MIN_MODE_MS 100u
#define EA_MAX_MODE_MS 60000u
/* Least time from the end of a pulse to the next onset, also across a switch of halves. */
#define EA_MIN_PULSE_GAP_US 0

/* A refused command (checks.Refused): the NAK's code, field (EA_NO_FIELD) and limit. */
typedef struct {
    uint8_t code;
    uint8_t field;
    uint32_t limit;
} ea_refusal;

/* The limits the checks read (a subset of ea_model, so the checks need not see the device). */
typedef struct {
    uint32_t max_intensity_uA;
    uint32_t min_phase_us;
    uint32_t max_phase_us;
    uint32_t min_freq_cHz;
    uint32_t max_freq_cHz;
    uint32_t max_phase_charge_nC;
    uint32_t max_slew_uA_per_s;
    uint32_t max_run_s;
    uint32_t max_interphase_us;
    uint32_t max_asym_ratio;
} ea_limits;

/* The refusal's fields, and 1 (so a check can `return ea_refuse(...)`). */
int ea_refuse(ea_refusal *r, uint8_t code, uint8_t field, uint32_t limit);
/* max_target_uA: min(max_intensity, the current whose charge on the widest phase reaches
 * max_phase_charge_nC). */
uint32_t ea_max_target_uA(const ea_limits *m, const ea_set_program *p);
/* boundary_clearance_us: from the end of a dwell's last pulse to the dwell's end (< 0: the
 * last pulse overlaps the next dwell's first). */
int64_t ea_boundary_clearance_us(uint32_t freq_cHz, uint32_t dwell_ms, uint32_t pulse_us);
/* check_program: 0, or 1 with *r (OUT_OF_RANGE). */
int ea_check_program(const ea_limits *m, const ea_set_program *p, ea_refusal *r);
/* check_intensity against the channel's stored program: 0, or 1 with *r. */
int ea_check_intensity(const ea_limits *m, const ea_set_program *p, const ea_set_intensity *c,
                       ea_refusal *r);

#endif
