/*
 * effortctl's identity-provider session (see oidc-session.h): the file
 * that keeps it, the token endpoint's answers, the silent refresh, and
 * the HTTPS requests to the provider (https.c: system CA store or the
 * session's CA file, host name checked).  Tokens are never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjose/base64.h>
#include <cjose/util.h>
#include <event2/http.h>

#include "https.h"
#include "log.h"
#include "oidc-session.h"
#include "settings.h"
#include "xmalloc.h"

char *
oidc_session_path(void)
{
	char *config = settings_path(), *slash, *path;

	if (config == NULL)
		return NULL;
	slash = strrchr(config, '/');
	*slash = '\0';
	xasprintf(&path, "%s/session.json", config);
	free(config);
	return path;
}

static char *
dup_member(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? xstrdup(v) : NULL;
}

int
oidc_session_load(struct oidc_session *s)
{
	char *path = oidc_session_path();
	json_error_t err;
	json_t *doc;

	memset(s, 0, sizeof *s);
	if (path == NULL || access(path, F_OK) != 0) {
		free(path);
		return 1;
	}
	doc = json_load_file(path, 0, &err);
	if (doc == NULL ||
	    !json_is_string(json_object_get(doc, "access_token")) ||
	    !json_is_string(json_object_get(doc, "token_endpoint"))) {
		log_error("%s: not a session effortctl wrote (%s); run "
		          "effortctl login",
		    path, doc == NULL ? err.text : "members missing");
		json_decref(doc);
		free(path);
		return -1;
	}
	s->issuer = dup_member(doc, "issuer");
	s->client_id = dup_member(doc, "client_id");
	s->ca_file = dup_member(doc, "ca_file");
	s->token_endpoint = dup_member(doc, "token_endpoint");
	s->revocation_endpoint = dup_member(doc, "revocation_endpoint");
	s->access_token = dup_member(doc, "access_token");
	s->refresh_token = dup_member(doc, "refresh_token");
	s->expires_at = json_integer_value(json_object_get(doc, "expires_at"));
	json_decref(doc);
	free(path);
	return 0;
}

/* mkdir -p of path's directory, mode 0700 for what it makes. */
static int
make_dirs(const char *path)
{
	char *dir = xstrdup(path);
	int rc = 0;

	for (char *p = dir + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	free(dir);
	return rc;
}

int
oidc_session_save(const struct oidc_session *s)
{
	char *path = oidc_session_path(), *tmp = NULL, *text;
	json_t *doc;
	int fd = -1, rc = -1;

	if (path == NULL) {
		log_error("no home directory to keep the sign-in in");
		return -1;
	}
	doc = json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s, s:s?, s:I}",
	    "issuer", s->issuer, "client_id", s->client_id, "ca_file",
	    s->ca_file, "token_endpoint", s->token_endpoint,
	    "revocation_endpoint", s->revocation_endpoint, "access_token",
	    s->access_token, "refresh_token", s->refresh_token, "expires_at",
	    (json_int_t)s->expires_at);
	text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	xasprintf(&tmp, "%s.%ld", path, (long)getpid());
	if (text != NULL && make_dirs(path) == 0 &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0 &&
	    fchmod(fd, 0600) == 0 &&
	    write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
	    close(fd) == 0 && rename(tmp, path) == 0)
		rc = 0;
	else {
		log_error("cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	if (text != NULL)
		explicit_bzero(text, strlen(text));
	free(text);
	json_decref(doc);
	free(tmp);
	free(path);
	return rc;
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
oidc_session_free(struct oidc_session *s)
{
	free(s->issuer);
	free(s->client_id);
	free(s->ca_file);
	free(s->token_endpoint);
	free(s->revocation_endpoint);
	wipe_free(s->access_token);
	wipe_free(s->refresh_token);
	memset(s, 0, sizeof *s);
}

int
oidc_session_take(struct oidc_session *s, json_t *answer, char *why, size_t len)
{
	const char *access =
	    json_string_value(json_object_get(answer, "access_token"));
	const char *refresh =
	    json_string_value(json_object_get(answer, "refresh_token"));
	json_t *expires_in = json_object_get(answer, "expires_in");

	if (access == NULL) {
		snprintf(why, len, "the provider's answer has no access_token");
		return -1;
	}
	wipe_free(s->access_token);
	s->access_token = xstrdup(access);
	if (refresh != NULL) { /* a rotated refresh token replaces the old */
		wipe_free(s->refresh_token);
		s->refresh_token = xstrdup(refresh);
	}
	s->expires_at = (long long)time(NULL) +
	                (json_is_integer(expires_in)
	                        ? (long long)json_integer_value(expires_in)
	                        : 300);
	return 0;
}

char *
oidc_form_value(const char *v)
{
	return evhttp_encode_uri(v);
}

json_t *
oidc_fetch_json(const char *ca_file, const char *url, const char *form,
    int timeout, int *status, char *why, size_t len)
{
	SSL_CTX *ctx = https_client_ctx(ca_file, why, len);
	struct https_result *res;
	json_t *doc = NULL;

	*status = 0;
	if (ctx == NULL)
		return NULL;
	res = https_fetch_sync(ctx, url, form, timeout);
	*status = res->status;
	if (res->status == 0)
		snprintf(why, len, "%s", res->error);
	else if ((doc = json_loads(res->body, 0, NULL)) == NULL ||
	         !json_is_object(doc)) {
		snprintf(why, len, "%s answered HTTP %d without a JSON object",
		    url, res->status);
		json_decref(doc);
		doc = NULL;
	}
	https_result_free(res);
	SSL_CTX_free(ctx);
	return doc;
}

int
oidc_session_refresh(struct oidc_session *s, int timeout, char *why, size_t len)
{
	char *rt, *cid, *form;
	json_t *answer;
	int status, rc = -1;

	if (s->refresh_token == NULL) {
		snprintf(why, len, "the provider gave no refresh token");
		return -1;
	}
	rt = oidc_form_value(s->refresh_token);
	cid = oidc_form_value(s->client_id ? s->client_id : "");
	xasprintf(&form,
	    "grant_type=refresh_token&refresh_token=%s&client_id=%s", rt, cid);
	answer = oidc_fetch_json(
	    s->ca_file, s->token_endpoint, form, timeout, &status, why, len);
	if (answer != NULL && status != 200)
		snprintf(why, len, "the provider refused the refresh: %s",
		    json_string_value(json_object_get(answer, "error"))
		        ?: "no reason given");
	else if (answer != NULL)
		rc = oidc_session_take(s, answer, why, len);
	json_decref(answer);
	wipe_free(form);
	wipe_free(rt);
	free(cid);
	return rc;
}

char *
oidc_session_token(int timeout)
{
	struct oidc_session s;
	char why[600] = "", *token = NULL;

	if (oidc_session_load(&s) != 0)
		return NULL;
	if (s.expires_at - (long long)time(NULL) > 60)
		token = xstrdup(s.access_token);
	else if (oidc_session_refresh(&s, timeout, why, sizeof why) == 0 &&
	         oidc_session_save(&s) == 0)
		token = xstrdup(s.access_token);
	else
		log_warn("your sign-in with %s has expired and could not be "
		         "renewed (%s); run effortctl login",
		    s.issuer ? s.issuer : "the identity provider", why);
	oidc_session_free(&s);
	return token;
}

json_t *
oidc_jwt_claims(const char *jwt)
{
	const char *p = strchr(jwt, '.'), *end;
	uint8_t *raw = NULL;
	size_t len = 0;
	cjose_err err;
	json_t *claims;

	if (p == NULL || (end = strchr(p + 1, '.')) == NULL)
		return NULL;
	if (!cjose_base64url_decode(
	        p + 1, (size_t)(end - p - 1), &raw, &len, &err))
		return NULL;
	claims = json_loadb((const char *)raw, len, 0, NULL);
	cjose_get_dealloc()(raw);
	return claims;
}
