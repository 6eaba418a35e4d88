/*
 * effortctl: the manager's desk -- how pending, timesheet and approve show
 * a timesheet's open findings, its deadline and whether approving it now
 * would be late (cli/desk.c).
 */
#ifndef DESK_H
#define DESK_H

#include <stdbool.h>

#include <jansson.h>

/* "hours_incomplete 22.50 h; activity_missing 132.00 h (EP/X012345/1)",
 * or "none". */
char *desk_findings_text(json_t *findings);
/* The findings as an indented table, or "<indent>none". */
void desk_print_findings(json_t *findings, const char *indent);
/* "OVERDUE by 1 day", "due today", "3 days left". */
char *desk_days_text(long long days_left);
/* "1 timesheet", "2 timesheets": n and the word, plural when n != 1. */
char *desk_count(long long n, const char *one, const char *many);
/* A JSON number as hours with two decimals ("-" for null). */
char *desk_hours(json_t *);
/*
 * What a manager should know before approving, on stderr: open findings,
 * and when the approval will be recorded late.  doc has deadline,
 * days_left and findings (a pending item or a versions reply).
 */
void desk_warn(json_t *doc);

/* Reads an answer from stdin: true for y or Y (after flushing stderr). */
bool desk_answer_yes(void);

struct cli_ctx;
/*
 * "approve --clean": approves every pending timesheet without open
 * findings (cli/approve-clean.c); asks on a terminal unless yes.
 */
int approve_clean(struct cli_ctx *, bool yes, bool ask);

#endif
