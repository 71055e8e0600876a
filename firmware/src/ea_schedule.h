/* When a program's pulses fall (simulator/firmware/schedule.py, PROTOCOL.md §8), integer µs
 * relative to the START time run_start_us. Every mode is a cycle of at most two bursts:
 * continuous one burst repeating every 10^8 µs, dense-disperse dwell a then dwell b,
 * intermittent one on window then an off window. */
#ifndef EA_SCHEDULE_H
#define EA_SCHEDULE_H

#include <stdint.h>

#include "ea_codec.h"

typedef struct {
    uint64_t start_us;  /* offset of the first onset within the cycle */
    uint64_t length_us; /* how long the train lasts */
    uint32_t freq_cHz;
    uint8_t half; /* 0: half a, 1: dense-disperse half b */
} ea_burst;

typedef struct {
    uint64_t cycle_us;
    ea_burst bursts[2];
    uint8_t count;
} ea_schedule;

/* Burst.count: pulses in the burst, ceil(length·f / 10^8). */
uint64_t ea_burst_count(const ea_burst *b);
/* schedule(): the cycle of p's mode. Returns 0, or -1 when a frequency, dwell or on-time the
 * mode uses is 0 (a program check_program refuses). */
int ea_schedule_of(const ea_set_program *p, ea_schedule *out);
/* Schedule.burst_at: the burst containing t_us, or NULL (before the start, an off window). */
const ea_burst *ea_schedule_burst_at(const ea_schedule *s, uint64_t t_us, uint64_t run_start_us);
/* Schedule.time_in_half_b_us over [0, offset_us) after the start. */
uint64_t ea_schedule_time_in_half_b_us(const ea_schedule *s, uint64_t offset_us);

/* max(half_phases_us(p)): the widest phase the program uses. */
uint32_t ea_widest_phase_us(const ea_set_program *p);
/* phase_at_us: the first-phase width of the pulses at t_us (t_us ≥ run_start_us). */
uint32_t ea_phase_at_us(const ea_set_program *p, uint64_t run_start_us, uint64_t t_us);
/* freq_at_cHz: the frequency delivered at t_us (0 in an off window or before the start). */
uint32_t ea_freq_at_cHz(const ea_set_program *p, uint64_t run_start_us, uint64_t t_us);
/* time_per_half_us: [t0, t1) split into half a and half b; run_start ≤ t0 ≤ t1. Returns 0, or
 * -1 for a reversed window, one before the start, or an invalid program. */
int ea_time_per_half_us(const ea_set_program *p, uint64_t run_start_us, uint64_t t0_us,
                        uint64_t t1_us, uint64_t *time_a_us, uint64_t *time_b_us);

#endif
