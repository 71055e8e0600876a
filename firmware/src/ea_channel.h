/* One channel's state machine (simulator/firmware/channel.py, PROTOCOL.md §6): programs,
 * ramps, stops, the maximum run, faults, the self-test and its lock-out. Every change of what
 * the output delivers is handed to the output stage at once (drive). */
#ifndef EA_CHANNEL_H
#define EA_CHANNEL_H

#include <stdint.h>

#include "ea_codec.h"
#include "ea_hal.h"
#include "ea_ramp.h"

/* EVENT STOPPED detail (channel.StopCause). */
#define EA_STOP_CAUSE_RAMP_DOWN 0u
#define EA_STOP_CAUSE_IMMEDIATE 1u
#define EA_STOP_CAUSE_LEASE 2u
#define EA_STOP_CAUSE_FAULT 3u

/* Where a channel's EVENTs go: (code, channel, detail; the sink clips detail to u32). */
typedef void (*ea_event_sink)(void *ctx, uint8_t code, uint8_t channel, uint64_t detail);

typedef struct {
    uint8_t index;
    uint8_t state;  /* EA_CHANNEL_STATE_* */
    uint8_t faults; /* EA_FAULT_* bits latched */
    uint8_t has_program;
    ea_set_program program;
    uint32_t program_crc; /* 0 without a program */
    uint32_t target_uA;   /* the live target: the program's at START, then SET_INTENSITY's */
    ea_delivered dose;    /* delivered since SET_PROGRAM (GET_DOSE) */
    ea_ramp ramp;
    uint64_t run_start_us;
    uint64_t run_end_us;
    uint32_t impedance_ohm;  /* last measured while driving, reported while not */
    uint32_t failed_test_uA; /* what a failed self-test measured since boot (0: none) */
    uint8_t relay_open;      /* as the core last set it */
    uint8_t relay_was_open;  /* before the last self-test opened it */
    ea_output_stage out;
    ea_event_sink emit;
    void *emit_ctx;
} ea_channel;

void ea_channel_init(ea_channel *c, uint8_t index, const ea_output_stage *out,
                     ea_event_sink emit, void *emit_ctx, uint64_t now_us);
/* RAMPING, RUNNING or STOPPING: the core drives the output. */
int ea_channel_active(const ea_channel *c);
/* The set value at t_us (0 when not active). */
int32_t ea_channel_set_uA(const ea_channel *c, uint64_t t_us);
void ea_channel_get_status(const ea_channel *c, uint64_t t_us, ea_channel_status *out);
/* When a ramp ends or the maximum run is reached: 1 and *t_us, or 0. */
int ea_channel_next_deadline_us(const ea_channel *c, uint64_t *t_us);
/* The first check instant on first + k·period that will find a fault: 1 and *t_us, or 0
 * (none while things stay as they are; needs the stage's first_open_tick_us). */
int ea_channel_check_tick(const ea_channel *c, uint64_t first_tick_us, uint64_t period_us,
                          uint64_t *t_us);

void ea_channel_flush(ea_channel *c, uint64_t now_us);
void ea_channel_store_program(ea_channel *c, const ea_set_program *p, uint32_t crc,
                              uint64_t now_us);
void ea_channel_start(ea_channel *c, uint64_t now_us);
void ea_channel_set_target(ea_channel *c, uint32_t target_uA, uint32_t slew_uA_per_s,
                           uint64_t now_us);
void ea_channel_stop(ea_channel *c, uint8_t stop_mode, uint64_t now_us);
void ea_channel_run_due(ea_channel *c, uint64_t now_us);
/* Latch fault: output to zero, FAULT; returns 1 if it was active (EVENT STOPPED sent). */
int ea_channel_latch(ea_channel *c, uint8_t fault, uint64_t now_us, uint8_t cause);
void ea_channel_check(ea_channel *c, uint64_t tick_us);
/* The self-test (§3.10); returns what the sense point measured (0: passed). */
uint32_t ea_channel_self_test(ea_channel *c, uint64_t now_us);
void ea_channel_end_refused_test(ea_channel *c, uint64_t now_us);
void ea_channel_clear_fault(ea_channel *c, uint64_t now_us);
void ea_channel_reboot(ea_channel *c, uint64_t now_us);
void ea_channel_power_on_self_test(ea_channel *c, uint64_t now_us);

#endif
