/* The host build's clock, random source and key file (see host_platform.h). */
#define _XOPEN_SOURCE 700

#include "host_platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ea_wire.h"

uint64_t host_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- random --------------------------------------------------------------------------------- */

int host_random_open(host_random *r, int seeded, uint64_t seed, char *err, size_t err_size)
{
    r->seeded = seeded;
    r->state = seed;
    r->fd = -1;
    if (seeded) {
        return 0;
    }
    r->fd = open("/dev/urandom", O_RDONLY);
    if (r->fd < 0) {
        snprintf(err, err_size, "cannot open /dev/urandom: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static uint32_t random_u32(void *ctx)
{
    host_random *r = ctx;
    uint8_t b[4] = {0, 0, 0, 0};
    size_t got = 0;
    if (r->seeded) {
        uint64_t z = (r->state += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        return (uint32_t)((z ^ (z >> 31)) >> 32);
    }
    while (got < sizeof b) {
        ssize_t n = read(r->fd, b + got, sizeof b - got);
        if (n <= 0 && errno != EINTR) {
            /* A board whose RNG fails must not go on: neither may this one. */
            fprintf(stderr, "ERROR /dev/urandom failed: %s\n", strerror(errno));
            _exit(70);
        }
        got += n > 0 ? (size_t)n : 0u;
    }
    return ea_get_u32(b); /* little-endian, as a board draws its words */
}

ea_random host_random_hal(host_random *r)
{
    ea_random hal;
    hal.random_u32 = random_u32;
    hal.ctx = r;
    return hal;
}

/* --- the key file --------------------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int parse_hex(const char *text, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int host_keyfile_open(host_keyfile *k, const char *path, char *err, size_t err_size)
{
    char line[256];
    unsigned number = 0;
    FILE *f;
    memset(k, 0, sizeof *k);
    k->path = path;
    if (path == NULL) {
        return 0;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT) {
            return 0; /* no key file yet: an empty store, written at the first PAIR */
        }
        snprintf(err, err_size, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        uint8_t id[4];
        unsigned slot;
        number++;
        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (strlen(line) < 2 + 9 + 64 || line[0] < '0' || line[0] > '7' || line[1] != ' ' ||
            line[10] != ' ' || parse_hex(line + 2, id, 4) != 0 ||
            parse_hex(line + 11, k->key[line[0] - '0'], 32) != 0) {
            fclose(f);
            snprintf(err, err_size,
                     "key file %s line %u: expected '<slot 0-7> <key_id: 8 hex> <key: 64 hex>'",
                     path, number);
            return -1;
        }
        slot = (unsigned)(line[0] - '0');
        k->key_id[slot] = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 |
                          (uint32_t)id[3];
        k->held[slot] = k->key_id[slot] != 0u;
    }
    fclose(f);
    return 0;
}

static void rewrite(host_keyfile *k)
{
    char tmp[4096];
    FILE *f;
    unsigned slot;
    size_t i;
    int fd;
    if (strlen(k->path) + 8 >= sizeof tmp) {
        k->write_failed = 1;
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", k->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* the keys are secrets */
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (f == NULL) {
        fprintf(stderr, "ERROR key file %s: %s\n", tmp, strerror(errno));
        k->write_failed = 1;
        return;
    }
    fprintf(f, "# eacontrol C host key store: slot key_id key (hex); keep it secret\n");
    for (slot = 0; slot < 8u; slot++) {
        if (!k->held[slot]) {
            continue;
        }
        fprintf(f, "%u %08lx ", slot, (unsigned long)k->key_id[slot]);
        for (i = 0; i < 32u; i++) {
            fprintf(f, "%02x", k->key[slot][i]);
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0 || rename(tmp, k->path) != 0) {
        fprintf(stderr, "ERROR key file %s: %s\n", k->path, strerror(errno));
        k->write_failed = 1;
        return;
    }
    k->write_failed = 0;
}

static int key_load(void *ctx, unsigned slot, uint32_t *key_id, uint8_t key[32])
{
    host_keyfile *k = ctx;
    if (slot >= 8u || !k->held[slot]) {
        return 0;
    }
    *key_id = k->key_id[slot];
    memcpy(key, k->key[slot], 32);
    return 1;
}

static void key_store(void *ctx, unsigned slot, uint32_t key_id, const uint8_t key[32])
{
    host_keyfile *k = ctx;
    if (slot >= 8u) {
        return;
    }
    k->held[slot] = 1;
    k->key_id[slot] = key_id;
    memcpy(k->key[slot], key, 32);
    rewrite(k);
}

static void key_erase(void *ctx, unsigned slot)
{
    host_keyfile *k = ctx;
    if (slot >= 8u) {
        return;
    }
    k->held[slot] = 0;
    memset(k->key[slot], 0, 32);
    rewrite(k);
}

ea_keystore host_keyfile_hal(host_keyfile *k)
{
    ea_keystore hal;
    hal.load = key_load;
    hal.store = key_store;
    hal.erase = key_erase;
    hal.ctx = k;
    return hal;
}
