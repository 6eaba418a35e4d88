/*
 * A short-lived cache of successful token lookups (auth.cache_seconds), so
 * that a busy client does not cost a database round trip per request.
 */
#ifndef AUTHCACHE_H
#define AUTHCACHE_H

#include <stdbool.h>

#include "request.h"

/* Fills r's role, person and token id when hash is cached and fresh. */
bool authcache_get(const char *hash, struct request *r);
/* Remembers a lookup; person may be NULL.  No-op when the TTL is 0. */
void authcache_put(
    const char *hash, enum role role, const char *person, const char *token_id);
/* The same for at most max_seconds (an OIDC token's remaining life). */
void authcache_put_for(const char *hash, enum role role, const char *person,
    const char *token_id, double max_seconds);
/* Forgets everything (a token was revoked here; reload; exit). */
void authcache_clear(void);

#endif
