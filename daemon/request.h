/*
 * One HTTP request as the handlers see it: the libevent request, the
 * authenticated caller, the captured path argument and the query string,
 * plus the replies every handler uses.  Each handler answers exactly once
 * (reply_*); request_send() in http-server.c is the one place a reply leaves.
 *
 * Its lifecycle (enum request_state, moved only by request_to()):
 *
 *   RECEIVED --token checked--> AUTHENTICATED <--> WAITING_DB
 *       |  ^---(token lookup)--> WAITING_DB           |
 *       |  ^---(provider's keys)--> WAITING_IDP       |
 *       +-----------+-----------------+---------------+--> REPLYING --> DONE
 *                   +-----------------+---------------+--> CANCELLED --> DONE
 *
 * WAITING_DB: a database job works for the request (r->db.job, see
 * "Owners" in db-pool.h); the request returns to where it was when the job's
 * callback starts.  WAITING_IDP: the OIDC token's signing keys are being
 * fetched from the identity provider (auth-oidc.c); it returns to RECEIVED
 * when they come.  CANCELLED: the client went away (its connection
 * closed), the request's deadline passed, or effortd is shutting down;
 * the job in flight is cancelled, the client (if still there) has had its
 * 503, and the handler's own reply, when it comes, is dropped; that
 * reply is what frees the request, so handlers need not know.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stdbool.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "db-pool.h"
#include "request-query.h"

enum role {
	ROLE_FEED = 1 << 0,
	ROLE_MANAGER = 1 << 1,
	ROLE_REVIEWER = 1 << 2,
	ROLE_ADMIN = 1 << 3,
};
#define ROLE_ANY (ROLE_FEED | ROLE_MANAGER | ROLE_REVIEWER | ROLE_ADMIN)

struct request;
typedef void (*handler_fn)(struct request *);

struct route {
	enum evhttp_cmd_type method;
	const char *pattern; /* "/v1/timesheets/{id}/versions" */
	int roles;           /* 0: no token needed */
	handler_fn handler;
	const char *name; /* for logs and metrics */
	const void *data; /* handler-specific (feed spec) */
	/* The query parameters it takes, NULL-terminated; NULL: none. */
	const struct query_param *query;
};

enum request_state {
	REQ_RECEIVED,      /* route found; caller not yet known */
	REQ_AUTHENTICATED, /* the handler works */
	REQ_WAITING_DB,    /* a database job works for it (db.job) */
	REQ_WAITING_IDP,   /* parked until the identity provider's keys come */
	REQ_REPLYING,      /* its reply is leaving */
	REQ_DONE,          /* answered; freed */
	REQ_CANCELLED,     /* answered early or client gone; see above */
};

struct request {
	struct evhttp_request *req; /* NULL once the reply has left */
	enum request_state state;
	bool authenticated; /* WAITING_DB returns to AUTHENTICATED */
	struct db_owner db; /* the database job in flight */
	struct event *deadline;
	TAILQ_ENTRY(request) link; /* every request in flight */
	const struct route *route;
	char *arg;              /* the {…} path segment, decoded */
	struct evkeyvalq query; /* decoded query string */
	enum role role;
	char *person_id;       /* manager tokens */
	char *token_id;        /* as text, for SQL parameters */
	char token_hash[65];   /* SHA-256 (hex) of the bearer token */
	unsigned auth_cleared; /* authcache_cleared() when its lookup began */
	double started;        /* metrics_now() at arrival */
	json_t *pending_reply; /* reply_after_audit: the answer to come */
	const char *cancelled_why; /* REQ_CANCELLED: request_cancel's why */
};

extern const struct route routes[];

void request_dispatch(struct evhttp_request *, void *);

/* Moves r to state next (the one transition function). */
void request_to(struct request *, enum request_state next);
/* Cancels r unless it is answered: the database job is cancelled and the
 * client gets code with error why (code 0: the client is gone). */
void request_cancel(struct request *, int code, const char *why);
/* At shutdown: cancels every request in flight with a 503 and returns
 * how many there were. */
int requests_cancel_all(const char *why);
/* After the pools are freed: frees what is left. */
void requests_free_all(void);

/* Parses the query string against the route's parameters (request-query.c);
 * false when it answered 400. */
bool request_query_parse(struct request *);
/* Query parameter or NULL. */
const char *request_query(struct request *, const char *);
/* The request body parsed as one JSON value (the caller's reference), or
 * NULL when it is not JSON, with jansson's line, column and text in *err
 * when err is not NULL (a key twice in an object is such an error, as in
 * a feed; a \u0000 escape is not: strings may hold NULs).  For the small bodies
 * of the non-feed routes; a feed's body is read in slices (ingest-feed.c). */
json_t *request_body_json(struct request *, json_error_t *err);
/* Replies; each frees the request. */
void reply_json(struct request *, int code, json_t *); /* steals */
void reply_text(struct request *, int code, const char *ctype, const char *body,
    size_t len);
void reply_error(struct request *, int code, const char *msg,
    json_t *errors); /* steals errors (may be NULL) */
/* A 400 for a bad query parameter: {"error": msg, "errors":
 * [{"parameter": parameter, "message": msg}]}. */
void reply_param_error(
    struct request *, const char *parameter, const char *msg);
/* True when query parameter name is absent or a date YYYY-MM-DD effortd
 * takes (1900-01-01 to 9999-12-31); else it has answered that 400. */
bool request_date_ok(struct request *, const char *name);
/* A 401 with its WWW-Authenticate challenge (RFC 6750): "Bearer" when the
 * request had no token, with error="invalid_token" when it had one that
 * is refused (unknown, revoked, expired, not verified). */
void reply_unauthorised(struct request *, bool token_given, const char *msg);
/* reply_error with one error naming the field: {"error": msg, "errors":
 * [{"field": field, "message": message}]}. */
void reply_field_error(struct request *, int code, const char *msg,
    const char *field, const char *message);
/* The request body as a JSON object (the caller's reference) whose
 * members are all among fields (ended by one without a name), or NULL when
 * it answered: 400 for a body that is not such an object ("invalid JSON
 * at line 1, column 9: ...; expected a JSON object {role, person_id,
 * label}", without the syntax error when the body parsed, "the body is
 * empty; ..." for none), 422 naming a member that is not one of them
 * ("unknown field; did you mean label?"), as a feed names one, so that a
 * misspelt optional member is not ignored, and 422 naming a string member
 * with a NUL character ("contains a NUL character", as in a feed). */
struct field_spec;
json_t *request_body_object(struct request *, const struct field_spec *fields);
/* The standard answer to a failed database job: 503 or 500. */
void reply_db_failure(struct request *, const struct db_result *);
/* A job's single jsonb value as the reply: 200 with the value as it is,
 * the SQL's refusal, or a failure. */
void reply_db_json(struct request *, const struct db_result *);
/* A refusal document ({"error", "http_status", "errors"?}) as the reply. */
void reply_refusal(struct request *, int code, json_t *refusal);

/*
 * The one refusal protocol between SQL and C: a statement answers one
 * jsonb value; an object with an integer "http_status" (400-599) and a
 * string "error" is a refusal (effort_refuse() in the SQL), anything else
 * is the document.  Returns 200 with the document in *doc, the refusal's
 * status with the refusal in *doc, or 500 with the reason in why (no row,
 * not JSON, a failed job: use reply_db_failure for those first).  What
 * the caller reads of a document decides what is parsed; a document left
 * unparsed is 200 with *doc NULL, sent on as the statement wrote it.
 */
enum sql_parse {
	SQL_PARSE_ALL,     /* every document */
	SQL_PARSE_OBJECTS, /* objects; an array is a document, unparsed */
	SQL_PARSE_REFUSALS /* only a value that may be a refusal */
};
int sql_answer(const struct db_result *, enum sql_parse, json_t **doc,
    char *why, size_t whylen);
/*
 * A finished job's answer read by sql_answer: true with the document in
 * *doc (the caller's; NULL when left unparsed); false when it has
 * already replied with the job's failure, the SQL's refusal or a 500.
 */
bool db_answer_document(
    struct request *, const struct db_result *, enum sql_parse, json_t **doc);

/*
 * "Store, re-audit, reply", written once: re-evaluates the people listed
 * in out["people"] (audit_rescore), then answers 200 with out less that
 * key.  Steals out; NULL (a reply that could not be built) is a 500.
 */
void reply_after_audit(struct request *, json_t *out);
/* The database callback of a change (arg: the request): a refusal is
 * answered as the SQL gave it, otherwise as reply_after_audit. */
void reply_db_change(const struct db_result *, void *arg);

#endif
