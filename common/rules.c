/*
 * The audit rules' table: name, the severities it raises and the clause of
 * the UKRI terms it checks, in the order of docs/rules.md.  The rules
 * themselves are SQL (sql/functions/30_rules.sql); tests/t/rule_table.t
 * checks this table against the rules the SQL raises (names and
 * severities) and against docs/rules.md (names and clauses).
 */
#include <string.h>

#include "rules.h"

/* clang-format off */
#define AUDIT_RULE_TABLE(X) \
	X("timesheet_missing",          "warning violation", "RGC 4.6") \
	X("hours_incomplete",           "violation",         "RGC 4.6") \
	X("authorisation_overdue",      "violation",         "RGC 4.6") \
	X("authorisation_due",          "warning",           "RGC 4.6") \
	X("authorisation_late",         "violation",         "RGC 4.6") \
	X("authorisation_invalid",      "violation",         "RGC 4.6") \
	X("activity_missing",           "violation",         "RGC 4.6") \
	X("unevidenced_charge",         "violation",         "RGC 4.6") \
	X("overcharged_month",          "violation",         "Staff Time Costs") \
	X("unassigned_grant_hours",     "violation",         "") \
	X("outside_grant_period",       "violation",         "RGC 4") \
	X("investigator_cap_exceeded",  "violation",         "Staff Time Costs") \
	X("investigator_cap_projected", "warning",           "Staff Time Costs") \
	X("teaching_excess",            "warning violation", "RGC 8.0")
/* clang-format on */

#define RULE_NAME(name, severities, clause) name,
#define RULE_ROW(name, severities, clause)  { name, severities, clause },

const char *const audit_rules[] = { AUDIT_RULE_TABLE(RULE_NAME) NULL };

const struct audit_rule audit_rule_table[] = { AUDIT_RULE_TABLE(RULE_ROW){
    NULL, NULL, NULL } };

bool
audit_rule_known(const char *name)
{
	for (size_t i = 0; audit_rules[i] != NULL; i++) {
		if (strcmp(audit_rules[i], name) == 0)
			return true;
	}
	return false;
}
