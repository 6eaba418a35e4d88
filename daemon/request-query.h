/*
 * Strict query strings (daemon/request-query.c): the parameters a route
 * declares, and the parser that checks a query string against them.  Separate
 * from request.h so that the parser can be driven without a request (the fuzz
 * target tests/fuzz/fuzz_request-query.c).
 */
#ifndef QUERY_H
#define QUERY_H

#include <stdbool.h>

#include <event2/keyvalq_struct.h>

/* A query parameter a route takes; values: the only ones allowed, or NULL
 * for any text (the handler checks its form). */
struct query_param {
	const char *name;
	const char *const *values;
};

/* What a route takes: its pattern (for messages) and its parameters,
 * NULL-terminated (NULL: none). */
struct query_spec {
	const char *pattern;
	const struct query_param *params;
};

/* Why a query string was refused: the parameter as shown and a message. */
struct query_error {
	char parameter[300];
	char message[1024];
};

/* Decodes query string q (may be NULL) into out, checking it against spec:
 * every parameter declared, given once, with a value, percent-encoded
 * correctly, no NUL or control character, one of the listed values where
 * there is a list, an id no longer than any id.  False with err filled on the
 * first refusal; out then holds what was accepted before it (the caller clears
 * it). */
bool query_parse(const char *q, const struct query_spec *spec,
    struct evkeyvalq *out, struct query_error *err);

#endif
