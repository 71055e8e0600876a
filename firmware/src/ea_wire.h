/* The wire's scalars (PROTOCOL.md §1): multi-byte integers little-endian, char[N] ASCII and
 * NUL-padded on the right. One home for the generated codec (ea_codec.c, which
 * tools/gen_codec.py makes to include this), the frame header (ea_frame.c) and the session
 * keys' info (ea_auth.c). */
#ifndef EA_WIRE_H
#define EA_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void ea_put_u8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

static inline void ea_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ea_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void ea_put_u64(uint8_t *p, uint64_t v)
{
    ea_put_u32(p, (uint32_t)v);
    ea_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint8_t ea_get_u8(const uint8_t *p)
{
    return p[0];
}

static inline uint16_t ea_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ea_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t ea_get_u64(const uint8_t *p)
{
    return (uint64_t)ea_get_u32(p) | ((uint64_t)ea_get_u32(p + 4) << 32);
}

/* char[N]: bytes 0x01..0x7F, NUL-padded on the right; all-NUL is empty. */
static inline int ea_text_ok(const uint8_t *p, size_t n)
{
    size_t i;
    int ended = 0;
    for (i = 0; i < n; i++) {
        if (p[i] == 0u) {
            ended = 1;
        } else if (ended || p[i] >= 0x80u) {
            return 0;
        }
    }
    return 1;
}

#endif
