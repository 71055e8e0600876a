/* SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104) and HKDF-SHA-256 (RFC 5869): the primitives of
 * PROTOCOL.md §2.4 (hello key, session keys, 128-bit frame tags). A small portable
 * implementation, checked against RFC 4231 / RFC 5869 and vectors/auth.json; a board with a
 * SHA-256 peripheral may replace ea_sha256_* behind the same functions. */
#ifndef EA_AUTH_H
#define EA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define EA_SHA256_SIZE 32u
#define EA_SHA256_BLOCK 64u
#define EA_TAG_SIZE 16u     /* PROTOCOL.md §2.4: the first 16 bytes of the HMAC */
#define EA_KEY_SIZE 32u     /* pairing key, hello key, each session key */
#define EA_NONCE_SIZE 16u

typedef struct {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[EA_SHA256_BLOCK];
    size_t used;
} ea_sha256_ctx;

void ea_sha256_init(ea_sha256_ctx *ctx);
void ea_sha256_update(ea_sha256_ctx *ctx, const uint8_t *data, size_t len);
void ea_sha256_final(ea_sha256_ctx *ctx, uint8_t out[EA_SHA256_SIZE]);
void ea_sha256(const uint8_t *data, size_t len, uint8_t out[EA_SHA256_SIZE]);

/* HMAC-SHA-256 state: the inner hash in progress and the outer key pad, so that a key used for
 * many tags is keyed once: a ctx is plain data, so a keyed one is copied with = per tag. */
typedef struct {
    ea_sha256_ctx inner;
    ea_sha256_ctx outer;
} ea_hmac_ctx;

void ea_hmac_init(ea_hmac_ctx *ctx, const uint8_t *key, size_t key_len);
void ea_hmac_update(ea_hmac_ctx *ctx, const uint8_t *data, size_t len);
void ea_hmac_final(ea_hmac_ctx *ctx, uint8_t out[EA_SHA256_SIZE]);
void ea_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                    uint8_t out[EA_SHA256_SIZE]);

/* HKDF-SHA-256. salt may be NULL/0 (then 32 zero bytes, RFC 5869 §2.2). out_len ≤ 255 × 32.
 * Returns 0, or -1 when out_len is too long. */
void ea_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     uint8_t prk[EA_SHA256_SIZE]);
int ea_hkdf_expand(const uint8_t prk[EA_SHA256_SIZE], const uint8_t *info, size_t info_len,
                   uint8_t *out, size_t out_len);
int ea_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
            const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* PROTOCOL.md §2.4 key derivation from a 32-byte pairing key. */
void ea_hello_key(const uint8_t pairing_key[EA_KEY_SIZE], uint8_t out[EA_KEY_SIZE]);
void ea_session_keys(const uint8_t pairing_key[EA_KEY_SIZE],
                     const uint8_t host_nonce[EA_NONCE_SIZE],
                     const uint8_t device_nonce[EA_NONCE_SIZE], uint32_t session_id,
                     uint8_t host_to_device[EA_KEY_SIZE], uint8_t device_to_host[EA_KEY_SIZE]);

/* The frame tag: HMAC-SHA-256(key, data) truncated to 16 bytes. */
void ea_tag(const uint8_t key[EA_KEY_SIZE], const uint8_t *data, size_t len,
            uint8_t out[EA_TAG_SIZE]);

/* 1 when the 16-byte tags are equal; the time taken does not depend on where they differ. */
int ea_tag_equal(const uint8_t a[EA_TAG_SIZE], const uint8_t b[EA_TAG_SIZE]);

#endif
