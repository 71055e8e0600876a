/* The host build's platform: a monotonic clock, the random source (/dev/urandom, or a seeded
 * generator for --seed) and the key file that plays the key store's flash. Host code: POSIX. */
#ifndef HOST_PLATFORM_H
#define HOST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "ea_hal.h"

/* CLOCK_MONOTONIC in µs. */
uint64_t host_monotonic_us(void);

typedef struct {
    int fd;         /* /dev/urandom, or -1 with seeded set */
    int seeded;     /* --seed: splitmix64 from the seed (repeatable, not secret) */
    uint64_t state; /* splitmix64 state */
} host_random;

/* /dev/urandom (seeded 0), or splitmix64 from seed. 0, or -1 with a message in err. */
int host_random_open(host_random *r, int seeded, uint64_t seed, char *err, size_t err_size);
ea_random host_random_hal(host_random *r);

/* The key file: one line per held key, "<slot> <key_id, 8 hex digits> <key, 64 hex digits>",
 * rewritten whole (a temporary file renamed over it) after every change. Absent: no keys. */
typedef struct {
    const char *path; /* NULL: keys in RAM only (ea_device_init gets no hooks) */
    int held[8];
    uint32_t key_id[8];
    uint8_t key[8][32];
    int write_failed; /* the last rewrite failed (reported on stderr) */
} host_keyfile;

/* Read path (a missing file is an empty store). 0, or -1 with a message for a malformed one. */
int host_keyfile_open(host_keyfile *k, const char *path, char *err, size_t err_size);
ea_keystore host_keyfile_hal(host_keyfile *k);

#endif
