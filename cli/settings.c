/*
 * Where effortctl finds the daemon and its token.  Highest first: --url and
 * --token, then $EFFORTCTL_URL and $EFFORTCTL_TOKEN, then the libconfig file
 * $XDG_CONFIG_HOME/effortctl/config (default ~/.config/effortctl/config):
 *
 *	url = "http://127.0.0.1:8470";
 *	token = "...";
 *	timeout = 30;
 *
 * The token is never printed, not even in error messages.
 */
#include <errno.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "cli.h"
#include "log.h"
#include "oidc-session.h"
#include "settings.h"
#include "xmalloc.h"

/* The config file's path, or NULL when there is no home to put it in. */
char *
settings_path(void)
{
	const char *base = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *path;

	if (base != NULL && *base == '/') {
		xasprintf(&path, "%s/effortctl/config", base);
		return path;
	}
	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || *home == '\0')
		return NULL;
	xasprintf(&path, "%s/.config/effortctl/config", home);
	return path;
}

static int
read_string(config_t *cf, const char *path, const char *key, char **out)
{
	config_setting_t *s = config_lookup(cf, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		log_error("%s:%d: %s must be a string", path,
		    config_setting_source_line(s), key);
		return -1;
	}
	*out = xstrdup(config_setting_get_string(s));
	return 0;
}

static int
read_timeout(config_t *cf, const char *path, int *out)
{
	config_setting_t *s = config_lookup(cf, "timeout");

	if (s == NULL)
		return 0;
	/* As --timeout: 1 to 86400 (a larger int64 must not wrap). */
	if ((config_setting_type(s) != CONFIG_TYPE_INT &&
	        config_setting_type(s) != CONFIG_TYPE_INT64) ||
	    config_setting_get_int64(s) < 1 ||
	    config_setting_get_int64(s) > EFFORTCTL_MAX_TIMEOUT) {
		log_error("%s:%d: timeout must be a whole number of seconds "
		          "from 1 to %d",
		    path, config_setting_source_line(s), EFFORTCTL_MAX_TIMEOUT);
		return -1;
	}
	*out = (int)config_setting_get_int64(s);
	return 0;
}

/* Warns when a file holding a token is readable by others. */
static void
check_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("%s holds a token but is readable by others; "
		         "chmod 600 it",
		    path);
}

/* Warns of each setting effortctl does not read (a misspelt "tokn" would
 * otherwise leave the token unset without a word). */
static void
warn_unknown(config_t *cf, const char *path)
{
	config_setting_t *root = config_root_setting(cf), *s;
	const char *name;

	for (int i = 0; (s = config_setting_get_elem(root, (unsigned)i)); i++) {
		name = config_setting_name(s);
		if (name == NULL || strcmp(name, "url") == 0 ||
		    strcmp(name, "token") == 0 || strcmp(name, "timeout") == 0)
			continue;
		log_warn("%s:%d: unknown setting %s, ignored (effortctl reads "
		         "url, token and timeout)",
		    path, config_setting_source_line(s), name);
	}
}

/* Reads the config file if there is one; -1 (reported) on error. */
static int
read_file(struct settings *s)
{
	char *path = settings_path();
	config_t cf;
	FILE *fp;
	int rc = -1;

	if (path == NULL || access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	config_init(&cf);
	/* Opened here, so that errno says why it cannot be read (libconfig
	 * loses it, and reads a directory as an empty file). */
	fp = fopen(path, "r");
	if (fp == NULL || (fgetc(fp) == EOF && ferror(fp))) {
		log_error("%s: %s", path, strerror(errno));
	} else {
		rewind(fp);
		if (!config_read(&cf, fp))
			log_error("%s:%d: %s", path, config_error_line(&cf),
			    config_error_text(&cf));
		else if (read_string(&cf, path, "url", &s->url) == 0 &&
		         read_string(&cf, path, "token", &s->token) == 0 &&
		         read_timeout(&cf, path, &s->timeout) == 0) {
			if (s->token != NULL)
				check_mode(path);
			warn_unknown(&cf, path);
			rc = 0;
		}
	}
	if (fp != NULL)
		fclose(fp);
	config_destroy(&cf);
	free(path);
	return rc;
}

/* Overrides *out with v when v is set and not empty. */
static void
take(char **out, const char *v)
{
	if (v == NULL || *v == '\0')
		return;
	free(*out);
	*out = xstrdup(v);
}

static bool
given(const char *v)
{
	return v != NULL && *v != '\0';
}

/* The identity provider's access token of effortctl login, if any. */
static void
session_token(struct settings *s)
{
	char *t = oidc_session_token(s->timeout);

	if (t == NULL)
		return;
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	s->token = t;
}

/* A token fits in an Authorization header: no space or control
 * character (one would drop the header, or split it). */
static bool
token_printable(const char *t)
{
	for (; *t != '\0'; t++) {
		if ((unsigned char)*t <= ' ' || *t == 0x7f)
			return false;
	}
	return true;
}

/* Resolves url, token and timeout; returns an exit status. */
int
settings_load(const struct cli_ctx *ctx, struct settings *s)
{
	memset(s, 0, sizeof *s);
	s->timeout = EFFORTCTL_DEFAULT_TIMEOUT;
	if (read_file(s) != 0) {
		settings_free(s);
		return EXIT_USAGE;
	}
	take(&s->url, getenv("EFFORTCTL_URL"));
	take(&s->token, getenv("EFFORTCTL_TOKEN"));
	take(&s->url, ctx->url);
	take(&s->token, ctx->token);
	if (!given(ctx->token) && !given(getenv("EFFORTCTL_TOKEN")))
		session_token(s); /* effortctl login's, over the file's */
	if (s->token != NULL && !token_printable(s->token)) {
		log_error("invalid token: it contains a space or control "
		          "character");
		settings_free(s);
		return EXIT_USAGE;
	}
	if (s->url == NULL)
		s->url = xstrdup(EFFORTCTL_DEFAULT_URL);
	if (ctx->timeout > 0)
		s->timeout = ctx->timeout;
	return EXIT_OK;
}

void
settings_free(struct settings *s)
{
	free(s->url);
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	memset(s, 0, sizeof *s);
}
