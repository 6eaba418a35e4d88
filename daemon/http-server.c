/*
 * Request dispatch: matches the route table, authenticates the bearer
 * token (one prepared statement), checks the route's roles and hands the
 * request to its handler.  Also the request's lifecycle (request.h: its
 * states, cancellation when the client goes away, the deadline passes or
 * effortd stops), the replies all handlers share, so every error body
 * has the same shape and one function sends them all, and the reading of
 * what the SQL answers (sql_answer: a document or a refusal).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "job-reaudit.h"
#include "auth-cache.h"
#include "date.h"
#include "http-conn.h"
#include "http-layer-errors.h"
#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "auth-oidc.h"
#include "request.h"
#include "auth-token.h"
#include "feed-validate.h"
#include "api-handlers.h"
#include "xmalloc.h"

/* The largest body a route that is not a feed takes (a reject's reason,
 * 1,000 approvals, a token or delegation): parsed whole on the loop, so
 * kept small (limits.max_body is a feed's). */
#define SMALL_BODY_MAX (64 * 1024)

/* Matches path against pattern; a {…} segment captures into *arg. */
static bool
route_match(const char *pattern, const char *path, char **arg)
{
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '{') {
			size_t n = strcspn(path, "/"), len = 0;
			char *raw;
			if (n == 0)
				return false;
			/* Percent-decoded: grant references carry slashes. */
			raw = xstrndup(path, n);
			free(*arg);
			*arg = evhttp_uridecode(raw, 0, &len);
			free(raw);
			if (*arg == NULL || len != strlen(*arg) ||
			    !feed_utf8_valid(*arg, len))
				return false; /* an encoded NUL, not UTF-8 */
			path += n;
			pattern = strchr(pattern, '}') + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static TAILQ_HEAD(, request) in_flight = TAILQ_HEAD_INITIALIZER(in_flight);

static const char *const state_names[] = { "received", "authenticated",
	"waiting for the database", "waiting for the identity provider",
	"replying", "done", "cancelled" };

/* Whether a request in state from may move to state to. */
static bool
transition_allowed(enum request_state from, enum request_state to)
{
	switch (to) {
	case REQ_RECEIVED:
		return from == REQ_WAITING_DB || from == REQ_WAITING_IDP;
	case REQ_AUTHENTICATED:
		return from == REQ_RECEIVED || from == REQ_WAITING_DB;
	case REQ_WAITING_DB:
		return from == REQ_RECEIVED || from == REQ_AUTHENTICATED;
	case REQ_WAITING_IDP:
		return from == REQ_RECEIVED;
	case REQ_REPLYING:
	case REQ_CANCELLED:
		return from <= REQ_WAITING_IDP;
	case REQ_DONE:
		return from == REQ_REPLYING || from == REQ_CANCELLED;
	}
	return false;
}

void
request_to(struct request *r, enum request_state next)
{
	if (r->state == next)
		return;
	if (!transition_allowed(r->state, next)) {
		/* A bug, but one request's: log it, never exit. */
		log_error("%s: request cannot go from %s to %s",
		    r->route ? r->route->name : "-", state_names[r->state],
		    state_names[next]);
		return;
	}
	log_debug("%s: %s -> %s", r->route ? r->route->name : "-",
	    state_names[r->state], state_names[next]);
	r->state = next;
	if (next == REQ_AUTHENTICATED)
		r->authenticated = true;
}

/* The request's database job started or ended (db-pool.h "Owners"). */
static void
request_db_changed(struct db_owner *owner)
{
	struct request *r =
	    (struct request *)((char *)owner - offsetof(struct request, db));

	if (r->state == REQ_CANCELLED || r->state >= REQ_REPLYING)
		return;
	if (owner->job != NULL)
		request_to(r, REQ_WAITING_DB);
	else
		request_to(
		    r, r->authenticated ? REQ_AUTHENTICATED : REQ_RECEIVED);
}

static void
request_free(struct request *r)
{
	db_owner_forget(&r->db);
	if (r->db.job != NULL) /* a handler answered before its job ended */
		db_cancel(r->db.job, "answered");
	if (r->deadline != NULL)
		event_free(r->deadline);
	TAILQ_REMOVE(&in_flight, r, link);
	evhttp_clear_headers(&r->query);
	free(r->arg);
	free(r->person_id);
	free(r->token_id);
	free(r);
	if (--effortd.inflight == 0 && effortd.draining)
		conn_drained();
}

/* The reason phrase of a status libevent has none for (it says "Client
 * Error"); NULL: libevent's own. */
static const char *
reason_phrase(int code)
{
	switch (code) {
	case 422:
		return "Unprocessable Entity";
	case 499:
		return "Client Closed Request";
	default:
		return NULL;
	}
}

/*
 * The one place a reply leaves: hands it to evhttp, which frees the
 * libevent request once it is written (or the connection fails).
 */
static void
request_send(struct request *r, int code, const char *ctype, const char *body,
    size_t len, bool close)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "Content-Type", ctype);
	if (close || effortd.draining)
		evhttp_add_header(h, "Connection", "close");
	evbuffer_add(buf, body, len);
	conn_request_done(r->req);
	http_layer_sending(true);
	evhttp_send_reply(r->req, code, reason_phrase(code), buf);
	http_layer_sending(false);
	evbuffer_free(buf);
	r->req = NULL;
	metrics_request(r->route ? r->route->name : "none", code,
	    metrics_now() - r->started);
}

bool
request_query_parse(struct request *r)
{
	const char *q =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct query_spec spec = { r->route->pattern, r->route->query };
	struct query_error err;

	if (query_parse(q, &spec, &r->query, &err))
		return true;
	reply_param_error(r, err.parameter, err.message);
	return false;
}

void
reply_param_error(struct request *r, const char *parameter, const char *msg)
{
	reply_error(r, 400, msg,
	    json_pack("[{s:s, s:s}]", "parameter", parameter, "message", msg));
}

bool
request_date_ok(struct request *r, const char *name)
{
	const char *v = request_query(r, name);
	struct date d;
	char msg[128];

	if (v == NULL || date_parse(v, &d))
		return true;
	/* A date of another century is one, only not one effortd takes. */
	if (strlen(v) == 10 && strspn(v, "0123456789-") == 10 && v[4] == '-' &&
	    v[7] == '-' && strncmp(v, "1900", 4) < 0)
		snprintf(msg, sizeof msg,
		    "%s must be a date YYYY-MM-DD from 1900-01-01 to "
		    "9999-12-31",
		    name);
	else
		snprintf(msg, sizeof msg, "%s must be a date YYYY-MM-DD", name);
	reply_param_error(r, name, msg);
	return false;
}

const char *
request_query(struct request *r, const char *key)
{
	return evhttp_find_header(&r->query, key);
}

json_t *
request_body_json(struct request *r, json_error_t *err)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(body);

	/* A key twice is refused as a feed's body refuses it: taking the
	 * last would act on a value the client may not have meant.  A
	 * \u0000 escape is valid JSON: it is kept, for the caller to refuse
	 * as invalid text (422), never read as the text before it. */
	return json_loadb((const char *)evbuffer_pullup(body, -1), len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, err);
}

void
reply_text(struct request *r, int code, const char *ctype, const char *body,
    size_t len)
{
	if (r->state == REQ_CANCELLED) {
		/* The client had its answer (or is gone): drop this one. */
		log_debug("%s: dropping the reply %d of a cancelled request",
		    r->route ? r->route->name : "-", code);
	} else {
		request_to(r, REQ_REPLYING);
		log_debug("%s %s -> %d", r->route ? r->route->name : "-",
		    evhttp_request_get_uri(r->req), code);
		request_send(r, code, ctype, body, len, false);
	}
	request_to(r, REQ_DONE);
	request_free(r);
}

static const char internal_error[] = "{\"error\":\"internal error\"}";

void
reply_json(struct request *r, int code, json_t *body)
{
	char *s = body != NULL
	              ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15))
	              : NULL;

	json_decref(body);
	if (s == NULL) {
		log_error("%s: the %d reply could not be built (a value the "
		          "SQL should have returned is missing or invalid)",
		    r->route ? r->route->name : "-", code);
		reply_text(r, 500, "application/json", internal_error,
		    sizeof internal_error - 1);
		return;
	}
	reply_text(r, code, "application/json", s, strlen(s));
	free(s);
}

void
reply_error(struct request *r, int code, const char *msg, json_t *errors)
{
	json_t *body = json_pack("{s:s}", "error", msg ? msg : "error");

	if (body == NULL) /* msg not UTF-8: say what it was about */
		body = json_pack("{s:s}", "error", "request refused");
	if (body != NULL && errors != NULL)
		json_object_set(body, "errors", errors);
	json_decref(errors);
	reply_json(r, code, body);
}

void
reply_unauthorised(struct request *r, bool token_given, const char *msg)
{
	if (r->req != NULL) /* (NULL: cancelled, the reply is dropped) */
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate",
		    token_given ? "Bearer error=\"invalid_token\"" : "Bearer");
	reply_error(r, 401, msg, NULL);
}

void
reply_field_error(struct request *r, int code, const char *msg,
    const char *field, const char *message)
{
	reply_error(r, code, msg,
	    json_pack("[{s:s, s:s}]", "field", field, "message", message));
}

void
request_cancel(struct request *r, int code, const char *why)
{
	if (r->state >= REQ_REPLYING)
		return;
	log_info("%s: cancelled while %s: %s", r->route ? r->route->name : "-",
	    state_names[r->state], why);
	r->cancelled_why = why; /* a string constant, or the caller's */
	db_cancel(r->db.job, why);
	if (code != 0) {
		json_t *body = json_pack("{s:s}", "error", why);
		char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
		if (s != NULL)
			request_send(
			    r, code, "application/json", s, strlen(s), false);
		else
			request_send(r, 500, "application/json", internal_error,
			    sizeof internal_error - 1, false);
		free(s);
		json_decref(body);
	} else /* nobody reads it; evhttp frees the connection */
		request_send(r, 499, "text/plain", "", 0, true);
	request_to(r, REQ_CANCELLED);
}

int
requests_cancel_all(const char *why)
{
	struct request *r;
	int n = 0;

	TAILQ_FOREACH(r, &in_flight, link)
	if (r->state < REQ_REPLYING) {
		request_cancel(r, 503, why);
		n++;
	}
	return n;
}

void
requests_free_all(void)
{
	struct request *r;

	requests_cancel_all("effortd is shutting down");
	while ((r = TAILQ_FIRST(&in_flight)) != NULL) {
		log_warn("%s: still unanswered at exit", r->route->name);
		request_to(r, REQ_DONE);
		request_free(r);
	}
}

void
reply_db_failure(struct request *r, const struct db_result *res)
{
	bool change = r->route != NULL && r->route->method == EVHTTP_REQ_POST;

	if (res->status == DB_UNAVAILABLE && res->outcome_unknown && change) {
		reply_error(r, 503,
		    "the database connection was lost while the request was "
		    "being stored: whether it was stored is unknown; sending "
		    "it again is safe (feeds and decisions are idempotent)",
		    NULL);
		return;
	}
	if (res->status == DB_UNAVAILABLE || res->status == DB_CANCELLED) {
		reply_error(r, 503,
		    change ? "database unavailable; nothing was stored, "
		             "safe to retry"
		           : "database unavailable; safe to retry",
		    NULL);
		return;
	}
	log_error("%s: database error %s: %s", r->route ? r->route->name : "-",
	    res->sqlstate, res->message);
	reply_error(r, 500, "internal error", NULL);
}

/* 400 for a body (doc, as request_body_json left it and err) that is not
 * the JSON object shape names; "the body is empty" when it is. */
static void
reply_not_object(struct request *r, const json_t *doc, const json_error_t *err,
    const char *shape)
{
	/* jansson's text (at most 160 bytes), the shape (at most 200) */
	char msg[480];

	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) == 0)
		snprintf(msg, sizeof msg,
		    "the body is empty; expected a JSON object %s", shape);
	else if (doc == NULL)
		snprintf(msg, sizeof msg,
		    "invalid JSON at line %d, column %d: %s; expected a JSON "
		    "object %s",
		    err->line, err->column, err->text, shape);
	else
		snprintf(msg, sizeof msg, "expected a JSON object %s", shape);
	reply_error(r, 400, msg, NULL);
}

/* "{role, person_id, label}": the members fields names, for messages. */
static void
body_shape(const struct field_spec *fields, char *shape, size_t size)
{
	size_t len;

	snprintf(shape, size, "{");
	for (const struct field_spec *f = fields; f->name; f++) {
		len = strlen(shape);
		snprintf(shape + len, size - len, "%s%s",
		    f == fields ? "" : ", ", f->name);
	}
	len = strlen(shape);
	snprintf(shape + len, size - len, "}");
}

/* False when doc has a member fields does not name, or a string member
 * with a NUL character in it (a \u0000 escape); then it has answered 422
 * naming that member. */
static bool
body_members_ok(struct request *r, json_t *doc, const struct field_spec *fields)
{
	const struct field_spec *f, *guess;
	const char *key;
	char msg[160];
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		for (f = fields; f->name && strcmp(f->name, key) != 0; f++)
			;
		if (f->name == NULL) {
			if ((guess = field_guess(fields, key)) != NULL)
				snprintf(msg, sizeof msg,
				    "unknown field; did you mean %s?",
				    guess->name);
			else
				snprintf(msg, sizeof msg, "unknown field");
			reply_field_error(r, 422, "unknown field", key, msg);
			return false;
		}
		if (json_is_string(v) &&
		    strlen(json_string_value(v)) != json_string_length(v)) {
			reply_field_error(r, 422, "text with a NUL character",
			    key, "contains a NUL character");
			return false;
		}
	}
	return true;
}

json_t *
request_body_object(struct request *r, const struct field_spec *fields)
{
	json_error_t jerr;
	json_t *doc = request_body_json(r, &jerr);
	char shape[200];

	if (json_is_object(doc)) {
		if (body_members_ok(r, doc, fields))
			return doc;
	} else {
		body_shape(fields, shape, sizeof shape);
		reply_not_object(r, doc, &jerr, shape);
	}
	json_decref(doc);
	return NULL;
}

/*
 * Whether a statement's value may be a refusal: an object whose text holds
 * the key "http_status".  jsonb writes a key's letters and underscore
 * unescaped, so a refusal's text holds these bytes; a document without
 * them goes out unparsed (parsing a person's violations with jansson was
 * a fifth of effortd's time per GET /v1/violations).
 */
static bool
may_be_refusal(const char *value, size_t len)
{
	static const char key[] = "\"http_status\"";

	return *value == '{' && memmem(value, len, key, sizeof key - 1) != NULL;
}

int
sql_answer(const struct db_result *res, enum sql_parse parse, json_t **doc,
    char *why, size_t whylen)
{
	const char *v;
	size_t len;
	json_error_t jerr;
	json_int_t code;

	*doc = NULL;
	if (res->status != DB_OK || PQntuples(res->res) != 1 ||
	    PQnfields(res->res) < 1 || PQgetisnull(res->res, 0, 0)) {
		snprintf(why, whylen, "the statement returned no value");
		return 500;
	}
	v = PQgetvalue(res->res, 0, 0);
	len = (size_t)PQgetlength(res->res, 0, 0);
	if (*v == '[' && parse != SQL_PARSE_ALL)
		return 200; /* arrays are documents, never refusals */
	if (parse == SQL_PARSE_REFUSALS && !may_be_refusal(v, len))
		return 200;
	*doc = json_loadb(v, len, JSON_DECODE_ANY, &jerr);
	if (*doc == NULL) {
		snprintf(why, whylen, "the statement's value is not JSON: %s",
		    jerr.text);
		return 500;
	}
	code = json_integer_value(json_object_get(*doc, "http_status"));
	if (json_is_integer(json_object_get(*doc, "http_status")) &&
	    json_is_string(json_object_get(*doc, "error")) && code >= 400 &&
	    code <= 599)
		return (int)code;
	return 200;
}

void
reply_refusal(struct request *r, int code, json_t *refusal)
{
	reply_error(r, code,
	    json_string_value(json_object_get(refusal, "error")),
	    json_incref(json_object_get(refusal, "errors")));
	json_decref(refusal);
}

/* A statement's answer that is not a document nor a refusal: 500. */
static void
reply_bad_answer(struct request *r, const char *why)
{
	log_error("%s: %s", r->route ? r->route->name : "-", why);
	reply_error(r, 500, "internal error", NULL);
}

bool
db_answer_document(struct request *r, const struct db_result *res,
    enum sql_parse parse, json_t **doc)
{
	char why[256];
	int code;

	*doc = NULL;
	if (res->status != DB_OK) {
		reply_db_failure(r, res);
		return false;
	}
	code = sql_answer(res, parse, doc, why, sizeof why);
	if (code == 200)
		return true;
	if (*doc != NULL)
		reply_refusal(r, code, *doc);
	else
		reply_bad_answer(r, why);
	*doc = NULL;
	return false;
}

void
reply_db_json(struct request *r, const struct db_result *res)
{
	json_t *doc;

	if (!db_answer_document(r, res, SQL_PARSE_REFUSALS, &doc))
		return;
	json_decref(doc);
	reply_text(r, 200, "application/json", PQgetvalue(res->res, 0, 0),
	    (size_t)PQgetlength(res->res, 0, 0));
}

static void
rescored(bool ok, void *arg)
{
	struct request *r = arg;

	if (!ok)
		log_warn("re-audit after %s failed; the next sweep will catch "
		         "up",
		    r->route->name);
	reply_json(r, 200, r->pending_reply);
}

void
reply_after_audit(struct request *r, json_t *out)
{
	json_t *people;

	if (!json_is_object(out)) {
		reply_json(r, 200, out); /* NULL: a 500, logged */
		return;
	}
	people = json_incref(json_object_get(out, "people"));
	json_object_del(out, "people");
	r->pending_reply = out;
	audit_rescore(people, rescored, r);
	json_decref(people);
}

void
reply_db_change(const struct db_result *res, void *arg)
{
	struct request *r = arg;
	json_t *doc;

	if (db_answer_document(r, res, SQL_PARSE_ALL, &doc))
		reply_after_audit(r, doc);
}

static enum role
role_parse(const char *s)
{
	if (strcmp(s, "feed") == 0)
		return ROLE_FEED;
	if (strcmp(s, "manager") == 0)
		return ROLE_MANAGER;
	if (strcmp(s, "reviewer") == 0)
		return ROLE_REVIEWER;
	if (strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	return 0;
}

/* The token of the Authorization header ("Bearer <token>"), or NULL. */
static const char *
bearer_token(struct request *r)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return NULL;
	return h + 7;
}

/* "this needs a manager or admin token", "this needs an admin token":
 * the roles a route allows, the article agreeing with the first. */
static void
refuse_role(struct request *r)
{
	static const char *const names[] = { "feed", "manager", "reviewer",
		"admin" };
	char msg[128] = "this needs ";
	int roles = r->route->roles, left = __builtin_popcount(roles);
	bool first = true;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((roles & (1 << i)) == 0)
			continue;
		if (first)
			strcat(
			    msg, strchr("aeiou", names[i][0]) ? "an " : "a ");
		first = false;
		strcat(msg, names[i]);
		left--;
		strcat(msg, left > 1 ? ", " : left == 1 ? " or " : " token");
	}
	reply_error(r, 403, msg, NULL);
}

/* Runs the route's handler once its query string is found good. */
static void
run_handler(struct request *r)
{
	if (request_query_parse(r))
		r->route->handler(r);
}

/* The caller is known: check the route's roles and run its handler. */
static void
authorised(struct request *r)
{
	if ((r->role & r->route->roles) == 0) {
		refuse_role(r);
		return;
	}
	request_to(r, REQ_AUTHENTICATED);
	run_handler(r);
}

static void
auth_done(const struct db_result *res, void *arg)
{
	struct request *r = arg;

	if (res->status != DB_OK) {
		reply_db_failure(r, res);
		return;
	}
	if (PQntuples(res->res) != 1) {
		reply_unauthorised(r, true, "unknown or revoked token");
		return;
	}
	if (!PQgetisnull(res->res, 0, 3)) { /* its person has left */
		char msg[256];
		snprintf(msg, sizeof msg,
		    "token %s belongs to person %s, who left on %s: access "
		    "ended with the employment",
		    PQgetvalue(res->res, 0, 2), PQgetvalue(res->res, 0, 1),
		    PQgetvalue(res->res, 0, 3));
		reply_error(r, 403, msg, NULL);
		return;
	}
	r->role = role_parse(PQgetvalue(res->res, 0, 0));
	if (!PQgetisnull(res->res, 0, 1))
		r->person_id = xstrdup(PQgetvalue(res->res, 0, 1));
	r->token_id = xstrdup(PQgetvalue(res->res, 0, 2));
	authcache_put(r, AUTHCACHE_UNBOUNDED);
	authorised(r);
}

static void
authenticate(struct request *r)
{
	const char *token = bearer_token(r);
	const char *params[2] = { r->token_hash, effortd.rules_json };

	if (token == NULL) {
		reply_unauthorised(r, false, "missing bearer token");
		return;
	}
	token_hash_hex(token, r->token_hash);
	r->auth_cleared = authcache_cleared();
	if (authcache_get(r->token_hash, r))
		authorised(r);
	else if (oidc_token(token))
		oidc_authenticate(r, token, authorised);
	else
		db_query_owned(
		    effortd.db, &r->db, STMT_AUTH, 2, params, auth_done, r);
}

/* Whether libevent 2.1 leaves a body sent with method m unread: HEAD,
 * TRACE and the methods it does not know.  Such a body would be read as
 * the next request on the connection (one a proxy in front never saw), so
 * the answer to such a method, always a 404 or 405, closes it. */
static bool
body_left_unread(enum evhttp_cmd_type m)
{
	return (m & (EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	                EVHTTP_REQ_PATCH)) == 0;
}

/*
 * Finds the route for the request; sets *code to 404/405 when none fits,
 * and for a 405 adds the Allow header listing the path's methods.
 */
static const struct route *
route_find(struct request *r, const char *path, int *code)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(r->req);
	char allow[32] = "";

	*code = 404;
	if (body_left_unread(method))
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Connection", "close");
	for (const struct route *rt = routes; rt->pattern != NULL; rt++) {
		if (!route_match(rt->pattern, path, &r->arg))
			continue;
		if (rt->method == method)
			return rt;
		*code = 405;
		snprintf(allow + strlen(allow), sizeof allow - strlen(allow),
		    "%s%s", *allow ? ", " : "",
		    rt->method == EVHTTP_REQ_GET ? "GET" : "POST");
	}
	if (*code == 405)
		evhttp_add_header(
		    evhttp_request_get_output_headers(r->req), "Allow", allow);
	return NULL;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;

	(void)fd;
	(void)what;
	request_cancel(r, 503,
	    r->route->method == EVHTTP_REQ_POST
	        ? "the request took too long and was cancelled; whether it "
	          "was stored is unknown; sending it again is safe"
	        : "the request took too long and was cancelled; safe to "
	          "retry");
}

static void
on_client_gone(void *arg)
{
	request_cancel(arg, 0, "the client went away");
}

/* A request's deadline: two statements' worth of db.statement_timeout
 * and a margin (queue waits included); none when statements have none. */
static void
request_arm(struct request *r)
{
	struct timeval tv = { effortd.cfg.db_statement_timeout * 2 + 10, 0 };

	conn_watch_close(r->req, on_client_gone, r);
	if (effortd.cfg.db_statement_timeout <= 0)
		return;
	r->deadline = evtimer_new(effortd.base, on_deadline, r);
	evtimer_add(r->deadline, &tv);
}

/* Whether name is a header field name, an RFC 9110 token (5.1, 5.6.2):
 * evhttp keeps whatever came before the colon, so "Content-Length\v" or
 * "Content-Length/" would be another header to it, and not to a proxy. */
static bool
field_name_ok(const char *name)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr(tchar, *p) != NULL))
			return false;
	return true;
}

/* Where the request's body ends is unclear, so where the next request on
 * the connection starts is too (request smuggling behind a proxy that
 * reads the head otherwise): a field name that is not a token, a blank
 * between it and its colon among them (RFC 9112 5.1), a
 * Transfer-Encoding other than one "chunked" (evhttp would read the body
 * by Content-Length, or as empty, and the rest as the next request; 6.1),
 * Transfer-Encoding in HTTP/1.0 (6.1), a
 * Content-Length that is not digits ("+72", "-0") or two that differ
 * (6.3).  What is wrong, or NULL. */
static const char *
framing_problem(struct request *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *length = NULL, *coding = NULL, *value;
	struct evkeyval *h;

	TAILQ_FOREACH(h, in, next)
	{
		if (!field_name_ok(h->key))
			return h->key[strcspn(h->key, " \t")] != '\0'
			           ? "a blank between a header field's name and "
			             "its colon"
			           : "a header field name that is not a token "
			             "(RFC 9110)";
		if (strcasecmp(h->key, "Transfer-Encoding") == 0) {
			if (coding != NULL)
				return "two Transfer-Encoding headers";
			coding = h->value;
		}
		if (strcasecmp(h->key, "Content-Length") != 0)
			continue;
		value = h->value + strspn(h->value, " \t"); /* OWS */
		if (value[0] == '\0' ||
		    value[strspn(value, "0123456789")] != '\0')
			return "a Content-Length that is not a number of bytes";
		if (length != NULL && strcmp(length, value) != 0)
			return "two different Content-Length headers";
		length = value;
	}
	if (coding != NULL && r->req->major == 1 && r->req->minor == 0)
		return "Transfer-Encoding in an HTTP/1.0 request";
	if (coding != NULL && strcasecmp(coding, "chunked") != 0)
		return "a Transfer-Encoding other than chunked (the only one "
		       "taken)";
	return NULL;
}

/* The request's headers effortd refuses: a NUL byte in its head (RFC 9110
 * 5.5: evhttp would hand us the value cut at the NUL, "Bearer TOKEN\0junk"
 * as "Bearer TOKEN": 400), framing_problem's (400, and the connection
 * closed), an HTTP/1.1 request without exactly one Host
 * (RFC 9112 3.2: 400), two Authorization headers (which identity acts is
 * ambiguous; it is no list, RFC 9110 5.3: 400), a Content-Encoding other
 * than identity (a body is never read as something it was not said to
 * be: 415).  False when it has answered. */
static bool
request_headers_ok(struct request *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *coding, *framing = NULL;
	struct evkeyval *h;
	int hosts = 0, authorizations = 0;

	if (conn_head_nul(r->req) || (framing = framing_problem(r)) != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Connection", "close");
		reply_error(r, 400,
		    framing ? framing
		            : "the request line or a header field contains a "
		              "NUL byte",
		    NULL);
		return false;
	}
	TAILQ_FOREACH(h, in, next)
	{
		hosts += strcasecmp(h->key, "Host") == 0;
		if (strcasecmp(h->key, "Authorization") == 0 &&
		    ++authorizations > 1) {
			reply_error(r, 400,
			    "two Authorization headers; send one", NULL);
			return false;
		}
	}
	if (hosts > 1 ||
	    (hosts == 0 && r->req->major == 1 && r->req->minor >= 1)) {
		reply_error(r, 400,
		    hosts ? "more than one Host header"
		          : "an HTTP/1.1 request must have a Host header",
		    NULL);
		return false;
	}
	coding = evhttp_find_header(in, "Content-Encoding");
	if (coding != NULL && strcasecmp(coding, "identity") != 0) {
		reply_error(r, 415,
		    "a Content-Encoding is not accepted; send the body "
		    "unencoded",
		    NULL);
		return false;
	}
	return true;
}

/* Checks what needs no database; false when it has answered. */
static bool
request_admit(struct request *r, const char *path)
{
	int code;

	if (!conn_request_started(r->req)) {
		reply_error(r, 503, "too many connections", NULL);
		return false;
	}
	if (effortd.draining) {
		reply_error(
		    r, 503, "effortd is shutting down; retry later", NULL);
		return false;
	}
	if (!request_headers_ok(r))
		return false;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) >
	    (size_t)effortd.cfg.max_body) {
		char msg[96];
		snprintf(msg, sizeof msg, "request body larger than %d bytes",
		    effortd.cfg.max_body);
		reply_error(r, 413, msg, NULL);
		return false;
	}
	if ((r->route = route_find(r, path ? path : "/", &code)) == NULL) {
		reply_error(r, code,
		    code == 404 ? "no such resource" : "method not allowed",
		    NULL);
		return false;
	}
	if (r->route->handler != handle_feed &&
	    evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) >
	        SMALL_BODY_MAX) {
		char msg[96];
		snprintf(msg, sizeof msg,
		    "request body larger than %d bytes (only a feed takes more)",
		    SMALL_BODY_MAX);
		reply_error(r, 413, msg, NULL);
		return false;
	}
	return true;
}

void
request_dispatch(struct evhttp_request *req, void *unused)
{
	struct request *r = xcalloc(1, sizeof *r);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct db_owner *previous;

	(void)unused;
	r->req = req;
	r->state = REQ_RECEIVED;
	r->db.changed = request_db_changed;
	r->started = metrics_now();
	TAILQ_INIT(&r->query);
	TAILQ_INSERT_TAIL(&in_flight, r, link);
	effortd.inflight++;
	if (!request_admit(r, evhttp_uri_get_path(uri)))
		return;
	request_arm(r);
	/* What the handler submits works for r (db-pool.h "Owners"). */
	previous = db_owner_enter(&r->db);
	if (r->route->roles == 0) {
		request_to(r, REQ_AUTHENTICATED);
		run_handler(r);
	} else
		authenticate(r);
	db_owner_leave(previous);
}
