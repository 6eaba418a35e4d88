/*
 * API tokens: 32 random bytes shown once as "eff_" + 64 hex digits; the
 * database keeps only their SHA-256.
 */
#ifndef TOKEN_H
#define TOKEN_H

#define TOKEN_LEN (4 + 64) /* "eff_" + 64 hex digits */

void token_hash_hex(const char *token, char out[65]);
/* A new random token and its SHA-256 (hex); wipe the token after use. */
void token_new(char token[TOKEN_LEN + 1], char hash[65]);
/* effortd --create-token: prints a new token; returns an exit status.
 * rules_json: the rules (their zone says which day a leaver left). */
int token_create(const char *conninfo, const char *role, const char *person,
    const char *label, const char *rules_json);

#endif
