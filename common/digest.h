/* SHA-256 as lowercase hex (tokens, migrations, spool files). */
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>

void sha256_hex(const void *, size_t, char out[65]);

#endif
