/*
 * Where the pool connects: db.conninfo parsed once into libpq's keyword
 * and value arrays (plus effortd's own settings), and the host names in
 * it resolved through evdns before each connection attempt, so that
 * libpq is handed numeric `hostaddr` entries and never resolves a name
 * itself (getaddrinfo blocks).  Multi-host conninfo (host=a,b) keeps
 * working: each name is resolved and hostaddr lists one address per host
 * (socket directories and numeric addresses are passed as they are).
 */
#ifndef DBADDR_H
#define DBADDR_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/dns.h>
#include <event2/event.h>

struct db_target;
struct db_lookup;

/* keys/vals: extra settings that override the conninfo's (NULL-ended).
 * NULL with err filled when conninfo does not parse. */
struct db_target *db_target_new(const char *conninfo, const char *const *keys,
    const char *const *vals, char *err, size_t errlen);
void db_target_free(struct db_target *);
/* Whether a host of the target is a name that needs resolving. */
bool db_target_has_names(const struct db_target *);
/* The arrays for PQconnectStartParams (expand_dbname 0), without any
 * resolved addresses: for targets without names. */
void db_target_params(const struct db_target *, const char *const **keys,
    const char *const **vals);

/* keys/vals are valid only during the call; error != NULL: no host
 * could be resolved. */
typedef void (*db_lookup_cb)(const char *const *keys, const char *const *vals,
    const char *error, void *arg);
/* Resolves the target's names; cb runs once, always from the event loop
 * (never from inside this call).  */
struct db_lookup *db_lookup_start(const struct db_target *, struct event_base *,
    struct evdns_base *, db_lookup_cb, void *arg);
/* Abandons a lookup; its callback will not run. */
void db_lookup_cancel(struct db_lookup *);
/* After evdns_base_free(): frees what abandoned lookups left behind. */
void db_lookup_forget_orphans(void);

#endif
