/*
 * TLS on the listener: one OpenSSL server context built from tls.cert and
 * tls.key.  SIGHUP builds a fresh context and swaps it in; each SSL
 * object holds a reference to the context it was made from, so
 * connections already open finish with the old one.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http-tls.h"
#include "log.h"

static SSL_CTX *current;

static void
ssl_error(const char *what, const char *path, char *err, size_t errlen)
{
	char why[256];

	ERR_error_string_n(ERR_get_error(), why, sizeof why);
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, why);
}

int
tls_load(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (*cert == '\0' && *key == '\0') {
		tls_free();
		return 0;
	}
	if (*cert == '\0' || *key == '\0') {
		snprintf(err, errlen, "tls.cert and tls.key go together");
		return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_error("creating a TLS context for", cert, err, errlen);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error("loading certificate", cert, err, errlen);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) !=
	           1) {
		ssl_error("loading private key", key, err, errlen);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error("checking private key", key, err, errlen);
	} else {
		tls_free();
		current = ctx;
		log_info("TLS certificate loaded from %s", cert);
		return 0;
	}
	SSL_CTX_free(ctx);
	return -1;
}

void *
tls_context(void)
{
	return current;
}

void
tls_free(void)
{
	if (current != NULL)
		SSL_CTX_free(current);
	current = NULL;
}
