/*
 * Sign-in with the organisation's OpenID Connect provider: effortd takes
 * the provider's access tokens (JWTs) beside its own API tokens.
 *
 * oidc-keys.c keeps the provider's signing keys: discovery
 * (issuer/.well-known/openid-configuration), then the JWKS, fetched with
 * the event loop's HTTPS client and cached; fetched again for a key id it
 * does not know (at most once per oidc.refresh_interval) and at SIGHUP.
 * oidc.c verifies a token with cjose (signature; iss, aud, exp and nbf
 * with oidc.leeway) and maps it to a person and roles in the database
 * (effort_oidc_signin, sql/functions/06_oidc.sql).  A request whose token
 * needs keys being fetched waits (REQ_WAITING_IDP) and is answered when
 * they come, or 503 when the provider cannot be reached.
 */
#ifndef OIDC_H
#define OIDC_H

#include <stdbool.h>

#include <cjose/jwk.h>

#include "request.h"

/* ---- oidc-keys.c */

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

/* ---- oidc.c */

/* Whether token is for oidc.c: OIDC is configured and it is a JWT. */
bool oidc_token(const char *token);
/*
 * Verifies token and finds its person and roles; then calls authorised
 * (r's role, person and token id set), or answers r itself (401, 403 or
 * 503).  May park r until the provider's keys are fetched.
 */
void oidc_authenticate(
    struct request *r, const char *token, void (*authorised)(struct request *));
/* Configuration (re)loaded: see oidc_keys_configure. */
void oidc_configure(void);
/* Shutdown: parked requests get 503, fetches stop, keys are freed. */
void oidc_stop(void);

#endif
