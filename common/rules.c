/*
 * The audit rules' names, in the order of docs/rules.md.  The rules
 * themselves are SQL (sql/functions/30_rules.sql); this list only names
 * them, and tests/t/edges.t checks it against what the SQL reports.
 */
#include <string.h>

#include "rules.h"

const char *const audit_rules[] = { "timesheet_missing", "hours_incomplete",
	"authorisation_overdue", "authorisation_due", "authorisation_late",
	"authorisation_invalid", "activity_missing", "unevidenced_charge",
	"overcharged_month", "unassigned_grant_hours", "outside_grant_period",
	"investigator_cap_exceeded", "investigator_cap_projected",
	"teaching_excess", NULL };

bool
audit_rule_known(const char *name)
{
	for (size_t i = 0; audit_rules[i] != NULL; i++) {
		if (strcmp(audit_rules[i], name) == 0)
			return true;
	}
	return false;
}
