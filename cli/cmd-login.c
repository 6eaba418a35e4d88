/*
 * "effortctl login" and "effortctl logout": sign-in with the
 * organisation's identity provider by the OAuth 2.0 Device Authorization
 * Grant (RFC 8628).  login reads the provider's discovery document, asks
 * for a device code, prints where to go and which code to enter, polls
 * the token endpoint (at the interval the provider asks for, slower on
 * slow_down) and keeps the tokens in the session file (oidc-session.c);
 * later commands use and refresh them.  logout revokes the refresh token
 * at the provider when it offers revocation, and removes the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "oidc-session.h"
#include "xmalloc.h"

static int cmd_login_exec(struct cmd_run *);
static int cmd_logout_exec(struct cmd_run *);

static const struct cmd_option login_opts[] = {
	{ "issuer", 0, true, NULL, NULL },
	{ "client-id", 0, true, NULL, NULL },
	{ "scope", 0, true, NULL, NULL },
	{ "ca-file", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_login_entry = {
	"login",
	"[--issuer URL] [--client-id ID] [--scope SCOPE] [--ca-file FILE]",
	"Sign in with the organisation's identity provider (device code).",
	"  --issuer URL     the provider ($EFFORTCTL_OIDC_ISSUER)\n"
	"  --client-id ID   effortctl's client id there "
	"($EFFORTCTL_OIDC_CLIENT_ID)\n"
	"  --scope SCOPE    scopes to ask for ($EFFORTCTL_OIDC_SCOPE; default\n"
	"                   \"openid offline_access\")\n"
	"  --ca-file FILE   CA certificates for the provider's TLS\n"
	"                   ($EFFORTCTL_OIDC_CA_FILE; default: the system's)\n",
	.opts = login_opts,
	.args_max = 0,
	.exec = cmd_login_exec,
};

const struct cmd_entry cmd_logout_entry = {
	"logout",
	"",
	"Sign out: forget (and revoke) the identity provider's tokens.",
	"",
	.args_max = 0,
	.exec = cmd_logout_exec,
};

struct login_args {
	const char *issuer, *client_id, *scope, *ca_file;
	int timeout;
};

static const char *
arg_or_env(const char *arg, const char *env, const char *def)
{
	const char *v = getenv(env);

	if (arg != NULL)
		return arg;
	return v != NULL && *v != '\0' ? v : def;
}

/* The discovery document's endpoints into s; an exit status. */
static int
discover(const struct login_args *a, struct oidc_session *s, char **device)
{
	char why[600], *url;
	size_t n = strlen(a->issuer);
	json_t *doc;
	int status;
	const char *dev, *tok, *rev, *iss;

	xasprintf(&url, "%s%s.well-known/openid-configuration", a->issuer,
	    n > 0 && a->issuer[n - 1] == '/' ? "" : "/");
	doc = oidc_fetch_json(
	    a->ca_file, url, NULL, a->timeout, &status, why, sizeof why);
	free(url);
	if (doc == NULL || status != 200) {
		log_error("login: cannot read the discovery document of %s: %s",
		    a->issuer, doc ? "not HTTP 200" : why);
		json_decref(doc);
		return EXIT_UNAVAILABLE;
	}
	iss = json_string_value(json_object_get(doc, "issuer"));
	dev = json_string_value(
	    json_object_get(doc, "device_authorization_endpoint"));
	tok = json_string_value(json_object_get(doc, "token_endpoint"));
	rev = json_string_value(json_object_get(doc, "revocation_endpoint"));
	if (iss == NULL || strcmp(iss, a->issuer) != 0 || dev == NULL ||
	    tok == NULL) {
		log_error("login: %s %s", a->issuer,
		    dev == NULL || tok == NULL
		        ? "offers no device authorization (RFC 8628)"
		        : "names another issuer in its discovery document");
		json_decref(doc);
		return EXIT_UNAVAILABLE;
	}
	*device = xstrdup(dev);
	s->token_endpoint = xstrdup(tok);
	s->revocation_endpoint = rev ? xstrdup(rev) : NULL;
	json_decref(doc);
	return EXIT_OK;
}

/* A token-endpoint poll; 1: pending (interval maybe slowed), else an
 * exit status. */
static int
poll_once(const struct login_args *a, struct oidc_session *s,
    const char *device_code, int *interval)
{
	char why[600], *dc = oidc_form_value(device_code);
	char *cid = oidc_form_value(a->client_id), *form;
	const char *error;
	json_t *ans;
	int status, rc;

	xasprintf(&form,
	    "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Adevice_"
	    "code&device_code=%s&client_id=%s",
	    dc, cid);
	ans = oidc_fetch_json(s->ca_file, s->token_endpoint, form, a->timeout,
	    &status, why, sizeof why);
	free(form);
	free(dc);
	free(cid);
	if (ans == NULL) {
		log_error("login: the token endpoint: %s", why);
		return EXIT_UNAVAILABLE;
	}
	error = json_string_value(json_object_get(ans, "error"));
	if (status == 200)
		rc = oidc_session_take(s, ans, why, sizeof why) == 0
		         ? EXIT_OK
		         : (log_error("login: %s", why), EXIT_UNAVAILABLE);
	else if (error && strcmp(error, "authorization_pending") == 0)
		rc = 1;
	else if (error && strcmp(error, "slow_down") == 0) {
		*interval += 5;
		rc = 1;
	} else {
		log_error("login: %s",
		    error && strcmp(error, "access_denied") == 0
		        ? "the sign-in was refused at the identity provider"
		    : error && strcmp(error, "expired_token") == 0
		        ? "the code expired before the sign-in was approved; "
		          "run effortctl login again"
		        : "the identity provider refused the sign-in");
		rc = EXIT_REFUSED;
	}
	json_decref(ans);
	return rc;
}

/* Asks for a device code, shows it, polls; an exit status. */
static int
device_grant(const struct login_args *a, struct oidc_session *s,
    const char *device_endpoint)
{
	char why[600], *cid = oidc_form_value(a->client_id);
	char *scope = oidc_form_value(a->scope), *form;
	json_t *ans;
	int status, interval, rc = 1;
	time_t deadline;

	xasprintf(&form, "client_id=%s&scope=%s", cid, scope);
	ans = oidc_fetch_json(a->ca_file, device_endpoint, form, a->timeout,
	    &status, why, sizeof why);
	free(form);
	free(cid);
	free(scope);
	if (ans == NULL || status != 200 ||
	    !json_is_string(json_object_get(ans, "device_code"))) {
		log_error("login: the provider refused a device code: %s",
		    ans ? json_string_value(json_object_get(ans, "error"))
		              ?: "no reason given"
		        : why);
		json_decref(ans);
		return ans ? EXIT_REFUSED : EXIT_UNAVAILABLE;
	}
	printf("To sign in, open %s\nand enter the code %s\n",
	    json_string_value(json_object_get(ans, "verification_uri")),
	    json_string_value(json_object_get(ans, "user_code")));
	if (json_is_string(json_object_get(ans, "verification_uri_complete")))
		printf("(or open %s)\n", json_string_value(json_object_get(ans,
		                             "verification_uri_complete")));
	printf("Waiting for the sign-in to be approved...\n");
	fflush(stdout);
	interval = (int)json_integer_value(json_object_get(ans, "interval"));
	interval = interval > 0 ? interval : 5; /* RFC 8628 3.2 */
	deadline =
	    time(NULL) +
	    (json_integer_value(json_object_get(ans, "expires_in")) ?: 600);
	while (rc == 1 && time(NULL) < deadline) {
		sleep((unsigned)interval);
		rc = poll_once(a, s,
		    json_string_value(json_object_get(ans, "device_code")),
		    &interval);
	}
	json_decref(ans);
	if (rc == 1) {
		log_error("login: the code expired before the sign-in was "
		          "approved; run effortctl login again");
		rc = EXIT_REFUSED;
	}
	return rc;
}

static void
print_signed_in(const struct oidc_session *s)
{
	json_t *claims = oidc_jwt_claims(s->access_token);
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	char when[32];
	time_t t = (time_t)s->expires_at;

	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	printf("Signed in%s%s; the access token expires at %s and is renewed "
	       "automatically.\n",
	    sub ? " as " : "", sub ? sub : "", when);
	json_decref(claims);
}

/* The options; CLI_OPT_HANDLED to go on, else the exit status. */
static int
login_options(const struct cmd_run *run, struct login_args *a)
{
	a->issuer =
	    arg_or_env(cmd_value(run, "issuer"), "EFFORTCTL_OIDC_ISSUER", NULL);
	a->client_id = arg_or_env(
	    cmd_value(run, "client-id"), "EFFORTCTL_OIDC_CLIENT_ID", NULL);
	a->scope = arg_or_env(cmd_value(run, "scope"), "EFFORTCTL_OIDC_SCOPE",
	    "openid offline_access");
	a->ca_file =
	    arg_or_env(cmd_value(run, "ca-file"), "EFFORTCTL_OIDC_CA_FILE", "");
	a->timeout = run->ctx->timeout > 0 ? run->ctx->timeout
	                                   : EFFORTCTL_DEFAULT_TIMEOUT;
	if (a->issuer == NULL || a->client_id == NULL)
		return cli_usage_error(&cmd_login_entry,
		    "the identity provider is not set: --issuer and "
		    "--client-id (or $EFFORTCTL_OIDC_ISSUER and "
		    "$EFFORTCTL_OIDC_CLIENT_ID)");
	return CLI_OPT_HANDLED; /* go on */
}

static int
cmd_login_exec(struct cmd_run *run)
{
	struct login_args a;
	struct oidc_session s;
	char *device = NULL;
	int rc;

	memset(&a, 0, sizeof a);
	if ((rc = login_options(run, &a)) != CLI_OPT_HANDLED)
		return rc;
	memset(&s, 0, sizeof s);
	s.issuer = xstrdup(a.issuer);
	s.client_id = xstrdup(a.client_id);
	s.ca_file = xstrdup(a.ca_file);
	if ((rc = discover(&a, &s, &device)) == EXIT_OK &&
	    (rc = device_grant(&a, &s, device)) == EXIT_OK) {
		if (oidc_session_save(&s) != 0)
			rc = EXIT_USAGE;
		else
			print_signed_in(&s);
	}
	free(device);
	oidc_session_free(&s);
	return rc;
}

/* RFC 7009: the refresh token revoked at the provider (best effort). */
static void
revoke_refresh(const struct oidc_session *s, int timeout)
{
	char why[600], *rt, *cid, *form;
	json_t *ans;
	int status;

	if (s->refresh_token == NULL)
		return;
	if (s->revocation_endpoint == NULL) {
		log_warn("logout: the provider offers no revocation: its "
		         "refresh token stays valid until it expires");
		return;
	}
	rt = oidc_form_value(s->refresh_token);
	cid = oidc_form_value(s->client_id ? s->client_id : "");
	xasprintf(&form, "token=%s&token_type_hint=refresh_token&client_id=%s",
	    rt, cid);
	ans = oidc_fetch_json(s->ca_file, s->revocation_endpoint, form, timeout,
	    &status, why, sizeof why);
	if (status != 200)
		log_warn("logout: the provider did not confirm the revocation "
		         "(%s); the local sign-in is removed anyway",
		    status ? "refused" : why);
	json_decref(ans);
	explicit_bzero(form, strlen(form));
	explicit_bzero(rt, strlen(rt));
	free(form);
	free(rt);
	free(cid);
}

static int
cmd_logout_exec(struct cmd_run *run)
{
	struct oidc_session s;
	char *path;
	int rc;

	if ((rc = oidc_session_load(&s)) == 1) {
		printf("Not signed in.\n");
		return EXIT_OK;
	}
	if (rc == 0)
		revoke_refresh(&s, run->ctx->timeout > 0
		                       ? run->ctx->timeout
		                       : EFFORTCTL_DEFAULT_TIMEOUT);
	path = oidc_session_path();
	rc = unlink(path) == 0 ? EXIT_OK : EXIT_USAGE;
	if (rc == EXIT_OK)
		printf("Signed out%s%s.\n", s.issuer ? " of " : "",
		    s.issuer ? s.issuer : "");
	else
		log_error("logout: cannot remove %s", path);
	free(path);
	oidc_session_free(&s);
	return rc;
}
