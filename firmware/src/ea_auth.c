#include "ea_auth.h"

#include <string.h>

#include "ea_wire.h"

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
 * 64 primes. */
static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32u - (n))))

static void sha256_block(uint32_t state[8], const uint8_t block[EA_SHA256_BLOCK])
{
    uint32_t w[64];
    uint32_t a, b, c, d, e, f, g, h;
    unsigned i;
    for (i = 0; i < 16u; i++) {
        w[i] = ((uint32_t)block[4u * i] << 24) | ((uint32_t)block[4u * i + 1u] << 16) |
               ((uint32_t)block[4u * i + 2u] << 8) | (uint32_t)block[4u * i + 3u];
    }
    for (i = 16; i < 64u; i++) {
        uint32_t s0 = ROTR(w[i - 15u], 7u) ^ ROTR(w[i - 15u], 18u) ^ (w[i - 15u] >> 3);
        uint32_t s1 = ROTR(w[i - 2u], 17u) ^ ROTR(w[i - 2u], 19u) ^ (w[i - 2u] >> 10);
        w[i] = w[i - 16u] + s0 + w[i - 7u] + s1;
    }
    a = state[0]; b = state[1]; c = state[2]; d = state[3];
    e = state[4]; f = state[5]; g = state[6]; h = state[7];
    for (i = 0; i < 64u; i++) {
        uint32_t s1 = ROTR(e, 6u) ^ ROTR(e, 11u) ^ ROTR(e, 25u);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + K256[i] + w[i];
        uint32_t s0 = ROTR(a, 2u) ^ ROTR(a, 13u) ^ ROTR(a, 22u);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void ea_sha256_init(ea_sha256_ctx *ctx)
{
    /* FIPS 180-4 §5.3.3. */
    static const uint32_t H0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(ctx->state, H0, sizeof H0);
    ctx->length = 0;
    ctx->used = 0;
}

void ea_sha256_update(ea_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->length += len;
    while (len > 0u) {
        size_t take = EA_SHA256_BLOCK - ctx->used;
        if (take > len) {
            take = len;
        }
        memcpy(ctx->block + ctx->used, data, take);
        ctx->used += take;
        data += take;
        len -= take;
        if (ctx->used == EA_SHA256_BLOCK) {
            sha256_block(ctx->state, ctx->block);
            ctx->used = 0;
        }
    }
}

void ea_sha256_final(ea_sha256_ctx *ctx, uint8_t out[EA_SHA256_SIZE])
{
    uint64_t bits = ctx->length * 8u;
    unsigned i;
    ctx->block[ctx->used++] = 0x80u;
    if (ctx->used > EA_SHA256_BLOCK - 8u) {
        memset(ctx->block + ctx->used, 0, EA_SHA256_BLOCK - ctx->used);
        sha256_block(ctx->state, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, EA_SHA256_BLOCK - 8u - ctx->used);
    for (i = 0; i < 8u; i++) {
        ctx->block[EA_SHA256_BLOCK - 1u - i] = (uint8_t)(bits >> (8u * i));
    }
    sha256_block(ctx->state, ctx->block);
    for (i = 0; i < 8u; i++) {
        out[4u * i] = (uint8_t)(ctx->state[i] >> 24);
        out[4u * i + 1u] = (uint8_t)(ctx->state[i] >> 16);
        out[4u * i + 2u] = (uint8_t)(ctx->state[i] >> 8);
        out[4u * i + 3u] = (uint8_t)ctx->state[i];
    }
}

void ea_sha256(const uint8_t *data, size_t len, uint8_t out[EA_SHA256_SIZE])
{
    ea_sha256_ctx ctx;
    ea_sha256_init(&ctx);
    ea_sha256_update(&ctx, data, len);
    ea_sha256_final(&ctx, out);
}

void ea_hmac_init(ea_hmac_ctx *ctx, const uint8_t *key, size_t key_len)
{
    uint8_t pad[EA_SHA256_BLOCK];
    unsigned i;
    memset(pad, 0, sizeof pad);
    if (key_len > EA_SHA256_BLOCK) {
        ea_sha256(key, key_len, pad); /* RFC 2104: a long key is hashed first */
    } else if (key_len > 0u) {
        memcpy(pad, key, key_len);
    }
    for (i = 0; i < EA_SHA256_BLOCK; i++) {
        pad[i] ^= 0x36u;
    }
    ea_sha256_init(&ctx->inner);
    ea_sha256_update(&ctx->inner, pad, sizeof pad);
    for (i = 0; i < EA_SHA256_BLOCK; i++) {
        pad[i] ^= 0x36u ^ 0x5cu;
    }
    ea_sha256_init(&ctx->outer);
    ea_sha256_update(&ctx->outer, pad, sizeof pad);
    memset(pad, 0, sizeof pad);
}

void ea_hmac_update(ea_hmac_ctx *ctx, const uint8_t *data, size_t len)
{
    ea_sha256_update(&ctx->inner, data, len);
}

void ea_hmac_final(ea_hmac_ctx *ctx, uint8_t out[EA_SHA256_SIZE])
{
    uint8_t inner[EA_SHA256_SIZE];
    ea_sha256_final(&ctx->inner, inner);
    ea_sha256_update(&ctx->outer, inner, sizeof inner);
    ea_sha256_final(&ctx->outer, out);
}

void ea_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                    uint8_t out[EA_SHA256_SIZE])
{
    ea_hmac_ctx ctx;
    ea_hmac_init(&ctx, key, key_len);
    ea_hmac_update(&ctx, data, len);
    ea_hmac_final(&ctx, out);
}

void ea_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     uint8_t prk[EA_SHA256_SIZE])
{
    static const uint8_t zeros[EA_SHA256_SIZE] = {0};
    if (salt == NULL || salt_len == 0u) {
        salt = zeros;
        salt_len = sizeof zeros;
    }
    ea_hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
}

int ea_hkdf_expand(const uint8_t prk[EA_SHA256_SIZE], const uint8_t *info, size_t info_len,
                   uint8_t *out, size_t out_len)
{
    uint8_t t[EA_SHA256_SIZE];
    size_t t_len = 0;
    size_t done = 0;
    uint8_t counter = 1;
    if (out_len > 255u * EA_SHA256_SIZE) {
        return -1;
    }
    while (done < out_len) {
        ea_hmac_ctx ctx;
        size_t take;
        ea_hmac_init(&ctx, prk, EA_SHA256_SIZE);
        ea_hmac_update(&ctx, t, t_len);
        if (info_len > 0u) {
            ea_hmac_update(&ctx, info, info_len);
        }
        ea_hmac_update(&ctx, &counter, 1u);
        ea_hmac_final(&ctx, t);
        t_len = EA_SHA256_SIZE;
        take = out_len - done < EA_SHA256_SIZE ? out_len - done : EA_SHA256_SIZE;
        memcpy(out + done, t, take);
        done += take;
        counter++;
    }
    return 0;
}

int ea_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
            const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    uint8_t prk[EA_SHA256_SIZE];
    ea_hkdf_extract(salt, salt_len, ikm, ikm_len, prk);
    return ea_hkdf_expand(prk, info, info_len, out, out_len);
}

static const char HELLO_INFO[] = "eacontrol-proto 2 hello";
static const char SESSION_INFO[] = "eacontrol-proto 2 session";

void ea_hello_key(const uint8_t pairing_key[EA_KEY_SIZE], uint8_t out[EA_KEY_SIZE])
{
    (void)ea_hkdf(NULL, 0u, pairing_key, EA_KEY_SIZE, (const uint8_t *)HELLO_INFO,
                  sizeof HELLO_INFO - 1u, out, EA_KEY_SIZE);
}

void ea_session_keys(const uint8_t pairing_key[EA_KEY_SIZE],
                     const uint8_t host_nonce[EA_NONCE_SIZE],
                     const uint8_t device_nonce[EA_NONCE_SIZE], uint32_t session_id,
                     uint8_t host_to_device[EA_KEY_SIZE], uint8_t device_to_host[EA_KEY_SIZE])
{
    uint8_t salt[2u * EA_NONCE_SIZE];
    uint8_t info[sizeof SESSION_INFO - 1u + 4u];
    uint8_t okm[2u * EA_KEY_SIZE];
    size_t n = sizeof SESSION_INFO - 1u;
    memcpy(salt, host_nonce, EA_NONCE_SIZE);
    memcpy(salt + EA_NONCE_SIZE, device_nonce, EA_NONCE_SIZE);
    memcpy(info, SESSION_INFO, n);
    ea_put_u32(info + n, session_id);
    (void)ea_hkdf(salt, sizeof salt, pairing_key, EA_KEY_SIZE, info, sizeof info, okm,
                  sizeof okm);
    memcpy(host_to_device, okm, EA_KEY_SIZE);
    memcpy(device_to_host, okm + EA_KEY_SIZE, EA_KEY_SIZE);
    memset(okm, 0, sizeof okm);
}

void ea_tag(const uint8_t key[EA_KEY_SIZE], const uint8_t *data, size_t len,
            uint8_t out[EA_TAG_SIZE])
{
    uint8_t mac[EA_SHA256_SIZE];
    ea_hmac_sha256(key, EA_KEY_SIZE, data, len, mac);
    memcpy(out, mac, EA_TAG_SIZE);
}

int ea_tag_equal(const uint8_t a[EA_TAG_SIZE], const uint8_t b[EA_TAG_SIZE])
{
    uint8_t diff = 0;
    unsigned i;
    for (i = 0; i < EA_TAG_SIZE; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0u;
}
