#include "ea_cobs.h"

size_t ea_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    size_t read = 0;
    size_t write = 1;
    size_t code_at = 0;
    uint8_t code = 1;
    if (cap < 1u) {
        return 0;
    }
    while (read < len) {
        if (src[read] == 0u) {
            dst[code_at] = code;
            code_at = write++;
            code = 1;
            if (code_at >= cap) {
                return 0;
            }
        } else {
            if (write >= cap) {
                return 0;
            }
            dst[write++] = src[read];
            code++;
            /* A full block of 254 data bytes: close it (code 0xFF carries no implied zero)
             * and open the next, even at the end of the input (then an empty block, code
             * 0x01), as firmware_protocol.cobs does (crc.json has the vector). */
            if (code == 0xFFu) {
                dst[code_at] = code;
                code_at = write++;
                code = 1;
                if (code_at >= cap) {
                    return 0;
                }
            }
        }
        read++;
    }
    dst[code_at] = code;
    return write;
}

int ea_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len)
{
    size_t read = 0;
    size_t write = 0;
    if (len == 0u) {
        return -1; /* not even a code byte */
    }
    while (read < len) {
        uint8_t code = src[read];
        size_t i;
        if (code == 0u || read + code > len) {
            return -1;
        }
        read++;
        for (i = 1; i < code; i++) {
            uint8_t b = src[read++];
            if (b == 0u || write >= cap) {
                return -1;
            }
            dst[write++] = b;
        }
        if (code != 0xFFu && read < len) {
            if (write >= cap) {
                return -1;
            }
            dst[write++] = 0u;
        }
    }
    *out_len = write;
    return 0;
}
