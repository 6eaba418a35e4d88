/*
 * POST /v1/<feed>: the HTTP side of the ingest pipeline (ingest-feed.c).
 * The body is read as its Content-Type says; the answer waits for the
 * re-evaluation of the people the batch touched (reply_after_audit), so
 * that a client that posts and then reads sees it; ?preview=true answers
 * with the findings the batch would open and resolve.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "api-feed-type.h"
#include "api-handlers.h"
#include "ingest-feed.h"
#include "log.h"
#include "request.h"

/* Whether the client closed its end: its socket reads as ended (a peek,
 * so that a pipelined request stays where it is), or the request was
 * cancelled (client gone, deadline, shutdown): answered already, its
 * r->req is NULL. */
static bool
http_client_gone(void *arg)
{
	struct request *r = arg;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	evutil_socket_t fd;
	char c;
	ssize_t n;

	if (r->req == NULL)
		return true;
	if ((evcon = evhttp_request_get_connection(r->req)) == NULL)
		return true;
	if ((bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0)
		return false;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	                     errno != EINTR);
}

/* ?preview=true (request-query.c let only true or false through). */
static bool
wants_preview(struct request *r)
{
	const char *preview = request_query(r, "preview");

	return preview != NULL && strcmp(preview, "true") == 0;
}

/* A preview's answer: the counts and findings in docs/api.md's order,
 * then whatever else ingest_preview passed on.  NULL: a 500. */
static json_t *
preview_reply(json_t *d)
{
	json_t *out = json_pack("{s:b, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
	    "preview", 1, "as_of", json_object_get(d, "as_of"), "accepted",
	    json_object_get(d, "accepted"), "created",
	    json_object_get(d, "created"), "updated",
	    json_object_get(d, "updated"), "unchanged",
	    json_object_get(d, "unchanged"), "opened",
	    json_object_get(d, "opened"), "resolved",
	    json_object_get(d, "resolved"));

	if (out != NULL)
		json_object_update_missing(out, d);
	return out;
}

static void
http_done(const struct feed_outcome *o, void *arg)
{
	struct request *r = arg;
	json_t *d = o->doc;

	/* Cancelled (its client gone, its deadline, a shutdown) once the batch
	 * was read whole: the merge and commit ran on, and the log's
	 * "cancelled" line is not the end of it. */
	if (r->state == REQ_CANCELLED && o->status == 200 && !wants_preview(r))
		log_info(
		    "%s: stored all the same (%lld records accepted) after "
		    "it was cancelled (%s); sending it again is safe",
		    r->route->name,
		    (long long)json_integer_value(
		        json_object_get(d, "accepted")),
		    r->cancelled_why ? r->cancelled_why : "?");
	if (o->status == 200 && wants_preview(r))
		reply_json(r, 200, preview_reply(d));
	else if (o->status == 200)
		/* API.md's order: accepted, created, updated, unchanged. */
		reply_after_audit(
		    r, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O*}", "accepted",
		           json_object_get(d, "accepted"), "created",
		           json_object_get(d, "created"), "updated",
		           json_object_get(d, "updated"), "unchanged",
		           json_object_get(d, "unchanged"), "people",
		           json_object_get(d, "people"), "warnings",
		           json_object_get(d, "warnings")));
	else if (o->db != NULL)
		reply_db_failure(r, o->db);
	else
		reply_error(r, o->status, o->message, json_incref(o->errors));
}

void
handle_feed(struct request *r)
{
	const struct feed_spec *feed = r->route->data;
	struct feed_source src = { .feed = feed,
		.body = evhttp_request_get_input_buffer(r->req),
		.token_id = r->token_id,
		.stmt = feed->stmt,
		.gone = http_client_gone,
		.preview = wants_preview(r) };

	/* The route lets a reviewer in only to preview (http-routes.c). */
	if (!src.preview && (r->role & (ROLE_FEED | ROLE_ADMIN)) == 0) {
		reply_error(r, 403, "this needs a feed or admin token", NULL);
		return;
	}
	if (feed_content_type(r, &src.csv)) /* else answered 415 */
		feed_ingest(&src, http_done, r);
}
