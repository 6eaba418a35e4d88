/*
 * effortctl's HTTP client over libevent: builds one request (bearer token,
 * JSON or CSV body), runs an event base until the reply or the timeout,
 * and turns the reply into a struct response with the API's error body
 * parsed.  Also maps replies to effortctl's exit statuses and reports
 * failures in one consistent form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cli.h"
#include "client.h"
#include "log.h"
#include "xmalloc.h"

struct request_state {
	struct event_base *base;
	struct response *resp;
	bool done;
	bool have_error;
	enum evhttp_request_error error;
};

/* Splits the URL into host, port and path prefix; an exit status. */
static int
parse_url(struct client *cl)
{
	struct evhttp_uri *uri = evhttp_uri_parse(cl->s.url);
	const char *scheme, *host, *path;
	size_t n;

	if (uri == NULL) {
		log_error("invalid URL: %s", cl->s.url);
		return EXIT_USAGE;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0 || host == NULL ||
	    *host == '\0') {
		log_error("invalid URL %s: expected http://HOST[:PORT][/PATH]",
		    cl->s.url);
		evhttp_uri_free(uri);
		return EXIT_USAGE;
	}
	n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']')
		cl->host = xstrndup(host + 1, n - 2);
	else
		cl->host = xstrdup(host);
	cl->port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	path = evhttp_uri_get_path(uri);
	cl->prefix = xstrdup(path != NULL ? path : "");
	n = strlen(cl->prefix);
	while (n > 0 && cl->prefix[n - 1] == '/')
		cl->prefix[--n] = '\0';
	evhttp_uri_free(uri);
	return EXIT_OK;
}

int
client_init(struct client *cl, const struct cli_ctx *ctx)
{
	int rc;

	memset(cl, 0, sizeof *cl);
	if ((rc = settings_load(ctx, &cl->s)) != EXIT_OK)
		return rc;
	if ((rc = parse_url(cl)) != EXIT_OK)
		client_free(cl);
	return rc;
}

void
client_free(struct client *cl)
{
	settings_free(&cl->s);
	free(cl->host);
	free(cl->prefix);
	memset(cl, 0, sizeof *cl);
}

/* Appends "?key=value" or "&key=value" to *path; skips a NULL value. */
void
client_query_add(char **path, const char *key, const char *value)
{
	char *enc, *next;

	if (value == NULL)
		return;
	if ((enc = evhttp_uriencode(value, -1, 0)) == NULL)
		fatal("evhttp_uriencode failed");
	xasprintf(&next, "%s%c%s=%s", *path,
	    strchr(*path, '?') != NULL ? '&' : '?', key, enc);
	free(enc);
	free(*path);
	*path = next;
}

const char *
json_text(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void
parse_errors(struct response *resp, json_t *arr)
{
	size_t i;
	json_t *e, *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	resp->errors = xcalloc(json_array_size(arr), sizeof *resp->errors);
	json_array_foreach(arr, i, e)
	{
		struct api_error *ae = &resp->errors[resp->nerrors++];
		const char *s;

		v = json_object_get(e, "index");
		ae->index = json_is_integer(v) ? json_integer_value(v) : -1;
		v = json_object_get(e, "line");
		ae->line = json_is_integer(v) ? json_integer_value(v) : -1;
		s = json_text(e, "field");
		ae->field = s != NULL && *s != '\0' ? xstrdup(s) : NULL;
		s = json_text(e, "message");
		ae->message = xstrdup(s != NULL ? s : "invalid");
	}
}

/* Parses a JSON body and, in an error reply, its error members. */
static void
parse_body(struct response *resp)
{
	const char *s;

	if (resp->len == 0)
		return;
	resp->json = json_loadb(resp->body, resp->len, 0, NULL);
	if (resp->json == NULL || resp->status < 300)
		return;
	if ((s = json_text(resp->json, "error")) != NULL)
		resp->error = xstrdup(s);
	parse_errors(resp, json_object_get(resp->json, "errors"));
}

static void
request_done(struct evhttp_request *req, void *arg)
{
	struct request_state *st = arg;
	struct response *resp = st->resp;
	struct evbuffer *buf;
	const char *reason;

	st->done = true;
	event_base_loopexit(st->base, NULL);
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		return;
	resp->status = evhttp_request_get_response_code(req);
	reason = evhttp_request_get_response_code_line(req);
	resp->reason = xstrdup(reason != NULL ? reason : "");
	buf = evhttp_request_get_input_buffer(req);
	resp->len = evbuffer_get_length(buf);
	resp->body = xmalloc(resp->len + 1);
	evbuffer_remove(buf, resp->body, resp->len);
	resp->body[resp->len] = '\0';
}

static void
request_error(enum evhttp_request_error error, void *arg)
{
	struct request_state *st = arg;

	st->have_error = true;
	st->error = error;
}

/*
 * Connects once more, blocking, to say why the request got no reply:
 * libevent does not keep the connect error.  Returns an errno value, 0
 * when the connection works, or -1 with *gai set when the name does not
 * resolve.
 */
static int
probe(const struct client *cl, int *gai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { cl->s.timeout, 0 };
	char port[16];
	int fd, err = 0;

	snprintf(port, sizeof port, "%d", cl->port);
	if ((*gai = getaddrinfo(cl->host, port, &hints, &res)) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		         ai->ai_protocol)) == -1) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
		close(fd);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	return err;
}

/* What a POST sent but not answered may have done. */
#define MAYBE_DONE                                                             \
	"; it may still have been carried out: check before sending it "       \
	"again"

/* Why no reply came, as one line naming the daemon's URL. */
static char *
describe_failure(
    const struct client *cl, const struct request_state *st, bool post)
{
	int err, gai;
	char *s;

	if (!st->done || (st->have_error && st->error == EVREQ_HTTP_TIMEOUT)) {
		xasprintf(&s, "no reply from effortd at %s within %d s%s",
		    cl->s.url, cl->s.timeout, post ? MAYBE_DONE : "");
		return s;
	}
	if ((err = probe(cl, &gai)) == -1)
		xasprintf(&s, "cannot connect to effortd at %s: %s: %s",
		    cl->s.url, cl->host, gai_strerror(gai));
	else if (err == ECONNREFUSED)
		xasprintf(&s,
		    "cannot connect to effortd at %s: connection refused "
		    "(is effortd running?)",
		    cl->s.url);
	else if (err != 0)
		xasprintf(&s, "cannot connect to effortd at %s: %s", cl->s.url,
		    strerror(err));
	else
		xasprintf(&s,
		    "effortd at %s closed the connection without "
		    "a reply%s",
		    cl->s.url, post ? MAYBE_DONE : "");
	return s;
}

static void
add_headers(
    const struct client *cl, struct evhttp_request *req, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char *v;

	if (strchr(cl->host, ':') != NULL)
		xasprintf(&v, "[%s]:%d", cl->host, cl->port);
	else
		xasprintf(&v, "%s:%d", cl->host, cl->port);
	evhttp_add_header(h, "Host", v);
	free(v);
	evhttp_add_header(h, "User-Agent", "effortctl/" EFFORTD_VERSION);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (cl->s.token != NULL) {
		xasprintf(&v, "Bearer %s", cl->s.token);
		evhttp_add_header(h, "Authorization", v);
		explicit_bzero(v, strlen(v));
		free(v);
	}
}

/* Runs the base until the reply, the connection's timeout or a guard. */
static void
run_request(struct client *cl, struct request_state *st,
    enum http_method method, const char *path, const char *ctype,
    const char *body, size_t len)
{
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	struct timeval guard = { cl->s.timeout + 5, 0 };
	char *uri;

	conn = evhttp_connection_base_new(
	    st->base, NULL, cl->host, (unsigned short)cl->port);
	if (conn == NULL)
		fatal("evhttp_connection_base_new failed");
	evhttp_connection_set_timeout(conn, cl->s.timeout);
	evhttp_connection_set_retries(conn, 0);
	if ((req = evhttp_request_new(request_done, st)) == NULL)
		fatal("evhttp_request_new failed");
	evhttp_request_set_error_cb(req, request_error);
	add_headers(cl, req, ctype);
	if (body != NULL && len > 0)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	xasprintf(&uri, "%s%s", cl->prefix, path);
	log_debug("%s %s%s (%zu bytes)", method == HTTP_GET ? "GET" : "POST",
	    cl->s.url, path, len);
	if (evhttp_make_request(conn, req,
	        method == HTTP_GET ? EVHTTP_REQ_GET : EVHTTP_REQ_POST,
	        uri) != 0) {
		st->done = true; /* the request was freed */
	} else {
		event_base_loopexit(st->base, &guard);
		event_base_dispatch(st->base);
	}
	free(uri);
	evhttp_connection_free(conn);
}

/*
 * Sends one request and waits for the reply.  Returns 0 when a reply came
 * (whatever its status) and -1, with resp->failure set, when none did.
 */
int
client_request(struct client *cl, enum http_method method, const char *path,
    const char *ctype, const char *body, size_t len, struct response *resp)
{
	struct request_state st;

	memset(resp, 0, sizeof *resp);
	memset(&st, 0, sizeof st);
	st.resp = resp;
	if ((st.base = event_base_new()) == NULL)
		fatal("event_base_new failed");
	run_request(cl, &st, method, path, ctype, body, len);
	event_base_free(st.base);
	if (resp->status == 0) {
		resp->failure = describe_failure(cl, &st, method == HTTP_POST);
		return -1;
	}
	log_debug("%d %s (%zu bytes)", resp->status, resp->reason, resp->len);
	parse_body(resp);
	return 0;
}

int
response_exit_status(const struct response *resp)
{
	if (resp->status >= 200 && resp->status < 300)
		return EXIT_OK;
	if (resp->status >= 400 && resp->status < 500)
		return EXIT_REFUSED;
	return EXIT_UNAVAILABLE;
}

/* Reports a failed request: "WHAT: server's message (403 Forbidden)". */
void
response_report(
    const struct client *cl, const struct response *resp, const char *what)
{
	const char *msg = resp->error != NULL ? resp->error : resp->reason;

	if (resp->status == 0) {
		log_error("%s: %s", what, resp->failure);
		return;
	}
	if (msg == NULL || *msg == '\0')
		msg = "request failed";
	if (resp->error != NULL && resp->reason != NULL &&
	    *resp->reason != '\0')
		log_error("%s: %s (HTTP %d %s)", what, msg, resp->status,
		    resp->reason);
	else
		log_error("%s: %s (HTTP %d)", what, msg, resp->status);
	for (size_t i = 0; i < resp->nerrors; i++) {
		const struct api_error *e = &resp->errors[i];

		if (e->field == NULL && strcmp(e->message, msg) == 0)
			continue; /* said already */
		log_error("%s: %s%s%s", what, e->field != NULL ? e->field : "",
		    e->field != NULL ? ": " : "", e->message);
	}
	if (resp->status == 401 && cl->s.token == NULL) {
		char *path = settings_path();

		log_error("no token configured: use --token, $EFFORTCTL_TOKEN "
		          "or token in %s",
		    path != NULL ? path : "~/.config/effortctl/config");
		free(path);
	}
	if (resp->status == 503)
		log_error("nothing was changed; it is safe to retry");
	/* effortd's 404 for a path it has no route for (not an unknown
	 * record): most likely a wrong --url path. */
	if (resp->status == 404 && resp->error != NULL &&
	    strcmp(resp->error, "no such resource") == 0)
		log_error("effortd at %s has no such API path: is the URL "
		          "(--url, $EFFORTCTL_URL) right?",
		    cl->s.url);
}

/* Performs a request and reports any failure; returns an exit status. */
static int
call(struct client *cl, enum http_method method, const char *path,
    const char *ctype, const char *body, size_t len, struct response *resp,
    const char *what)
{
	int rc;

	if (client_request(cl, method, path, ctype, body, len, resp) != 0) {
		response_report(cl, resp, what);
		return EXIT_UNAVAILABLE;
	}
	if ((rc = response_exit_status(resp)) != EXIT_OK)
		response_report(cl, resp, what);
	return rc;
}

/* GET of a JSON object; any other reply is reported as an error. */
int
client_get(struct client *cl, const char *path, struct response *resp,
    const char *what)
{
	int rc = call(cl, HTTP_GET, path, NULL, NULL, 0, resp, what);

	if (rc == EXIT_OK && !json_is_object(resp->json)) {
		log_error(
		    "%s: effortd sent a reply that is not a JSON object", what);
		rc = EXIT_UNAVAILABLE;
	}
	return rc;
}

/* POST of a JSON body (or none); the reply's JSON is optional. */
int
client_post(struct client *cl, const char *path, const char *body, size_t len,
    struct response *resp, const char *what)
{
	return call(cl, HTTP_POST, path,
	    body != NULL ? "application/json" : NULL, body, len, resp, what);
}

void
response_free(struct response *resp)
{
	free(resp->reason);
	free(resp->body);
	free(resp->failure);
	free(resp->error);
	json_decref(resp->json);
	for (size_t i = 0; i < resp->nerrors; i++) {
		free(resp->errors[i].field);
		free(resp->errors[i].message);
	}
	free(resp->errors);
	memset(resp, 0, sizeof *resp);
}
