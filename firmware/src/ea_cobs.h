/* Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), PROTOCOL.md §2.2. The encoded
 * bytes contain no 0x00; the caller adds the 0x00 delimiter. */
#ifndef EA_COBS_H
#define EA_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Largest encoding of n bytes: n + 1 + n / 254 (the same rule as firmware_protocol.cobs). */
#define EA_COBS_MAX_ENCODED(n) ((n) + 1u + (n) / 254u)

/* Encode len bytes of src into dst (capacity cap). Returns the encoded length, or 0 when dst
 * is too small (an encoding is never empty: the empty input encodes as one byte 0x01). */
size_t ea_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Decode len bytes of src (without the delimiter) into dst (capacity cap). Returns 0 and sets
 * *out_len, or -1 when the input is empty, holds a 0x00, a code byte runs past the end, or dst
 * is too small. dst may equal src (decoding in place never writes ahead of the read
 * position). */
int ea_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *out_len);

#endif
