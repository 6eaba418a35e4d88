/*
 * Tokens over the API (role admin): GET /v1/tokens lists them (never a
 * token or its hash), POST /v1/tokens makes one and shows it once, POST
 * /v1/tokens/{id}/revoke revokes one.  The SQL is in
 * sql/functions/05_tokens.sql; the audit trail records who did each.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "auth-cache.h"
#include "effortd.h"
#include "feed-specs.h"
#include "feed-validate.h"
#include "api-handlers.h"
#include "log.h"
#include "request.h"
#include "auth-token.h"
#include "xmalloc.h"

struct token_job {
	struct request *r;
	char token[TOKEN_LEN + 1];
};

static void
tokens_done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

void
handle_tokens_list(struct request *r)
{
	db_query(effortd.db, STMT_TOKENS_LIST, 0, NULL, tokens_done, r);
}

/* Adds the token to the stored token's document: the only time it shows. */
static void
issued(const struct db_result *res, void *arg)
{
	struct token_job *job = arg;
	json_t *out = NULL;

	if (res->status == DB_OK && PQntuples(res->res) == 1)
		out = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (json_is_object(json_object_get(out, "token"))) {
		json_object_set_new(json_object_get(out, "token"), "token",
		    json_string(job->token));
		log_info("token %lld created by token %s",
		    (long long)json_integer_value(
		        json_object_get(json_object_get(out, "token"), "id")),
		    job->r->token_id);
		reply_json(job->r, 200, out);
	} else {
		json_decref(out);
		reply_db_json(job->r, res); /* refusal or failure */
	}
	OPENSSL_cleanse(job->token, sizeof job->token);
	free(job);
}

static const char *
string_member(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v != NULL && *v != '\0' ? v : NULL;
}

/* POST /v1/tokens's body.  A token's label is free text as a feed's
 * (feed-specs.c): no control character but tab, at most the feeds' text
 * limit; the role and person are checked by token_issue (05_tokens.sql). */
static const struct field_spec token_fields[] = {
	{ "role", FT_STRING, 0, NULL, 0, FEED_TEXT_MAX },
	{ "person_id", FT_STRING, 0, NULL, 0, FEED_TEXT_MAX },
	{ "label", FT_STRING, 0, NULL, 0, FEED_TEXT_MAX },
	{ NULL, 0, 0, NULL, 0, 0 },
};
#define label_field (token_fields[2])

/* False when the body's label is not such text (answered 422). */
static bool
label_ok(struct request *r, json_t *doc)
{
	json_t *label = json_object_get(doc, "label");
	const char *why;
	char msg[256];

	if (label == NULL || json_is_null(label) ||
	    (why = feed_field_problem(&label_field, label, msg, sizeof msg)) ==
	        NULL)
		return true;
	reply_field_error(r, 422, "invalid label", "label", why);
	return false;
}

void
handle_token_create(struct request *r)
{
	json_t *doc = request_body_object(r, token_fields);
	struct token_job *job;
	char hash[65];

	if (doc == NULL)
		return;
	if (!label_ok(r, doc)) {
		json_decref(doc);
		return;
	}
	job = xcalloc(1, sizeof *job);
	job->r = r;
	token_new(job->token, hash);
	const char *params[6] = { hash, string_member(doc, "role"),
		string_member(doc, "person_id"), string_member(doc, "label"),
		r->token_id, effortd.rules_json };
	db_query(effortd.db, STMT_TOKEN_ISSUE, 6, params, issued, job);
	json_decref(doc);
}

/* A revoked token stops working here at once, cached or not. */
static void
revoked(const struct db_result *res, void *arg)
{
	authcache_clear();
	reply_db_json(arg, res);
}

void
handle_token_revoke(struct request *r)
{
	const char *id = r->arg;

	if (id == NULL || *id == '\0' || strlen(id) > 18 ||
	    strspn(id, "0123456789") != strlen(id)) {
		reply_error(r, 404, "no such token", NULL);
		return;
	}
	const char *params[2] = { id, r->token_id };
	db_query(effortd.db, STMT_TOKEN_REVOKE, 2, params, revoked, r);
}
