/*
 * effortctl: the array member of a reply as a table or CSV, or the whole
 * reply as JSON -- what pending, token list, audit log and reminders share.
 */
#include <stdio.h>

#include "listing.h"
#include "log.h"

int
cli_print_list(const struct cli_ctx *ctx, const struct response *resp,
    const char *key, const struct column *cols, size_t ncols, const char *none)
{
	json_t *list = json_object_get(resp->json, key), *v;
	struct table *t;
	size_t i;

	if (ctx->format == FORMAT_JSON) {
		out_print_json(stdout, resp->body, resp->len);
		return EXIT_OK;
	}
	if (!json_is_array(list)) {
		log_error("reply has no \"%s\" array", key);
		return EXIT_UNAVAILABLE;
	}
	t = out_table_new(cols, ncols, ctx->format);
	json_array_foreach(list, i, v) out_table_add_json(t, v);
	if (ctx->format == FORMAT_TABLE && out_table_rows(t) == 0)
		printf("%s\n", none);
	else
		out_table_print(t, stdout, NULL);
	out_table_free(t);
	return EXIT_OK;
}
