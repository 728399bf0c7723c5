/* SPDX-License-Identifier: MIT */
/* Public header of crypto: SHA-256, Ed25519 keys and signatures, Merkle trees.
 */
#ifndef GL_CRYPTO_H
#define GL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define CR_HASH_SIZE   32
#define CR_PUBKEY_SIZE 32
#define CR_SECKEY_SIZE 64 /* libsodium's seed || public key form */
#define CR_SIG_SIZE    64

struct cr_hash {
    uint8_t b[CR_HASH_SIZE];
};

struct cr_keypair {
    uint8_t pk[CR_PUBKEY_SIZE];
    uint8_t sk[CR_SECKEY_SIZE];
};

/** Initialise libsodium. Call once before anything else; idempotent.
 *  Errors: BASE_EIO when the library cannot start. */
int cr_init(void) BASE_WUR;

/** SHA-256 of @len bytes at @data into @out. */
void cr_sha256(struct cr_hash *out, const void *data, size_t len);

/** Incremental SHA-256 (opaque state sized for OpenSSL's SHA256_CTX). */
struct cr_sha256_ctx {
    _Alignas(16) uint8_t opaque[128];
};
void cr_sha256_init(struct cr_sha256_ctx *c);
void cr_sha256_update(struct cr_sha256_ctx *c, const void *data, size_t len);
void cr_sha256_final(struct cr_sha256_ctx *c, struct cr_hash *out);

/** Generate a fresh Ed25519 key pair. */
void cr_keygen(struct cr_keypair *kp);
/** Derive a key pair from a 32-byte seed (deterministic, for tests). */
void cr_keygen_seed(struct cr_keypair *kp, const uint8_t seed[32]);

/** Ed25519 signature of @len bytes at @msg. */
void cr_sign(uint8_t sig[CR_SIG_SIZE], const void *msg, size_t len,
             const struct cr_keypair *kp);
/** Check an Ed25519 signature. Thread-safe.
 *  Errors: BASE_EBADSIG when it does not verify. */
int cr_verify(const uint8_t sig[CR_SIG_SIZE], const void *msg, size_t len,
              const uint8_t pk[CR_PUBKEY_SIZE]) BASE_WUR;

/** Fill @buf with @n bytes from the system's secure random source. */
void cr_random(void *buf, size_t n);

/** Constant-time comparison; 0 when equal. */
int cr_memcmp(const void *a, const void *b, size_t len);
/** Wipe secret memory. */
void cr_wipe(void *p, size_t len);

/* ---- Merkle trees (RFC 6962 shape) --------------------------------------
 * Leaves are hashed as SHA-256(0x00 || leaf) and interior nodes as
 * SHA-256(0x01 || left || right); a tree of n leaves splits at the largest
 * power of two below n. The root of zero leaves is SHA-256(""). The leaf
 * prefix keeps a leaf from being passed off as an interior node. */

/** Leaf hash of @len bytes. */
void cr_merkle_leaf(struct cr_hash *out, const void *data, size_t len);
/** Root over @n leaf hashes (already cr_merkle_leaf'ed).
 *  Errors: BASE_ENOMEM. */
int cr_merkle_root(struct cr_hash *root, const struct cr_hash *leaves,
                   size_t n) BASE_WUR;

#define CR_MERKLE_MAX_DEPTH 64

/** An inclusion proof: the audit path from leaf @index up to the root. */
struct cr_merkle_proof {
    uint64_t index;
    uint64_t size; /* number of leaves in the tree */
    uint32_t depth;
    struct cr_hash path[CR_MERKLE_MAX_DEPTH];
};

/** Build the proof for leaf @index of @n leaves.
 *  Errors: BASE_EINVAL when @index >= @n, BASE_ENOMEM. */
int cr_merkle_prove(struct cr_merkle_proof *proof, const struct cr_hash *leaves,
                    size_t n, size_t index) BASE_WUR;
/** Check that @leaf (a leaf hash) is at proof->index under @root.
 *  Errors: BASE_ECORRUPT when the path does not lead to @root,
 *  BASE_EINVAL for a malformed proof. */
int cr_merkle_verify(const struct cr_merkle_proof *proof,
                     const struct cr_hash *leaf,
                     const struct cr_hash *root) BASE_WUR;

#endif
