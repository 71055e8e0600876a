/* simulator/firmware/channel.py, function for function. */
#include "ea_channel.h"

#include <stddef.h>
#include <string.h>

#include "ea_dose.h"
#include "ea_schedule.h"
#include "ea_units.h"

static int running(uint8_t state)
{
    return state == EA_CHANNEL_STATE_RAMPING || state == EA_CHANNEL_STATE_RUNNING;
}

static int state_active(uint8_t state)
{
    return running(state) || state == EA_CHANNEL_STATE_STOPPING;
}

static void emit(const ea_channel *c, uint8_t code, uint64_t detail)
{
    c->emit(c->emit_ctx, code, c->index, detail);
}

void ea_channel_init(ea_channel *c, uint8_t index, const ea_output_stage *out,
                     ea_event_sink sink, void *emit_ctx, uint64_t now_us)
{
    memset(c, 0, sizeof *c);
    c->index = index;
    c->out = *out;
    c->emit = sink;
    c->emit_ctx = emit_ctx;
    c->state = EA_CHANNEL_STATE_IDLE;
    c->ramp = ea_ramp_level(now_us, 0);
    c->run_start_us = now_us;
    c->run_end_us = now_us;
    c->impedance_ohm = EA_OPEN_OHM;
}

int ea_channel_active(const ea_channel *c)
{
    return state_active(c->state);
}

/* _drive(): what the stage delivers now (NULL: nothing). */
static const ea_drive *current_drive(const ea_channel *c, ea_drive *d)
{
    if (!ea_channel_active(c) || !c->has_program) {
        return NULL;
    }
    d->program = &c->program;
    d->run_start_us = c->run_start_us;
    d->ramp = c->ramp;
    return d;
}

int32_t ea_channel_set_uA(const ea_channel *c, uint64_t t_us)
{
    return ea_channel_active(c) ? ea_ramp_at(&c->ramp, t_us) : 0;
}

static uint16_t clip_ohm(uint32_t ohm)
{
    return ea_min_u16(ohm);
}

void ea_channel_get_status(const ea_channel *c, uint64_t t_us, ea_channel_status *out)
{
    uint32_t impedance_ohm = c->impedance_ohm;
    uint32_t freq_cHz = 0;
    int32_t set_uA = 0;
    uint32_t target_uA = c->has_program ? c->program.target_uA : 0u;
    if (ea_channel_active(c)) {
        set_uA = ea_ramp_at(&c->ramp, t_us);
        target_uA = c->target_uA;
        if (c->has_program) {
            uint32_t phase_us = ea_phase_at_us(&c->program, c->run_start_us, t_us);
            impedance_ohm = c->out.impedance_ohm(c->out.ctx, phase_us, t_us);
            freq_cHz = ea_freq_at_cHz(&c->program, c->run_start_us, t_us);
        }
    }
    out->state = c->state;
    out->faults = c->faults;
    out->target_uA = ea_min_u16(target_uA);
    out->set_uA = ea_min_u16(set_uA < 0 ? 0u : (uint64_t)set_uA);
    out->measured_uA = ea_min_u16(c->out.measured_uA(c->out.ctx, t_us));
    out->impedance_ohm = clip_ohm(impedance_ohm);
    out->freq_cHz = ea_min_u16(freq_cHz);
}

int ea_channel_next_deadline_us(const ea_channel *c, uint64_t *t_us)
{
    if (running(c->state)) {
        uint64_t end_us = c->run_end_us;
        if (c->state == EA_CHANNEL_STATE_RAMPING && c->ramp.t1_us < end_us) {
            end_us = c->ramp.t1_us;
        }
        *t_us = end_us;
        return 1;
    }
    if (c->state == EA_CHANNEL_STATE_STOPPING) {
        *t_us = c->ramp.t1_us;
        return 1;
    }
    return 0;
}

int ea_channel_check_tick(const ea_channel *c, uint64_t first_tick_us, uint64_t period_us,
                          uint64_t *t_us)
{
    const ea_output_stage *o = &c->out;
    int found = 0;
    uint64_t best = 0;
    uint32_t limit_uA;
    uint64_t crossing_us;
    if (o->dc_uA(o->ctx, first_tick_us) > 0u) {
        *t_us = first_tick_us;
        return 1;
    }
    if (!ea_channel_active(c) || !c->has_program) {
        return 0;
    }
    if (o->first_open_tick_us != NULL) {
        uint64_t open_tick_us = o->first_open_tick_us(o->ctx, first_tick_us, period_us);
        if (open_tick_us != EA_NO_TICK) {
            best = open_tick_us;
            found = 1;
        }
    }
    limit_uA = o->compliance_limit_uA(o->ctx);
    if (limit_uA != EA_NOT_LIMITED && ea_ramp_first_above(&c->ramp, limit_uA, &crossing_us)) {
        uint64_t tick_us = ea_tick_at_or_after(crossing_us, first_tick_us, period_us);
        if (ea_ramp_at(&c->ramp, tick_us) <= (int64_t)limit_uA) {
            tick_us += period_us; /* a falling ramp may be back within it */
        }
        if (!found || tick_us < best) {
            best = tick_us;
            found = 1;
        }
    }
    if (found) {
        *t_us = best;
    }
    return found;
}

void ea_channel_flush(ea_channel *c, uint64_t now_us)
{
    ea_delivered reading;
    memset(&reading, 0, sizeof reading);
    c->out.read_delivered(c->out.ctx, now_us, &reading);
    ea_dose_add(&c->dose, &reading);
}

static void set_ramp(ea_channel *c, ea_ramp ramp, uint8_t state)
{
    ea_drive d;
    const ea_drive *drive = current_drive(c, &d);
    if (drive != NULL && !state_active(state)) {
        /* the output stops being driven: keep its last impedance for STATUS */
        uint32_t phase_us = ea_phase_at_us(drive->program, drive->run_start_us, ramp.t0_us);
        c->impedance_ohm = c->out.impedance_ohm(c->out.ctx, phase_us, ramp.t0_us);
    }
    c->ramp = ramp;
    c->state = state;
    c->out.drive(c->out.ctx, ramp.t0_us, current_drive(c, &d));
}

void ea_channel_store_program(ea_channel *c, const ea_set_program *p, uint32_t crc,
                              uint64_t now_us)
{
    c->out.clear_delivered(c->out.ctx, now_us);
    ea_dose_clear(&c->dose);
    c->program = *p;
    c->has_program = 1;
    c->program_crc = crc;
    c->state = EA_CHANNEL_STATE_PROGRAMMED;
}

void ea_channel_start(ea_channel *c, uint64_t now_us)
{
    const ea_set_program *p = &c->program;
    if (!c->has_program) {
        return; /* the caller refuses START without a program */
    }
    c->run_start_us = now_us;
    c->run_end_us = now_us + (uint64_t)p->max_run_s * EA_US_PER_S;
    c->target_uA = p->target_uA;
    set_ramp(c,
             ea_ramp_over(now_us, 0, (int32_t)p->target_uA,
                          (uint64_t)p->ramp_up_ms * EA_US_PER_MS),
             EA_CHANNEL_STATE_RAMPING);
}

void ea_channel_set_target(ea_channel *c, uint32_t target_uA, uint32_t slew_uA_per_s,
                           uint64_t now_us)
{
    c->target_uA = target_uA;
    set_ramp(c,
             ea_ramp_at_slew(now_us, ea_ramp_at(&c->ramp, now_us), (int32_t)target_uA,
                             slew_uA_per_s),
             EA_CHANNEL_STATE_RAMPING);
}

static void ramp_down(ea_channel *c, uint64_t now_us)
{
    int32_t set_uA = ea_ramp_at(&c->ramp, now_us);
    int64_t duration_us = (int64_t)c->program.ramp_down_ms * (int64_t)EA_US_PER_MS;
    /* the program's ramp-down time scaled by the share of the target still set (rounded
     * down to a whole µs); the whole time from above the target */
    if ((int64_t)set_uA <= (int64_t)c->target_uA) {
        int64_t target = c->target_uA > 0u ? (int64_t)c->target_uA : 1;
        duration_us = ea_floor_div(duration_us * set_uA, target);
    }
    c->target_uA = 0;
    set_ramp(c, ea_ramp_over(now_us, set_uA, 0, (uint64_t)duration_us),
             EA_CHANNEL_STATE_STOPPING);
}

static void stopped(ea_channel *c, uint64_t now_us, uint8_t cause)
{
    set_ramp(c, ea_ramp_level(now_us, 0), EA_CHANNEL_STATE_PROGRAMMED);
    c->target_uA = 0;
    emit(c, EA_EVENT_CODE_STOPPED, cause);
}

void ea_channel_stop(ea_channel *c, uint8_t stop_mode, uint64_t now_us)
{
    if (!ea_channel_active(c)) {
        return;
    }
    if (stop_mode == EA_STOP_MODE_IMMEDIATE) {
        stopped(c, now_us, EA_STOP_CAUSE_IMMEDIATE);
    } else if (c->state != EA_CHANNEL_STATE_STOPPING) {
        ramp_down(c, now_us);
    }
}

void ea_channel_run_due(ea_channel *c, uint64_t now_us)
{
    if (running(c->state) && now_us >= c->run_end_us) {
        emit(c, EA_EVENT_CODE_MAX_RUN_TIME, c->has_program ? c->program.max_run_s : 0u);
        ramp_down(c, c->run_end_us);
    }
    if (c->state == EA_CHANNEL_STATE_RAMPING && now_us >= c->ramp.t1_us) {
        set_ramp(c, ea_ramp_level(c->ramp.t1_us, c->ramp.end_uA), EA_CHANNEL_STATE_RUNNING);
        emit(c, EA_EVENT_CODE_RAMP_DONE, (uint64_t)(c->ramp.end_uA < 0 ? 0 : c->ramp.end_uA));
    }
    if (c->state == EA_CHANNEL_STATE_STOPPING && now_us >= c->ramp.t1_us) {
        stopped(c, c->ramp.t1_us, EA_STOP_CAUSE_RAMP_DOWN);
    }
}

int ea_channel_latch(ea_channel *c, uint8_t fault, uint64_t now_us, uint8_t cause)
{
    int was_active = ea_channel_active(c);
    set_ramp(c, ea_ramp_level(now_us, 0), EA_CHANNEL_STATE_FAULT);
    c->faults = (uint8_t)(c->faults | fault);
    c->target_uA = 0;
    if (was_active) {
        emit(c, EA_EVENT_CODE_STOPPED, cause);
    }
    return was_active;
}

static void set_relay(ea_channel *c, uint64_t now_us, int is_open)
{
    c->relay_open = (uint8_t)(is_open != 0);
    if (is_open) {
        c->out.open_relay(c->out.ctx, now_us);
    } else {
        c->out.close_relay(c->out.ctx, now_us);
    }
}

void ea_channel_check(ea_channel *c, uint64_t tick_us)
{
    const ea_output_stage *o = &c->out;
    uint32_t stuck_uA = o->dc_uA(o->ctx, tick_us);
    uint32_t limit_uA;
    if (stuck_uA > 0u) {
        set_relay(c, tick_us, 1);
        emit(c, EA_EVENT_CODE_STUCK_OUTPUT, stuck_uA);
        ea_channel_latch(c, EA_FAULT_STUCK_OUTPUT, tick_us, EA_STOP_CAUSE_FAULT);
        return;
    }
    if (!ea_channel_active(c)) {
        return;
    }
    limit_uA = o->compliance_limit_uA(o->ctx);
    if (o->contact_lost(o->ctx, tick_us)) {
        emit(c, EA_EVENT_CODE_ELECTRODE_FAULT, EA_OPEN_OHM);
        ea_channel_latch(c, EA_FAULT_ELECTRODE, tick_us, EA_STOP_CAUSE_FAULT);
    } else if (limit_uA != EA_NOT_LIMITED && ea_ramp_at(&c->ramp, tick_us) > (int64_t)limit_uA) {
        emit(c, EA_EVENT_CODE_COMPLIANCE, limit_uA);
        ea_channel_latch(c, EA_FAULT_COMPLIANCE, tick_us, EA_STOP_CAUSE_FAULT);
    }
}

uint32_t ea_channel_self_test(ea_channel *c, uint64_t now_us)
{
    uint32_t measured_uA;
    if (c->failed_test_uA != 0u) {
        return c->failed_test_uA; /* locked out until a power cycle */
    }
    c->relay_was_open = c->relay_open;
    set_relay(c, now_us, 1);
    measured_uA = c->out.self_test_uA(c->out.ctx, now_us);
    if (measured_uA > 0u) {
        c->failed_test_uA = measured_uA;
        c->faults = (uint8_t)(c->faults | EA_FAULT_STUCK_OUTPUT);
    }
    return measured_uA;
}

void ea_channel_end_refused_test(ea_channel *c, uint64_t now_us)
{
    if (c->failed_test_uA == 0u && !c->relay_was_open) {
        set_relay(c, now_us, 0);
    }
}

void ea_channel_clear_fault(ea_channel *c, uint64_t now_us)
{
    if (c->state != EA_CHANNEL_STATE_FAULT || c->failed_test_uA != 0u) {
        return;
    }
    c->faults = EA_FAULT_NONE;
    set_relay(c, now_us, 0);
    c->state = c->has_program ? EA_CHANNEL_STATE_PROGRAMMED : EA_CHANNEL_STATE_IDLE;
}

void ea_channel_reboot(ea_channel *c, uint64_t now_us)
{
    c->state = EA_CHANNEL_STATE_IDLE;
    c->faults = EA_FAULT_NONE;
    c->has_program = 0;
    memset(&c->program, 0, sizeof c->program);
    c->program_crc = 0;
    c->target_uA = 0;
    c->failed_test_uA = 0;
    c->ramp = ea_ramp_level(now_us, 0);
    c->impedance_ohm = EA_OPEN_OHM;
    c->out.drive(c->out.ctx, now_us, NULL);
    set_relay(c, now_us, 1);
    c->out.clear_delivered(c->out.ctx, now_us);
    ea_dose_clear(&c->dose);
}

void ea_channel_power_on_self_test(ea_channel *c, uint64_t now_us)
{
    uint32_t measured_uA = ea_channel_self_test(c, now_us);
    if (measured_uA == 0u) {
        set_relay(c, now_us, 0);
        return;
    }
    emit(c, EA_EVENT_CODE_STUCK_OUTPUT, measured_uA);
    c->state = EA_CHANNEL_STATE_FAULT;
}
