/* SPDX-License-Identifier: MIT */
/* SHA-256 over OpenSSL's libcrypto, Ed25519 over libsodium. */
/* SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, but
 * they are the only interface whose state lives in the caller's memory
 * (cr_sha256_ctx) with no allocation and no per-call lookup: EVP costs 30
 * to 60 % more on the short inputs the ledger hashes (Merkle nodes, state
 * writes). OpenSSL picks the CPU's SHA extensions at run time, four times
 * faster than libsodium's portable SHA-256, and the ledger hashes every
 * envelope twice, every write and every result. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

#include "crypto/crypto.h"

_Static_assert(sizeof(struct cr_sha256_ctx) >= sizeof(SHA256_CTX),
               "cr_sha256_ctx too small");
_Static_assert(_Alignof(struct cr_sha256_ctx) >= _Alignof(SHA256_CTX),
               "cr_sha256_ctx underaligned");
_Static_assert(CR_SECKEY_SIZE == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(CR_SIG_SIZE == crypto_sign_BYTES, "sig size");

int cr_init(void)
{
    return sodium_init() < 0 ? BASE_EIO : 0;
}

void cr_sha256(struct cr_hash *out, const void *data, size_t len)
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, len);
    SHA256_Final(out->b, &c);
}

void cr_sha256_init(struct cr_sha256_ctx *c)
{
    SHA256_Init((SHA256_CTX *)c->opaque);
}

void cr_sha256_update(struct cr_sha256_ctx *c, const void *data, size_t len)
{
    SHA256_Update((SHA256_CTX *)c->opaque, data, len);
}

void cr_sha256_final(struct cr_sha256_ctx *c, struct cr_hash *out)
{
    SHA256_Final(out->b, (SHA256_CTX *)c->opaque);
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
