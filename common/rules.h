/*
 * The audit rules (docs/rules.md): their names, severities and clauses,
 * shared by effortd (the compliance report's columns, the accepted values
 * of ?rule=) and effortctl (violations --rule is checked before asking the
 * server).  One table in common/rules.c.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>

struct audit_rule {
	const char *name;
	const char *severities; /* "warning", "violation" or both, by spaces */
	const char *clause;     /* of the UKRI terms; "" when none is cited */
};

/* Every rule of docs/rules.md, in its order, NULL-terminated. */
extern const char *const audit_rules[];
/* The same rules with severities and clauses, ending in a NULL name. */
extern const struct audit_rule audit_rule_table[];

bool audit_rule_known(const char *);

#endif
