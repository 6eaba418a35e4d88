/*
 * API tokens: 32 random bytes shown once as "eff_" + 64 hex digits; the
 * database keeps only their SHA-256.
 */
#ifndef TOKEN_H
#define TOKEN_H

void token_hash_hex(const char *token, char out[65]);
/* effortd --create-token: prints a new token; returns an exit status. */
int token_create(const char *conninfo, const char *role, const char *person,
    const char *label);

#endif
