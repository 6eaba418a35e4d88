/*
 * Client connections.  evhttp asks conn_bufferevent() for each accepted
 * connection's bufferevent: a socket one, or an OpenSSL one when TLS is
 * configured.  We keep a reference to it, so it outlives evhttp's
 * bufferevent_free(); a reaper running every REAP_MS notices the
 * connections evhttp has let go (their callbacks are cleared), drops our
 * reference (which closes the socket) and forgets them.  That gives each
 * connection a struct conn:
 *
 *   - counted against limits.max_connections: one more is answered 503
 *     (plain HTTP) and shut down at once;
 *   - a deadline of limits.request_timeout seconds for a whole request to
 *     arrive, armed when the connection opens and after each reply and
 *     disarmed while a request is being handled.  A client that trickles
 *     bytes (slowloris) keeps resetting evhttp's idle timeout
 *     (limits.idle_timeout) but not this one; its socket is shut down.
 *     A request still arriving at limits.min_rate bytes a second or more
 *     (a large feed, a slow link, or effortd reading slowly: libevent 2.1
 *     reads 4 KiB a turn of the loop) gets another period;
 *   - while a request is handled, a watch on the socket that tells the
 *     request when its client closes the connection (evhttp stops reading
 *     while a request is handled, so its close callback would not fire);
 *   - whether a NUL byte came in the head of the request (request line,
 *     headers, chunk framing, trailers): evhttp keeps header values as C
 *     strings, so "Bearer TOKEN\0junk" would reach us as "Bearer TOKEN".
 *     A callback on the input buffer notes the stream offset of the first
 *     NUL and counts the bytes evhttp takes; when a request is complete,
 *     its head is what evhttp took since the previous one, less the body.
 *     (A chunked body is longer on the wire than decoded by its framing,
 *     so a NUL within that many bytes of its start is counted as the
 *     head's: a 400 where the body would have been refused anyway.)
 *
 * (libevent 2.1 has no connection limit, no hook when a server connection
 * closes, and its filtering bufferevents cannot take the socket evhttp
 * attaches after this callback: hence the reference and the reaper.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "http-conn.h"
#include "http-layer-errors.h"
#include "http-tls.h"
#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define REAP_MS         200
#define FLUSH_POLL_USEC 50000
#define FLUSH_POLLS     20 /* a second at most */
#define NO_NUL          UINT64_MAX

struct conn {
	struct bufferevent *bev; /* socket or TLS; one reference is ours */
	struct event *timer;     /* deadline, or the refusal */
	bool busy;               /* a request is being handled */
	bool refused;
	struct event *gone_ev; /* busy: watches for the client closing */
	void (*gone)(void *);
	void *gone_arg;
	/* Offsets in the stream of bytes the client sent: */
	uint64_t taken;    /* the bytes evhttp has taken from the input */
	uint64_t scanned;  /* the bytes looked at for a NUL */
	uint64_t nul_at;   /* the first NUL of the request being read, or
	                      NO_NUL */
	uint64_t armed_at; /* scanned when the deadline was armed */
	bool head_nul;     /* the request handled had a NUL in its head */
	LIST_ENTRY(conn) entry;
};

static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);
static int nconns;
static struct event *reaper;

static bool conn_released(struct conn *);
static void arm(struct conn *);
static void on_input(
    struct evbuffer *, const struct evbuffer_cb_info *, void *);

static const char refusal[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\nConnection: close\r\n"
    "Content-Length: 34\r\n\r\n"
    "{\"error\":\"too many connections\"}\r\n";

static void
conn_cut(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_released(c))
		return;
	if (c->refused) {
		evutil_socket_t s = bufferevent_getfd(c->bev);
		if (s >= 0 && tls_context() == NULL &&
		    send(s, refusal, sizeof refusal - 1, MSG_NOSIGNAL) < 0)
			log_debug("refusing a connection: send failed");
	} else if (c->busy) {
		return;
	} else if (c->scanned - c->armed_at >=
	           (uint64_t)effortd.cfg.request_timeout *
	               (uint64_t)effortd.cfg.min_rate) {
		arm(c); /* arriving steadily: another period */
		return;
	} else {
		log_info("closing a connection that took over %d s to send "
		         "its request",
		    effortd.cfg.request_timeout);
	}
	conn_cut(c);
}

static void
arm(struct conn *c)
{
	struct timeval tv = { effortd.cfg.request_timeout, 0 };

	c->armed_at = c->scanned;
	evtimer_add(c->timer, &tv);
}

/* Whether evhttp has freed the connection (bufferevent_free() clears
 * the callbacks it set). */
static bool
conn_released(struct conn *c)
{
	bufferevent_event_cb eventcb;

	bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

static void
conn_forget(struct conn *c)
{
	LIST_REMOVE(c, entry);
	nconns--;
	metrics_connection(-1, false);
	event_free(c->timer);
	if (c->gone_ev != NULL)
		event_free(c->gone_ev);
	evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
	bufferevent_decref(c->bev);
	free(c);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (c = LIST_FIRST(&conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (conn_released(c))
			conn_forget(c);
	}
}

/* The offset of the first NUL in buf from byte from, or NO_NUL. */
static uint64_t
nul_search(struct evbuffer *buf, size_t from)
{
	struct evbuffer_ptr p;

	if (from >= evbuffer_get_length(buf) ||
	    evbuffer_ptr_set(buf, &p, from, EVBUFFER_PTR_SET) != 0)
		return NO_NUL;
	p = evbuffer_search(buf, "", 1, &p);
	return p.pos < 0 ? NO_NUL : (uint64_t)p.pos;
}

/* The input buffer grew (the client's bytes) or shrank (evhttp took
 * some): counts them, and looks for the first NUL in the new ones. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	uint64_t at;

	c->taken += info->n_deleted;
	if (c->scanned < c->taken)
		c->scanned = c->taken;
	if (c->nul_at == NO_NUL &&
	    (at = nul_search(buf, (size_t)(c->scanned - c->taken))) != NO_NUL)
		c->nul_at = c->taken + at;
	c->scanned = c->taken + evbuffer_get_length(buf);
}

/* A request is complete: whether its head (all evhttp took for it but
 * the body) had a NUL; then the next request's head starts. */
static void
head_judge(struct conn *c, struct evhttp_request *req)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t body = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	uint64_t at;

	c->head_nul = c->nul_at != NO_NUL && c->nul_at + body < c->taken;
	c->nul_at = NO_NUL;
	/* A pipelined request's bytes, already scanned, are still there. */
	at = nul_search(in, 0);
	if (at != NO_NUL && c->taken + at < c->scanned)
		c->nul_at = c->taken + at;
}

static struct bufferevent *
conn_bufferevent(struct event_base *base, void *arg)
{
	struct conn *c = xcalloc(1, sizeof *c);
	SSL_CTX *ctx = tls_context();
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;

	(void)arg;
	on_reap(-1, 0, NULL);
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev =
		    bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_incref(c->bev);
	c->nul_at = NO_NUL;
	evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	http_layer_errors_watch(c->bev);
	c->timer = evtimer_new(base, on_timer, c);
	LIST_INSERT_HEAD(&conns, c, entry);
	nconns++;
	c->refused = nconns > effortd.cfg.max_connections;
	metrics_connection(1, c->refused);
	if (c->refused) {
		/* The socket is attached after we return: act a moment later.
		 */
		struct timeval now = { 0, 0 };
		log_warn(
		    "refusing a connection: %d open (limits.max_connections)",
		    nconns - 1);
		evtimer_add(c->timer, &now);
	} else
		arm(c);
	return c->bev;
}

static struct conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct conn *c;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	LIST_FOREACH(c, &conns, entry)
	if (c->bev == bev)
		return c;
	return NULL;
}

bool
conn_request_started(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);

	if (c == NULL)
		return true;
	if (c->refused)
		return false; /* the refusal timer still cuts it */
	head_judge(c, req);
	c->busy = true;
	evtimer_del(c->timer);
	return true;
}

void
conn_request_done(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);

	if (c != NULL && !c->refused) {
		c->busy = false;
		c->gone = NULL;
		if (c->gone_ev != NULL)
			event_del(c->gone_ev);
		arm(c);
	}
}

bool
conn_head_nul(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);

	return c != NULL && c->head_nul;
}

/* The socket is readable while a request is handled: EOF or an error is
 * the client gone; data (a pipelined request) ends the watch. */
static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	void (*gone)(void *) = c->gone;
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_del(c->gone_ev);
	c->gone = NULL;
	if (n <= 0 && gone != NULL) {
		log_info("the client went away before its reply (%s)",
		    n < 0 ? strerror(errno) : "connection closed");
		gone(c->gone_arg);
	}
}

void
conn_watch_close(struct evhttp_request *req, void (*gone)(void *), void *arg)
{
	struct conn *c = conn_of(req);
	evutil_socket_t fd;

	if (c == NULL || c->refused || (fd = bufferevent_getfd(c->bev)) < 0)
		return;
	if (c->gone_ev == NULL || event_get_fd(c->gone_ev) != fd) {
		if (c->gone_ev != NULL)
			event_free(c->gone_ev);
		c->gone_ev = event_new(
		    effortd.base, fd, EV_READ | EV_PERSIST, on_readable, c);
	}
	c->gone = gone;
	c->gone_arg = arg;
	event_add(c->gone_ev, NULL);
}

void
conn_apply_limits(struct evhttp *http)
{
	evhttp_set_timeout(http, effortd.cfg.idle_timeout);
	evhttp_set_max_headers_size(http, effortd.cfg.max_header_size);
}

void
conn_setup(struct evhttp *http)
{
	struct timeval tv = { 0, REAP_MS * 1000 };

	evhttp_set_bevcb(http, conn_bufferevent, NULL);
	conn_apply_limits(http);
	reaper = event_new(effortd.base, -1, EV_PERSIST, on_reap, NULL);
	event_add(reaper, &tv);
}

int
conn_open_count(void)
{
	on_reap(-1, 0, NULL);
	return nconns;
}

/* After evhttp_free(): every connection is released; forget them all. */
void
conn_shutdown(void)
{
	on_reap(-1, 0, NULL);
	if (reaper != NULL)
		event_free(reaper);
	reaper = NULL;
}

/* Stops the loop once the replies have left (their connections close
 * after them) or a second has passed. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	static int polls;
	struct timeval tv = { 0, FLUSH_POLL_USEC };

	(void)fd;
	(void)what;
	(void)arg;
	if (conn_open_count() == 0 || ++polls >= FLUSH_POLLS)
		event_base_loopexit(effortd.base, NULL);
	else
		event_base_once(
		    effortd.base, -1, EV_TIMEOUT, on_flush, NULL, &tv);
}

void
conn_drained(void)
{
	static bool flushing;
	struct timeval now = { 0, 0 };

	if (flushing)
		return;
	flushing = true;
	event_base_once(effortd.base, -1, EV_TIMEOUT, on_flush, NULL, &now);
}
