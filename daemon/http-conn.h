/*
 * Client connections: evhttp gets each connection's bufferevent from here
 * (TLS when tls.cert is set), so effortd can count connections against
 * limits.max_connections and give every request limits.request_timeout
 * seconds to arrive in full, however slowly its bytes trickle in.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/http.h>

void conn_setup(struct evhttp *);
/* Client connections still open (evhttp has not let them go). */
int conn_open_count(void);
/* After evhttp_free(): forgets the connections. */
void conn_shutdown(void);
/* Applies the limits of effortd.cfg that SIGHUP may change. */
void conn_apply_limits(struct evhttp *);
/* A complete request arrived on req's connection (false: the connection
 * is over limits.max_connections; answer 503) / its reply is going. */
bool conn_request_started(struct evhttp_request *);
void conn_request_done(struct evhttp_request *);
/* After conn_request_started(): whether a NUL byte came in req's head
 * (request line, headers, chunk framing or trailers). */
bool conn_head_nul(struct evhttp_request *);
/* Until conn_request_done(): gone(arg) once if the client closes req's
 * connection (plain sockets; a TLS close is seen as data and ends the
 * watch). */
void conn_watch_close(struct evhttp_request *, void (*gone)(void *), void *arg);

/* Called when the last in-flight request is answered during shutdown:
 * the loop stops once the replies have left (a second at most). */
void conn_drained(void);

#endif
