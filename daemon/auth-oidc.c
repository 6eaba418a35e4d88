/*
 * Bearer tokens from the organisation's OpenID Connect provider (see
 * auth-oidc.h): the JWS is checked with cjose against the provider's keys
 * (auth-oidc-keys.c), its claims against the configuration (iss, aud, exp,
 * nbf with oidc.leeway), and the person and roles it maps to are found in
 * the database (effort_oidc_signin).  Only RS256/384/512, PS256/384/512
 * and ES256/384/512 are accepted: "none" and HMAC algorithms are refused
 * before any key is looked at.  Messages never contain the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "auth-cache.h"
#include "effortd.h"
#include "log.h"
#include "auth-oidc-keys.h"
#include "auth-oidc.h"
#include "xmalloc.h"

typedef void (*authorised_fn)(struct request *);

/* A request parked until the provider's keys come. */
struct waiter {
	struct request *r;
	char *token;
	authorised_fn authorised;
	TAILQ_ENTRY(waiter) link;
};

static TAILQ_HEAD(, waiter) parked = TAILQ_HEAD_INITIALIZER(parked);

/* A sign-in whose database lookup runs. */
struct signin {
	struct request *r;
	authorised_fn authorised;
	double lifetime; /* seconds until the token expires */
};

enum verdict {
	VERIFIED,  /* *claims set */
	REFUSED,   /* answered 401 */
	NEED_KEYS, /* the token's kid is not among the keys held */
};

static const char *const accepted_algs[] = { "RS256", "RS384", "RS512", "PS256",
	"PS384", "PS512", "ES256", "ES384", "ES512", NULL };

bool
oidc_token(const char *token)
{
	const char *dot = strchr(token, '.');

	return *effortd.cfg.oidc_issuer != '\0' && dot != NULL &&
	       strchr(dot + 1, '.') != NULL;
}

/* The JOSE header (first segment) as JSON, or NULL. */
static json_t *
jose_header(const char *token)
{
	size_t n = strcspn(token, "."), len = 0;
	uint8_t *raw = NULL;
	cjose_err err;
	json_t *hdr;

	if (!cjose_base64url_decode(token, n, &raw, &len, &err))
		return NULL;
	hdr = json_loadb((const char *)raw, len, 0, NULL);
	cjose_get_dealloc()(raw);
	return json_is_object(hdr) ? hdr : (json_decref(hdr), NULL);
}

/* Refuses the algorithms never accepted; false with why filled. */
static bool
alg_acceptable(const char *alg, char *why, size_t len)
{
	if (alg == NULL) {
		snprintf(why, len, "invalid token: its header has no alg");
		return false;
	}
	if (strcasecmp(alg, "none") == 0) {
		snprintf(why, len,
		    "token refused: alg \"none\" (an unsigned token) is never "
		    "accepted");
		return false;
	}
	if (strncmp(alg, "HS", 2) == 0) {
		snprintf(why, len,
		    "token refused: alg \"%s\" (HMAC) is never accepted; the "
		    "provider's tokens must be signed with its private key "
		    "(RS256, ES256, ...)",
		    alg);
		return false;
	}
	for (int i = 0; accepted_algs[i] != NULL; i++)
		if (strcmp(alg, accepted_algs[i]) == 0)
			return true;
	snprintf(why, len, "token refused: alg \"%s\" is not supported", alg);
	return false;
}

/* Whether aud (a string or an array of strings) holds ours. */
static bool
audience_ok(json_t *aud)
{
	const char *want = effortd.cfg.oidc_audience;
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(
	    aud, i, v) if (json_is_string(v) &&
	                   strcmp(json_string_value(v), want) == 0) return true;
	return false;
}

static void
iso_time(json_int_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* iss, aud, exp and nbf; false with why filled. */
static bool
claims_ok(json_t *claims, char *why, size_t len)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	json_t *exp = json_object_get(claims, "exp");
	json_t *nbf = json_object_get(claims, "nbf");
	json_int_t now = (json_int_t)time(NULL);
	json_int_t leeway = effortd.cfg.oidc_leeway;
	char when[32];

	if (iss == NULL || strcmp(iss, effortd.cfg.oidc_issuer) != 0) {
		snprintf(why, len,
		    "token refused: issued by \"%s\", not by the configured "
		    "issuer \"%s\"",
		    iss ? iss : "", effortd.cfg.oidc_issuer);
		return false;
	}
	if (!audience_ok(json_object_get(claims, "aud"))) {
		char *aud = json_dumps(json_object_get(claims, "aud"),
		    JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(why, len,
		    "token refused: its audience %s is not \"%s\" (a token "
		    "meant for another service)",
		    aud ? aud : "(none)", effortd.cfg.oidc_audience);
		free(aud);
		return false;
	}
	if (!json_is_integer(exp)) {
		snprintf(why, len, "token refused: it has no exp (expiry)");
		return false;
	}
	if (now > json_integer_value(exp) + leeway) {
		iso_time(json_integer_value(exp), when, sizeof when);
		snprintf(why, len,
		    "token expired at %s; sign in again (effortctl login)",
		    when);
		return false;
	}
	if (json_is_integer(nbf) && now + leeway < json_integer_value(nbf)) {
		iso_time(json_integer_value(nbf), when, sizeof when);
		snprintf(why, len, "token refused: not valid before %s", when);
		return false;
	}
	return true;
}

/* The JWS checked with the key its header names; claims once valid. */
static enum verdict
verify(const char *token, json_t **claims, char *why, size_t len)
{
	json_t *hdr = jose_header(token);
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	const cjose_jwk_t *key;
	cjose_jws_t *jws = NULL;
	enum verdict v = REFUSED;
	uint8_t *plain;
	size_t plain_len;
	cjose_err err;

	*claims = NULL;
	if (hdr == NULL)
		snprintf(why, len, "invalid token: not a JWT");
	else if (!alg_acceptable(alg, why, len))
		;
	else if ((jws = cjose_jws_import(token, strlen(token), &err)) == NULL)
		snprintf(why, len, "invalid token: not a signed JWT (%s)",
		    err.message);
	else if ((key = oidc_keys_find(kid, alg)) == NULL) {
		if (!oidc_keys_have(kid))
			v = NEED_KEYS;
		else
			snprintf(why, len,
			    "token refused: the provider's key \"%s\" is not a "
			    "%s key",
			    kid ? kid : "", alg);
	} else if (!cjose_jws_verify(jws, key, &err))
		snprintf(why, len,
		    "invalid token: its signature does not verify with the "
		    "provider's key \"%s\"",
		    kid ? kid : "");
	else if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err) ||
	         (*claims = json_loadb(
	              (const char *)plain, plain_len, 0, NULL)) == NULL ||
	         !json_is_object(*claims))
		snprintf(why, len, "invalid token: its claims are not JSON");
	else if (claims_ok(*claims, why, len))
		v = VERIFIED;
	if (v != VERIFIED) {
		json_decref(*claims);
		*claims = NULL;
	}
	if (v == NEED_KEYS)
		snprintf(why, len, "%s", kid ? kid : "");
	cjose_jws_release(jws);
	json_decref(hdr);
	return v;
}

/* Whether the comma-separated list holds value. */
static bool
list_has(const char *list, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = list; *p != '\0';) {
		size_t m;
		p += strspn(p, ", ");
		m = strcspn(p, ",");
		while (m > 0 && p[m - 1] == ' ')
			m--;
		if (m == n && m > 0 && strncmp(p, value, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* The roles the token's groups give, as a SQL text[] literal. */
static void
group_roles(json_t *claims, char *out, size_t len)
{
	json_t *g = json_object_get(claims, effortd.cfg.oidc_roles_claim), *v;
	bool reviewer = false, admin = false;
	size_t i;

	if (json_is_string(g))
		g = json_pack("[O]", g);
	else
		json_incref(g);
	json_array_foreach(g, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL)
			continue;
		reviewer |= list_has(effortd.cfg.oidc_reviewer_groups, s);
		admin |= list_has(effortd.cfg.oidc_admin_groups, s);
	}
	json_decref(g);
	snprintf(out, len, "{%s%s%s}", reviewer ? "reviewer" : "",
	    reviewer && admin ? "," : "", admin ? "admin" : "");
}

static enum role
roles_of(json_t *roles)
{
	enum role out = 0;
	size_t i;
	json_t *v;

	json_array_foreach(roles, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL)
			continue;
		if (strcmp(s, "manager") == 0)
			out |= ROLE_MANAGER;
		else if (strcmp(s, "reviewer") == 0)
			out |= ROLE_REVIEWER;
		else if (strcmp(s, "admin") == 0)
			out |= ROLE_ADMIN;
	}
	return out;
}

static void
signin_done(const struct db_result *res, void *arg)
{
	struct signin *s = arg;
	struct request *r = s->r;
	json_t *doc;
	char id[32];

	if (!db_answer_document(r, res, SQL_PARSE_OBJECTS, &doc)) {
		free(s);
		return;
	}
	r->role = roles_of(json_object_get(doc, "roles"));
	r->person_id =
	    xstrdup(json_string_value(json_object_get(doc, "person_id")) ?: "");
	snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(doc, "token_id")));
	r->token_id = xstrdup(id);
	json_decref(doc);
	authcache_put(r, s->lifetime);
	s->authorised(r);
	free(s);
}

/* An email claim names a person only when the provider has not said it
 * is unverified (email_verified false, or "false" as some providers send
 * it): anyone could otherwise claim a colleague's address.  Providers
 * that do not send email_verified are taken at their word.  False when it
 * has answered 403. */
static bool
email_verified(struct request *r, json_t *claims, const char *claim,
    const char *sub, const char *value)
{
	json_t *v = json_object_get(claims, "email_verified");
	char msg[512];

	if (strcmp(claim, "email") != 0 ||
	    !(json_is_false(v) ||
	        (json_is_string(v) &&
	            strcmp(json_string_value(v), "false") == 0)))
		return true;
	snprintf(msg, sizeof msg,
	    "signed in as %.100s, but the identity provider has not verified "
	    "the email address %.200s (email_verified is false)",
	    sub, value);
	reply_error(r, 403, msg, NULL);
	return false;
}

/* The verified claims' person and roles, from the database. */
static void
signin(struct request *r, json_t *claims, authorised_fn authorised)
{
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *claim = effortd.cfg.oidc_person_claim;
	json_t *pv = json_object_get(claims, claim);
	char number[32], roles[32];
	const char *value = number; /* the claim whole: never cut short */
	struct signin *s;

	if (sub == NULL || *sub == '\0') {
		reply_unauthorised(
		    r, true, "token refused: it has no sub (subject)");
		return;
	}
	if (json_is_string(pv) && *json_string_value(pv) != '\0')
		value = json_string_value(pv);
	else if (json_is_integer(pv))
		snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(pv));
	else {
		char msg[256];
		snprintf(msg, sizeof msg,
		    "signed in as %s, but the token has no \"%s\" claim to "
		    "name the person (oidc.person_claim)",
		    sub, claim);
		reply_error(r, 403, msg, NULL);
		return;
	}
	if (!email_verified(r, claims, claim, sub, value))
		return;
	group_roles(claims, roles, sizeof roles);
	s = xcalloc(1, sizeof *s);
	s->r = r;
	s->authorised = authorised;
	s->lifetime =
	    (double)(json_integer_value(json_object_get(claims, "exp")) -
	             (json_int_t)time(NULL));
	const char *params[7] = { effortd.cfg.oidc_issuer, sub,
		effortd.cfg.oidc_person_match, claim, value, roles,
		effortd.rules_json };
	db_query_owned(
	    effortd.db, &r->db, STMT_OIDC_SIGNIN, 7, params, signin_done, s);
}

/* 503: the keys the token needs cannot be had from the provider now. */
static void
reply_unavailable(struct request *r)
{
	char msg[1400];
	int wait = oidc_keys_wait();

	snprintf(msg, sizeof msg,
	    "sign-in with the identity provider is unavailable: %s; API "
	    "tokens still work; retry in %d s",
	    *oidc_keys_error() ? oidc_keys_error()
	                       : "its signing keys are not loaded",
	    wait > 0 ? wait : 1);
	reply_error(r, 503, msg, NULL);
}

static void
park(struct request *r, const char *token, authorised_fn authorised)
{
	struct waiter *w = xcalloc(1, sizeof *w);

	w->r = r;
	w->token = xstrdup(token);
	w->authorised = authorised;
	TAILQ_INSERT_TAIL(&parked, w, link);
	request_to(r, REQ_WAITING_IDP);
}

/*
 * The token's kid is unknown: wait for the fetch under way or start one
 * (rate limited); after a fetch (refetched) the answer is final.
 */
static void
need_keys(struct request *r, const char *token, const char *kid,
    authorised_fn authorised, bool refetched)
{
	char msg[1024];

	if (!refetched && (oidc_keys_state() == KEYS_DISCOVERING ||
	                      oidc_keys_state() == KEYS_FETCHING ||
	                      oidc_keys_refresh(false))) {
		park(r, token, authorised);
		return;
	}
	if (oidc_keys_state() == KEYS_NONE || *oidc_keys_error() != '\0') {
		reply_unavailable(r);
		return;
	}
	snprintf(msg, sizeof msg,
	    "token refused: it is signed with key \"%s\", which is not among "
	    "the identity provider's keys",
	    kid);
	reply_unauthorised(r, true, msg);
}

static void
authenticate(struct request *r, const char *token, authorised_fn authorised,
    bool refetched)
{
	char why[512];
	json_t *claims;

	switch (verify(token, &claims, why, sizeof why)) {
	case VERIFIED:
		signin(r, claims, authorised);
		json_decref(claims);
		break;
	case REFUSED:
		reply_unauthorised(r, true, why);
		break;
	case NEED_KEYS:
		need_keys(r, token, why, authorised, refetched);
		break;
	}
}

void
oidc_authenticate(
    struct request *r, const char *token, authorised_fn authorised)
{
	authenticate(r, token, authorised, false);
}

static void
waiter_free(struct waiter *w)
{
	OPENSSL_cleanse(w->token, strlen(w->token));
	free(w->token);
	free(w);
}

/* A fetch ended: every parked request is verified again (or dropped). */
static void
keys_fetched(void)
{
	TAILQ_HEAD(, waiter) ready = TAILQ_HEAD_INITIALIZER(ready);
	struct waiter *w;

	TAILQ_CONCAT(&ready, &parked, link);
	while ((w = TAILQ_FIRST(&ready)) != NULL) {
		struct request *r = w->r;
		TAILQ_REMOVE(&ready, w, link);
		if (r->state == REQ_CANCELLED)
			reply_error(r, 503, "cancelled", NULL); /* frees r */
		else {
			struct db_owner *previous = db_owner_enter(&r->db);
			request_to(r, REQ_RECEIVED);
			authenticate(r, w->token, w->authorised, true);
			db_owner_leave(previous);
		}
		waiter_free(w);
	}
}

void
oidc_configure(void)
{
	oidc_keys_configure(keys_fetched);
	if (oidc_keys_state() != KEYS_DISCOVERING &&
	    oidc_keys_state() != KEYS_FETCHING)
		keys_fetched(); /* no fetch: parked requests get an answer */
}

void
oidc_stop(void)
{
	struct waiter *w;

	oidc_keys_stop();
	while ((w = TAILQ_FIRST(&parked)) != NULL) {
		TAILQ_REMOVE(&parked, w, link);
		request_cancel(w->r, 503, "effortd is shutting down");
		reply_error(w->r, 503, "effortd is shutting down", NULL);
		waiter_free(w);
	}
}
