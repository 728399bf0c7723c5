/* SPDX-License-Identifier: MIT */
/* Tests of contract: the registry and executor, role checks, failed calls,
 * range scans inside a call, the asset contract, SDK helpers and
 * determinism of the state hash. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "testlib.h"

#define NOW (1800000000ull * 1000000000ull)

#define FAIL_MSG "deliberate failure after two writes"

/* ---- a contract written for these tests ---------------------------------- */

/* Callable by DSO and ISO only: records the caller under "who". */
static int restricted(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    (void)argc;
    (void)argv;
    char me[2 * LG_NAME_MAX + 2];
    sc_caller_id(ctx, me);
    return lg_ctx_put(ctx, "who", 3, me, strlen(me));
}

/* Writes two keys and emits an event, then fails: all must be discarded. */
static int failing(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    (void)argc;
    (void)argv;
    int rv = lg_ctx_put(ctx, "f1", 2, "x", 1);
    if (rv == 0) {
        rv = lg_ctx_put(ctx, "f2", 2, "y", 1);
    }
    if (rv == 0) {
        rv = lg_ctx_emit(ctx, "Failing", "z", 1);
    }
    if (rv == 0) {
        rv = lg_ctx_return(ctx, "never", 5);
    }
    return rv != 0 ? rv : lg_ctx_fail(ctx, BASE_EABORTED, FAIL_MSG);
}

/* seed(KEY...): put every KEY with the value "old". */
static int seed(struct lg_ctx *ctx, uint32_t argc, const struct lg_slice *argv)
{
    for (uint32_t i = 0; i < argc; i++) {
        int rv = lg_ctx_put(ctx, argv[i].p, argv[i].len, "old", 3);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int collect(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct base_buf *b = arg;
    int rv = b->len > 0 ? base_buf_add_u8(b, ',') : 0;
    if (rv == 0) {
        rv = base_buf_add(b, key.p, key.len);
    }
    if (rv == 0) {
        rv = base_buf_add_u8(b, '=');
    }
    if (rv == 0) {
        rv = base_buf_add(b, val.p, val.len);
    }
    return rv;
}

/* scan(START, END, OP...): apply each OP ("+KEY" puts "new", "-KEY"
 * deletes), then return "k=v,k=v" for the keys in [START, END) as the call
 * sees them. END "-" means to the end of the contract's keys. */
static int scan(struct lg_ctx *ctx, uint32_t argc, const struct lg_slice *argv)
{
    if (argc < 2) {
        return lg_ctx_fail(ctx, BASE_EARGS, "scan START END OP...");
    }
    int rv = 0;
    for (uint32_t i = 2; rv == 0 && i < argc; i++) {
        const struct lg_slice *a = &argv[i];
        if (a->len < 2 || (a->p[0] != '+' && a->p[0] != '-')) {
            return lg_ctx_fail(ctx, BASE_EARGS, "bad op");
        }
        if (a->p[0] == '+') {
            rv = lg_ctx_put(ctx, a->p + 1, a->len - 1, "new", 3);
        } else {
            rv = lg_ctx_del(ctx, a->p + 1, a->len - 1);
        }
    }
    struct base_buf out;
    base_buf_init(&out, 0);
    bool to_end = argv[1].len == 1 && argv[1].p[0] == '-';
    if (rv == 0) {
        rv =
            lg_ctx_range(ctx, argv[0].p, argv[0].len, to_end ? NULL : argv[1].p,
                         argv[1].len, collect, &out);
    }
    if (rv == 0) {
        rv = lg_ctx_return(ctx, out.data, out.len);
    }
    base_buf_release(&out);
    return rv;
}

/* whoami(ROLES): returns "ORG/NAME:y" when the caller has one of ROLES,
 * "ORG/NAME:n" otherwise. */
static int whoami(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    char roles[128];
    if (argc != 1 || sc_arg_str(&argv[0], roles, sizeof roles) != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "whoami ROLES");
    }
    char me[2 * LG_NAME_MAX + 2];
    sc_caller_id(ctx, me);
    char out[sizeof me + 4];
    snprintf(out, sizeof out, "%s:%c", me,
             sc_caller_has_role(ctx, roles) ? 'y' : 'n');
    return lg_ctx_return(ctx, out, strlen(out));
}

/* echofail(TEXT): fails with TEXT in its reason, as it came (a contract
 * that forgot to check its argument). */
static int echofail(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    return lg_ctx_fail(ctx, BASE_EARGS, "bad %.*s", argc ? (int)argv[0].len : 0,
                       argc ? (const char *)argv[0].p : "");
}

/* packraw(TEXT): packs TEXT into a record without checking it first. */
static int packraw(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    char text[256];
    if (argc != 1 || argv[0].len >= sizeof text) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: packraw TEXT");
    }
    memcpy(text, argv[0].p, argv[0].len);
    text[argv[0].len] = '\0';
    struct json_t *o;
    int rv = sc_pack(ctx, &o, "{s:s}", "text", text);
    return rv ? rv : sc_put_json(ctx, "raw", o, NULL);
}

static const struct sc_function probe_fns[] = {
    {"echofail", echofail, NULL},
    {"packraw", packraw, NULL},
    {"restricted", restricted, "dso iso"},
    {"failing", failing, NULL},
    {"seed", seed, NULL},
    {"scan", scan, NULL},
    {"whoami", whoami, NULL},
};

static const struct sc_contract probe_contract = {
    "probe", probe_fns, BASE_ARRAY_LEN(probe_fns), NULL};

/* ---- fixture --------------------------------------------------------------
 */

struct fx {
    char dir[PATH_MAX];
    struct tc_consortium c;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct base_buf tx;
    struct base_buf v;
};

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "contract");
    tc_init(&f->c, "energy");
    assert_int_equal(sc_register(&f->c.reg, &probe_contract), 0);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(f->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    base_buf_init(&f->tx, 0);
    base_buf_init(&f->v, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lg_close(f->l);
    base_buf_release(&f->tx);
    base_buf_release(&f->v);
    tl_rmrf(f->dir);
    base_free(f);
    return 0;
}

/* Commit one transaction already in f->tx; return its outcome code. */
static int commit1(struct fx *f, struct lg_outcome *o)
{
    struct lg_item it = {f->tx.data, f->tx.len, false};
    struct lg_outcome tmp;
    if (o == NULL) {
        o = &tmp;
    }
    assert_int_equal(lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, o, NULL), 0);
    return o->code;
}

/* The state value of @key in @contract as a NUL-terminated string in f->v,
 * or NULL when it does not exist. */
static const char *get(struct fx *f, const char *contract, const char *key)
{
    base_buf_reset(&f->v);
    int rv = lg_get(f->ch, contract, key, strlen(key), &f->v, NULL);
    if (rv == BASE_ENOTFOUND) {
        return NULL;
    }
    assert_int_equal(rv, 0);
    assert_int_equal(base_buf_terminate(&f->v), 0);
    return (const char *)f->v.data;
}

/* Copy the payload and reason of transaction @idx of the tip block into
 * @payload and @reason (NUL-terminated, @size bytes each); return its code. */
static int32_t tip_result(struct fx *f, uint32_t idx, char *payload,
                          char *reason, size_t size)
{
    uint64_t height;
    lg_channel_tip(f->ch, &height, NULL, NULL);
    base_buf_reset(&f->v);
    assert_int_equal(lg_block_get(f->ch, height - 1, &f->v), 0);
    struct lg_block b;
    assert_int_equal(lg_block_decode(&b, f->v.data, f->v.len), 0);
    assert_true(idx < b.h.tx_count);
    const struct lg_result *r = &b.results[idx];
    assert_true(r->payload.len < size);
    assert_true(r->reason.len < size);
    memcpy(payload, r->payload.p, r->payload.len);
    payload[r->payload.len] = '\0';
    memcpy(reason, r->reason.p, r->reason.len);
    reason[r->reason.len] = '\0';
    int32_t code = r->code;
    lg_block_release(&b);
    return code;
}

/* lg_evaluate with string arguments; the return value goes to @out as a
 * string. */
static int eval(struct fx *f, const struct tc_member *m, const char *contract,
                const char *fn, char *out, size_t size, char *reason,
                uint32_t nargs, const char *const *args)
{
    struct lg_slice s[LG_MAX_ARGS];
    for (uint32_t i = 0; i < nargs; i++) {
        s[i].p = (const uint8_t *)args[i];
        s[i].len = strlen(args[i]);
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = lg_evaluate(f->ch, &m->cert, contract, fn, nargs, s, &b, reason);
    out[0] = '\0';
    if (rv == 0) {
        assert_true(b.len < size);
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    base_buf_release(&b);
    return rv;
}

static int count_events(void *arg, const struct lg_event *e)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

/* ---- registry -------------------------------------------------------------
 */

static void test_registry(void **state)
{
    (void)state;
    struct sc_registry r;
    sc_registry_init(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(sc_register_builtin(&r), 0);
    size_t builtin = r.n;
    assert_true(builtin >= 3); /* asset, registry, bids, ... */
    assert_int_equal(sc_register(&r, &sc_asset_contract), BASE_EEXIST);
    /* Another contract object with a taken name is refused as well. */
    const struct sc_contract dup = {"asset", probe_fns, 1, NULL};
    assert_int_equal(sc_register(&r, &dup), BASE_EEXIST);

    /* Names are 1..LG_NAME_MAX bytes. */
    static char longname[LG_NAME_MAX + 2];
    memset(longname, 'n', LG_NAME_MAX + 1);
    longname[LG_NAME_MAX + 1] = '\0';
    const struct sc_contract too_long = {longname, probe_fns, 1, NULL};
    assert_int_equal(sc_register(&r, &too_long), BASE_EINVAL);
    const struct sc_contract empty = {"", probe_fns, 1, NULL};
    assert_int_equal(sc_register(&r, &empty), BASE_EINVAL);
    static char maxname[LG_NAME_MAX + 1];
    memset(maxname, 'm', LG_NAME_MAX);
    maxname[LG_NAME_MAX] = '\0';
    const struct sc_contract max_len = {maxname, probe_fns, 1, NULL};
    assert_int_equal(sc_register(&r, &max_len), 0);
    assert_int_equal(r.n, builtin + 1);

    /* Fill the registry, then one more is refused and nothing changes. */
    static char names[SC_MAX_CONTRACTS + 1][16];
    static struct sc_contract many[SC_MAX_CONTRACTS + 1];
    for (size_t i = 0; i <= SC_MAX_CONTRACTS; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        many[i] = (struct sc_contract){names[i], probe_fns, 1, NULL};
    }
    size_t i = 0;
    while (r.n < SC_MAX_CONTRACTS) {
        assert_int_equal(sc_register(&r, &many[i++]), 0);
    }
    assert_int_equal(sc_register(&r, &many[i]), BASE_EFULL);
    assert_int_equal(r.n, SC_MAX_CONTRACTS);
}

static void test_executor_check(void **state)
{
    struct fx *f = *state;
    struct lg_executor e = sc_executor(&f->c.reg);
    assert_ptr_equal(e.impl, &f->c.reg);
    assert_int_equal(e.check(e.impl, "nope", "create", "dso"),
                     BASE_ENOCONTRACT);
    assert_int_equal(e.check(e.impl, "asset", "explode", "dso"), BASE_ENOFUNC);
    assert_int_equal(e.check(e.impl, "asset", "create", "dera"), 0);
    assert_int_equal(e.check(e.impl, "probe", "restricted", "dso"), 0);
    assert_int_equal(e.check(e.impl, "probe", "restricted", "iso"), 0);
    assert_int_equal(e.check(e.impl, "probe", "restricted", "dera"),
                     BASE_EPERM);
    /* Roles match whole words only. */
    assert_int_equal(e.check(e.impl, "probe", "restricted", "ds"), BASE_EPERM);
    assert_int_equal(e.check(e.impl, "probe", "restricted", "dso iso"),
                     BASE_EPERM);

    /* The same errors through evaluation, which calls the executor. */
    char out[64], reason[LG_REASON_MAX + 1];
    assert_int_equal(
        eval(f, &f->c.dso, "nope", "read", out, sizeof out, reason, 0, NULL),
        BASE_ENOCONTRACT);
    assert_int_equal(eval(f, &f->c.dso, "asset", "explode", out, sizeof out,
                          reason, 0, NULL),
                     BASE_ENOFUNC);
}

/* ---- role authorisation ---------------------------------------------------
 */

static void test_roles(void **state)
{
    struct fx *f = *state;
    struct lg_outcome o;
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "restricted", 1, 0);
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    assert_true(strlen(o.reason) > 0);
    assert_null(get(f, "probe", "who"));
    /* The refused transaction is in the block, recorded invalid. */
    struct lg_tx_info info;
    assert_int_equal(lg_tx_find(f->ch, &o.id, &info), 0);
    assert_int_equal(info.code, BASE_EPERM);
    assert_int_equal(info.block, 1);

    tc_tx(&f->tx, &f->c.dso, "energy", "probe", "restricted", 2, 0);
    assert_int_equal(commit1(f, &o), 0);
    const char *who = get(f, "probe", "who");
    assert_non_null(who);
    assert_string_equal(who, "DSO/op");
    /* Under the contract's namespace only. */
    assert_null(get(f, "asset", "who"));

    tc_tx(&f->tx, &f->c.iso, "energy", "probe", "restricted", 3, 0);
    assert_int_equal(commit1(f, NULL), 0);
    assert_string_equal(get(f, "probe", "who"), "ISO/op");

    /* Admission refuses the DERA call before ordering as well. */
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "restricted", 4, 0);
    struct lg_tx tx;
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EPERM);
}

/* ---- failed calls ------------------------------------------------------- */

/* Issue 15, finding 2: what jansson refuses to encode is the caller's
 * error, and a reason is valid UTF-8 whatever a contract echoes into it. */
static void test_encoding_is_the_callers_error(void **state)
{
    struct fx *f = *state;
    struct lg_outcome o;
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "packraw", 1, 1,
          "\xff"
          "A");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    assert_non_null(strstr(o.reason, "cannot be encoded"));
    assert_null(get(f, "probe", "raw"));
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "packraw", 2, 1,
          "caf\xc3\xa9");
    assert_int_equal(commit1(f, &o), 0);
    assert_string_equal(get(f, "probe", "raw"), "{\"text\":\"caf\xc3\xa9\"}");
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "echofail", 3, 1,
          "\xff\xfe ok \xe2\x82");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    assert_string_equal(o.reason, "bad ?? ok ??");
    /* A long reason cut in the middle of a character. */
    char lng[LG_REASON_MAX * 2 + 1];
    for (size_t i = 0; i + 2 <= sizeof lng - 1; i += 2) {
        memcpy(lng + i, "\xc3\xa9", 2);
    }
    lng[sizeof lng - 1] = '\0';
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "echofail", 4, 1, lng);
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    assert_true(base_utf8_ok(o.reason, strlen(o.reason)));
    /* As stored in the block, too. */
    char payload[LG_REASON_MAX + 1], reason[LG_REASON_MAX + 1];
    assert_int_equal(tip_result(f, 0, payload, reason, sizeof reason),
                     BASE_EARGS);
    assert_true(base_utf8_ok(reason, strlen(reason)));
    assert_string_equal(reason, o.reason);
}

/* The identifier rule itself, and the UTF-8 check under it. */
static void test_identifier_rule(void **state)
{
    (void)state;
    char why[192];
    const char *good[] = {"pv1", "a", "dera1-rt-3", "x.y:z_w", "0", "a-b"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(good); i++) {
        assert_int_equal(sc_id_check(good[i], strlen(good[i]), why, sizeof why),
                         0);
    }
    const char *bad[] = {"",     "PV1",  "pv1 ",        " pv1", "\xd0\xa0V1",
                         "-a",   "a-",   "a/b",         "a,b",  "a b",
                         "a\tb", "\xff", "caf\xc3\xa9", ".a",   "a:"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        assert_int_equal(sc_id_check(bad[i], strlen(bad[i]), why, sizeof why),
                         BASE_EARGS);
        assert_true(base_utf8_ok(why, strlen(why)));
    }
    char max[SC_ID_MAX + 1];
    memset(max, 'a', sizeof max);
    assert_int_equal(sc_id_check(max, SC_ID_MAX, why, sizeof why), 0);
    assert_int_equal(sc_id_check(max, SC_ID_MAX + 1, why, sizeof why),
                     BASE_EARGS);
    assert_int_equal(sc_id_check("PV1", 3, why, sizeof why), BASE_EARGS);
    assert_non_null(strstr(why, "(use 'pv1')"));
    /* UTF-8 as jansson takes it: overlong forms, surrogates, code points
     * past U+10FFFF and cut sequences are not. */
    const char *ok8[] = {"",
                         "abc",
                         "\xc3\xa9",
                         "\xe2\x82\xac",
                         "\xf0\x9f\x98\x80",
                         "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(ok8); i++) {
        assert_true(sc_utf8_ok(ok8[i], strlen(ok8[i])));
    }
    const char *bad8[] = {"\xff",
                          "\xc0\x80",
                          "\xc1\xbf",
                          "\xe0\x80\x80",
                          "\xed\xa0\x80",
                          "\xf4\x90\x80\x80",
                          "\xf8\x88\x80\x80",
                          "\xc3",
                          "\xe2\x82",
                          "a\x80"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad8); i++) {
        assert_false(sc_utf8_ok(bad8[i], strlen(bad8[i])));
    }
    /* The early check the CLI uses agrees with the contracts. */
    struct lg_slice a[5] = {{(const uint8_t *)"B1", 2},
                            {(const uint8_t *)"rt", 2},
                            {(const uint8_t *)"1", 1},
                            {(const uint8_t *)"x", 1},
                            {(const uint8_t *)"pv1,PV2", 7}};
    assert_int_equal(sc_call_check("bids", "create", 5, a, why, sizeof why),
                     BASE_EARGS);
    assert_non_null(strstr(why, "bid uid"));
    a[0] = (struct lg_slice){(const uint8_t *)"b1", 2};
    assert_int_equal(sc_call_check("bids", "create", 5, a, why, sizeof why),
                     BASE_EARGS);
    assert_non_null(strstr(why, "DER id 'PV2'"));
    a[4] = (struct lg_slice){(const uint8_t *)"pv1,pv2", 7};
    assert_int_equal(sc_call_check("bids", "create", 5, a, why, sizeof why), 0);
    /* A trailing comma, which bids.create refuses, is refused here too. */
    a[4] = (struct lg_slice){(const uint8_t *)"pv1,", 4};
    assert_int_equal(sc_call_check("bids", "create", 5, a, why, sizeof why),
                     BASE_EARGS);
    assert_non_null(strstr(why, "ends with ','"));
    struct lg_slice h[2] = {{(const uint8_t *)"\xff"
                                              "A",
                             2},
                            {(const uint8_t *)"1", 1}};
    assert_int_equal(sc_call_check("asset", "create", 2, h, why, sizeof why),
                     BASE_EARGS);
    assert_int_equal(sc_call_check("mine", "create", 2, h, why, sizeof why), 0);
}

static void test_failed_call_writes_nothing(void **state)
{
    struct fx *f = *state;
    uint64_t h0;
    struct cr_hash s0, s1;
    lg_channel_tip(f->ch, &h0, NULL, &s0);
    struct lg_outcome o;
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "failing", 1, 0);
    assert_int_equal(commit1(f, &o), BASE_EABORTED);
    assert_string_equal(o.reason, FAIL_MSG);
    assert_null(get(f, "probe", "f1"));
    assert_null(get(f, "probe", "f2"));
    uint64_t h1;
    lg_channel_tip(f->ch, &h1, NULL, &s1);
    assert_int_equal(h1, h0 + 1);
    /* No writes: the state hash is SHA-256(previous || SHA-256("")). */
    struct cr_hash empty, want;
    cr_sha256(&empty, "", 0);
    uint8_t cat[2 * CR_HASH_SIZE];
    memcpy(cat, s0.b, CR_HASH_SIZE);
    memcpy(cat + CR_HASH_SIZE, empty.b, CR_HASH_SIZE);
    cr_sha256(&want, cat, sizeof cat);
    assert_memory_equal(s1.b, want.b, CR_HASH_SIZE);
    /* The stored result has the code, the reason and no payload; the event
     * was dropped. */
    char payload[256], reason[256];
    assert_int_equal(tip_result(f, 0, payload, reason, sizeof payload),
                     BASE_EABORTED);
    assert_string_equal(reason, FAIL_MSG);
    assert_string_equal(payload, "");
    int n = 0;
    assert_int_equal(lg_events(f->ch, 0, count_events, &n), 0);
    assert_int_equal(n, 0);
    /* Through evaluation, the reason comes back too. */
    char out[64], r2[LG_REASON_MAX + 1];
    assert_int_equal(
        eval(f, &f->c.dera, "probe", "failing", out, sizeof out, r2, 0, NULL),
        BASE_EPERM); /* writes are refused before the failure */
}

/* ---- range scans inside a call ------------------------------------------- */

static void test_ctx_range_merges_writes(void **state)
{
    struct fx *f = *state;
    /* Committed state: a, c, e, g in probe; assets in another namespace. */
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "seed", 1, 4, "a", "c", "e",
          "g");
    assert_int_equal(commit1(f, NULL), 0);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 2, 2, "b", "1");
    assert_int_equal(commit1(f, NULL), 0);

    /* Read-only, nothing pending: the committed keys in order. */
    char out[256], reason[LG_REASON_MAX + 1];
    const char *all[] = {"", "-"};
    assert_int_equal(
        eval(f, &f->c.dera, "probe", "scan", out, sizeof out, reason, 2, all),
        0);
    assert_string_equal(out, "a=old,c=old,e=old,g=old");

    /* New key b, overwritten e, deleted committed c, a new key put then
     * deleted again, a deleted missing key, and new keys after the last
     * committed one. */
    struct lg_outcome o;
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "scan", 3, 10, "", "-", "+h",
          "+b", "+e", "-c", "+x", "-x", "-zz", "+d");
    assert_true(f->tx.len > 0);
    assert_int_equal(commit1(f, &o), 0);
    char payload[256], r[256];
    assert_int_equal(tip_result(f, 0, payload, r, sizeof payload), 0);
    assert_string_equal(payload, "a=old,b=new,d=new,e=new,g=old,h=new");

    /* The writes were committed as seen. */
    assert_null(get(f, "probe", "c"));
    assert_null(get(f, "probe", "x"));
    assert_string_equal(get(f, "probe", "b"), "new");
    assert_string_equal(get(f, "probe", "e"), "new");
    assert_int_equal(
        eval(f, &f->c.dera, "probe", "scan", out, sizeof out, reason, 2, all),
        0);
    assert_string_equal(out, "a=old,b=new,d=new,e=new,g=old,h=new");

    /* A bounded range [b, g) with pending writes inside and outside it. */
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "scan", 4, 6, "b", "g", "-b",
          "+c", "+f", "+a");
    assert_int_equal(commit1(f, NULL), 0);
    assert_int_equal(tip_result(f, 0, payload, r, sizeof payload), 0);
    assert_string_equal(payload, "c=new,d=new,e=new,f=new");
    const char *bounded[] = {"b", "e"};
    assert_int_equal(eval(f, &f->c.dera, "probe", "scan", out, sizeof out,
                          reason, 2, bounded),
                     0);
    assert_string_equal(out, "c=new,d=new");

    /* Deleting everything committed hides it all. */
    tc_tx(&f->tx, &f->c.dera, "energy", "probe", "scan", 5, 9, "", "-", "-a",
          "-c", "-d", "-e", "-f", "-g", "-h");
    assert_int_equal(commit1(f, NULL), 0);
    assert_int_equal(tip_result(f, 0, payload, r, sizeof payload), 0);
    assert_string_equal(payload, "");
    /* The asset namespace was never visible to probe and is untouched. */
    assert_non_null(get(f, "asset", "b"));
}

/* ---- the asset contract ---------------------------------------------------
 */

static void test_asset_lifecycle(void **state)
{
    struct fx *f = *state;
    struct lg_outcome o;
    char payload[512], r[256];
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "a1", "10");
    assert_int_equal(commit1(f, &o), 0);
    const char *created = "{\"id\":\"a1\",\"owner\":\"DERA1/alice\","
                          "\"value\":\"10\"}";
    assert_string_equal(get(f, "asset", "a1"), created);
    assert_int_equal(tip_result(f, 0, payload, r, sizeof payload), 0);
    assert_string_equal(payload, created);

    /* read returns the JSON, to anyone. */
    char out[512], reason[LG_REASON_MAX + 1];
    const char *a1[] = {"a1"};
    assert_int_equal(
        eval(f, &f->c.iso, "asset", "read", out, sizeof out, reason, 1, a1), 0);
    assert_string_equal(out, created);

    /* Create of an existing id, by the owner or anyone else. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 2, 2, "a1", "11");
    assert_int_equal(commit1(f, &o), BASE_EEXIST);
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "create", 3, 2, "a1", "12");
    assert_int_equal(commit1(f, &o), BASE_EEXIST);
    assert_string_equal(get(f, "asset", "a1"), created);

    /* Update: owner only. */
    tc_tx(&f->tx, &f->c.dera2, "energy", "asset", "update", 4, 2, "a1", "20");
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    assert_string_equal(get(f, "asset", "a1"), created);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 5, 2, "a1", "20");
    assert_int_equal(commit1(f, &o), 0);
    assert_string_equal(get(f, "asset", "a1"),
                        "{\"id\":\"a1\",\"owner\":\"DERA1/alice\","
                        "\"value\":\"20\"}");

    /* Transfer: owner only. */
    tc_tx(&f->tx, &f->c.dera2, "energy", "asset", "transfer", 6, 2, "a1",
          "DERA1/bob");
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "transfer", 7, 2, "a1",
          "DSO/op");
    assert_int_equal(commit1(f, &o), 0);
    const char *moved = "{\"id\":\"a1\",\"owner\":\"DSO/op\",\"value\":\"20\"}";
    assert_string_equal(get(f, "asset", "a1"), moved);

    /* The old owner has lost the asset; the new one has it. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 8, 2, "a1", "30");
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "delete", 9, 1, "a1");
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    assert_string_equal(get(f, "asset", "a1"), moved);
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "update", 10, 2, "a1", "30");
    assert_int_equal(commit1(f, &o), 0);
    assert_string_equal(
        get(f, "asset", "a1"),
        "{\"id\":\"a1\",\"owner\":\"DSO/op\",\"value\":\"30\"}");

    /* Delete: owner only, then it is gone. */
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "delete", 11, 1, "a1");
    assert_int_equal(commit1(f, &o), 0);
    assert_null(get(f, "asset", "a1"));
    assert_int_equal(
        eval(f, &f->c.iso, "asset", "read", out, sizeof out, reason, 1, a1),
        BASE_ENOTFOUND);
    assert_non_null(strstr(reason, "does not exist"));
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "update", 12, 2, "a1", "40");
    assert_int_equal(commit1(f, &o), BASE_ENOTFOUND);
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "delete", 13, 1, "a1");
    assert_int_equal(commit1(f, &o), BASE_ENOTFOUND);
    /* The id is free again. */
    tc_tx(&f->tx, &f->c.dera2, "energy", "asset", "create", 14, 2, "a1", "1");
    assert_int_equal(commit1(f, &o), 0);
    assert_non_null(strstr(get(f, "asset", "a1"), "\"owner\":\"DERA1/bob\""));
}

static void test_asset_bad_args(void **state)
{
    struct fx *f = *state;
    struct lg_outcome o;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "a", "1");
    assert_int_equal(commit1(f, &o), 0);

    /* Wrong argument counts. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 2, 1, "b");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    assert_non_null(strstr(o.reason, "usage"));
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 3, 3, "b", "1", "2");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 4, 1, "a");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "transfer", 5, 1, "a");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "delete", 6, 0);
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    char out[64], reason[LG_REASON_MAX + 1];
    assert_int_equal(
        eval(f, &f->c.dera, "asset", "read", out, sizeof out, reason, 0, NULL),
        BASE_EARGS);
    assert_null(get(f, "asset", "b"));

    /* Empty and too long ids. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 7, 2, "", "1");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    char longid[SC_ID_MAX + 2];
    memset(longid, 'i', SC_ID_MAX + 1);
    longid[SC_ID_MAX + 1] = '\0';
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 8, 2, longid, "1");
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    longid[SC_ID_MAX] = '\0'; /* 64 bytes is the limit */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 9, 2, longid, "1");
    assert_int_equal(commit1(f, &o), 0);

    /* A new owner must be ORG/NAME. */
    const char *bad_owners[] = {"nobody", "/op",     "DSO/",   "",
                                "/",      "DSO/a b", "DSO/a/b"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad_owners); i++) {
        tc_tx(&f->tx, &f->c.dera, "energy", "asset", "transfer", 10 + i, 2, "a",
              bad_owners[i]);
        assert_int_equal(commit1(f, &o), BASE_EARGS);
        assert_non_null(strstr(o.reason, "ORG/NAME"));
    }
    assert_non_null(strstr(get(f, "asset", "a"), "\"owner\":\"DERA1/alice\""));

    /* A value with a NUL byte is refused (it cannot round-trip). */
    struct lg_slice args[2] = {{(const uint8_t *)"n", 1},
                               {(const uint8_t *)"x\0y", 3}};
    struct lg_call call = {"energy", "asset", "create", 2, args};
    base_buf_reset(&f->tx);
    assert_int_equal(
        lg_tx_build(&f->tx, &call, &f->c.dera.cert, &f->c.dera.key, 20, NULL),
        0);
    assert_int_equal(commit1(f, &o), BASE_EARGS);
    assert_null(get(f, "asset", "n"));
}

static void test_asset_json_escaping(void **state)
{
    struct fx *f = *state;
    const char *value = "he said \"hi\" \\ back\\slash \\\" /\n\t end";
    /* Ids are canonical (no quotes to escape); values are free text. */
    const char *id = "quote";
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, id, value);
    assert_int_equal(commit1(f, NULL), 0);
    /* Through load and store again: transfer re-encodes the asset. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "transfer", 2, 2, id,
          "DSO/op");
    assert_int_equal(commit1(f, NULL), 0);
    const char *s = get(f, "asset", id);
    assert_non_null(s);
    assert_string_equal(s, "{\"id\":\"quote\",\"owner\":\"DSO/op\","
                           "\"value\":\"he said \\\"hi\\\" \\\\ back\\\\slash "
                           "\\\\\\\" /\\n\\t end\"}");
    json_error_t err;
    json_t *o = json_loads(s, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "value")), value);
    assert_string_equal(json_string_value(json_object_get(o, "owner")),
                        "DSO/op");
    assert_int_equal(json_object_size(o), 3);
    json_decref(o);
    /* And an update keeps the new value exact. */
    tc_tx(&f->tx, &f->c.dso, "energy", "asset", "update", 3, 2, id, "\"");
    assert_int_equal(commit1(f, NULL), 0);
    assert_string_equal(get(f, "asset", id),
                        "{\"id\":\"quote\",\"owner\":\"DSO/op\","
                        "\"value\":\"\\\"\"}");
}

/* ---- SDK helpers ----------------------------------------------------------
 */

static void test_arg_helpers(void **state)
{
    (void)state;
    char buf[6];
    struct lg_slice a = {(const uint8_t *)"hello", 5};
    assert_int_equal(sc_arg_str(&a, buf, sizeof buf), 0);
    assert_string_equal(buf, "hello");
    /* One byte short for the NUL. */
    memcpy(buf, "keep!", 6);
    assert_int_equal(sc_arg_str(&a, buf, 5), BASE_EARGS);
    struct lg_slice nul = {(const uint8_t *)"a\0b", 3};
    assert_int_equal(sc_arg_str(&nul, buf, sizeof buf), BASE_EARGS);
    struct lg_slice trailing = {(const uint8_t *)"ab\0", 3};
    assert_int_equal(sc_arg_str(&trailing, buf, sizeof buf), BASE_EARGS);
    struct lg_slice empty = {(const uint8_t *)"", 0};
    assert_int_equal(sc_arg_str(&empty, buf, sizeof buf), 0);
    assert_string_equal(buf, "");

    int64_t v = 0;
    struct lg_slice n1 = {(const uint8_t *)"42", 2};
    assert_int_equal(sc_arg_i64(&n1, &v), 0);
    assert_true(v == 42);
    struct lg_slice n2 = {(const uint8_t *)"-9223372036854775808", 20};
    assert_int_equal(sc_arg_i64(&n2, &v), 0);
    assert_true(v == INT64_MIN);
    const char *junk[] = {"12x", "x12", "", "1.5", "9223372036854775808",
                          "0x10"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(junk); i++) {
        struct lg_slice j = {(const uint8_t *)junk[i], strlen(junk[i])};
        v = 7;
        assert_int_equal(sc_arg_i64(&j, &v), BASE_EARGS);
    }
    struct lg_slice nul2 = {(const uint8_t *)"1\0002", 3};
    assert_int_equal(sc_arg_i64(&nul2, &v), BASE_EARGS);
    /* Longer than any integer: refused, not truncated. */
    const char *longnum = "0000000000000000000000000000000000000001";
    struct lg_slice ln = {(const uint8_t *)longnum, strlen(longnum)};
    assert_int_equal(sc_arg_i64(&ln, &v), BASE_EARGS);
}

static void test_record_hash(void **state)
{
    (void)state;
    char out[65];
    memset(out, 'x', sizeof out);
    sc_record_hash(out, "abc", 3);
    assert_string_equal(
        out,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sc_record_hash(out, "", 0);
    assert_string_equal(
        out,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_caller_has_role(void **state)
{
    struct fx *f = *state;
    char out[160], reason[LG_REASON_MAX + 1];
    struct {
        const struct tc_member *m;
        const char *roles;
        const char *want;
    } cases[] = {
        {&f->c.dso, "dso iso", "DSO/op:y"},
        {&f->c.iso, "dso iso", "ISO/op:y"},
        {&f->c.dera, "dso iso", "DERA1/alice:n"},
        {&f->c.dera2, "dera", "DERA1/bob:y"},
        {&f->c.dera, "  iso   dera  ", "DERA1/alice:y"},
        {&f->c.dso, "ds", "DSO/op:n"},
        {&f->c.dso, "dsox iso", "DSO/op:n"},
        {&f->c.dso, "", "DSO/op:n"},
    };
    for (size_t i = 0; i < BASE_ARRAY_LEN(cases); i++) {
        const char *args[] = {cases[i].roles};
        assert_int_equal(eval(f, cases[i].m, "probe", "whoami", out, sizeof out,
                              reason, 1, args),
                         0);
        assert_string_equal(out, cases[i].want);
    }
}

/* ---- determinism ----------------------------------------------------------
 */

/* Commit the same mixed workload (valid and failing calls) in three blocks
 * to @ch; @variant changes one value. */
static void workload(struct tc_consortium *c, struct lg_channel *ch,
                     int variant)
{
    struct base_buf txs[4];
    for (int i = 0; i < 4; i++) {
        base_buf_init(&txs[i], 0);
    }
    for (int b = 0; b < 3; b++) {
        uint64_t n = (uint64_t)b * 10;
        if (b == 0) {
            tc_tx(&txs[0], &c->dera, "energy", "asset", "create", n, 2, "d1",
                  "1");
            tc_tx(&txs[1], &c->dso, "energy", "asset", "create", n + 1, 2, "d2",
                  variant ? "2x" : "2");
            tc_tx(&txs[2], &c->dso, "energy", "probe", "seed", n + 2, 3, "k1",
                  "k2", "k3");
            tc_tx(&txs[3], &c->dera, "energy", "probe", "restricted", n + 3, 0);
        } else if (b == 1) {
            tc_tx(&txs[0], &c->dera, "energy", "asset", "transfer", n, 2, "d1",
                  "DSO/op");
            tc_tx(&txs[1], &c->dera, "energy", "probe", "failing", n + 1, 0);
            tc_tx(&txs[2], &c->iso, "energy", "probe", "restricted", n + 2, 0);
            tc_tx(&txs[3], &c->dso, "energy", "probe", "scan", n + 3, 4, "",
                  "-", "-k2", "+k4");
        } else {
            tc_tx(&txs[0], &c->dso, "energy", "asset", "update", n, 2, "d1",
                  "5");
            tc_tx(&txs[1], &c->dso, "energy", "asset", "delete", n + 1, 1,
                  "d2");
            tc_tx(&txs[2], &c->dera2, "energy", "asset", "create", n + 2, 2,
                  "d3", "7");
            tc_tx(&txs[3], &c->dera2, "energy", "asset", "update", n + 3, 2,
                  "d1", "6");
        }
        struct lg_item items[4];
        for (int i = 0; i < 4; i++) {
            items[i] = (struct lg_item){txs[i].data, txs[i].len, false};
        }
        assert_int_equal(
            lg_commit(ch, items, 4, NOW + (uint64_t)b, &c->orderer, NULL, NULL),
            0);
    }
    for (int i = 0; i < 4; i++) {
        base_buf_release(&txs[i]);
    }
}

static void open_fresh(struct fx *f, char *dir, struct lg_ledger **l,
                       struct lg_channel **ch)
{
    char err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir, "contract-det");
    assert_int_equal(lg_open(l, dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(*l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(*l, "energy", ch), 0);
}

static void test_determinism(void **state)
{
    struct fx *f = *state;
    char dirs[3][PATH_MAX];
    struct lg_ledger *l[3];
    struct lg_channel *ch[3];
    struct cr_hash state0, states[3], tips[3];
    lg_channel_tip(f->ch, NULL, NULL, &state0);
    for (int i = 0; i < 3; i++) {
        open_fresh(f, dirs[i], &l[i], &ch[i]);
        workload(&f->c, ch[i], i == 2);
        uint64_t height;
        lg_channel_tip(ch[i], &height, &tips[i], &states[i]);
        assert_int_equal(height, 4);
    }
    /* Two ledgers, same transactions: same state and the same chain. */
    assert_memory_equal(states[0].b, states[1].b, CR_HASH_SIZE);
    assert_memory_equal(tips[0].b, tips[1].b, CR_HASH_SIZE);
    /* The state moved from genesis, and one different value changes it. */
    assert_memory_not_equal(states[0].b, state0.b, CR_HASH_SIZE);
    assert_memory_not_equal(states[0].b, states[2].b, CR_HASH_SIZE);
    /* The same state is readable in both. */
    struct base_buf v0, v1;
    base_buf_init(&v0, 0);
    base_buf_init(&v1, 0);
    assert_int_equal(lg_get(ch[0], "asset", "d1", 2, &v0, NULL), 0);
    assert_int_equal(lg_get(ch[1], "asset", "d1", 2, &v1, NULL), 0);
    assert_int_equal(v0.len, v1.len);
    assert_memory_equal(v0.data, v1.data, v0.len);
    assert_non_null(memmem(v0.data, v0.len, "\"value\":\"5\"", 11));
    base_buf_release(&v0);
    base_buf_release(&v1);
    for (int i = 0; i < 3; i++) {
        lg_close(l[i]);
        tl_rmrf(dirs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_encoding_is_the_callers_error,
                                        setup, teardown),
        cmocka_unit_test(test_identifier_rule),
        cmocka_unit_test(test_registry),
        cmocka_unit_test_setup_teardown(test_executor_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_call_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ctx_range_merges_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_json_escaping, setup,
                                        teardown),
        cmocka_unit_test(test_arg_helpers),
        cmocka_unit_test(test_record_hash),
        cmocka_unit_test_setup_teardown(test_caller_has_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_determinism, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
