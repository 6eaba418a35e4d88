/*
 * The token lookup cache.  Keys are the tokens' SHA-256 (hex), never the
 * tokens; only lookups that found a live token are kept, each for
 * auth.cache_seconds.  So a token revoked through another instance or in
 * SQL stops working within that time, and one revoked through this
 * instance at once (api-tokens.c clears the cache).  The table is direct
 * mapped: a slot per value of the hash's first two hex digits, a newer
 * entry replacing an older one; a deployment has tens of tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "auth-cache.h"
#include "effortd.h"
#include "metrics.h"
#include "xmalloc.h"

#define SLOTS 256

struct entry {
	char hash[65];
	enum role role;
	char *person_id; /* NULL: not a manager token */
	char *token_id;
	double expires; /* metrics_now() seconds; 0 = empty */
};

static struct entry slots[SLOTS];
/* authcache_clear's count: a lookup that began before the last clear is
 * not kept (authcache_put). */
static unsigned times_cleared;

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static struct entry *
slot_of(const char *hash)
{
	return &slots[(hexval(hash[0]) << 4 | hexval(hash[1])) % SLOTS];
}

static void
entry_clear(struct entry *e)
{
	free(e->person_id);
	free(e->token_id);
	memset(e, 0, sizeof *e);
}

bool
authcache_get(const char *hash, struct request *r)
{
	struct entry *e = slot_of(hash);

	if (e->expires == 0 || strcmp(e->hash, hash) != 0)
		return false;
	if (metrics_now() >= e->expires) {
		entry_clear(e);
		return false;
	}
	r->role = e->role;
	r->person_id = e->person_id ? xstrdup(e->person_id) : NULL;
	r->token_id = xstrdup(e->token_id);
	return true;
}

void
authcache_put(const struct request *r, double max_seconds)
{
	struct entry *e = slot_of(r->token_hash);
	double ttl = effortd.cfg.auth_cache_seconds;

	if (ttl > max_seconds)
		ttl = max_seconds;
	if (ttl <= 0 || r->auth_cleared != times_cleared)
		return;
	entry_clear(e);
	strcpy(e->hash, r->token_hash);
	e->role = r->role;
	e->person_id = r->person_id ? xstrdup(r->person_id) : NULL;
	e->token_id = xstrdup(r->token_id);
	e->expires = metrics_now() + ttl;
}

void
authcache_clear(void)
{
	for (int i = 0; i < SLOTS; i++)
		entry_clear(&slots[i]);
	times_cleared++;
}

unsigned
authcache_cleared(void)
{
	return times_cleared;
}
