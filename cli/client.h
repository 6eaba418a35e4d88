/*
 * effortctl's HTTP client: one blocking request at a time to effortd over
 * libevent, with the bearer token, a timeout, and the API's error body
 * ({"error": ..., "errors": [...]}) parsed into struct api_error.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "settings.h"

struct cli_ctx;

struct client {
	struct settings s;
	char *host; /* from the URL, without the [] of an IPv6 address */
	int port;
	char *prefix; /* the URL's path without a trailing slash, maybe "" */
};

/* One member of the "errors" array of an error body. */
struct api_error {
	long long index; /* -1 when absent */
	long long line;  /* -1 when absent */
	char *field;     /* NULL when absent */
	char *message;
};

struct response {
	int status; /* HTTP status; 0 when no reply came */
	char *reason;
	char *body; /* NUL-terminated */
	size_t len;
	char *failure; /* why no reply came, when status is 0 */

	json_t *json; /* the body when it is JSON, else NULL */
	char *error;  /* "error" of an error body, else NULL */
	struct api_error *errors;
	size_t nerrors;
};

enum http_method { HTTP_GET, HTTP_POST };

int client_init(struct client *, const struct cli_ctx *);
void client_free(struct client *);
void client_query_add(char **, const char *, const char *);

int client_request(struct client *, enum http_method, const char *,
    const char *, const char *, size_t, struct response *);
int client_get(struct client *, const char *, struct response *, const char *);
int client_post(struct client *, const char *, const char *, size_t,
    struct response *, const char *);

int response_exit_status(const struct response *);
void response_report(
    const struct client *, const struct response *, const char *);
void response_free(struct response *);

const char *json_text(json_t *, const char *);

#endif
