/*
 * "effortctl whoami": who effortd takes the caller to be (GET /v1/me:
 * person and roles) and, for a sign-in with the identity provider, the
 * subject, the provider and when the access token expires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "oidc-session.h"

static int cmd_whoami_exec(struct cmd_run *);

const struct cmd_entry cmd_whoami_entry = {
	"whoami",
	"",
	"Show the person and roles effortd sees, and the sign-in's expiry.",
	"",
	.args_max = 0,
	.exec = cmd_whoami_exec,
};

/* The roles as "manager, reviewer". */
static char *
roles_text(json_t *roles)
{
	size_t i, n = 1;
	json_t *v;
	char *out;

	json_array_foreach(roles, i, v) n += strlen(json_string_value(v)) + 2;
	out = calloc(1, n);
	json_array_foreach(roles, i, v)
	{
		if (i > 0)
			strcat(out, ", ");
		strcat(out, json_string_value(v));
	}
	return out;
}

/* Adds the sign-in's subject, issuer and expiry when the token is one. */
static void
add_signin(json_t *me, const char *token)
{
	json_t *claims = oidc_jwt_claims(token);
	json_t *exp = json_object_get(claims, "exp");

	if (claims == NULL)
		return;
	json_object_set(me, "subject", json_object_get(claims, "sub"));
	json_object_set(me, "issuer", json_object_get(claims, "iss"));
	if (json_is_integer(exp)) {
		char when[32];
		time_t t = (time_t)json_integer_value(exp);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		json_object_set_new(me, "expires_at", json_string(when));
	}
	json_decref(claims);
}

static void
print_me(const struct cli_ctx *ctx, json_t *me)
{
	static const char *const keys[] = { "person_id", "roles", "subject",
		"issuer", "expires_at", "token_id" };
	static const char *const labels[] = { "person", "roles", "subject",
		"issuer", "expires", "token id" };

	if (ctx->format == FORMAT_JSON) {
		json_dumpf(me, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		return;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(me, keys[i]);
		char *roles = json_is_array(v) ? roles_text(v) : NULL;
		char num[32];
		const char *text = roles ? roles : json_string_value(v);

		if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			text = num;
		}
		if (text != NULL)
			printf("%-9s %s\n", labels[i], text);
		free(roles);
	}
}

static int
cmd_whoami_exec(struct cmd_run *run)
{
	struct client *cl;
	int rc;

	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	if ((rc = client_get(cl, "/v1/me", &run->resp, "whoami")) == EXIT_OK) {
		if (cl->s.token != NULL)
			add_signin(run->resp.json, cl->s.token);
		print_me(run->ctx, run->resp.json);
	}
	return rc;
}
