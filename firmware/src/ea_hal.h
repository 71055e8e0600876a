/* The hardware abstraction a board port implements: what the device core asks of the
 * hardware and reads back. It mirrors simulator/firmware/hal.py one to one.
 *
 * Every value crossing it is an integer in the core's units (µA, µs, Ω, nC). Time is never
 * read here: every call says what time it is, in u64 µs since an origin the caller chose (the
 * core never reads a clock; the times it passes are those its own caller passed it, or check
 * instants and ramp ends between them). Calls arrive in non-decreasing time order, except
 * that first_open_tick_us asks about the future.
 *
 * - ea_output_stage, one per channel: the current source with its pulse engine, the output
 *   relay and the measurements.
 * - ea_random: the random numbers (boot ids, session ids, nonces, pairing keys, key ids).
 * - ea_keystore: where the pairing keys persist (protected flash); optional.
 *
 * The byte transport and the periodic tick are the caller's: bytes go in through
 * ea_device_receive, out through ea_device_take_output, and ea_device_advance is called at
 * least every check_period_us (ea_device.h). */
#ifndef EA_HAL_H
#define EA_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "ea_codec.h"
#include "ea_ramp.h"

/* STATUS impedance_ohm and EVENT detail for an open or unknown load (PROTOCOL.md §5.16). */
#define EA_OPEN_OHM 0xFFFFu
/* compliance_limit_uA: the source is not limited (or not driving) — hal.py's None. */
#define EA_NOT_LIMITED 0xFFFFFFFFu
/* first_open_tick_us: no check instant will find the contact lost while the load stays as
 * it is — hal.py's None. */
#define EA_NO_TICK 0xFFFFFFFFFFFFFFFFu

/* What an active channel's output is to deliver (hal.Drive): the pulse engine times the
 * pulses by *program from run_start_us (PROTOCOL.md §8) and gives each the first-phase current
 * ea_ramp_at(&ramp, onset). The struct is the caller's for the call only: a stage copies what
 * it keeps. program points at the channel's stored program, which does not change while the
 * channel is driven (SET_PROGRAM is refused then), so a stage may keep the pointer until its
 * next drive call. */
typedef struct {
    const ea_set_program *program;
    uint64_t run_start_us;
    ea_ramp ramp;
} ea_drive;

/* What an output stage measured it delivered between two readings (hal.Delivered). */
typedef struct {
    uint64_t pulses_a;      /* pulses delivered in half a (a pulse of 0 µA is not one) */
    uint64_t pulses_b;      /* pulses delivered in dense-disperse half b */
    uint64_t time_a_us;     /* delivering time in half a (continuous, intermittent: all a) */
    uint64_t time_b_us;     /* delivering time in half b */
    uint64_t on_time_us;    /* time the output delivered anything, pulses or DC */
    uint64_t charge_pos_nC; /* charge of the positive phases (and positive DC) */
    uint64_t charge_neg_nC; /* charge of the negative phases (and negative DC), a magnitude */
    uint64_t peak_uA;       /* the largest phase amplitude or DC magnitude since the reading */
    uint64_t square_uA2_us; /* ∫ i² dt (µA²·µs), for the rms */
} ea_delivered;

/* One channel's output hardware as the core sees it (hal.OutputStage). The core tells the
 * stage what to deliver whenever that changes (drive); the pulse engine delivers it on its
 * own in between. Readings are what the stage measures at t_us. Every pointer but
 * first_open_tick_us must be set; ctx is passed back to each. */
typedef struct {
    /* Deliver *drive from t_us on; drive NULL: no pulses, the source at zero. */
    void (*drive)(void *ctx, uint64_t t_us, const ea_drive *drive);
    /* Disconnect the output from the electrodes (a stuck output, a self-test, power-up). */
    void (*open_relay)(void *ctx, uint64_t t_us);
    /* Connect it again (after a passing self-test: CLEAR_FAULT, power-up). */
    void (*close_relay)(void *ctx, uint64_t t_us);
    /* The self-test reading (§3.10): current at the stage's own sense point, inside the
     * relay, rounded to µA. Asked only with the relay open and the source at zero, so a sound
     * stage reads 0; anything else is a stuck stage or a DC leak. */
    uint32_t (*self_test_uA)(void *ctx, uint64_t t_us);
    /* The current flowing at t_us: the pulses' first-phase amplitude or a DC, µA. */
    uint32_t (*measured_uA)(void *ctx, uint64_t t_us);
    /* DC reaching the load at t_us whatever the core drives (a stuck stage); 0 when there is
     * none or the relay is open. */
    uint32_t (*dc_uA)(void *ctx, uint64_t t_us);
    /* Nonzero when the electrodes have no contact at t_us (open circuit). */
    int (*contact_lost)(void *ctx, uint64_t t_us);
    /* The largest first-phase current the source can drive into the present load for the
     * present drive's phases, rounded down; EA_NOT_LIMITED when not limited or not driving. */
    uint32_t (*compliance_limit_uA)(void *ctx);
    /* The load's impedance at the end of a phase of phase_us (EA_OPEN_OHM if open); values
     * above 65535 are reported as 65535. */
    uint32_t (*impedance_ohm)(void *ctx, uint32_t phase_us, uint64_t t_us);
    /* What was delivered since the previous reading, up to t_us (read and clear). */
    void (*read_delivered)(void *ctx, uint64_t t_us, ea_delivered *out);
    /* Discard what was delivered and not read, up to t_us (SET_PROGRAM, power-up). */
    void (*clear_delivered)(void *ctx, uint64_t t_us);
    /* The first check instant first_tick_us + k·period_us (k ≥ 0) at which contact_lost will
     * hold, or EA_NO_TICK if none will while the load stays as it is.
     *
     * Optional. A real board cannot foresee a lead coming off: it leaves this NULL, and the
     * core then runs the periodic check at every instant of its grid (ea_device_advance visits
     * each, and ea_device_next_deadline_us never names a later time than the next one). A
     * simulated stage that knows its load's future sets it, and its owner calls
     * ea_device_hardware_changed whenever the load or the stage changes outside a core call;
     * the core then visits only the check instants that can find something, as the Python
     * device does (the output is the same either way, PROTOCOL.md §9.2). */
    uint64_t (*first_open_tick_us)(void *ctx, uint64_t first_tick_us, uint64_t period_us);
    void *ctx;
} ea_output_stage;

/* The device's random number generator (hal.RandomSource): a uniformly distributed u32 per
 * call (a hardware TRNG on a board). Byte strings take one draw per four bytes,
 * little-endian, the last draw's surplus discarded (hal.random_bytes). */
typedef struct {
    uint32_t (*random_u32)(void *ctx);
    void *ctx;
} ea_random;

/* Where the pairing keys persist across power cycles (protected flash). The core keeps its
 * working copy in RAM (EA_KEY_SLOTS slots); these hooks mirror it. The whole struct may be
 * NULL at ea_device_init (a RAM-only store, as simulator.firmware.keys.KeyStore), and so may
 * any one hook. */
typedef struct {
    /* At init, for each slot 0..EA_KEY_SLOTS-1: return 1 and fill *key_id (≠ 0) and key when
     * the slot holds a key, 0 when it is empty. */
    int (*load)(void *ctx, unsigned slot, uint32_t *key_id, uint8_t key[32]);
    /* A key was stored in slot (PAIR, or ea_device_install_key). */
    void (*store)(void *ctx, unsigned slot, uint32_t key_id, const uint8_t key[32]);
    /* slot's key was erased (FORGET). */
    void (*erase)(void *ctx, unsigned slot);
    void *ctx;
} ea_keystore;

#endif
