/* SPDX-License-Identifier: MIT */
/* Tests of the PETra agents over real ZeroMQ sockets on loopback: the
 * messaging, the DSO's withdrawal checks (each refusal leaves the chain and
 * the DSO's books as they were), trading between two prosumers' fresh
 * addresses, and deposits credited to the real accounts. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "market/market.h"
#include "testlib.h"

/* ---- messaging ------------------------------------------------------------
 */

static int echo(void *arg, const uint8_t *req, size_t len,
                struct base_buf *reply)
{
    int *calls = arg;
    (*calls)++;
    if (len == 4 && memcmp(req, "drop", 4) == 0) {
        return BASE_EINVAL; /* no reply: the requester times out */
    }
    int rv = base_buf_add_str(reply, "re:");
    return rv ? rv : base_buf_add(reply, req, len);
}

static void test_messaging(void **state)
{
    (void)state;
    int calls = 0;
    char endpoint[256];
    struct mk_msg_server *srv;
    assert_int_equal(
        mk_msg_serve(&srv, "tcp://127.0.0.1:*", echo, &calls, endpoint), 0);
    assert_non_null(strstr(endpoint, "tcp://127.0.0.1:"));
    struct mk_link *l;
    assert_int_equal(mk_link_zmq(&l, endpoint), 0);
    struct base_buf rep;
    base_buf_init(&rep, 0);
    assert_int_equal(mk_request(l, "hello", 5, &rep, 5000), 0);
    assert_int_equal(rep.len, 8);
    assert_memory_equal(rep.data, "re:hello", 8);
    /* A request the server drops times out; the link still works after. */
    base_buf_reset(&rep);
    assert_int_equal(mk_request(l, "drop", 4, &rep, 200), BASE_ETIMEDOUT);
    assert_int_equal(mk_request(l, "again", 5, &rep, 5000), 0);
    assert_memory_equal(rep.data, "re:again", 8);
    /* Too big to send. */
    static uint8_t big[MK_MSG_MAX + 1];
    assert_int_equal(mk_request(l, big, sizeof big, &rep, 1000), BASE_ETOOBIG);
    assert_int_equal(calls, 3);
    /* Two servers cannot bind one endpoint. */
    struct mk_msg_server *dup;
    char err[256];
    assert_int_equal(mk_msg_serve(&dup, endpoint, echo, &calls, err), BASE_EIO);
    assert_non_null(strstr(err, "cannot serve"));
    mk_link_close(l);
    mk_msg_server_stop(srv);
    base_buf_release(&rep);
}

/* ---- withdrawals and trading ------------------------------------------- */

struct fx {
    char dir[256];
    struct tc_consortium c;
    struct cr_keypair anon_root, people_root, rogue_root;
    struct tc_member alice, bob, forged;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct ord_solo *solo;
    struct mk_client *dso_cli;
    struct mk_petra_dso dso;
    struct mk_msg_server *srv;
    struct mk_link *link;
};

static void seeded(struct cr_keypair *k, uint8_t tag)
{
    uint8_t s[32];
    memset(s, tag, sizeof s);
    cr_keygen_seed(k, s);
}

static int open_anon(void *arg, const struct lg_cert *cert,
                     const struct cr_keypair *key, struct mk_client **out)
{
    struct fx *f = arg;
    return mk_client_local(out, f->ch, f->solo, NULL, cert, key);
}

/* Intervals 100..103; alice produces up to 4 kW, bob consumes up to 3 kW;
 * the feeder takes 5 kW each way. */
static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "petra-agents");
    tc_init(&f->c, "energy");
    seeded(&f->anon_root, 60);
    seeded(&f->people_root, 61);
    seeded(&f->rogue_root, 62);
    tc_add_org(&f->c.cfg, "ANON", "anon", &f->anon_root);
    tc_add_org(&f->c.cfg, "PROSUMERS", "prosumer", &f->people_root);
    tc_certify(&f->alice, "PROSUMERS", "prosumer", "alice", &f->people_root,
               70);
    tc_certify(&f->bob, "PROSUMERS", "prosumer", "bob", &f->people_root, 71);
    tc_certify(&f->forged, "PROSUMERS", "prosumer", "alice", &f->rogue_root,
               72);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(f->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    struct ord_options opt = {0};
    assert_int_equal(ord_solo_start(&f->solo, f->ch, &f->c.orderer, &opt), 0);
    assert_int_equal(mk_client_local(&f->dso_cli, f->ch, f->solo, NULL,
                                     &f->c.dso.cert, &f->c.dso.key),
                     0);
    struct mk_petra_dso *d = &f->dso;
    memset(d, 0, sizeof *d);
    d->cli = f->dso_cli;
    d->anon_root = f->anon_root;
    memcpy(d->people_root, f->people_root.pk, CR_PUBKEY_SIZE);
    d->cert_not_before = 0;
    d->cert_expiry = 4102444800u;
    d->first = 100;
    d->n = 4;
    d->export_w = 5000;
    d->import_w = 5000;
    d->naccounts = 2;
    snprintf(d->accounts[0].name, LG_NAME_MAX + 1, "alice");
    snprintf(d->accounts[1].name, LG_NAME_MAX + 1, "bob");
    d->accounts[1].funds = 5000000;
    for (int k = 0; k < 4; k++) {
        d->accounts[0].prod_w[k] = 4000;
        d->accounts[1].cons_w[k] = 3000;
    }
    assert_int_equal(mk_petra_dso_init(d), 0);
    char endpoint[256];
    assert_int_equal(mk_msg_serve(&f->srv, "tcp://127.0.0.1:*",
                                  mk_petra_dso_handle, d, endpoint),
                     0);
    assert_int_equal(mk_link_zmq(&f->link, endpoint), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mk_link_close(f->link);
    mk_msg_server_stop(f->srv);
    mk_petra_dso_release(&f->dso);
    mk_client_close(f->dso_cli);
    ord_solo_stop(f->solo);
    lg_close(f->l);
    tl_rmrf(f->dir);
    base_free(f);
    return 0;
}

static int withdraw(struct fx *f, const struct tc_member *who, int64_t power,
                    int64_t start, int64_t end, int64_t funds,
                    struct mk_petra_wallet *w, char *reason)
{
    struct mk_petra_asset a = {power, start, end};
    return mk_petra_withdraw(f->link, &who->cert, &who->key, &a,
                             power != 0 || funds == 0 ? 1 : 0, funds, open_anon,
                             f, w, reason);
}

static uint64_t height(struct fx *f)
{
    uint64_t h;
    struct cr_hash tip, st;
    lg_channel_tip(f->ch, &h, &tip, &st);
    return h;
}

static json_t *eval(struct mk_client *c, const char *fn, const char *arg)
{
    struct lg_slice a = {(const uint8_t *)arg, arg ? strlen(arg) : 0};
    struct base_buf b;
    base_buf_init(&b, 0);
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(mk_evaluate(c, "petra", fn, arg ? 1 : 0, &a, &b, reason),
                     0);
    json_t *o = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, NULL);
    base_buf_release(&b);
    assert_non_null(o);
    return o;
}

static int call(struct mk_client *c, const char *fn, int n, const char **argv,
                struct mk_result *res)
{
    struct lg_slice a[4];
    for (int i = 0; i < n; i++) {
        a[i].p = (const uint8_t *)argv[i];
        a[i].len = strlen(argv[i]);
    }
    return mk_submit(c, "petra", fn, (uint32_t)n, a, res);
}

static void test_trade_through_the_dso(void **state)
{
    struct fx *f = *state;
    struct mk_petra_wallet wa, wb;
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(withdraw(f, &f->alice, 4000, 100, 101, 0, &wa, reason), 0);
    assert_int_equal(
        withdraw(f, &f->bob, -3000, 101, 102, 2000000, &wb, reason), 0);
    /* Fresh addresses, certified by the DSO as ANON members named by their
     * key; the assets are on chain under the addresses. */
    assert_string_not_equal(wa.address, wb.address);
    assert_string_equal(wa.cert.org, "ANON");
    assert_string_equal(wa.cert.role, "anon");
    assert_string_equal(wa.cert.name, wa.address);
    assert_int_equal(wa.cert.expiry, wb.cert.expiry);
    assert_int_equal(wa.nassets, 1);
    json_t *o = eval(wa.cli, "readAsset", wa.assets[0]);
    assert_string_equal(json_string_value(json_object_get(o, "owner")),
                        wa.address);
    assert_int_equal(json_integer_value(json_object_get(o, "power")), 4000);
    json_decref(o);
    o = eval(wb.cli, "balance", wb.address);
    assert_int_equal(json_integer_value(o), 2000000);
    json_decref(o);
    assert_int_equal(f->dso.accounts[1].funds, 3000000);
    assert_true(mk_petra_dso_owner(&f->dso, wa.key.pk) == &f->dso.accounts[0]);

    /* Alice asks 0.30 per kWh; bob finds it as the best ask and takes it. */
    struct mk_result res;
    const char *post[] = {wa.assets[0], "300000"};
    assert_int_equal(call(wa.cli, "postOffer", 2, post, &res), 0);
    struct mk_petra_offer offers[8];
    int n = mk_petra_offers(wb.cli, offers, 8);
    assert_int_equal(n, 1);
    struct mk_petra_asset mine = {-3000, 101, 102};
    const char *own[] = {wb.address};
    assert_int_equal(mk_petra_best(offers, 1, &mine, 400000, own, 1), 0);
    /* Not above its limit, and never its own offer. */
    assert_int_equal(mk_petra_best(offers, 1, &mine, 200000, own, 1), -1);
    const char *theirs[] = {wa.address};
    assert_int_equal(mk_petra_best(offers, 1, &mine, 400000, theirs, 1), -1);
    const char *acc[] = {offers[0].id, wb.assets[0]};
    assert_int_equal(call(wb.cli, "acceptOffer", 2, acc, &res), 0);
    /* 3 kW over interval 101: 0.75 kWh at 0.30 = 225,000. */
    o = eval(wa.cli, "balance", wa.address);
    assert_int_equal(json_integer_value(o), 225000);
    json_decref(o);

    /* Alice deposits her earnings; bob his leftover consumption asset; the
     * DSO credits both real accounts from the chain's log. */
    const char *dep[] = {"225000"};
    assert_int_equal(call(wa.cli, "depositFinancial", 1, dep, &res), 0);
    char left[32];
    o = eval(wb.cli, "readOffer", offers[0].id);
    json_t *ret = json_object_get(json_object_get(o, "trade"), "returned");
    /* Alice's 4 kW over 100 and 1 kW over 101, bob's -3 kW over 102. */
    assert_int_equal(json_array_size(ret), 3);
    snprintf(left, sizeof left, "%s",
             json_string_value(json_array_get(ret, 2)));
    json_decref(o);
    const char *dep2[] = {left};
    assert_int_equal(call(wb.cli, "depositEnergyAsset", 1, dep2, &res), 0);
    assert_int_equal(mk_petra_dso_collect(&f->dso), 2);
    assert_int_equal(f->dso.accounts[0].funds, 225000);
    assert_int_equal(f->dso.accounts[0].deposited_funds, 225000);
    assert_int_equal(f->dso.accounts[1].deposited_wi, -3000);
    assert_int_equal(mk_petra_dso_collect(&f->dso), 0);
    mk_petra_wallet_release(&wa);
    mk_petra_wallet_release(&wb);
}

/* A refused withdrawal: failedWithdrawal with @part in the reason, no new
 * block, the DSO's books unchanged. */
static void refused(struct fx *f, const struct tc_member *who, int64_t power,
                    int64_t start, int64_t end, int64_t funds, const char *part)
{
    uint64_t h = height(f);
    size_t nmap = f->dso.nmap;
    int64_t funds0 = f->dso.accounts[1].funds;
    struct mk_petra_wallet w;
    char reason[LG_REASON_MAX + 1] = "";
    assert_int_equal(withdraw(f, who, power, start, end, funds, &w, reason),
                     BASE_EPERM);
    if (strstr(reason, part) == NULL) {
        fail_msg("reason '%s' lacks '%s'", reason, part);
    }
    assert_non_null(strstr(reason, "failedWithdrawal"));
    assert_int_equal(height(f), h);
    assert_int_equal(f->dso.nmap, nmap);
    assert_int_equal(f->dso.accounts[1].funds, funds0);
}

static void test_withdrawal_refusals(void **state)
{
    struct fx *f = *state;
    refused(f, &f->alice, 4001, 100, 100, 0, "beyond the forecast 4000 W");
    refused(f, &f->bob, 1000, 100, 100, 0, "production 1000 W is beyond");
    refused(f, &f->bob, -3001, 100, 100, 0, "consumption 3001 W is beyond");
    refused(f, &f->alice, 0, 100, 100, 0, "zero power");
    refused(f, &f->alice, 100, 102, 101, 0, "end 101 is before start 102");
    refused(f, &f->alice, 100, 103, 104, 0, "outside the trading horizon");
    refused(f, &f->bob, -100, 100, 100, 5000001, "funds: 5000001 requested");
    refused(f, &f->bob, -100, 100, 100, -1, "negative funds");
    refused(f, &f->forged, 100, 100, 100, 0, "not a valid PROSUMERS member");

    /* Signed by a key that is not the certificate's: the wrong key. */
    struct tc_member wrong = f->alice;
    seeded(&wrong.key, 99);
    refused(f, &wrong, 100, 100, 100, 0, "signature does not verify");

    /* Feeder limits: alice's 4 kW and bob's... the export side: only alice
     * produces, so lower the limit to see it. */
    f->dso.export_w = 1000;
    refused(f, &f->alice, 1500, 100, 100, 0, "export limit of 1000 W");
    f->dso.export_w = 5000;

    /* A replayed request names an address already used. */
    struct mk_petra_wallet w;
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(withdraw(f, &f->alice, 1000, 100, 100, 0, &w, reason), 0);
    struct mk_petra_request r;
    memset(&r, 0, sizeof r);
    r.cert = f->alice.cert;
    memcpy(r.address, w.key.pk, CR_PUBKEY_SIZE);
    r.n = 1;
    r.assets[0] = (struct mk_petra_asset){1000, 101, 101};
    struct base_buf req, rep;
    base_buf_init(&req, 0);
    base_buf_init(&rep, 0);
    assert_int_equal(mk_petra_request_encode(&r, &f->alice.key, &req), 0);
    uint64_t h = height(f);
    assert_int_equal(mk_request(f->link, req.data, req.len, &rep, 5000), 0);
    assert_int_equal(rep.data[5], 1); /* failedWithdrawal */
    assert_non_null(memmem(rep.data, rep.len, "used before", 11));
    assert_int_equal(height(f), h);
    /* Garbage is refused, not crashed on. */
    base_buf_reset(&rep);
    req.data[0] = 'X';
    assert_int_equal(mk_request(f->link, req.data, req.len, &rep, 5000), 0);
    assert_non_null(memmem(rep.data, rep.len, "malformed", 9));
    base_buf_reset(&rep);
    assert_int_equal(mk_request(f->link, "PTWR", 4, &rep, 5000), 0);
    assert_non_null(memmem(rep.data, rep.len, "malformed", 9));
    base_buf_release(&req);
    base_buf_release(&rep);
    /* What was withdrawn counts against the forecast: 3 kW more is over. */
    refused(f, &f->alice, 3001, 100, 100, 0, "(1000 W withdrawn before)");
    assert_int_equal(f->dso.failed, 15);
    mk_petra_wallet_release(&w);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messaging),
        cmocka_unit_test_setup_teardown(test_trade_through_the_dso, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_withdrawal_refusals, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
