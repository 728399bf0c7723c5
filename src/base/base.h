/* SPDX-License-Identifier: MIT */
/* Public header of base: errors, allocation, buffers, encoding, logging, time.
 */
#ifndef GL_BASE_H
#define GL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define BASE_WUR          __attribute__((warn_unused_result))
#define BASE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define BASE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Size of the error message buffer long-lived objects carry (raft). */
#define BASE_ERRMSG_SIZE 256

/* ---- errors ------------------------------------------------------------ */

/** Message for @code (a BASE_E* value, or 0). Never NULL; static storage. */
const char *base_strerror(int code);

/** Symbolic name ("EINVAL") for @code. Never NULL; static storage. */
const char *base_errname(int code);

/** Format into @errmsg (BASE_ERRMSG_SIZE bytes) and return @code. */
int base_errf(char *errmsg, int code, const char *fmt, ...) BASE_PRINTF(3, 4);

/* ---- allocation ---------------------------------------------------------
 * Every allocation in gridledger goes through these, so tests can make the
 * N-th allocation fail and check that error paths clean up (raft's heap). */

void *base_malloc(size_t size);
void *base_calloc(size_t n, size_t size);
void *base_realloc(void *ptr, size_t size);
void base_free(void *ptr);
/** Copy of @s in new memory (the caller frees it), or NULL. */
char *base_strdup(const char *s);
char *base_strndup(const char *s, size_t n);

/**
 * Make allocations fail: after @delay more successful allocations, the next
 * @repeat ones return NULL (repeat -1: all of them). base_alloc_fault(-1, 0)
 * turns injection off. Thread-safe but meant for single-threaded tests.
 */
void base_alloc_fault(int delay, int repeat);

/* ---- growable byte buffer (curl's dynbuf) ------------------------------- */

struct base_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t limit; /* 0: no limit; otherwise appends past it fail ETOOBIG */
};

void base_buf_init(struct base_buf *b, size_t limit);
void base_buf_release(struct base_buf *b);
/** Keep the memory, forget the contents. */
void base_buf_reset(struct base_buf *b);
/** Hand the bytes out: the caller frees them with base_free(). */
uint8_t *base_buf_take(struct base_buf *b, size_t *len);
int base_buf_reserve(struct base_buf *b, size_t extra) BASE_WUR;
int base_buf_add(struct base_buf *b, const void *p, size_t n) BASE_WUR;
int base_buf_add_u8(struct base_buf *b, uint8_t v) BASE_WUR;
int base_buf_add_u16(struct base_buf *b, uint16_t v) BASE_WUR; /* big-endian */
int base_buf_add_u32(struct base_buf *b, uint32_t v) BASE_WUR; /* big-endian */
int base_buf_add_u64(struct base_buf *b, uint64_t v) BASE_WUR; /* big-endian */
int base_buf_add_str(struct base_buf *b, const char *s) BASE_WUR;
int base_buf_printf(struct base_buf *b, const char *fmt, ...) BASE_WUR
    BASE_PRINTF(2, 3);
/** Append a NUL without counting it in len, so data can be used as a C string.
 */
int base_buf_terminate(struct base_buf *b) BASE_WUR;

/* ---- bounds-checked reader for untrusted bytes -------------------------
 * Every get fails softly: after the first short read the reader is marked
 * bad, later gets return zeros, and base_rd_error() reports BASE_EPARSE.
 * Decoders read a whole record, then check the error once. */

struct base_rd {
    const uint8_t *p; /* borrowed for the reader's life */
    size_t len;
    size_t off;
    bool bad;
};

void base_rd_init(struct base_rd *r, const void *p, size_t len);
uint8_t base_rd_u8(struct base_rd *r);
uint16_t base_rd_u16(struct base_rd *r);
uint32_t base_rd_u32(struct base_rd *r);
uint64_t base_rd_u64(struct base_rd *r);
/** Pointer to the next @n bytes (borrowed from the input), or NULL. */
const uint8_t *base_rd_bytes(struct base_rd *r, size_t n);
size_t base_rd_left(const struct base_rd *r);
/** BASE_EPARSE after a short read, else 0. */
int base_rd_error(const struct base_rd *r);

void base_put_u32(uint8_t *p, uint32_t v);
void base_put_u64(uint8_t *p, uint64_t v);
uint32_t base_get_u32(const uint8_t *p);
uint64_t base_get_u64(const uint8_t *p);

/* ---- hex --------------------------------------------------------------- */

/** Write 2*@n lowercase hex digits and a NUL to @out (2*n+1 bytes). */
void base_hex_encode(char *out, const void *in, size_t n);
/** Decode exactly @n bytes from @hex (2*n digits, NUL or end after).
 *  Errors: BASE_EPARSE when @hex is not exactly that. */
int base_hex_decode(void *out, size_t n, const char *hex) BASE_WUR;

/* ---- UTF-8 ------------------------------------------------------------- */

/** Length of the valid UTF-8 sequence (RFC 3629: no overlong forms,
 *  surrogates or code points above U+10FFFF) at the start of the @len
 *  bytes at @data, or 0 when there is none. */
size_t base_utf8_seq(const void *data, size_t len);
/** True when all @len bytes at @data are valid UTF-8. */
bool base_utf8_ok(const void *data, size_t len);
/** Replace, in place, each byte of the NUL-terminated @s that is not part
 *  of a valid UTF-8 sequence with '?' (a message cut short in the middle
 *  of a character, or bytes a caller sent). */
void base_utf8_clean(char *s);

/* ---- logging ----------------------------------------------------------- */

enum base_log_level {
    BASE_LOG_DEBUG,
    BASE_LOG_INFO,
    BASE_LOG_WARN,
    BASE_LOG_ERROR,
    BASE_LOG_OFF
};

/** Minimum level printed; defaults to WARN, or $GRIDLEDGER_LOG
 *  (debug|info|warn|error|off). Thread-safe. */
void base_log_set_level(enum base_log_level level);
enum base_log_level base_log_get_level(void);
/** Log as JSON lines ({"ts":..,"level":..,"mod":..,"msg":..}) instead of text.
 */
void base_log_set_json(bool json);
void base_log(enum base_log_level level, const char *mod, const char *fmt, ...)
    BASE_PRINTF(3, 4);

#define BASE_DEBUG(mod, ...) base_log(BASE_LOG_DEBUG, mod, __VA_ARGS__)
#define BASE_INFO(mod, ...)  base_log(BASE_LOG_INFO, mod, __VA_ARGS__)
#define BASE_WARN(mod, ...)  base_log(BASE_LOG_WARN, mod, __VA_ARGS__)
#define BASE_ERROR(mod, ...) base_log(BASE_LOG_ERROR, mod, __VA_ARGS__)

/* ---- time -------------------------------------------------------------- */

/** Monotonic nanoseconds, for measuring durations. */
uint64_t base_mono_ns(void);
/** Wall-clock nanoseconds since the Unix epoch. */
uint64_t base_wall_ns(void);
/** Sleep for @ns nanoseconds (restarts after signals). */
void base_sleep_ns(uint64_t ns);

/* ---- small helpers ----------------------------------------------------- */

/** Parse a whole decimal integer / number; BASE_EPARSE on trailing junk. */
int base_parse_i64(const char *s, int64_t *out) BASE_WUR;
int base_parse_u64(const char *s, uint64_t *out) BASE_WUR;
int base_parse_double(const char *s, double *out) BASE_WUR;

/** Read a whole file into new memory (NUL-terminated; the caller frees).
 *  Errors: BASE_ENOTFOUND, BASE_EIO, BASE_ENOMEM, BASE_ETOOBIG (> @limit). */
int base_read_file(const char *path, size_t limit, char **out,
                   size_t *len) BASE_WUR;
/** Write @len bytes to @path atomically (temp file, fsync, rename).
 *  Errors: BASE_EIO. */
int base_write_file(const char *path, const void *data, size_t len) BASE_WUR;
/** mkdir -p. Errors: BASE_EIO. */
int base_mkdirs(const char *path, unsigned mode) BASE_WUR;

#endif
