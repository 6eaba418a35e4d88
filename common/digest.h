/* SHA-256 as lowercase hex (tokens, migrations, spool files). */
#ifndef DIGEST_H
#define DIGEST_H

#include <stdbool.h>
#include <stddef.h>

void sha256_hex(const void *, size_t, char out[65]);
/* Whether s is such text: 64 lowercase hex digits (an audit row's hash). */
bool sha256_hex_valid(const char *s);

#endif
