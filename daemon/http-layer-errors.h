/*
 * The HTTP layer's own error pages (libevent's HTML 400, 413, 417 for
 * requests effortd never sees) sent as JSON, like every other error.
 */
#ifndef HTTP_LAYER_ERRORS_H
#define HTTP_LAYER_ERRORS_H

#include <stdbool.h>

#include <event2/bufferevent.h>

/* Watches a client connection's output for those pages. */
void http_layer_errors_watch(struct bufferevent *);
/* True around effortd's own evhttp_send_reply(): its output is left be. */
void http_layer_sending(bool);

#endif
