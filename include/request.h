/*
 * One HTTP request as the handlers see it: the libevent request, the
 * authenticated caller, the captured path argument and the query string,
 * plus the replies every handler uses.  A request lives until it is
 * answered; each handler answers exactly once.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stdbool.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "db.h"
#include "query.h"

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

struct request {
	struct evhttp_request *req;
	const struct route *route;
	char *arg;              /* the {…} path segment, decoded */
	struct evkeyvalq query; /* decoded query string */
	enum role role;
	char *person_id;     /* manager tokens */
	char *token_id;      /* as text, for SQL parameters */
	char token_hash[65]; /* SHA-256 (hex) of the bearer token */
	bool answered;
	double started; /* metrics_now() at arrival */
};

extern const struct route routes[];

void request_dispatch(struct evhttp_request *, void *);

/* Parses the query string against the route's parameters (query.c);
 * false when it answered 400. */
bool request_query_parse(struct request *);
/* Query parameter or NULL. */
const char *request_query(struct request *, const char *);
/* Replies; each frees the request. */
void reply_json(struct request *, int code, json_t *); /* steals */
void reply_text(struct request *, int code, const char *ctype, const char *body,
    size_t len);
void reply_error(struct request *, int code, const char *msg,
    json_t *errors); /* steals errors (may be NULL) */
/* The standard answer to a failed database job: 503 or 500. */
void reply_db_failure(struct request *, const struct db_result *);
/* A DB_OK job's single jsonb value as a 200 reply, or NULL-safe 500. */
void reply_db_json(struct request *, const struct db_result *);

#endif
