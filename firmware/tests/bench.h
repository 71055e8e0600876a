/* The bench output stage of PROTOCOL.md §9.2 (tests/support/transcript_bench.py BenchStage),
 * implementing ea_hal.h for the C test drivers: an ideal stage into a resistor. With its relay
 * closed and the contact made it delivers exactly the set value, limited to compliance /
 * load, and measures it exactly; it reads the load as the impedance (65535 with the contact
 * lost) and counts nothing delivered unless told to (deliver_* below). A stuck stage drives
 * stuck_uA of DC whatever it is told while the relay is closed and the contact made; its own
 * sense point (the self-test) always sees it.
 *
 * Also a scripted random source (a fixed list; running out is a test failure) and a
 * RAM key-store image behind the persistence hooks. Host test code only. */
#ifndef EA_TEST_BENCH_H
#define EA_TEST_BENCH_H

#include <stdint.h>
#include <string.h>

#include "ea_device.h"

typedef struct {
    uint32_t load_ohm;
    uint32_t limit_uA;
    uint32_t max_uA;
    int driving;
    ea_drive drive;
    ea_set_program program; /* a copy: the drive's program */
    int relay_closed;
    int contact_lost;
    uint32_t stuck_uA;
    /* counts of the calls, for the tests */
    unsigned drives;
    unsigned relay_opens;
    unsigned relay_closes;
    /* what read_delivered hands out next (then zeroed) */
    ea_delivered pending;
} bench_stage;

static void bench_drive(void *ctx, uint64_t t_us, const ea_drive *drive)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    s->drives++;
    s->driving = drive != NULL;
    if (drive != NULL) {
        s->drive = *drive;
        s->program = *drive->program;
        s->drive.program = &s->program;
    }
}

static void bench_open_relay(void *ctx, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    s->relay_closed = 0;
    s->relay_opens++;
}

static void bench_close_relay(void *ctx, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    s->relay_closed = 1;
    s->relay_closes++;
}

static uint32_t bench_self_test_uA(void *ctx, uint64_t t_us)
{
    (void)t_us;
    return ((bench_stage *)ctx)->stuck_uA;
}

static int bench_connected(const bench_stage *s)
{
    return s->relay_closed && !s->contact_lost;
}

static uint32_t bench_measured_uA(void *ctx, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    int32_t set_uA;
    if (!bench_connected(s)) {
        return 0;
    }
    if (s->stuck_uA) {
        return s->stuck_uA;
    }
    if (!s->driving) {
        return 0;
    }
    set_uA = ea_ramp_at(&s->drive.ramp, t_us);
    if (set_uA < 0) {
        return 0;
    }
    return (uint32_t)set_uA < s->limit_uA ? (uint32_t)set_uA : s->limit_uA;
}

static uint32_t bench_dc_uA(void *ctx, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    return bench_connected(s) ? s->stuck_uA : 0u;
}

static int bench_contact_lost(void *ctx, uint64_t t_us)
{
    (void)t_us;
    return ((bench_stage *)ctx)->contact_lost;
}

static uint32_t bench_compliance_limit_uA(void *ctx)
{
    bench_stage *s = (bench_stage *)ctx;
    return s->limit_uA >= s->max_uA ? EA_NOT_LIMITED : s->limit_uA;
}

static uint32_t bench_impedance_ohm(void *ctx, uint32_t phase_us, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)phase_us;
    (void)t_us;
    return s->contact_lost ? EA_OPEN_OHM : s->load_ohm;
}

static void bench_read_delivered(void *ctx, uint64_t t_us, ea_delivered *out)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    *out = s->pending;
    memset(&s->pending, 0, sizeof s->pending);
}

static void bench_clear_delivered(void *ctx, uint64_t t_us)
{
    bench_stage *s = (bench_stage *)ctx;
    (void)t_us;
    memset(&s->pending, 0, sizeof s->pending);
}

static uint64_t bench_first_open_tick_us(void *ctx, uint64_t first_tick_us, uint64_t period_us)
{
    (void)period_us;
    return ((bench_stage *)ctx)->contact_lost ? first_tick_us : EA_NO_TICK;
}

/* A stage into load_ohm; foresee: with first_open_tick_us (the simulator's way), else NULL (a
 * board's: the core checks at every grid instant). */
static void bench_stage_init(bench_stage *s, ea_output_stage *hal, uint32_t load_ohm,
                             uint32_t compliance_mV, uint32_t max_uA, int foresee)
{
    memset(s, 0, sizeof *s);
    s->load_ohm = load_ohm;
    s->limit_uA = (uint32_t)((uint64_t)compliance_mV * 1000u / load_ohm);
    s->max_uA = max_uA;
    memset(hal, 0, sizeof *hal);
    hal->drive = bench_drive;
    hal->open_relay = bench_open_relay;
    hal->close_relay = bench_close_relay;
    hal->self_test_uA = bench_self_test_uA;
    hal->measured_uA = bench_measured_uA;
    hal->dc_uA = bench_dc_uA;
    hal->contact_lost = bench_contact_lost;
    hal->compliance_limit_uA = bench_compliance_limit_uA;
    hal->impedance_ohm = bench_impedance_ohm;
    hal->read_delivered = bench_read_delivered;
    hal->clear_delivered = bench_clear_delivered;
    hal->first_open_tick_us = foresee ? bench_first_open_tick_us : NULL;
    hal->ctx = s;
}

typedef struct {
    const uint32_t *values;
    size_t count;
    size_t used;
    int ran_out;
    uint32_t lcg; /* after the list: a fixed LCG (tests that draw freely) */
} scripted_random;

static uint32_t scripted_u32(void *ctx)
{
    scripted_random *r = (scripted_random *)ctx;
    if (r->used < r->count) {
        return r->values[r->used++];
    }
    r->ran_out = 1;
    r->used++;
    r->lcg = r->lcg * 1664525u + 1013904223u;
    return r->lcg;
}

#endif
