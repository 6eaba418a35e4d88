/*
 * effortctl: printing the array member of a reply as a table or CSV (or
 * the reply itself as JSON), shared by the list commands.
 */
#ifndef LISTING_H
#define LISTING_H

#include <stddef.h>

#include "cli.h"
#include "client.h"

/* Prints resp's array `key` with cols; `none` when empty (table only).
 * Returns an exit status (EXIT_UNAVAILABLE when the array is missing). */
int cli_print_list(const struct cli_ctx *, const struct response *,
    const char *key, const struct column *, size_t ncols, const char *none);

#endif
