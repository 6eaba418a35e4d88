/*
 * API tokens.  A token is 32 bytes from the OpenSSL CSPRNG, printed once
 * as "eff_<64 hex>"; only its SHA-256 is stored, so a database dump gives
 * nobody a usable token, and nothing here ever logs one.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "digest.h"
#include "log.h"
#include "auth-token.h"

static void
hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

void
token_hash_hex(const char *token, char out[65])
{
	sha256_hex(token, strlen(token), out);
}

void
token_new(char token[TOKEN_LEN + 1], char hash[65])
{
	unsigned char raw[32];

	if (RAND_bytes(raw, sizeof raw) != 1)
		fatal("cannot get random bytes for a token");
	memcpy(token, "eff_", 4);
	hex(raw, sizeof raw, token + 4);
	OPENSSL_cleanse(raw, sizeof raw);
	token_hash_hex(token, hash);
}

int
token_create(const char *conninfo, const char *role, const char *person,
    const char *label, const char *rules_json)
{
	char token[TOKEN_LEN + 1], hash[65];
	PGconn *pg;
	PGresult *res;
	int rc = 0;

	token_new(token, hash);
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		log_error(
		    "cannot connect to the database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	const char *params[5] = { hash, role, person, label, rules_json };
	res = PQexecParams(pg, "SELECT token_create($1, $2, $3, $4, $5::jsonb)",
	    5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("cannot create the token: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		rc = 1;
	} else {
		printf("%s\n", token);
		log_info("created %s token %s", role, PQgetvalue(res, 0, 0));
	}
	OPENSSL_cleanse(token, sizeof token);
	PQclear(res);
	PQfinish(pg);
	return rc;
}
