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
/* Remembers r's lookup (its token_hash, role, person and token id), for at
 * most max_seconds (an OIDC token's remaining life; an API token's has no
 * end: AUTHCACHE_UNBOUNDED).  Not
 * when the cache was cleared since the lookup began (r->auth_cleared): it
 * may have read a token that a revocation then ended.  No-op when the TTL
 * is 0. */
void authcache_put(const struct request *r, double max_seconds);
#define AUTHCACHE_UNBOUNDED 1e12
/* Forgets everything (a token was revoked here; reload; exit). */
void authcache_clear(void);
/* How many times the cache was cleared: noted as a lookup begins. */
unsigned authcache_cleared(void);

#endif
