/* SPDX-License-Identifier: MIT */
/* Public header of report: self-contained HTML reports with charts. */
#ifndef GL_REPORT_H
#define GL_REPORT_H

#include <stddef.h>

#include "base/base.h"

/*
 * A report is one HTML file that opens offline: the page, its CSS, the
 * charting library (Chart.js from the npm registry, inlined at build time)
 * and the data, a JSON document the page draws. Each kind of report has its
 * own template (web/report/<name>.html) and its own JSON format, documented
 * in docs/report.md.
 *
 * Threading: every function here is thread-safe (templates are read-only).
 */

/* Append new kinds at the end; each names a template in web/report/. */
enum rp_kind {
    RP_MARKET_DAY, /* "market": the DER market day (papers 001/002) */
    RP_PETRA,      /* "petra": PETra microgrid trading (paper 004) */
};

/** Template name of @kind ("market"), or NULL for an unknown kind. Static. */
const char *rp_kind_name(enum rp_kind kind);

/**
 * Kind whose template is named @name ("market"), stored in @out.
 *
 * Errors:
 *   BASE_ENOTFOUND  no report kind has that name (@out unchanged)
 */
int rp_kind_parse(const char *name, enum rp_kind *out) BASE_WUR;

/**
 * Write the report of @kind drawing @json to @path, atomically (a temporary
 * file next to @path, fsync, rename): readers never see half a report, and on
 * error an existing file at @path is left as it was.
 *
 * @json (@len bytes, no NUL needed) must be one JSON object in UTF-8, in the
 * format of @kind; it is checked, then embedded with every '<' written as
 * \u003c, so no string in it can close the page's <script> element.
 * @title is shown as the page title (HTML-escaped); NULL takes the JSON's
 * "title" member, or a default. @path, @title and @json are borrowed for the
 * call. @errmsg (BASE_ERRMSG_SIZE bytes, or NULL) receives a message on error.
 *
 * Errors:
 *   BASE_EINVAL     @path or @json NULL, or @kind unknown
 *   BASE_EPARSE     @json is not a JSON object (the message gives the line
 *                   and column)
 *   BASE_ENOMEM     allocation failed
 *   BASE_EIO        @path cannot be written
 *   BASE_ENOSPC     the disk is full
 */
int rp_write_html(const char *path, enum rp_kind kind, const char *title,
                  const char *json, size_t len, char *errmsg) BASE_WUR;

/**
 * Render the report into memory instead: on success *@out (NUL-terminated,
 * the caller frees it with base_free()) and *@outlen hold the page. Same
 * arguments and errors as rp_write_html() except the file ones; on error
 * *@out is left unchanged. For the gateway, which serves reports over HTTP.
 */
int rp_render_html(enum rp_kind kind, const char *title, const char *json,
                   size_t len, char **out, size_t *outlen,
                   char *errmsg) BASE_WUR;

#endif
