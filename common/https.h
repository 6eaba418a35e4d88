/*
 * One HTTPS request over libevent (evhttp client on an OpenSSL
 * bufferevent): the peer's certificate is checked against the system CA
 * store (or a given CA file) and against the URL's host name.  effortd
 * uses it from its event loop for the identity provider's discovery
 * document and keys; effortctl runs a private loop for its sign-in.
 * Only https:// URLs are fetched.
 */
#ifndef HTTPS_H
#define HTTPS_H

#include <stddef.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct https_result {
	int status;      /* HTTP status; 0: no answer (see error) */
	char *body;      /* NUL-terminated; NULL when no answer */
	size_t len;      /* of body */
	char error[512]; /* why there is no answer */
};

/* Called once with the outcome; the result is freed after it returns. */
typedef void (*https_done_fn)(const struct https_result *, void *arg);

struct https_fetch;

/*
 * A client context that verifies peers: ca_file ("" or NULL: the system
 * store).  NULL with err filled when it cannot be built.
 */
SSL_CTX *https_client_ctx(const char *ca_file, char *err, size_t errlen);

/*
 * Starts GET url (form == NULL) or POST url with form as an
 * application/x-www-form-urlencoded body.  dns may be NULL (the system
 * resolver, blocking: effortctl only).  The answer, or the failure,
 * comes to done from the loop, never from this call; NULL (with done
 * not called) only when url is not an https:// URL, err says why.
 */
struct https_fetch *https_fetch_start(struct event_base *,
    struct evdns_base *dns, SSL_CTX *, const char *url, const char *form,
    int timeout_seconds, https_done_fn done, void *arg, char *err,
    size_t errlen);
/* Stops a fetch whose callback has not run; done is never called. */
void https_fetch_cancel(struct https_fetch *);

/*
 * effortctl: the same, synchronously on a private loop.  Returns the
 * result (the caller frees it with https_result_free).
 */
struct https_result *https_fetch_sync(
    SSL_CTX *, const char *url, const char *form, int timeout_seconds);
void https_result_free(struct https_result *);

#endif
