/*
 * The OpenID Connect provider's signing keys (auth-oidc-keys.c): discovery
 * (issuer/.well-known/openid-configuration), then the JWKS, fetched with
 * the event loop's HTTPS client and cached; fetched again for a key id it
 * does not know (at most once per oidc.refresh_interval), at SIGHUP, and
 * oidc.keys_max_age after the last fetch began (a withdrawn key goes).
 */
#ifndef AUTH_OIDC_KEYS_H
#define AUTH_OIDC_KEYS_H

#include <stdbool.h>

#include <cjose/jwk.h>

enum keys_state {
	KEYS_NONE,        /* none fetched, nothing under way */
	KEYS_DISCOVERING, /* reading the discovery document */
	KEYS_FETCHING,    /* reading the JWKS */
	KEYS_READY,       /* keys held; no fetch under way */
};

/* Called when a fetch ends (ok or not): the parked requests go on. */
typedef void (*keys_fetched_fn)(void);

/* Starts (or stops, when oidc.issuer is empty) with the configuration in
 * force; at SIGHUP fetches again at once.  fetched: see above. */
void oidc_keys_configure(keys_fetched_fn fetched);
/* The key with this kid (NULL: any) usable for alg, or NULL. */
const cjose_jwk_t *oidc_keys_find(const char *kid, const char *alg);
/* Whether a key with this kid is held at all. */
bool oidc_keys_have(const char *kid);
enum keys_state oidc_keys_state(void);
/* Starts a fetch unless one runs or the last began less than
 * oidc.refresh_interval ago (unless force); whether one now runs. */
bool oidc_keys_refresh(bool force);
/* Why the last fetch failed ("" if it did not). */
const char *oidc_keys_error(void);
/* Seconds until a fetch may start again (0: now). */
int oidc_keys_wait(void);
void oidc_keys_stop(void);

#endif
