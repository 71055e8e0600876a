/* CRC-32C (Castagnoli), PROTOCOL.md §2.2: reflected polynomial 0x82F63B78, initial value and
 * final XOR 0xFFFFFFFF; the check value of "123456789" is 0xE3069283. */
#ifndef EA_CRC_H
#define EA_CRC_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of len bytes at data (data may be NULL when len is 0). */
uint32_t ea_crc32c(const uint8_t *data, size_t len);

/* Continue a CRC: crc is a previous ea_crc32c result (0 for none). */
uint32_t ea_crc32c_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
