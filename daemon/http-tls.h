/* TLS for the HTTP listener (http-tls.c): the context new connections get. */
#ifndef HTTP_TLS_H
#define HTTP_TLS_H

#include <stddef.h>

/* Loads cert and key into a new context that replaces the
 * current one (connections already open keep theirs); both "" = plain
 * HTTP.  On failure keeps the current context and fills err. */
int tls_load(const char *cert, const char *key, char *err, size_t errlen);
/* The context for new connections (an SSL_CTX *), NULL for plain HTTP. */
void *tls_context(void);
void tls_free(void);

#endif
