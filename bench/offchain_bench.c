/* SPDX-License-Identifier: MIT */
/* offchain-bench: put and get latency and throughput of an off-chain
 * record store (docs/performance.md, "Off-chain store (issue 5)"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store.h"

static const char usage[] =
    "usage: offchain-bench SPEC [--records N] [--size BYTES] [--threads T]\n"
    "                      [--conns C]\n\n"
    "Put N new records of BYTES bytes (default 20000 of 600, about a bid\n"
    "record) into the off-chain store SPEC (sqlite:PATH, PATH or a\n"
    "postgresql:// URI) from T threads (default 1), then get every one\n"
    "back from T threads and check its bytes. With PostgreSQL, C is the\n"
    "connection pool's size (default 8). Prints, per operation, the\n"
    "throughput and the latency of single calls: p50, p99 and max.\n"
    "Records are new on every run (a random prefix), so a put always\n"
    "writes a row.\n";

struct job {
    struct kv_offchain *s;
    size_t first, count, size;
    uint64_t nonce;
    struct cr_hash *hashes;
    uint64_t *lat; /* ns, one per record */
    int errors;
    bool get;
};

/* Record @i: a nonce and the index, then filler that differs per record. */
static void make(uint8_t *p, size_t size, uint64_t nonce, size_t i)
{
    uint64_t x = nonce ^ (i * 0x9e3779b97f4a7c15ull);
    for (size_t k = 0; k < size; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[k] = (uint8_t)(' ' + x % 90); /* printable, like a JSON bid */
    }
    if (size >= 16) {
        base_put_u64(p, nonce);
        base_put_u64(p + 8, (uint64_t)i);
    }
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    uint8_t *rec = base_malloc(j->size ? j->size : 1);
    struct base_buf out;
    base_buf_init(&out, 0);
    for (size_t n = 0; rec != NULL && n < j->count; n++) {
        size_t i = j->first + n;
        make(rec, j->size, j->nonce, i);
        uint64_t t0 = base_mono_ns();
        int rv;
        if (j->get) {
            base_buf_reset(&out);
            rv = kv_offchain_get(j->s, &j->hashes[i], &out);
        } else {
            rv = kv_offchain_put(j->s, rec, j->size, &j->hashes[i]);
        }
        j->lat[i] = base_mono_ns() - t0;
        if (rv != 0 || (j->get && (out.len != j->size ||
                                   memcmp(out.data, rec, j->size) != 0))) {
            if (j->errors++ == 0) {
                fprintf(stderr, "offchain-bench: %s %zu: %s: %s\n",
                        j->get ? "get" : "put", i, base_strerror(rv),
                        j->s->errmsg);
            }
        }
    }
    if (rec == NULL) {
        j->errors++;
    }
    base_buf_release(&out);
    base_free(rec);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Run one phase on @nthreads threads; print its line. */
static int phase(struct kv_offchain *s, bool get, size_t n, size_t size,
                 unsigned nthreads, uint64_t nonce, struct cr_hash *hashes,
                 uint64_t *lat)
{
    struct job jobs[64];
    pthread_t th[64];
    uint64_t t0 = base_mono_ns();
    for (unsigned t = 0; t < nthreads; t++) {
        size_t first = n * t / nthreads, last = n * (t + 1) / nthreads;
        jobs[t] = (struct job){s,   first, last - first, size, nonce, hashes,
                               lat, 0,     get};
        if (pthread_create(&th[t], NULL, run_job, &jobs[t]) != 0) {
            fprintf(stderr, "offchain-bench: cannot start a thread\n");
            exit(1);
        }
    }
    int errors = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        errors += jobs[t].errors;
    }
    double secs = (double)(base_mono_ns() - t0) / 1e9;
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("%-4s %8zu %10.0f ops/s   p50 %8.1f us   p99 %8.1f us   max "
           "%9.1f us%s\n",
           get ? "get" : "put", n, (double)n / secs, (double)lat[n / 2] / 1e3,
           (double)lat[n * 99 / 100] / 1e3, (double)lat[n - 1] / 1e3,
           errors ? "   ERRORS" : "");
    if (errors != 0) {
        fprintf(stderr, "offchain-bench: %d failed %s calls\n", errors,
                get ? "get" : "put");
    }
    return errors;
}

static int arg_u64(const char *name, const char *v, uint64_t lo, uint64_t hi,
                   uint64_t *out)
{
    if (base_parse_u64(v, out) != 0 || *out < lo || *out > hi) {
        fprintf(stderr,
                "offchain-bench: %s takes a number from %llu to %llu, not "
                "'%s'\n",
                name, (unsigned long long)lo, (unsigned long long)hi, v);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 20000, size = 600, threads = 1, conns = 0;
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        int rv = -1;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--records") == 0) {
            rv = arg_u64(a, v, 100, 100000000, &n);
        } else if (strcmp(a, "--size") == 0) {
            rv = arg_u64(a, v, 16, KV_OFFCHAIN_MAX_RECORD, &size);
        } else if (strcmp(a, "--threads") == 0) {
            rv = arg_u64(a, v, 1, 64, &threads);
        } else if (strcmp(a, "--conns") == 0) {
            rv = arg_u64(a, v, 1, KV_PG_CONNS_MAX, &conns);
        } else if (a[0] != '-' && spec == NULL) {
            spec = a;
            continue;
        } else {
            fputs(usage, stderr);
            return 2;
        }
        if (rv != 0) {
            return rv;
        }
        i++;
    }
    if (spec == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    struct kv_offchain *s;
    char err[BASE_ERRMSG_SIZE];
    bool pg = strncmp(spec, "postgres", 8) == 0;
    int rv = pg ? kv_offchain_open_pg(&s, spec, (unsigned)conns, err)
                : kv_offchain_open_uri(&s, spec, NULL, err);
    if (rv != 0) {
        fprintf(stderr, "offchain-bench: %s\n", err);
        return 1;
    }
    struct cr_hash *hashes = base_calloc(n, sizeof *hashes);
    uint64_t *lat = base_calloc(n, sizeof *lat);
    if (hashes == NULL || lat == NULL) {
        fprintf(stderr, "offchain-bench: out of memory\n");
        return 1;
    }
    char shown[512];
    kv_offchain_spec_redact(shown, sizeof shown, spec);
    printf("%s: %llu records of %llu bytes, %llu thread%s", shown,
           (unsigned long long)n, (unsigned long long)size,
           (unsigned long long)threads, threads == 1 ? "" : "s");
    if (pg) {
        printf(", pool of %llu connection%s",
               (unsigned long long)(conns ? conns : KV_PG_CONNS_DEFAULT),
               conns == 1 ? "" : "s");
    }
    printf("\n");
    uint64_t nonce = base_wall_ns() ^ ((uint64_t)getpid() << 32);
    int errors =
        phase(s, false, n, size, (unsigned)threads, nonce, hashes, lat);
    errors += phase(s, true, n, size, (unsigned)threads, nonce, hashes, lat);
    kv_offchain_close(s);
    base_free(hashes);
    base_free(lat);
    return errors ? 1 : 0;
}
