#include "ea_crc.h"

/* Bitwise, table-free: 293 bytes a frame at most, and no 1 KiB table in a small MCU's flash.
 * A board with a CRC peripheral (many Cortex-M parts compute CRC-32C in hardware) may replace
 * this file; the vectors in firmware_protocol/vectors/crc.json check it. */
uint32_t ea_crc32c_update(uint32_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    int bit;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

uint32_t ea_crc32c(const uint8_t *data, size_t len)
{
    return ea_crc32c_update(0u, data, len);
}
