/*
 * The names of the audit rules (docs/rules.md), shared by effortd (the
 * compliance report's columns, the accepted values of ?rule=) and
 * effortctl (violations --rule is checked before asking the server).
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>

/* Every rule of docs/rules.md, in its order, NULL-terminated. */
extern const char *const audit_rules[];

bool audit_rule_known(const char *);

#endif
