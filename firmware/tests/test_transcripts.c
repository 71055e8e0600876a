/* The behavioural transcripts (PROTOCOL.md §9.2) replayed through the C device core, byte for
 * byte, as tests/support/transcript_bench.py's replay does for the Python device: a fresh
 * device of each transcript's model on bench stages, its keys installed and its random source
 * scripted, each input applied at its time after the device has run to it (recording what it
 * sends at every instant it acts), then run to end_us. The timeline it makes must equal the
 * stored one, and it must draw exactly the listed random values.
 *
 * Each transcript runs twice: with the stages' first_open_tick_us (the simulator's sleep
 * between the checks that can find something) and without it (a board's: every grid instant
 * checked). Host test code: <stdio.h>. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "ea_device.h"
#include "ea_transcripts.h"

typedef struct {
    const transcript *t;
    ea_device dev;
    bench_stage stages[EA_MAX_CHANNELS];
    scripted_random rng;
    size_t entry;     /* the next expected timeline entry */
    int mismatch;     /* the first difference was reported */
    const char *mode;
} replay;

static replay R;

static void dump(const char *label, const uint8_t *p, size_t n)
{
    size_t i;
    printf("    %s (%zu bytes): ", label, n);
    for (i = 0; i < n && i < 96u; i++) {
        printf("%02x", p[i]);
    }
    printf("%s\n", n > 96u ? "..." : "");
}

/* Bench._record: what the device sent at t_us; an entry when it sent anything or an input
 * was applied. */
static void record(uint64_t t_us, int input)
{
    uint8_t out[EA_OUTPUT_CAPACITY];
    size_t n = ea_device_take_output(&R.dev, out, sizeof out);
    const transcript_entry *e;
    if (n == 0u && input == IN_NONE) {
        return;
    }
    if (R.mismatch) {
        return;
    }
    if (R.entry >= R.t->entries) {
        R.mismatch = 1;
        printf("FAIL %s (%s): an extra entry at t=%llu\n", R.t->name, R.mode,
               (unsigned long long)t_us);
        dump("sent", out, n);
        failures++;
        return;
    }
    e = &R.t->timeline[R.entry++];
    checks++;
    if (e->t_us != t_us || e->input != input || e->out_len != n || memcmp(e->out, out, n) != 0) {
        R.mismatch = 1;
        failures++;
        printf("FAIL %s (%s): entry %zu: expected t=%llu input %d, got t=%llu input %d\n",
               R.t->name, R.mode, R.entry - 1u, (unsigned long long)e->t_us, e->input,
               (unsigned long long)t_us, input);
        dump("expected", e->out, e->out_len);
        dump("sent", out, n);
    }
}

/* Bench.advance: run alone until now_us, recording at each instant the device acts. */
static void bench_advance(uint64_t now_us)
{
    uint64_t due_us;
    while (ea_device_next_deadline_us(&R.dev, &due_us) && due_us < now_us) {
        CHECK_IN(ea_device_advance(&R.dev, due_us) == EA_OK, "advance", R.t->name);
        record(due_us, IN_NONE);
    }
    CHECK_IN(ea_device_advance(&R.dev, now_us) == EA_OK, "advance", R.t->name);
    record(now_us, IN_NONE);
}

static void apply(const transcript_entry *e)
{
    bench_advance(e->t_us);
    switch (e->input) {
    case IN_FRAME:
        CHECK_IN(ea_device_receive(&R.dev, e->frame, e->frame_len, e->t_us) == EA_OK, "receive",
                 R.t->name);
        break;
    case IN_WINDOW:
        CHECK_IN(ea_device_open_pairing_window(&R.dev, e->t_us, e->value) == EA_OK, "window",
                 R.t->name);
        break;
    case IN_CONTACT:
        R.stages[e->channel].contact_lost = (int)e->value;
        ea_device_hardware_changed(&R.dev);
        break;
    case IN_STUCK:
        R.stages[e->channel].stuck_uA = e->value;
        ea_device_hardware_changed(&R.dev);
        break;
    default:
        break;
    }
    record(e->t_us, e->input);
}

static void model_of(const transcript *t, ea_model *m)
{
    const transcript_limits *l = &t->limits;
    memset(m, 0, sizeof *m);
    memcpy(m->model, t->model, strlen(t->model) < EA_TEXT_SIZE ? strlen(t->model) : EA_TEXT_SIZE);
    memcpy(m->serial, t->serial,
           strlen(t->serial) < EA_TEXT_SIZE ? strlen(t->serial) : EA_TEXT_SIZE);
    m->fw_major = t->fw[0];
    m->fw_minor = t->fw[1];
    m->fw_patch = t->fw[2];
    m->channel_count = (uint8_t)l->channel_count;
    m->max_intensity_uA = (uint16_t)l->max_intensity_uA;
    m->min_phase_us = (uint16_t)l->min_phase_us;
    m->max_phase_us = (uint16_t)l->max_phase_us;
    m->min_freq_cHz = (uint16_t)l->min_freq_cHz;
    m->max_freq_cHz = (uint16_t)l->max_freq_cHz;
    m->max_phase_charge_nC = (uint16_t)l->max_phase_charge_nC;
    m->max_slew_uA_per_s = (uint16_t)l->max_slew_uA_per_s;
    m->compliance_mV = l->compliance_mV;
    m->min_lease_ms = (uint16_t)l->min_lease_ms;
    m->max_lease_ms = (uint16_t)l->max_lease_ms;
    m->max_run_s = (uint16_t)l->max_run_s;
    m->max_interphase_us = (uint16_t)l->max_interphase_us;
    m->max_asym_ratio = (uint8_t)l->max_asym_ratio;
    m->check_period_us = l->check_period_us;
    m->reply_cache_size = (uint16_t)l->reply_cache_size;
}

static void run(const transcript *t, int foresee)
{
    ea_model model;
    ea_output_stage hal[EA_MAX_CHANNELS];
    ea_random rng;
    size_t i;
    memset(&R, 0, sizeof R);
    R.t = t;
    R.mode = foresee ? "foreseeing stages" : "every grid instant";
    model_of(t, &model);
    for (i = 0; i < model.channel_count; i++) {
        bench_stage_init(&R.stages[i], &hal[i], t->load_ohm, model.compliance_mV,
                         model.max_intensity_uA, foresee);
    }
    R.rng.values = t->random;
    R.rng.count = t->random_count;
    rng.random_u32 = scripted_u32;
    rng.ctx = &R.rng;
    CHECK_IN(ea_device_init(&R.dev, &model, hal, model.channel_count, &rng, NULL, 0u) == EA_OK,
             "init", t->name);
    for (i = 0; i < t->key_count; i++) {
        CHECK_IN(ea_device_install_key(&R.dev, t->keys[i].key_id, t->keys[i].key) == EA_OK,
                 "install key", t->name);
    }
    record(0u, IN_NONE);
    for (i = 0; i < t->entries; i++) {
        if (t->timeline[i].input != IN_NONE) {
            apply(&t->timeline[i]);
        }
    }
    bench_advance(t->end_us);
    CHECK_IN(R.mismatch || R.entry == t->entries, "every entry made", t->name);
    CHECK_IN(!R.rng.ran_out && R.rng.used == t->random_count, "exactly the listed random draws",
             t->name);
}

int main(void)
{
    size_t i;
    size_t entries = 0;
    for (i = 0; i < TRANSCRIPT_COUNT; i++) {
        run(TRANSCRIPTS[i], 1);
        run(TRANSCRIPTS[i], 0);
        entries += TRANSCRIPTS[i]->entries;
    }
    printf("transcripts: %u replayed twice, %zu timeline entries each way; %d checks, %d failed\n",
           TRANSCRIPT_COUNT, entries, checks, failures);
    return failures != 0;
}
