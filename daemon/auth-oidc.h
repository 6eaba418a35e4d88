/*
 * Sign-in with the organisation's OpenID Connect provider: effortd takes
 * the provider's access tokens (JWTs) beside its own API tokens.
 *
 * auth-oidc-keys.h keeps the provider's signing keys.  auth-oidc.c verifies a
 * token with cjose (signature; iss, aud, exp and nbf with oidc.leeway) and maps
 * it to a person and roles in the database (effort_oidc_signin,
 * sql/functions/06_oidc.sql).  A request whose token needs keys being fetched
 * waits (REQ_WAITING_IDP) and is answered when they come, or 503 when the
 * provider cannot be reached.
 */
#ifndef OIDC_H
#define OIDC_H

#include <stdbool.h>

#include "request.h"

/* Whether token is for auth-oidc.c: OIDC is configured and it is a JWT. */
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
