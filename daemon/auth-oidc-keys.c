/*
 * The identity provider's signing keys (see auth-oidc.h): discovery, the JWKS
 * and their cache, moved by one transition function (keys_to) through
 *
 *   NONE/READY --refresh--> DISCOVERING --jwks_uri--> FETCHING --> READY
 *        (a failure at either step goes back to READY with the old keys,
 *         or to NONE when there were none; the reason is kept)
 *
 * A refresh is prompted by an unknown kid, by SIGHUP, and by a timer
 * oidc.keys_max_age after the last fetch began, so a key the provider
 * withdrew is not trusted for longer than that.  Discovery is skipped
 * when jwks_uri is known (an unknown kid, the timer); SIGHUP discovers
 * again.  Fetches run on the event loop (https.c) with the
 * pools' resolver; nothing here blocks.  Only RSA and EC signing keys are
 * kept: a symmetric key in a JWKS is ignored, so no token can be checked
 * as an HMAC over a public key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "auth-cache.h"
#include "db-pool.h"
#include "effortd.h"
#include "https.h"
#include "log.h"
#include "metrics.h"
#include "auth-oidc-keys.h"
#include "xmalloc.h"

struct key {
	char *kid; /* may be NULL */
	char *alg; /* the key's "alg", or NULL */
	cjose_jwk_t *jwk;
};

static struct {
	enum keys_state state;
	struct key *keys;
	int nkeys;
	char *issuer; /* what the keys and jwks_uri belong to */
	char *ca_file;
	char *jwks_uri;    /* from discovery; NULL until then */
	double last_start; /* metrics_now() when the last fetch began */
	bool started;      /* a fetch ever began */
	char error[1024];  /* why the last fetch failed; "" */
	struct https_fetch *fetch;
	struct event *max_age; /* the next periodic fetch (keys_max_age) */
	SSL_CTX *ctx;
	keys_fetched_fn fetched;
} idp;

static const char *const state_names[] = { "none", "discovering",
	"fetching keys", "ready" };

static void
keys_to(enum keys_state next)
{
	if (idp.state != next)
		log_debug("OIDC keys: %s -> %s", state_names[idp.state],
		    state_names[next]);
	idp.state = next;
}

static void
keys_free(void)
{
	for (int i = 0; i < idp.nkeys; i++) {
		free(idp.keys[i].kid);
		free(idp.keys[i].alg);
		cjose_jwk_release(idp.keys[i].jwk);
	}
	free(idp.keys);
	idp.keys = NULL;
	idp.nkeys = 0;
}

/* A fetch ended: back to READY or NONE, and the parked requests go on. */
static void
fetch_ended(const char *error)
{
	idp.fetch = NULL;
	snprintf(idp.error, sizeof idp.error, "%s", error ? error : "");
	if (error != NULL && idp.nkeys > 0)
		log_warn("OIDC: %s; the %d signing key(s) held are kept", error,
		    idp.nkeys);
	else if (error != NULL)
		log_warn("OIDC: %s", error);
	keys_to(idp.nkeys > 0 ? KEYS_READY : KEYS_NONE);
	if (idp.fetched != NULL)
		idp.fetched();
}

/* One JWK of the set, if it is an RSA or EC signing key cjose takes. */
static bool
key_load(json_t *jwk, struct key *out)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	char *text;
	cjose_err err;

	if (kty == NULL || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
		return false;
	if (use != NULL && strcmp(use, "sig") != 0)
		return false;
	text = json_dumps(jwk, JSON_COMPACT);
	if (text == NULL)
		return false;
	out->jwk = cjose_jwk_import(text, strlen(text), &err);
	free(text);
	if (out->jwk == NULL) {
		log_warn("OIDC: key %s of the provider's JWKS not usable: %s",
		    kid ? kid : "(no kid)", err.message);
		return false;
	}
	out->kid = kid ? xstrdup(kid) : NULL;
	out->alg = alg ? xstrdup(alg) : NULL;
	return true;
}

/* The JWKS document: replaces the keys; an error, or NULL. */
static const char *
jwks_load(const char *body, char *why, size_t len)
{
	json_t *doc = json_loads(body, 0, NULL);
	json_t *arr = json_object_get(doc, "keys"), *jwk;
	struct key *keys;
	size_t i;
	int n = 0;

	if (!json_is_array(arr)) {
		json_decref(doc);
		snprintf(why, len, "the JWKS at %s has no \"keys\" array",
		    idp.jwks_uri);
		return why;
	}
	keys = xcalloc(json_array_size(arr) + 1, sizeof *keys);
	json_array_foreach(arr, i, jwk) if (key_load(jwk, &keys[n])) n++;
	json_decref(doc);
	if (n == 0) {
		free(keys);
		snprintf(why, len,
		    "the JWKS at %s has no RSA or EC signing key",
		    idp.jwks_uri);
		return why;
	}
	keys_free();
	idp.keys = keys;
	idp.nkeys = n;
	/* Sign-ins the cache holds were checked against the keys held before:
	 * one signed with a key just withdrawn must be checked again, not
	 * served for auth.cache_seconds more. */
	authcache_clear();
	log_info("OIDC: %d signing key(s) from %s", n, idp.jwks_uri);
	return NULL;
}

static void jwks_start(void);

static void
on_jwks(const struct https_result *res, void *arg)
{
	char why[1024];

	(void)arg;
	if (res->status == 0)
		snprintf(why, sizeof why,
		    "the provider's keys (%s) could not be fetched: %s",
		    idp.jwks_uri, res->error);
	else if (res->status != 200)
		snprintf(why, sizeof why,
		    "the provider's keys (%s) could not be fetched: HTTP %d",
		    idp.jwks_uri, res->status);
	else {
		fetch_ended(jwks_load(res->body, why, sizeof why));
		return;
	}
	fetch_ended(why);
}

/* The discovery document: its issuer must be ours; keeps jwks_uri. */
static void
on_discovery(const struct https_result *res, void *arg)
{
	char why[1024] = "";
	json_t *doc = NULL;
	const char *iss, *uri;

	(void)arg;
	if (res->status != 200) {
		if (res->status == 0)
			snprintf(why, sizeof why,
			    "the identity provider %s could not be reached: %s",
			    idp.issuer, res->error);
		else
			snprintf(why, sizeof why,
			    "the identity provider %s answered HTTP %d to "
			    "discovery",
			    idp.issuer, res->status);
		fetch_ended(why);
		return;
	}
	doc = json_loads(res->body, 0, NULL);
	iss = json_string_value(json_object_get(doc, "issuer"));
	uri = json_string_value(json_object_get(doc, "jwks_uri"));
	if (iss == NULL || strcmp(iss, idp.issuer) != 0)
		snprintf(why, sizeof why,
		    "the discovery document of %s names issuer \"%s\"",
		    idp.issuer, iss ? iss : "");
	else if (uri == NULL || strncmp(uri, "https://", 8) != 0)
		snprintf(why, sizeof why,
		    "the discovery document of %s has no https jwks_uri",
		    idp.issuer);
	else {
		free(idp.jwks_uri);
		idp.jwks_uri = xstrdup(uri);
	}
	json_decref(doc);
	if (*why != '\0') {
		fetch_ended(why);
		return;
	}
	jwks_start();
}

static void
get(const char *url, https_done_fn done)
{
	char err[256];

	idp.fetch = https_fetch_start(effortd.base, db_dns_base(), idp.ctx, url,
	    NULL, effortd.cfg.oidc_fetch_timeout, done, NULL, err, sizeof err);
	if (idp.fetch == NULL)
		fetch_ended(err);
}

static void
jwks_start(void)
{
	keys_to(KEYS_FETCHING);
	get(idp.jwks_uri, on_jwks);
}

static void
discovery_start(void)
{
	char *url;
	size_t n = strlen(idp.issuer);

	keys_to(KEYS_DISCOVERING);
	xasprintf(&url, "%s%s.well-known/openid-configuration", idp.issuer,
	    n > 0 && idp.issuer[n - 1] == '/' ? "" : "/");
	get(url, on_discovery);
	free(url);
}

int
oidc_keys_wait(void)
{
	double left =
	    idp.last_start + effortd.cfg.oidc_refresh_interval - metrics_now();

	return !idp.started || left <= 0 ? 0 : (int)left + 1;
}

static void fetch_start(bool discover);

/* The periodic fetch: even when every token names a key held, the set is
 * fetched again oidc.keys_max_age after the last fetch began, so a key
 * the provider withdrew is dropped (a failed fetch keeps the keys). */
static void
on_max_age(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fetch_start(idp.jwks_uri == NULL);
}

static void
max_age_arm(void)
{
	struct timeval tv = { effortd.cfg.oidc_keys_max_age, 0 };

	if (idp.max_age == NULL)
		idp.max_age = evtimer_new(effortd.base, on_max_age, NULL);
	evtimer_add(idp.max_age, &tv);
}

/* A fetch begins (unless one runs): discovery first when asked or when
 * jwks_uri is unknown; the periodic one is due keys_max_age from now. */
static void
fetch_start(bool discover)
{
	max_age_arm();
	if (idp.fetch != NULL)
		return;
	idp.started = true;
	idp.last_start = metrics_now();
	if (discover || idp.jwks_uri == NULL)
		discovery_start();
	else
		jwks_start();
}

bool
oidc_keys_refresh(bool force)
{
	if (idp.issuer == NULL)
		return false;
	if (idp.fetch != NULL)
		return true;
	if (!force && oidc_keys_wait() > 0)
		return false;
	fetch_start(force);
	return idp.fetch != NULL;
}

static void
stop_fetch(void)
{
	https_fetch_cancel(idp.fetch);
	idp.fetch = NULL;
}

void
oidc_keys_stop(void)
{
	stop_fetch();
	if (idp.max_age != NULL)
		event_free(idp.max_age);
	keys_free();
	free(idp.issuer);
	free(idp.ca_file);
	free(idp.jwks_uri);
	if (idp.ctx != NULL)
		SSL_CTX_free(idp.ctx);
	memset(&idp, 0, sizeof idp);
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

void
oidc_keys_configure(keys_fetched_fn fetched)
{
	const char *issuer = effortd.cfg.oidc_issuer;
	const char *ca = effortd.cfg.oidc_ca_file;
	char err[512];

	if (*issuer == '\0' || !same(issuer, idp.issuer) ||
	    !same(ca, idp.ca_file)) {
		oidc_keys_stop(); /* another provider: nothing carries over */
		if (*issuer == '\0')
			return;
		if ((idp.ctx = https_client_ctx(ca, err, sizeof err)) == NULL) {
			log_error("OIDC: %s; sign-in with %s is unavailable",
			    err, issuer);
			snprintf(idp.error, sizeof idp.error, "%s", err);
			return;
		}
		idp.issuer = xstrdup(issuer);
		idp.ca_file = xstrdup(ca);
	} else
		stop_fetch(); /* SIGHUP: discover and fetch again now */
	idp.fetched = fetched;
	keys_to(idp.nkeys > 0 ? KEYS_READY : KEYS_NONE);
	oidc_keys_refresh(true);
}

static bool
key_fits(const struct key *k, const char *alg)
{
	cjose_err err;
	cjose_jwk_kty_t kty = cjose_jwk_get_kty(k->jwk, &err);

	if (k->alg != NULL && strcmp(k->alg, alg) != 0)
		return false;
	if (alg[0] == 'R' || alg[0] == 'P')
		return kty == CJOSE_JWK_KTY_RSA;
	if (kty != CJOSE_JWK_KTY_EC)
		return false;
	switch (cjose_jwk_EC_get_curve(k->jwk, &err)) {
	case CJOSE_JWK_EC_P_256:
		return strcmp(alg, "ES256") == 0;
	case CJOSE_JWK_EC_P_384:
		return strcmp(alg, "ES384") == 0;
	case CJOSE_JWK_EC_P_521:
		return strcmp(alg, "ES512") == 0;
	default:
		return false;
	}
}

const cjose_jwk_t *
oidc_keys_find(const char *kid, const char *alg)
{
	for (int i = 0; i < idp.nkeys; i++)
		if ((kid == NULL || same(kid, idp.keys[i].kid)) &&
		    key_fits(&idp.keys[i], alg))
			return idp.keys[i].jwk;
	return NULL;
}

bool
oidc_keys_have(const char *kid)
{
	for (int i = 0; i < idp.nkeys; i++)
		if (kid == NULL || same(kid, idp.keys[i].kid))
			return true;
	return false;
}

enum keys_state
oidc_keys_state(void)
{
	return idp.state;
}

const char *
oidc_keys_error(void)
{
	return idp.error;
}
