/* SPDX-License-Identifier: MIT */
/* Merkle roots and inclusion proofs in the shape of RFC 6962. */
#include <string.h>

#include "crypto/crypto.h"

void cr_merkle_leaf(struct cr_hash *out, const void *data, size_t len)
{
    struct cr_sha256_ctx c;
    uint8_t prefix = 0x00;
    cr_sha256_init(&c);
    cr_sha256_update(&c, &prefix, 1);
    cr_sha256_update(&c, data, len);
    cr_sha256_final(&c, out);
}

static void node(struct cr_hash *out, const struct cr_hash *l,
                 const struct cr_hash *r)
{
    uint8_t buf[1 + 2 * CR_HASH_SIZE];
    buf[0] = 0x01;
    memcpy(buf + 1, l->b, CR_HASH_SIZE);
    memcpy(buf + 1 + CR_HASH_SIZE, r->b, CR_HASH_SIZE);
    cr_sha256(out, buf, sizeof buf);
}

/* Largest power of two strictly below n (n >= 2). */
static size_t split(size_t n)
{
    size_t k = 1;
    while (k << 1 < n) {
        k <<= 1;
    }
    return k;
}

/* Root of leaves[0..n). The
 * recursion depth is log2(n), and the split rule makes the result equal to
 * RFC 6962's MTH for any n. */
static void root_rec(struct cr_hash *out, const struct cr_hash *leaves,
                     size_t n)
{
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    size_t k = split(n);
    struct cr_hash l, r;
    root_rec(&l, leaves, k);
    root_rec(&r, leaves + k, n - k);
    node(out, &l, &r);
}

int cr_merkle_root(struct cr_hash *root, const struct cr_hash *leaves, size_t n)
{
    if (n == 0) {
        cr_sha256(root, "", 0);
        return 0;
    }
    root_rec(root, leaves, n);
    return 0;
}

int cr_merkle_prove(struct cr_merkle_proof *proof, const struct cr_hash *leaves,
                    size_t n, size_t index)
{
    if (index >= n) {
        return BASE_EINVAL;
    }
    /* Walk down from the root, recording the sibling subtree at each level;
     * the path is stored leaf-first, so reverse at the end. */
    struct cr_hash rev[CR_MERKLE_MAX_DEPTH];
    uint32_t depth = 0;
    const struct cr_hash *base = leaves;
    size_t m = index, size = n;
    while (size > 1) {
        size_t k = split(size);
        if (m < k) {
            root_rec(&rev[depth++], base + k, size - k);
            size = k;
        } else {
            root_rec(&rev[depth++], base, k);
            base += k;
            m -= k;
            size -= k;
        }
    }
    proof->index = index;
    proof->size = n;
    proof->depth = depth;
    for (uint32_t i = 0; i < depth; i++) {
        proof->path[i] = rev[depth - 1 - i];
    }
    return 0;
}

int cr_merkle_verify(const struct cr_merkle_proof *proof,
                     const struct cr_hash *leaf, const struct cr_hash *root)
{
    if (proof->index >= proof->size || proof->depth > CR_MERKLE_MAX_DEPTH) {
        return BASE_EINVAL;
    }
    /* Recompute which side each sibling is on from index and size, top
     * down, exactly as the prover split the tree. */
    int right_side[CR_MERKLE_MAX_DEPTH];
    uint32_t levels = 0;
    uint64_t m = proof->index, size = proof->size;
    while (size > 1) {
        if (levels >= CR_MERKLE_MAX_DEPTH) {
            return BASE_EINVAL;
        }
        uint64_t k = 1;
        while (k << 1 < size) {
            k <<= 1;
        }
        if (m < k) {
            right_side[levels++] = 1; /* sibling on the right */
            size = k;
        } else {
            right_side[levels++] = 0;
            m -= k;
            size -= k;
        }
    }
    if (levels != proof->depth) {
        return BASE_EINVAL;
    }
    struct cr_hash h = *leaf;
    for (uint32_t i = 0; i < levels; i++) {
        /* path[i] pairs with the level levels-1-i from the top. */
        int sib_right = right_side[levels - 1 - i];
        struct cr_hash t;
        if (sib_right) {
            node(&t, &h, &proof->path[i]);
        } else {
            node(&t, &proof->path[i], &h);
        }
        h = t;
    }
    return cr_memcmp(h.b, root->b, CR_HASH_SIZE) == 0 ? 0 : BASE_ECORRUPT;
}
