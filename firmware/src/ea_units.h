/* The integer units and helpers of simulator/firmware/units.py: whole µA, µs, ms, nC, Ω, cHz;
 * time is u64 µs. Python's // rounds toward −∞; C's / toward 0: every signed division that
 * can see a negative numerator goes through ea_floor_div. */
#ifndef EA_UNITS_H
#define EA_UNITS_H

#include <stdint.h>

#define EA_US_PER_MS 1000u
#define EA_US_PER_S 1000000u
/* Period of 1 cHz in µs: pulse k of a train at f cHz starts at floor(k·10^8 / f). */
#define EA_CENTI_HZ_PERIOD_US 100000000u
#define EA_U8 0xFFu
#define EA_U16 0xFFFFu
#define EA_U32 0xFFFFFFFFu

/* n / d rounded toward −∞, d > 0 (Python's //). */
static inline int64_t ea_floor_div(int64_t n, int64_t d)
{
    int64_t q = n / d;
    if ((n % d != 0) && (n < 0)) {
        q--;
    }
    return q;
}

/* n / d rounded toward +∞ for d > 0 (units.ceil_div). */
static inline int64_t ea_ceil_div(int64_t n, int64_t d)
{
    return -ea_floor_div(-n, d);
}

/* Unsigned ceil_div, d > 0. */
static inline uint64_t ea_ceil_div_u(uint64_t n, uint64_t d)
{
    return n / d + (n % d != 0u ? 1u : 0u);
}

static inline uint32_t ea_min_u32(uint64_t v)
{
    return v > EA_U32 ? EA_U32 : (uint32_t)v;
}

static inline uint16_t ea_min_u16(uint64_t v)
{
    return v > EA_U16 ? (uint16_t)EA_U16 : (uint16_t)v;
}

/* tick_at_or_after: the first check instant at or after t on first + k·period (k ≥ 0). */
static inline uint64_t ea_tick_at_or_after(uint64_t t_us, uint64_t first_tick_us,
                                           uint64_t period_us)
{
    if (t_us <= first_tick_us) {
        return first_tick_us;
    }
    return first_tick_us + ea_ceil_div_u(t_us - first_tick_us, period_us) * period_us;
}

/* isqrt: the largest integer whose square is at most v (Newton's method as units.isqrt). */
uint64_t ea_isqrt(uint64_t v);

/* round_sqrt_ratio: sqrt(n / d) to the nearest integer, ties to even, d > 0; exact (no
 * intermediate 4·n is formed) whenever n / d < 2^62, i.e. for every root below 2^31; above
 * that it returns a value above 2^31 (every caller clips to a u16 wire field). */
uint64_t ea_round_sqrt_ratio(uint64_t n, uint64_t d);

#endif
