/* The device core's public API: PROTOCOL.md implemented from the device side, in time the
 * caller passes in. It mirrors the Python Firmware class (simulator/firmware/device.py) and
 * what simulator.hardware.Device asks of it.
 *
 * The caller allocates an ea_device (its size is known at compile time; ea_device_size() for
 * a binding), gives it a model, one output stage per channel, a random source and optionally
 * key-store hooks (ea_hal.h), and then:
 *   - feeds host bytes with ea_device_receive (any chunking),
 *   - calls ea_device_advance at least every model.check_period_us (a board's timer), or
 *     exactly at ea_device_next_deadline_us (a virtual clock),
 *   - sends what ea_device_take_output hands out (COBS frames with their 0x00).
 * No call reads a clock, allocates, or blocks. Times are u64 µs and never go backwards:
 * a call with an earlier time than one already run to returns EA_E_TIME and changes nothing.
 *
 * Every field of the structs below is the core's own: read the device through the functions
 * (the layout may change; the names of the functions and of ea_model's fields will not). */
#ifndef EA_DEVICE_H
#define EA_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ea_channel.h"
#include "ea_codec.h"
#include "ea_frame.h"
#include "ea_hal.h"
#include "ea_result.h"
#include "ea_rx.h"

/* ea_model.model / .serial: ASCII, NUL-padded, 1..16 characters (no terminator needed). */
#define EA_TEXT_SIZE 16u
/* The lease and the fault conditions are checked at least at 100 Hz (§3.5). */
#define EA_MAX_CHECK_PERIOD_US 10000u
/* IEC 60601-2-10: at most 500 V peak on an open circuit: compliance_mV may not exceed it. */
#define EA_MAX_PEAK_OUTPUT_mV 500000u
/* Longest pairing window (keys.MAX_WINDOW_S). */
#define EA_MAX_WINDOW_S 3600u
/* Device counters kept back for the frames that close a session (session.TX_RESERVE). */
#define EA_TX_RESERVE 16u
/* Bytes of output held between two ea_device_take_output calls (a board may shrink it: a
 * frame that does not fit is dropped and counted in tx_overflow_count). The largest burst
 * the core makes on its own — a lease expiry with 8 channels running: 8 STOPPED, LEASE_EXPIRED,
 * SESSION_CLOSED and the closing STATUS — is under 1 KB. */
#ifndef EA_OUTPUT_CAPACITY
#define EA_OUTPUT_CAPACITY 4096u
#endif
/* HELLO's frame as the session keeps it (header, payload, tag) for the retransmission rule. */
#define EA_HELLO_FRAME_SIZE (EA_HEADER_SIZE + 26u + EA_TAG_SIZE)

#define EA_E_TIME (-5)   /* a time earlier than one the device already ran to */
#define EA_E_FULL (-6)   /* the key store has no free slot */
#define EA_E_ABSENT (-7) /* no such key */

/* A stimulator model: identity and the limits its core enforces (model.DeviceModel). The
 * reference values are ea_model_default's; ea_model_check says whether a record is usable. */
typedef struct {
    char model[EA_TEXT_SIZE];  /* INFO and HELLO_ACK model name */
    char serial[EA_TEXT_SIZE]; /* serial number, unique per device */
    uint8_t fw_major;
    uint8_t fw_minor;
    uint8_t fw_patch;
    uint8_t channel_count;        /* 1..EA_MAX_CHANNELS */
    uint16_t max_intensity_uA;    /* largest first-phase current */
    uint16_t min_phase_us;        /* shortest phase width */
    uint16_t max_phase_us;        /* longest phase width */
    uint16_t min_freq_cHz;        /* lowest pulse frequency, 0.01 Hz */
    uint16_t max_freq_cHz;        /* highest pulse frequency */
    uint16_t max_phase_charge_nC; /* largest charge per phase */
    uint16_t max_slew_uA_per_s;   /* fastest rise of the set value */
    uint32_t compliance_mV;       /* the source's compliance voltage, ≤ 500 000 */
    uint16_t min_lease_ms;        /* shortest lease HELLO may ask for */
    uint16_t max_lease_ms;        /* longest */
    uint16_t max_run_s;           /* longest run a program may ask for */
    uint16_t max_interphase_us;   /* longest gap between a pulse's phases */
    uint8_t max_asym_ratio;       /* largest asymmetric ratio (1: symmetric only) */
    uint32_t check_period_us;     /* period of the lease and fault checks, 1..10 000 */
    uint16_t reply_cache_size;    /* replies kept for retransmissions, 1..EA_REPLY_WINDOW */
} ea_model;

/* The device's counters since boot (STATUS carries the first three). */
typedef struct {
    uint32_t rx_err_count;      /* frames refused at checks 1–4 and 6 */
    uint32_t auth_fail_count;   /* frames dropped for a tag that does not verify */
    uint32_t replay_count;      /* frames dropped for a counter used and not a retransmission */
    uint32_t tx_overflow_count; /* device frames dropped for want of output space */
} ea_counters;

typedef struct ea_device {
    ea_model model;
    ea_random rng;
    ea_keystore keystore; /* hooks NULL when RAM-only */
    ea_channel channels[EA_MAX_CHANNELS];
    ea_rx rx; /* key slots, the session's keys, H, the reply cache, auth/replay counts */
    ea_frame_decoder decoder;
    uint32_t boot_id;
    uint64_t boot_us;
    uint64_t now_us;
    uint64_t checked_us; /* the last check instant run */
    uint32_t next_session_id;
    /* the open session (rx.session holds its keys, H and cache) */
    uint8_t session_open;
    uint8_t closing; /* its last frames are being sent */
    uint8_t has_hello_ack;
    uint32_t session_key_id;
    uint32_t last_applied;
    uint32_t tx_counter;
    uint8_t hello_frame[EA_HELLO_FRAME_SIZE];
    size_t hello_frame_len;
    ea_hello_ack hello_ack;
    uint16_t lease_ms;
    uint64_t lease_expires_us;
    /* the pairing window (RAM: a power cycle closes it) */
    uint8_t window_set;
    uint64_t window_start_us;
    uint64_t window_until_us;
    /* next_deadline_us's cached answer (see ea_device.c) */
    uint8_t deadline_cached;
    uint8_t deadline_any_tick;
    uint8_t deadline_has;
    uint64_t deadline_tick_us;
    uint64_t deadline_us;
    uint8_t foresee; /* every stage has first_open_tick_us */
    /* output */
    size_t out_len;
    uint8_t out[EA_OUTPUT_CAPACITY];
    ea_counters counters;
    /* scratch of the receive path (kept here, off the stack) */
    ea_raw_frame raw;
    ea_rx_result rx_result;
} ea_device;

/* The reference model (model.DeviceModel()): EA-SIM-6, SIM-000001, 1.0.0, 6 channels, 20 mA,
 * 50–1000 µs, 1–200 Hz, 10 µC, 5 mA/s, 60 V, lease 200–1000 ms, 3600 s, 500 µs, ratio 8,
 * 10 ms checks, 16 cached replies. */
void ea_model_default(ea_model *m);
/* EA_OK, or EA_E_VALUE for a field outside its range or an inconsistent pair (model.py's
 * __post_init__; also reply_cache_size ≤ EA_REPLY_WINDOW, this core's cache). */
int ea_model_check(const ea_model *m);

/* sizeof(ea_device), for a binding that allocates it. */
size_t ea_device_size(void);

/* Switch the device on at now_us: it boots (EVENT REBOOT, power-on self-test of every
 * channel). outputs: n stages, n == model->channel_count, copied; rng copied; keystore may be
 * NULL (RAM only), else copied and its load hook is asked for every slot. Returns EA_OK, or
 * EA_E_VALUE (bad model, wrong n, a NULL hook that must be set). */
int ea_device_init(ea_device *dev, const ea_model *model, const ea_output_stage *outputs,
                   size_t n, const ea_random *rng, const ea_keystore *keystore,
                   uint64_t now_us);

/* Bytes from the host arriving at now_us (any chunking): the device first runs to now_us,
 * then takes every frame through the receive order and answers it. EA_OK or EA_E_TIME. */
int ea_device_receive(ea_device *dev, const uint8_t *data, size_t len, uint64_t now_us);
/* Run everything due up to and including now_us, in time order. EA_OK or EA_E_TIME. */
int ea_device_advance(ea_device *dev, uint64_t now_us);
/* Move up to cap bytes the device sent (whole COBS frames, each ending in 0x00, in order)
 * into buf; returns how many. What does not fit stays for the next call. */
size_t ea_device_take_output(ea_device *dev, uint8_t *buf, size_t cap);
/* Bytes waiting in the output. */
size_t ea_device_output_pending(const ea_device *dev);
/* When the device next has something to do on its own: returns 1 and *out, or 0 when nothing
 * is pending. The earliest of a ramp's end, a maximum-run shut-off, the check that will find
 * the lease expired (an output active) and the check that will find a fault (when any stage
 * has a NULL first_open_tick_us: the next check instant, always). */
int ea_device_next_deadline_us(ea_device *dev, uint64_t *out);

/* Power-cycle at now_us: new boot id, no session, outputs off, window closed; keys kept. */
int ea_device_reboot(ea_device *dev, uint64_t now_us);
/* The device's own stop button: every active channel off, BUTTON_STOP latched. */
int ea_device_press_stop_button(ea_device *dev, uint64_t now_us);
/* The pairing button: accept one PAIR for seconds (0..EA_MAX_WINDOW_S; 0 closes the window)
 * from now_us. EA_OK, EA_E_TIME, or EA_E_VALUE for seconds out of range. */
int ea_device_open_pairing_window(ea_device *dev, uint64_t now_us, uint32_t seconds);
/* The hardware changed outside a core call (a load, a stuck stage): forget the cached
 * deadline. The caller advances the device to the change's time first. */
void ea_device_hardware_changed(ea_device *dev);

/* Put a known key in the store (KeyStore.install: a factory-provisioned unit, a test's fixed
 * key; no window needed). EA_OK, EA_E_VALUE (key_id 0) or EA_E_FULL. An id already held gets
 * the new key. */
int ea_device_install_key(ea_device *dev, uint32_t key_id, const uint8_t key[EA_KEY_SIZE]);
/* Erase a key (KeyStore.forget); EA_OK or EA_E_ABSENT. */
int ea_device_forget_key(ea_device *dev, uint32_t key_id);
/* 1 when key_id is held. */
int ea_device_key_held(const ea_device *dev, uint32_t key_id);
/* Keys held. */
size_t ea_device_key_count(const ea_device *dev);

/* Inspection. */
uint32_t ea_device_boot_id(const ea_device *dev);
uint64_t ea_device_now_us(const ea_device *dev);
uint32_t ea_device_session_id(const ea_device *dev); /* 0: none open */
uint16_t ea_device_lease_ms(const ea_device *dev);
int ea_device_lease_valid(const ea_device *dev);
uint8_t ea_device_info_flags(const ea_device *dev); /* EA_INFO_FLAG_* as of now */
int ea_device_pairing_window_open(const ea_device *dev);
void ea_device_status(const ea_device *dev, ea_status *out); /* STATUS as of now */
void ea_device_counters(const ea_device *dev, ea_counters *out);
/* Channel ch (< channel_count; else state IDLE, the others 0). */
uint8_t ea_device_channel_state(const ea_device *dev, uint8_t ch);
uint8_t ea_device_channel_faults(const ea_device *dev, uint8_t ch);
int ea_device_channel_active(const ea_device *dev, uint8_t ch);
/* The channel's dose totals as GET_DOSE reports them, without reading the stage first. */
void ea_device_channel_dose(const ea_device *dev, uint8_t ch, ea_dose *out);

#endif
