/* SPDX-License-Identifier: MIT */
/* Growable byte buffer and bounds-checked reader, big-endian integers. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

void base_buf_init(struct base_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void base_buf_release(struct base_buf *b)
{
    base_free(b->data);
    base_buf_init(b, b->limit);
}

void base_buf_reset(struct base_buf *b)
{
    b->len = 0;
}

uint8_t *base_buf_take(struct base_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    base_buf_init(b, b->limit);
    return p;
}

int base_buf_reserve(struct base_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) {
        return BASE_ETOOBIG;
    }
    size_t need = b->len + extra + 1; /* room for base_buf_terminate */
    if (b->limit != 0 && b->len + extra > b->limit) {
        return BASE_ETOOBIG;
    }
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *p = base_realloc(b->data, cap);
    if (p == NULL) {
        return BASE_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int base_buf_add(struct base_buf *b, const void *p, size_t n)
{
    int rv = base_buf_reserve(b, n);
    if (rv != 0) {
        return rv;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return 0;
}

int base_buf_add_u8(struct base_buf *b, uint8_t v)
{
    return base_buf_add(b, &v, 1);
}

int base_buf_add_u16(struct base_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return base_buf_add(b, p, 2);
}

int base_buf_add_u32(struct base_buf *b, uint32_t v)
{
    uint8_t p[4];
    base_put_u32(p, v);
    return base_buf_add(b, p, 4);
}

int base_buf_add_u64(struct base_buf *b, uint64_t v)
{
    uint8_t p[8];
    base_put_u64(p, v);
    return base_buf_add(b, p, 8);
}

int base_buf_add_str(struct base_buf *b, const char *s)
{
    return base_buf_add(b, s, strlen(s));
}

int base_buf_printf(struct base_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return BASE_EINVAL;
    }
    int rv = base_buf_reserve(b, (size_t)n);
    if (rv != 0) {
        return rv;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int base_buf_terminate(struct base_buf *b)
{
    int rv = base_buf_reserve(b, 0);
    if (rv != 0) {
        return rv;
    }
    b->data[b->len] = '\0';
    return 0;
}

void base_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void base_put_u64(uint8_t *p, uint64_t v)
{
    base_put_u32(p, (uint32_t)(v >> 32));
    base_put_u32(p + 4, (uint32_t)v);
}

uint32_t base_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

uint64_t base_get_u64(const uint8_t *p)
{
    return (uint64_t)base_get_u32(p) << 32 | base_get_u32(p + 4);
}

void base_rd_init(struct base_rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->bad = false;
}

const uint8_t *base_rd_bytes(struct base_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t base_rd_u8(struct base_rd *r)
{
    const uint8_t *p = base_rd_bytes(r, 1);
    return p ? p[0] : 0;
}

uint16_t base_rd_u16(struct base_rd *r)
{
    const uint8_t *p = base_rd_bytes(r, 2);
    if (p == NULL) {
        return 0;
    }
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

uint32_t base_rd_u32(struct base_rd *r)
{
    const uint8_t *p = base_rd_bytes(r, 4);
    return p ? base_get_u32(p) : 0;
}

uint64_t base_rd_u64(struct base_rd *r)
{
    const uint8_t *p = base_rd_bytes(r, 8);
    return p ? base_get_u64(p) : 0;
}

size_t base_rd_left(const struct base_rd *r)
{
    return r->bad ? 0 : r->len - r->off;
}

int base_rd_error(const struct base_rd *r)
{
    return r->bad ? BASE_EPARSE : 0;
}
