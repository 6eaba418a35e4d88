/*
 * GET /v1/me: who the bearer token is, as effortd sees it: the roles, the
 * person and the token (or sign-in) id.  effortctl whoami shows it.
 * Needs no database: authentication has found all of it.
 */
#include <stdlib.h>

#include <jansson.h>

#include "api-handlers.h"
#include "request.h"

void
handle_me(struct request *r)
{
	static const char *const names[] = { "feed", "manager", "reviewer",
		"admin" };
	json_t *roles = json_array();

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (r->role & (1 << i))
			json_array_append_new(roles, json_string(names[i]));
	reply_json(r, 200,
	    json_pack("{s:o, s:s?, s:I}", "roles", roles, "person_id",
	        r->person_id, "token_id",
	        (json_int_t)strtoll(
	            r->token_id ? r->token_id : "0", NULL, 10)));
}
