/*
 * effortctl: the manager's desk -- the words pending, timesheet and
 * approve share for a timesheet's open findings, its deadline and a late
 * approval, so that each command says them the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "desk.h"
#include "output.h"
#include "xmalloc.h"

char *
desk_hours(json_t *v)
{
	char *s = out_json_cell(v, COL_HOURS, FORMAT_TABLE);

	return s != NULL ? s : xstrdup("-");
}

char *
desk_count(long long n, const char *one, const char *many)
{
	char *s;

	xasprintf(&s, "%lld %s", n, n == 1 || n == -1 ? one : many);
	return s;
}

char *
desk_days_text(long long days_left)
{
	char *days, *s;

	if (days_left == 0)
		return xstrdup("due today");
	days =
	    desk_count(days_left < 0 ? -days_left : days_left, "day", "days");
	if (days_left < 0)
		xasprintf(&s, "OVERDUE by %s", days);
	else
		xasprintf(&s, "%s left", days);
	free(days);
	return s;
}

char *
desk_findings_text(json_t *findings)
{
	json_t *f;
	size_t i;
	char *out = xstrdup(""), *next, *hours;

	json_array_foreach(findings, i, f)
	{
		const char *grant = json_text(f, "grant_ref");

		hours = desk_hours(json_object_get(f, "hours"));
		xasprintf(&next, "%s%s%s %s h%s%s%s", out, i > 0 ? "; " : "",
		    json_text(f, "rule") ? json_text(f, "rule") : "?", hours,
		    grant ? " (" : "", grant ? grant : "", grant ? ")" : "");
		free(hours);
		free(out);
		out = next;
	}
	if (*out == '\0') {
		free(out);
		out = xstrdup("none");
	}
	return out;
}

static const struct column finding_columns[] = {
	{ "rule", "RULE", COL_TEXT },
	{ "severity", "SEVERITY", COL_TEXT },
	{ "grant_ref", "GRANT", COL_TEXT },
	{ "hours", "HOURS", COL_HOURS },
	{ "detail", "DETAIL", COL_TEXT },
};

void
desk_print_findings(json_t *findings, const char *indent)
{
	struct table *t = out_table_new(finding_columns,
	    sizeof finding_columns / sizeof finding_columns[0], FORMAT_TABLE);
	json_t *f;
	size_t i;

	json_array_foreach(findings, i, f) out_table_add_json(t, f);
	if (out_table_rows(t) == 0)
		printf("%snone\n", indent);
	else
		out_table_print(t, stdout, indent);
	out_table_free(t);
}

void
desk_warn(json_t *doc)
{
	json_t *findings = json_object_get(doc, "findings"), *f;
	json_t *days = json_object_get(doc, "days_left");
	const char *deadline = json_text(doc, "deadline");
	size_t i;

	json_array_foreach(findings, i, f)
	{
		char *hours = desk_hours(json_object_get(f, "hours"));

		fprintf(stderr, "  open finding: %s (%s) %s h: %s\n",
		    json_text(f, "rule") ? json_text(f, "rule") : "?",
		    json_text(f, "severity") ? json_text(f, "severity") : "?",
		    hours,
		    json_text(f, "detail") ? json_text(f, "detail") : "");
		free(hours);
	}
	if (json_array_size(findings) == 0)
		fprintf(stderr, "  no open findings\n");
	if (json_is_integer(days) && json_integer_value(days) < 0) {
		char *late =
		    desk_count(-json_integer_value(days), "day", "days");

		fprintf(stderr,
		    "  LATE: the deadline was %s; this approval will be "
		    "recorded %s late (authorisation_late)\n",
		    deadline ? deadline : "?", late);
		free(late);
	}
}

bool
desk_answer_yes(void)
{
	char line[64];
	int ch;

	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL) {
		fputc('\n', stderr);
		return false;
	}
	/* One answer is one line: the rest of a long one answers nothing. */
	if (strchr(line, '\n') == NULL)
		while ((ch = getchar()) != EOF && ch != '\n')
			;
	return line[0] == 'y' || line[0] == 'Y';
}
