#include "ea_dose.h"

#include <string.h>

#include "ea_units.h"

void ea_dose_clear(ea_delivered *total)
{
    memset(total, 0, sizeof *total);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void ea_dose_add(ea_delivered *total, const ea_delivered *reading)
{
    total->pulses_a = sat_add(total->pulses_a, reading->pulses_a);
    total->pulses_b = sat_add(total->pulses_b, reading->pulses_b);
    total->time_a_us = sat_add(total->time_a_us, reading->time_a_us);
    total->time_b_us = sat_add(total->time_b_us, reading->time_b_us);
    total->on_time_us = sat_add(total->on_time_us, reading->on_time_us);
    total->charge_pos_nC = sat_add(total->charge_pos_nC, reading->charge_pos_nC);
    total->charge_neg_nC = sat_add(total->charge_neg_nC, reading->charge_neg_nC);
    if (reading->peak_uA > total->peak_uA) {
        total->peak_uA = reading->peak_uA;
    }
    total->square_uA2_us = sat_add(total->square_uA2_us, reading->square_uA2_us);
}

uint64_t ea_dose_rms_uA(const ea_delivered *total)
{
    if (total->on_time_us == 0u) {
        return 0u;
    }
    return ea_round_sqrt_ratio(total->square_uA2_us, total->on_time_us);
}

void ea_dose_message(const ea_delivered *total, uint8_t channel, ea_dose *out)
{
    out->channel = channel;
    out->pulses_a = ea_min_u32(total->pulses_a);
    out->pulses_b = ea_min_u32(total->pulses_b);
    out->time_a_ms = ea_min_u32(total->time_a_us / EA_US_PER_MS);
    out->time_b_ms = ea_min_u32(total->time_b_us / EA_US_PER_MS);
    out->charge_pos_nC = total->charge_pos_nC;
    out->charge_neg_nC = total->charge_neg_nC;
    out->peak_uA = ea_min_u16(total->peak_uA);
    out->rms_uA = ea_min_u16(ea_dose_rms_uA(total));
    out->on_time_ms = ea_min_u32(total->on_time_us / EA_US_PER_MS);
}
