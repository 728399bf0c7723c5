/* SPDX-License-Identifier: MIT */
/* The co-simulation kernel: federates with periods and offsets, time
 * grants, and timestamped messages delivered at their time. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

struct fed {
    char name[SIM_NAME_MAX + 1];
    int64_t period, next; /* next == INT64_MAX: only messages wake it */
    struct sim_federate_ops ops;
    void *self;
};

struct sim {
    struct fed *feds;
    size_t nfeds, capfeds;
    struct sim_msg *heap; /* pending messages, a min-heap on (t, seq) */
    size_t nmsg, capmsg;
    uint64_t seq;
    int64_t now;
    bool running;
    uint64_t delivered, steps;
};

int sim_new(struct sim **out)
{
    struct sim *s = base_calloc(1, sizeof *s);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    s->now = INT64_MIN;
    *out = s;
    return 0;
}

void sim_free(struct sim *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nmsg; i++) {
        base_free(s->heap[i].data);
    }
    base_free(s->heap);
    base_free(s->feds);
    base_free(s);
}

int sim_join(struct sim *s, const char *name, int64_t period, int64_t offset,
             const struct sim_federate_ops *ops, void *self, int *id)
{
    if (period < 0 || strlen(name) > SIM_NAME_MAX || s->running) {
        return BASE_EINVAL;
    }
    if (s->nfeds == s->capfeds) {
        size_t cap = s->capfeds ? 2 * s->capfeds : 8;
        struct fed *f = base_realloc(s->feds, cap * sizeof *f);
        if (f == NULL) {
            return BASE_ENOMEM;
        }
        s->feds = f;
        s->capfeds = cap;
    }
    struct fed *f = &s->feds[s->nfeds];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->period = period;
    f->next = period > 0 ? offset : INT64_MAX;
    f->ops = *ops;
    f->self = self;
    *id = (int)s->nfeds++;
    return 0;
}

static bool before(const struct sim_msg *a, const struct sim_msg *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void swap(struct sim_msg *a, struct sim_msg *b)
{
    struct sim_msg t = *a;
    *a = *b;
    *b = t;
}

int sim_send(struct sim *s, int from, int to, int64_t t, const char *topic,
             const void *data, size_t len)
{
    if (to < 0 || (size_t)to >= s->nfeds || strlen(topic) > SIM_NAME_MAX) {
        return BASE_EINVAL;
    }
    /* Causality: nothing arrives at or before the time being granted. */
    if (t <= s->now) {
        return BASE_EINVAL;
    }
    if (s->nmsg == s->capmsg) {
        size_t cap = s->capmsg ? 2 * s->capmsg : 64;
        struct sim_msg *h = base_realloc(s->heap, cap * sizeof *h);
        if (h == NULL) {
            return BASE_ENOMEM;
        }
        s->heap = h;
        s->capmsg = cap;
    }
    struct sim_msg m = {
        .t = t, .seq = s->seq++, .from = from, .to = to, .len = len};
    snprintf(m.topic, sizeof m.topic, "%s", topic);
    if (len > 0) {
        m.data = base_malloc(len);
        if (m.data == NULL) {
            return BASE_ENOMEM;
        }
        memcpy(m.data, data, len);
    }
    size_t i = s->nmsg++;
    s->heap[i] = m;
    while (i > 0 && before(&s->heap[i], &s->heap[(i - 1) / 2])) {
        swap(&s->heap[i], &s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

static struct sim_msg pop(struct sim *s)
{
    struct sim_msg top = s->heap[0];
    s->heap[0] = s->heap[--s->nmsg];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nmsg && before(&s->heap[l], &s->heap[m])) {
            m = l;
        }
        if (r < s->nmsg && before(&s->heap[r], &s->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        swap(&s->heap[i], &s->heap[m]);
        i = m;
    }
    return top;
}

int64_t sim_now(const struct sim *s)
{
    return s->now;
}

int sim_run(struct sim *s, int64_t until, sim_progress_cb progress, void *arg)
{
    s->running = true;
    int rv = 0;
    for (;;) {
        /* The grant: the earliest time any federate or message needs. */
        int64_t t = INT64_MAX;
        for (size_t i = 0; i < s->nfeds; i++) {
            if (s->feds[i].next < t) {
                t = s->feds[i].next;
            }
        }
        if (s->nmsg > 0 && s->heap[0].t < t) {
            t = s->heap[0].t;
        }
        if (t == INT64_MAX || t > until) {
            break;
        }
        s->now = t;
        /* Messages first, in send order, then the periodic steps in join
         * order: the same every run. */
        while (rv == 0 && s->nmsg > 0 && s->heap[0].t == t) {
            struct sim_msg m = pop(s);
            struct fed *f = &s->feds[m.to];
            if (f->ops.deliver != NULL) {
                rv = f->ops.deliver(f->self, s, &m);
            }
            s->delivered++;
            base_free(m.data);
        }
        for (size_t i = 0; rv == 0 && i < s->nfeds; i++) {
            struct fed *f = &s->feds[i];
            if (f->next == t) {
                f->next += f->period;
                s->steps++;
                if (f->ops.step != NULL) {
                    rv = f->ops.step(f->self, s, t);
                }
            }
        }
        if (rv == 0 && progress != NULL) {
            rv = progress(arg, t);
        }
        if (rv != 0) {
            break;
        }
    }
    s->running = false;
    return rv;
}

void sim_counts(const struct sim *s, uint64_t *steps, uint64_t *messages)
{
    *steps = s->steps;
    *messages = s->delivered;
}
