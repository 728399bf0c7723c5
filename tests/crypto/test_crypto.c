/* SPDX-License-Identifier: MIT */
/* Tests of crypto: hashes, signatures, Merkle roots and proofs. */
#include <string.h>

#include "crypto/crypto.h"
#include "testlib.h"

static void test_sha256_vector(void **state)
{
    (void)state;
    struct cr_hash h;
    char hex[65];
    cr_sha256(&h, "abc", 3);
    base_hex_encode(hex, h.b, 32);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    struct cr_sha256_ctx c;
    cr_sha256_init(&c);
    cr_sha256_update(&c, "a", 1);
    cr_sha256_update(&c, "bc", 2);
    struct cr_hash h2;
    cr_sha256_final(&c, &h2);
    assert_memory_equal(h.b, h2.b, 32);
}

static void test_sign_verify(void **state)
{
    (void)state;
    struct cr_keypair kp, other;
    uint8_t seed[32] = {1};
    cr_keygen_seed(&kp, seed);
    cr_keygen(&other);
    uint8_t sig[CR_SIG_SIZE];
    cr_sign(sig, "hello", 5, &kp);
    assert_int_equal(cr_verify(sig, "hello", 5, kp.pk), 0);
    assert_int_equal(cr_verify(sig, "hellp", 5, kp.pk), BASE_EBADSIG);
    assert_int_equal(cr_verify(sig, "hello", 5, other.pk), BASE_EBADSIG);
    sig[10] ^= 1;
    assert_int_equal(cr_verify(sig, "hello", 5, kp.pk), BASE_EBADSIG);
}

/* Reference root by the RFC 6962 definition, recursively. */
static void ref_root(struct cr_hash *out, const struct cr_hash *l, size_t n)
{
    if (n == 1) {
        *out = l[0];
        return;
    }
    size_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    struct cr_hash a, b;
    ref_root(&a, l, k);
    ref_root(&b, l + k, n - k);
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, a.b, 32);
    memcpy(buf + 33, b.b, 32);
    cr_sha256(out, buf, 65);
}

static void test_merkle(void **state)
{
    (void)state;
    struct cr_hash leaves[40];
    for (size_t i = 0; i < 40; i++) {
        uint32_t v = (uint32_t)i;
        cr_merkle_leaf(&leaves[i], &v, sizeof v);
    }
    for (size_t n = 1; n <= 40; n++) {
        struct cr_hash root, ref;
        assert_int_equal(cr_merkle_root(&root, leaves, n), 0);
        ref_root(&ref, leaves, n);
        assert_memory_equal(root.b, ref.b, 32);
        for (size_t i = 0; i < n; i++) {
            struct cr_merkle_proof p;
            assert_int_equal(cr_merkle_prove(&p, leaves, n, i), 0);
            assert_int_equal(cr_merkle_verify(&p, &leaves[i], &root), 0);
            /* Another leaf, or a damaged path, must not verify. */
            size_t j = (i + 1) % n;
            if (j != i) {
                assert_int_equal(cr_merkle_verify(&p, &leaves[j], &root),
                                 BASE_ECORRUPT);
            }
            if (p.depth > 0) {
                p.path[0].b[0] ^= 1;
                assert_int_equal(cr_merkle_verify(&p, &leaves[i], &root),
                                 BASE_ECORRUPT);
            }
        }
    }
    struct cr_merkle_proof p;
    assert_int_equal(cr_merkle_prove(&p, leaves, 3, 3), BASE_EINVAL);
    struct cr_hash empty, sha_empty;
    assert_int_equal(cr_merkle_root(&empty, leaves, 0), 0);
    cr_sha256(&sha_empty, "", 0);
    assert_memory_equal(empty.b, sha_empty.b, 32);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vector),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_merkle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
