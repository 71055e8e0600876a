/* A channel's dose counters (simulator/firmware/dose.py): the output stage's readings added
 * up since the channel's last SET_PROGRAM; GET_DOSE's reply. Sums saturate at 2^64 − 1 (the
 * Python ints grow without bound; no reachable dose comes near). */
#ifndef EA_DOSE_H
#define EA_DOSE_H

#include <stdint.h>

#include "ea_codec.h"
#include "ea_hal.h"

void ea_dose_clear(ea_delivered *total);
/* Add one reading; peak_uA is the larger of the two. */
void ea_dose_add(ea_delivered *total, const ea_delivered *reading);
/* rms over the on-time to the nearest µA (ties to even); 0 before any on-time. */
uint64_t ea_dose_rms_uA(const ea_delivered *total);
/* The DOSE reply of channel: each total clipped to its wire field, times in whole ms. */
void ea_dose_message(const ea_delivered *total, uint8_t channel, ea_dose *out);

#endif
