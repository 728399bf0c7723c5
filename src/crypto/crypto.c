/* SPDX-License-Identifier: MIT */
/* SHA-256 and Ed25519 over libsodium. */
#include <sodium.h>
#include <string.h>

#include "crypto/crypto.h"

_Static_assert(sizeof(struct cr_sha256_ctx) >= sizeof(crypto_hash_sha256_state),
               "cr_sha256_ctx too small");
_Static_assert(CR_SECKEY_SIZE == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(CR_SIG_SIZE == crypto_sign_BYTES, "sig size");

int cr_init(void)
{
    return sodium_init() < 0 ? BASE_EIO : 0;
}

void cr_sha256(struct cr_hash *out, const void *data, size_t len)
{
    crypto_hash_sha256(out->b, data, len);
}

void cr_sha256_init(struct cr_sha256_ctx *c)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)c->opaque);
}

void cr_sha256_update(struct cr_sha256_ctx *c, const void *data, size_t len)
{
    crypto_hash_sha256_update((crypto_hash_sha256_state *)c->opaque, data, len);
}

void cr_sha256_final(struct cr_sha256_ctx *c, struct cr_hash *out)
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)c->opaque, out->b);
}

void cr_keygen(struct cr_keypair *kp)
{
    crypto_sign_keypair(kp->pk, kp->sk);
}

void cr_keygen_seed(struct cr_keypair *kp, const uint8_t seed[32])
{
    crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
}

void cr_sign(uint8_t sig[CR_SIG_SIZE], const void *msg, size_t len,
             const struct cr_keypair *kp)
{
    crypto_sign_detached(sig, NULL, msg, len, kp->sk);
}

int cr_verify(const uint8_t sig[CR_SIG_SIZE], const void *msg, size_t len,
              const uint8_t pk[CR_PUBKEY_SIZE])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0
                                                               : BASE_EBADSIG;
}

void cr_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

int cr_memcmp(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len);
}

void cr_wipe(void *p, size_t len)
{
    sodium_memzero(p, len);
}
