/* SPDX-License-Identifier: MIT */
/* Shared helpers for the cmocka test executables. */
#ifndef GL_TESTLIB_H
#define GL_TESTLIB_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"

/** Make a fresh empty directory under $TMPDIR (or /tmp); the name is copied
 *  into @out (PATH_MAX bytes). Fails the test on error. */
void tl_tmpdir(char *out, const char *tag);
/** rm -rf @path (best effort). */
void tl_rmrf(const char *path);
/** Path of a file in the source tree ($GL_SOURCE_DIR/@rel) into @out. */
void tl_source_path(char *out, const char *rel);
/** Run a shell command; return its exit status (or -1). Output is captured
 *  into @out (if non-NULL, up to @outsize-1 bytes, NUL-terminated). */
int tl_run(char *out, size_t outsize, const char *fmt, ...) BASE_PRINTF(3, 4);
/** Path of the gridledger binary ($GL_BINARY). */
const char *tl_binary(void);

/* A loopback TCP port nothing is bound to, below the kernel's ephemeral
 * range (32768 and up here): a port the kernel handed out for bind(0)
 * can be taken again as the source port of some outgoing connection
 * before the node under test binds it. */
int tl_free_port(void);

#endif
