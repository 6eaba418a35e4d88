/*
 * HTTPS requests over libevent's HTTP client (see https.h): one
 * connection per request, an OpenSSL bufferevent whose SSL object checks
 * the certificate chain (system CA store or a CA file) and the URL's
 * host name (SSL_set1_host, or the IP address for a numeric host), with
 * SNI.  A failure is reported with the most precise reason at hand: the
 * certificate check's, OpenSSL's, the socket's or the timeout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "https.h"
#include "xmalloc.h"

#define MAX_BODY (1024 * 1024)

struct https_fetch {
	struct event_base *base;
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* NULL once answered */
	struct bufferevent *bev;
	SSL *ssl;
	struct event *reap; /* frees conn outside evhttp's callback */
	https_done_fn done;
	void *arg;
	char host[256];
	int timeout;
	enum evhttp_request_error error;
	bool have_error;
	int socket_errno;
	struct timeval started;
};

/* Seconds since the fetch started. */
static double
elapsed(const struct https_fetch *f)
{
	struct timeval now, d;

	evutil_gettimeofday(&now, NULL);
	evutil_timersub(&now, &f->started, &d);
	return (double)d.tv_sec + (double)d.tv_usec / 1e6;
}

SSL_CTX *
https_client_ctx(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL && *ca_file != '\0')
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		char why[160];
		ERR_error_string_n(ERR_get_error(), why, sizeof why);
		ERR_clear_error();
		snprintf(err, errlen, "cannot load the CA certificates %s: %s",
		    ca_file && *ca_file ? ca_file : "of the system", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct https_fetch *f = arg;

	(void)fd;
	(void)what;
	if (f->conn != NULL)
		evhttp_connection_free(f->conn); /* frees bev and ssl */
	event_free(f->reap);
	free(f);
}

/* The reason a request got no answer, as precise as can be said. */
static void
describe_failure(struct https_fetch *f, char *out, size_t len)
{
	long verify = f->ssl ? SSL_get_verify_result(f->ssl) : X509_V_OK;
	unsigned long ssl_err =
	    f->bev ? bufferevent_get_openssl_error(f->bev) : 0;

	if (verify != X509_V_OK) {
		snprintf(out, len, "TLS: the certificate of %s was refused: %s",
		    f->host, X509_verify_cert_error_string(verify));
	} else if (ssl_err != 0) {
		char why[160];
		ERR_error_string_n(ssl_err, why, sizeof why);
		snprintf(out, len, "TLS with %s failed: %s", f->host, why);
	} else if ((f->have_error && f->error == EVREQ_HTTP_TIMEOUT) ||
	           elapsed(f) >= f->timeout - 0.05) {
		/* evhttp reports a TLS handshake that times out as EOF. */
		snprintf(out, len, "%s did not answer within %d s", f->host,
		    f->timeout);
	} else if (f->socket_errno != 0) {
		snprintf(out, len, "cannot connect to %s: %s", f->host,
		    strerror(f->socket_errno));
	} else {
		snprintf(out, len,
		    "cannot connect to %s (no answer: the connection failed "
		    "or was closed)",
		    f->host);
	}
	ERR_clear_error();
}

static void
on_error(enum evhttp_request_error error, void *arg)
{
	struct https_fetch *f = arg;

	f->error = error;
	f->have_error = true;
	f->socket_errno = EVUTIL_SOCKET_ERROR();
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct https_fetch *f = arg;
	struct https_result res = { 0 };
	struct timeval now = { 0, 0 };

	if (req != NULL && evhttp_request_get_response_code(req) != 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		res.status = evhttp_request_get_response_code(req);
		res.len = evbuffer_get_length(in);
		res.body = xmalloc(res.len + 1);
		evbuffer_remove(in, res.body, res.len);
		res.body[res.len] = '\0';
	} else
		describe_failure(f, res.error, sizeof res.error);
	f->req = NULL;
	f->done(&res, f->arg);
	free(res.body);
	evtimer_add(f->reap, &now);
}

/* Splits an https:// URL; false with err filled when it is not one. */
static bool
url_split(const char *url, struct evhttp_uri **uri, int *port, char *err,
    size_t errlen)
{
	const char *scheme, *host;

	*uri = evhttp_uri_parse(url);
	scheme = *uri ? evhttp_uri_get_scheme(*uri) : NULL;
	host = *uri ? evhttp_uri_get_host(*uri) : NULL;
	if (scheme == NULL || strcasecmp(scheme, "https") != 0 ||
	    host == NULL || *host == '\0' || strlen(host) >= 256) {
		snprintf(err, errlen, "\"%s\" is not an https:// URL", url);
		if (*uri)
			evhttp_uri_free(*uri);
		*uri = NULL;
		return false;
	}
	*port = evhttp_uri_get_port(*uri);
	if (*port <= 0)
		*port = 443;
	return true;
}

/* The SSL object for host: SNI and the name (or address) checked. */
static SSL *
ssl_for_host(SSL_CTX *ctx, const char *host)
{
	SSL *ssl = SSL_new(ctx);
	unsigned char addr[16];
	bool numeric = evutil_inet_pton(AF_INET, host, addr) == 1 ||
	               evutil_inet_pton(AF_INET6, host, addr) == 1;

	if (numeric)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return ssl;
}

/* The request line's target: path (or "/") and query. */
static char *
url_target(const struct evhttp_uri *uri)
{
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	size_t n = strlen(path ? path : "") + strlen(query ? query : "") + 3;
	char *out = xmalloc(n);

	snprintf(out, n, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
	    query ? query : "");
	return out;
}

struct https_fetch *
https_fetch_start(struct event_base *base, struct evdns_base *dns, SSL_CTX *ctx,
    const char *url, const char *form, int timeout_seconds, https_done_fn done,
    void *arg, char *err, size_t errlen)
{
	struct evhttp_uri *uri;
	struct https_fetch *f;
	struct evkeyvalq *h;
	char *target;
	int port;

	if (!url_split(url, &uri, &port, err, errlen))
		return NULL;
	f = xcalloc(1, sizeof *f);
	f->base = base;
	f->done = done;
	f->arg = arg;
	f->timeout = timeout_seconds;
	evutil_gettimeofday(&f->started, NULL);
	snprintf(f->host, sizeof f->host, "%s", evhttp_uri_get_host(uri));
	if (f->host[0] == '[') { /* an IPv6 literal */
		memmove(f->host, f->host + 1, strlen(f->host));
		f->host[strcspn(f->host, "]")] = '\0';
	}
	f->ssl = ssl_for_host(ctx, f->host);
	f->bev = bufferevent_openssl_socket_new(base, -1, f->ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	bufferevent_openssl_set_allow_dirty_shutdown(f->bev, 1);
	f->conn = evhttp_connection_base_bufferevent_new(
	    base, dns, f->bev, f->host, (unsigned short)port);
	evhttp_connection_set_timeout(f->conn, timeout_seconds);
	evhttp_connection_set_max_body_size(f->conn, MAX_BODY);
	evhttp_connection_set_retries(f->conn, 0);
	f->reap = evtimer_new(base, on_reap, f);
	f->req = evhttp_request_new(on_done, f);
	evhttp_request_set_error_cb(f->req, on_error);
	h = evhttp_request_get_output_headers(f->req);
	if (evhttp_uri_get_port(uri) > 0) {
		char hostport[300];
		snprintf(hostport, sizeof hostport, "%s:%d",
		    evhttp_uri_get_host(uri), port);
		evhttp_add_header(h, "Host", hostport);
	} else
		evhttp_add_header(h, "Host", evhttp_uri_get_host(uri));
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "User-Agent", "effortd");
	if (form != NULL) {
		evhttp_add_header(
		    h, "Content-Type", "application/x-www-form-urlencoded");
		evbuffer_add(evhttp_request_get_output_buffer(f->req), form,
		    strlen(form));
	}
	target = url_target(uri);
	evhttp_make_request(f->conn, f->req,
	    form != NULL ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, target);
	free(target);
	evhttp_uri_free(uri);
	return f;
}

void
https_fetch_cancel(struct https_fetch *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		evhttp_cancel_request(f->req);
	f->req = NULL;
	if (evtimer_pending(f->reap, NULL))
		evtimer_del(f->reap);
	on_reap(-1, 0, f);
}

struct sync_state {
	struct https_result *res;
};

static void
sync_done(const struct https_result *res, void *arg)
{
	struct sync_state *st = arg;

	*st->res = *res;
	st->res->body = res->body ? xstrdup(res->body) : NULL;
}

struct https_result *
https_fetch_sync(
    SSL_CTX *ctx, const char *url, const char *form, int timeout_seconds)
{
	struct event_base *base = event_base_new();
	struct https_result *res = xcalloc(1, sizeof *res);
	struct sync_state st = { res };
	struct https_fetch *f;

	f = https_fetch_start(base, NULL, ctx, url, form, timeout_seconds,
	    sync_done, &st, res->error, sizeof res->error);
	if (f != NULL)
		event_base_dispatch(base); /* ends once the reap has run */
	event_base_free(base);
	return res;
}

void
https_result_free(struct https_result *res)
{
	if (res == NULL)
		return;
	free(res->body);
	free(res);
}
