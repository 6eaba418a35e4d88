/*
 * effortctl's sign-in with the organisation's identity provider: the
 * session kept in ~/.config/effortctl/session.json (mode 0600) by
 * "effortctl login" (RFC 8628 device grant, cmd-login.c): the provider,
 * its endpoints, the access and refresh tokens and when the access token
 * expires.  Commands use its access token when no other token is given,
 * refreshed silently shortly before it expires.
 */
#ifndef OIDC_SESSION_H
#define OIDC_SESSION_H

#include <jansson.h>

struct https_result;

struct oidc_session {
	char *issuer;
	char *client_id;
	char *ca_file; /* "" = the system CA store */
	char *token_endpoint;
	char *revocation_endpoint; /* may be NULL */
	char *access_token;
	char *refresh_token;  /* may be NULL */
	long long expires_at; /* Unix time */
};

/* The session file's path (NULL: no home). */
char *oidc_session_path(void);
/* 0: loaded; 1: there is none; -1: unreadable (reported). */
int oidc_session_load(struct oidc_session *);
/* Writes it with mode 0600 (directory 0700); -1 (reported) on failure. */
int oidc_session_save(const struct oidc_session *);
void oidc_session_free(struct oidc_session *);
/* Takes the token endpoint's answer (access_token, expires_in,
 * refresh_token); -1 with why filled when it holds no access token. */
int oidc_session_take(
    struct oidc_session *, json_t *answer, char *why, size_t len);
/* Renews the access token with the refresh token; -1 (why) on failure. */
int oidc_session_refresh(
    struct oidc_session *, int timeout, char *why, size_t len);
/* The access token to send (refreshed first when it expires within a
 * minute), or NULL when there is no usable session. */
char *oidc_session_token(int timeout);
/* A JWT's claims (not verified: for display), or NULL. */
json_t *oidc_jwt_claims(const char *jwt);
/* application/x-www-form-urlencoded value. */
char *oidc_form_value(const char *);
/* A provider's JSON answer to url (form: POST); NULL with why filled
 * when there is no answer or it is not a JSON object.  *status: HTTP. */
json_t *oidc_fetch_json(const char *ca_file, const char *url, const char *form,
    int timeout, int *status, char *why, size_t len);

#endif
