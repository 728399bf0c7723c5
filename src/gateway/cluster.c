/* SPDX-License-Identifier: MIT */
/* The cluster's routes: this node's view of the cluster, the submissions
 * a follower forwards, the refusals the leader sends back, and adding a
 * node (docs/cluster.md, docs/api.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"

#define MOD "cluster"

void gw_set_cluster(struct gw_server *g, struct ord_raft *r)
{
    g->raft = r;
}

static const char *role_name(enum ord_role role)
{
    switch (role) {
    case ORD_LEADER:
        return "leader";
    case ORD_FOLLOWER:
        return "follower";
    case ORD_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

static json_t *url_of(const char *address)
{
    char http[ORD_ADDRESS_MAX];
    ord_address_split(address, NULL, 0, http, sizeof http);
    if (http[0] == '\0') {
        return json_null();
    }
    char url[ORD_ADDRESS_MAX + 8];
    snprintf(url, sizeof url, "http://%s", http);
    return json_string(url);
}

static json_t *raft_json(const struct ord_raft_status *st)
{
    json_t *members = json_array();
    const char *leader_address = "";
    for (size_t i = 0; i < st->nmembers; i++) {
        char raft[ORD_ADDRESS_MAX];
        ord_address_split(st->members[i].address, raft, sizeof raft, NULL, 0);
        if (st->members[i].id == st->leader_id) {
            leader_address = st->members[i].address;
        }
        json_array_append_new(
            members, json_pack("{s:I, s:s, s:o, s:b}", "id",
                               (json_int_t)st->members[i].id, "raft", raft,
                               "url", url_of(st->members[i].address), "voter",
                               st->members[i].voter));
    }
    json_t *o = json_pack(
        "{s:s, s:I, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:b, s:I, s:o, s:o, "
        "s:I, s:I, s:o}",
        "mode", "raft", "id", (json_int_t)st->id, "role", role_name(st->role),
        "leader", (json_int_t)st->leader_id, "leader_url",
        st->leader_id != 0 && leader_address[0] ? url_of(leader_address)
                                                : json_null(),
        "term", (json_int_t)st->term, "commit_index",
        (json_int_t)st->commit_index, "last_applied",
        (json_int_t)st->last_applied, "last_index", (json_int_t)st->last_index,
        "has_channel", st->has_channel, "height", (json_int_t)st->height, "tip",
        gw_json_hex(st->tip.b, CR_HASH_SIZE), "state_hash",
        gw_json_hex(st->state.b, CR_HASH_SIZE), "blocks_refused",
        (json_int_t)st->blocks_refused, "blocks_stale",
        (json_int_t)st->blocks_stale, "members", members);
    json_t *lr = json_string(st->last_refusal);
    json_object_set_new(o, "last_refusal", lr ? lr : json_string(""));
    json_object_set_new(o, "failed", json_boolean(st->failed));
    json_t *err = json_string(st->error);
    json_object_set_new(o, "error", err ? err : json_string(""));
    return o;
}

enum MHD_Result gw__h_cluster(struct gw_server *g, struct gw_req *r)
{
    if (g->raft == NULL) {
        /* A solo node is a cluster of one: the same fields that apply. */
        uint64_t height;
        struct cr_hash tip, state;
        lg_channel_tip(g->ch, &height, &tip, &state);
        return gw__reply_json(
            r, 200,
            json_pack("{s:s, s:s, s:I, s:o, s:o, s:[]}", "mode", "solo", "role",
                      "leader", "height", (json_int_t)height, "tip",
                      gw_json_hex(tip.b, CR_HASH_SIZE), "state_hash",
                      gw_json_hex(state.b, CR_HASH_SIZE), "members"));
    }
    struct ord_raft_status *st = base_malloc(sizeof *st);
    if (st == NULL) {
        return gw__error(r, 500, "internal", "out of memory");
    }
    ord_raft_status(g->raft, st);
    json_t *o = raft_json(st);
    base_free(st);
    return gw__reply_json(r, 200, o);
}

static enum MHD_Result not_clustered(struct gw_req *r)
{
    return gw__error(r, 409, "not_clustered",
                     "this node orders alone (solo): it has no cluster");
}

/* POST /v1/cluster/forward?from=ID: a batch of envelopes a follower took.
 * Each is admitted here again (this node trusts no other node's checks)
 * and ordered if this node leads; refusals go back to the follower
 * through the peers. The answer lists the envelopes not queued. */
enum MHD_Result gw__h_forward(struct gw_server *g, struct gw_req *r)
{
    if (g->raft == NULL) {
        return not_clustered(r);
    }
    char from_s[24];
    uint64_t from;
    if (gw__arg(r, "from", from_s, sizeof from_s) == NULL ||
        base_parse_u64(from_s, &from) != 0 || from == 0) {
        return gw__error(r, 400, "bad_request",
                         "?from= must name the forwarding node's id");
    }
    struct lg_slice *env;
    size_t n;
    if (gw__split_batch(&r->body, &env, &n) != 0) {
        return gw__error(r, 400, "malformed_batch", GW_BATCH_FORMAT);
    }
    json_t *failed = json_array();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int rv = ord_raft_forwarded(g->raft, from, env[i].p, env[i].len);
        if (rv == 0) {
            ok++;
        } else {
            json_array_append_new(
                failed, json_pack("{s:I, s:i, s:s}", "index", (json_int_t)i,
                                  "code", rv, "reason", base_strerror(rv)));
        }
    }
    base_free(env);
    return gw__reply_json(
        r, 200,
        json_pack("{s:I, s:o}", "accepted", (json_int_t)ok, "failed", failed));
}

static bool hex_field(json_t *o, const char *key, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL && strlen(s) == 2 * n && base_hex_decode(out, n, s) == 0;
}

/* POST /v1/cluster/refused: notices from the leader that it refused
 * submissions this node forwarded. Each must carry the orderer key's
 * signature: a client cannot make a node report a refusal. */
enum MHD_Result gw__h_refused(struct gw_server *g, struct gw_req *r)
{
    if (g->raft == NULL) {
        return not_clustered(r);
    }
    json_t *body = gw__body_json(r);
    if (body == NULL) {
        return MHD_YES;
    }
    json_t *arr = json_incref(json_object_get(body, "notices"));
    json_decref(body);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return gw__error(r, 400, "bad_request",
                         "the body is {\"notices\": [refusal notices]}");
    }
    const uint8_t *pk = lg_channel_config(g->ch)->orderer_pk;
    struct ord_raft_status *st = base_malloc(sizeof *st);
    if (st == NULL) {
        json_decref(arr);
        return gw__error(r, 500, "internal", "out of memory");
    }
    ord_raft_status(g->raft, st);
    uint64_t self = st->id;
    base_free(st);
    size_t i, taken = 0;
    json_t *n;
    const char *bad = NULL, *bad_err = "bad_request";
    unsigned bad_status = 400;
    json_array_foreach(arr, i, n)
    {
        struct cr_hash id;
        uint8_t sig[CR_SIG_SIZE];
        json_t *code = json_object_get(n, "code");
        json_t *from = json_object_get(n, "from");
        json_t *to = json_object_get(n, "to");
        const char *reason = json_string_value(json_object_get(n, "reason"));
        if (!json_is_integer(code) || !json_is_integer(from) ||
            !json_is_integer(to) || reason == NULL ||
            !hex_field(n, "id", id.b, CR_HASH_SIZE) ||
            !hex_field(n, "sig", sig, CR_SIG_SIZE)) {
            bad = "a notice needs from, to, id, code, reason and sig";
            break;
        }
        if ((uint64_t)json_integer_value(to) != self) {
            bad = "a notice is addressed to another node";
            break;
        }
        if (gw__refusal_check(pk, (uint64_t)json_integer_value(from), self, &id,
                              (int)json_integer_value(code), reason,
                              sig) != 0) {
            bad = "a notice's signature does not verify with the channel's "
                  "orderer key";
            bad_err = "bad_signature";
            bad_status = 403;
            break;
        }
        ord_raft_refused(g->raft, &id, (int)json_integer_value(code), reason);
        taken++;
    }
    json_decref(arr);
    if (bad != NULL) {
        return gw__error(r, bad_status, bad_err, "%s (%zu taken before it)",
                         bad, taken);
    }
    return gw__reply_json(r, 200,
                          json_pack("{s:I}", "taken", (json_int_t)taken));
}

/* A cluster add runs on its own thread: ord_raft_add waits while libraft
 * catches the new node up (a snapshot, then the log), which may take a
 * while, and an HTTP thread serves many connections. The request is
 * suspended meanwhile, and answered when the thread resumes it. */
struct add_job {
    struct gw_server *g;
    struct gw_req *r;
    struct ord_member m;
};

static void set_ready(struct gw_req *r, unsigned status, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t len = s != NULL ? strlen(s) : 0;
    char *copy = s != NULL ? base_malloc(len + 1) : NULL;
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\n';
        r->ready = MHD_create_response_from_buffer_with_free_callback(
            len + 1, copy, base_free);
    }
    free(s);
    if (r->ready == NULL) {
        base_free(copy);
        r->status = 500;
        return;
    }
    MHD_add_response_header(r->ready, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    r->status = status;
}

static void *add_main(void *arg)
{
    struct add_job *j = arg;
    struct gw_req *r = j->r;
    char err[BASE_ERRMSG_SIZE];
    int e = ord_raft_add(j->g->raft, j->m.id, j->m.address, err);
    if (e == 0) {
        BASE_INFO(MOD, "added node %llu at %s", (unsigned long long)j->m.id,
                  j->m.address);
        set_ready(r, 200,
                  json_pack("{s:I, s:s}", "added", (json_int_t)j->m.id,
                            "address", j->m.address));
    } else {
        json_t *why = json_string(err);
        set_ready(r, e == BASE_ENOTLEADER ? 409 : gw__status_of(e),
                  json_pack("{s:s, s:o}", "error", base_errname(e), "reason",
                            why ? why : json_string("")));
    }
    atomic_store(&j->g->add_running, false);
    base_free(j);
    gw__resume_later(r);
    return NULL;
}

static enum MHD_Result add_later(struct gw_server *g, struct gw_req *r,
                                 const struct ord_member *m)
{
    if (atomic_exchange(&g->add_running, true)) {
        return gw__error(r, 503, "EBUSY",
                         "another node is being added; try again when it is");
    }
    gw__add_join(g); /* the one before, finished */
    struct add_job *j = base_malloc(sizeof *j);
    if (j == NULL) {
        atomic_store(&g->add_running, false);
        return gw__error(r, 500, "internal", "out of memory");
    }
    *j = (struct add_job){g, r, *m};
    r->state = RQ_WAITING;
    MHD_suspend_connection(r->conn);
    if (pthread_create(&g->add_thread, NULL, add_main, j) != 0) {
        base_free(j);
        atomic_store(&g->add_running, false);
        set_ready(r, 500,
                  json_pack("{s:s, s:s}", "error", "internal", "reason",
                            "cannot start a thread"));
        MHD_resume_connection(r->conn);
        return MHD_YES;
    }
    g->add_started = true;
    return MHD_YES;
}

void gw__add_join(struct gw_server *g)
{
    if (g->add_started) {
        pthread_join(g->add_thread, NULL);
        g->add_started = false;
    }
}

/* POST /v1/cluster/members: add a node, signed with the orderer key
 * (gw_cluster_add_request). Only the leader adds; a follower says which
 * node leads. Answers once the change is committed. */
enum MHD_Result gw__h_add(struct gw_server *g, struct gw_req *r)
{
    if (g->raft == NULL) {
        return not_clustered(r);
    }
    json_t *o = gw__body_json(r);
    if (o == NULL) {
        return MHD_YES;
    }
    json_t *id = json_object_get(o, "id"), *time = json_object_get(o, "time");
    const char *address = json_string_value(json_object_get(o, "address"));
    uint8_t sig[CR_SIG_SIZE];
    struct ord_member m;
    size_t nm = 0;
    char err[BASE_ERRMSG_SIZE], item[ORD_ADDRESS_MAX + 32];
    enum MHD_Result rv;
    if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
        !json_is_integer(time) || address == NULL ||
        !hex_field(o, "sig", sig, CR_SIG_SIZE)) {
        rv = gw__error(r, 400, "bad_request",
                       "an add request is {\"id\", \"address\", \"time\", "
                       "\"sig\"} (gridledger cluster add)");
        goto out;
    }
    snprintf(item, sizeof item, "%lld@%s", (long long)json_integer_value(id),
             address);
    if (ord_cluster_parse(item, &m, 1, &nm, err) != 0) {
        rv = gw__error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    uint64_t t = (uint64_t)json_integer_value(time);
    int sigrv = gw__add_check(lg_channel_config(g->ch)->orderer_pk, m.id, t,
                              address, sig);
    if (gw__signed_refused(r, sigrv, t, "request", &rv)) {
        goto out;
    }
    rv = add_later(g, r, &m);
out:
    json_decref(o);
    return rv;
}

/* A request signed with the orderer key is taken only near the time it
 * was signed: a copy replayed later could otherwise add back a node that
 * was removed, or read blocks long after. */
bool gw__signed_refused(struct gw_req *r, int sigrv, uint64_t t,
                        const char *what, enum MHD_Result *rv)
{
    uint64_t now = base_wall_ns() / 1000000000u;
    if (sigrv != 0) {
        *rv = gw__error(r, 403, "bad_signature",
                        "the %s is not signed with the channel's orderer key",
                        what);
        return true;
    }
    if (t + GW_SIGNED_WINDOW_S < now || t > now + GW_SIGNED_WINDOW_S) {
        *rv =
            gw__error(r, 403, "stale_request",
                      "the %s was signed %lld s from now; at most %d s "
                      "apart are taken (check the clocks)",
                      what, (long long)t - (long long)now, GW_SIGNED_WINDOW_S);
        return true;
    }
    return false;
}

/* The query arguments of a peer's read, as "NAME=VALUE" (base_malloc'd). */
struct peer_args {
    char *a[GW_PEER_MAX_ARGS];
    size_t n;
    bool over; /* too many, or out of memory */
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    (void)kind;
    struct peer_args *pa = cls;
    if (pa->n == GW_PEER_MAX_ARGS) {
        pa->over = true;
        return MHD_NO;
    }
    size_t n = strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
    char *s = base_malloc(n);
    if (s == NULL) {
        pa->over = true;
        return MHD_NO;
    }
    snprintf(s, n, "%s%s%s", key, value ? "=" : "", value ? value : "");
    pa->a[pa->n++] = s;
    return MHD_YES;
}

enum MHD_Result gw__peer_admit(struct gw_server *g, struct gw_req *r,
                               const char *value)
{
    char sid[24], stime[24], shex[2 * CR_SIG_SIZE + 2];
    int end = -1;
    uint64_t id = 0, t = 0;
    uint8_t sig[CR_SIG_SIZE];
    if (strlen(value) >= GW_PEER_HEADER_MAX ||
        sscanf(value, "%23s %23s %129s %n", sid, stime, shex, &end) != 3 ||
        end < 0 || value[end] != '\0' || base_parse_u64(sid, &id) != 0 ||
        id == 0 || base_parse_u64(stime, &t) != 0 ||
        base_hex_decode(sig, CR_SIG_SIZE, shex) != 0) {
        return gw__error(r, 401, "unauthorized",
                         "malformed %s header: it is \"NODE-ID UNIX-TIME "
                         "SIGNATURE\" (docs/cluster.md)",
                         GW_PEER_HEADER);
    }
    struct peer_args pa = {.n = 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &pa);
    int sigrv = pa.over
                    ? BASE_EBADSIG
                    : gw__peer_check(lg_channel_config(g->ch)->orderer_pk, id,
                                     t, r->method, r->url, pa.a, pa.n, sig);
    for (size_t i = 0; i < pa.n; i++) {
        base_free(pa.a[i]);
    }
    enum MHD_Result rv;
    char what[96];
    snprintf(what, sizeof what, "%s header of node %llu", GW_PEER_HEADER,
             (unsigned long long)id);
    if (gw__signed_refused(r, sigrv, t, what, &rv)) {
        BASE_WARN(MOD, "refused %s %s: %s header of node %llu", r->method,
                  r->url, GW_PEER_HEADER, (unsigned long long)id);
        return rv;
    }
    /* A read-only key of its own, named for the access log. */
    memset(&r->key, 0, sizeof r->key);
    snprintf(r->key.id, sizeof r->key.id, "peer:%llu", (unsigned long long)id);
    snprintf(r->key.name, sizeof r->key.name, "peer");
    r->key.read_only = true;
    r->have_key = true;
    return MHD_YES;
}
