/*
 * Request dispatch: matches the route table, authenticates the bearer
 * token (one prepared statement), checks the route's roles and hands the
 * request to its handler.  Also the replies all handlers share, so every
 * error body has the same shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "authcache.h"
#include "conn.h"
#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "token.h"
#include "xmalloc.h"

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
			if (*arg == NULL || len != strlen(*arg))
				return false; /* an encoded NUL */
			path += n;
			pattern = strchr(pattern, '}') + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static void
request_free(struct request *r)
{
	evhttp_clear_headers(&r->query);
	free(r->arg);
	free(r->person_id);
	free(r->token_id);
	free(r);
	if (--effortd.inflight == 0 && effortd.draining)
		effortd_drained();
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
	reply_error(r, 400, err.message,
	    json_pack("[{s:s, s:s}]", "parameter", err.parameter, "message",
	        err.message));
	return false;
}

const char *
request_query(struct request *r, const char *key)
{
	return evhttp_find_header(&r->query, key);
}

void
reply_text(struct request *r, int code, const char *ctype, const char *body,
    size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "Content-Type", ctype);
	evbuffer_add(buf, body, len);
	conn_request_done(r->req);
	evhttp_send_reply(r->req, code, NULL, buf);
	evbuffer_free(buf);
	metrics_request(r->route ? r->route->name : "none", code,
	    metrics_now() - r->started);
	log_debug("%s %s -> %d", r->route ? r->route->name : "-",
	    evhttp_request_get_uri(r->req), code);
	request_free(r);
}

void
reply_json(struct request *r, int code, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));

	json_decref(body);
	if (s == NULL)
		fatal("reply_json: out of memory");
	reply_text(r, code, "application/json", s, strlen(s));
	free(s);
}

void
reply_error(struct request *r, int code, const char *msg, json_t *errors)
{
	json_t *body = json_pack("{s:s}", "error", msg);

	if (errors != NULL)
		json_object_set_new(body, "errors", errors);
	reply_json(r, code, body);
}

void
reply_db_failure(struct request *r, const struct db_result *res)
{
	if (res->status == DB_UNAVAILABLE) {
		reply_error(r, 503,
		    "database unavailable; nothing was stored, "
		    "safe to retry",
		    NULL);
		return;
	}
	log_error("%s: database error %s: %s", r->route->name, res->sqlstate,
	    res->message);
	reply_error(r, 500, "internal error", NULL);
}

void
reply_db_json(struct request *r, const struct db_result *res)
{
	const char *v;
	json_t *doc;

	if (res->status != DB_OK || PQntuples(res->res) != 1) {
		reply_db_failure(r, res);
		return;
	}
	v = PQgetvalue(res->res, 0, 0);
	/* A refusal from the SQL: {"error": "...", "http_status": 409},
	 * perhaps with "errors" (jsonb puts the shorter key first). */
	if (strncmp(v, "{\"error\"", 8) == 0 &&
	    (doc = json_loads(v, 0, NULL)) != NULL) {
		int code = (int)json_integer_value(
		    json_object_get(doc, "http_status"));
		reply_error(r, code ? code : 500,
		    json_string_value(json_object_get(doc, "error"))
		        ?: "refused",
		    json_incref(json_object_get(doc, "errors")));
		json_decref(doc);
		return;
	}
	reply_text(r, 200, "application/json", PQgetvalue(res->res, 0, 0),
	    (size_t)PQgetlength(res->res, 0, 0));
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

/* "this needs a manager or admin token": the roles a route allows. */
static void
refuse_role(struct request *r)
{
	static const char *const names[] = { "feed", "manager", "reviewer",
		"admin" };
	char msg[128] = "this needs a ";
	int roles = r->route->roles, left = __builtin_popcount(roles);

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((roles & (1 << i)) == 0)
			continue;
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
		reply_error(r, 401, "unknown or revoked token", NULL);
		return;
	}
	r->role = role_parse(PQgetvalue(res->res, 0, 0));
	if (!PQgetisnull(res->res, 0, 1))
		r->person_id = xstrdup(PQgetvalue(res->res, 0, 1));
	r->token_id = xstrdup(PQgetvalue(res->res, 0, 2));
	authcache_put(r->token_hash, r->role, r->person_id, r->token_id);
	authorised(r);
}

static void
authenticate(struct request *r)
{
	const char *token = bearer_token(r);
	const char *params[1] = { r->token_hash };

	if (token == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate", "Bearer");
		reply_error(r, 401, "missing bearer token", NULL);
		return;
	}
	token_hash_hex(token, r->token_hash);
	if (authcache_get(r->token_hash, r))
		authorised(r);
	else
		db_query(effortd.db, STMT_AUTH, 1, params, auth_done, r);
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

void
request_dispatch(struct evhttp_request *req, void *unused)
{
	struct request *r = xcalloc(1, sizeof *r);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	int code;

	(void)unused;
	r->req = req;
	r->started = metrics_now();
	TAILQ_INIT(&r->query);
	effortd.inflight++;
	if (!conn_request_started(req)) {
		reply_error(r, 503, "too many connections", NULL);
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    (size_t)effortd.cfg.max_body) {
		char msg[96];
		snprintf(msg, sizeof msg, "request body larger than %d bytes",
		    effortd.cfg.max_body);
		reply_error(r, 413, msg, NULL);
		return;
	}
	if ((r->route = route_find(r, path ? path : "/", &code)) == NULL) {
		reply_error(r, code,
		    code == 404 ? "no such resource" : "method not allowed",
		    NULL);
		return;
	}
	if (r->route->roles == 0)
		run_handler(r);
	else
		authenticate(r);
}
