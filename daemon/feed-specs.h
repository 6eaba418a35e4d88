/*
 * The feeds' record formats: the records HR and payroll systems push
 * (people, grants, assignments, charges, delegations, timesheets), each
 * described by a table of fields (feed-specs.c) that one generic validator
 * (feed-validate.h) checks, with a per-feed function for the cross-field
 * rules.
 */
#ifndef FEED_SPECS_H
#define FEED_SPECS_H

#include <stdbool.h>

#include <jansson.h>

#include "db-statements.h"

enum field_type {
	FT_STRING,
	FT_DATE,      /* YYYY-MM-DD */
	FT_MONTH,     /* YYYY-MM */
	FT_TIMESTAMP, /* ISO-8601 with offset or Z */
	FT_NUMBER,
	FT_ENUM,
};

#define F_REQUIRED 0x1 /* must be present and not null */
#define F_ENTRY    0x2 /* timesheets: a field of an entry, not the record */
#define F_HOURS    0x4 /* numbers: at most two decimals */

/* RULES.md, second edition ("Stored exactly"; email for sendmail). */
#define F_FRACTION 0x08 /* numbers: at most six decimals */
#define F_ABOVE    0x10 /* numbers: more than min, not equal to it */
#define F_EMAIL    0x20 /* strings: an address (one @, no blanks) */
/* strings: an id or code (a person, a grant, an activity), compared byte
 * for byte: no blank at either end, no tab, no invisible character, so
 * that "P1 " or "P\u200b1" is never another person than the P1 it reads as */
#define F_ID 0x40

/* The longest free text a feed field (name, title, reason) may hold, in
 * bytes; a manager's reject reason has the same limit. */
#define FEED_TEXT_MAX 1000
/* The most entries a timesheet may have: one per activity (its key), and
 * nobody works on a thousand activities a month.  Checked before any
 * entry, so that a timesheet of 100,000 entries (a CSV grouped in one, or
 * a JSON record of 1 MiB) is refused without checking each on the event
 * loop; the CSV reader keeps no more than one over. */
#define TIMESHEET_ENTRIES_MAX 1000
/* The longest id (person_id, grant_ref, ...) a feed takes, in bytes: a
 * longer one in a query or a path could match nothing. */
#define FEED_ID_MAX 64

struct field_spec {
	const char *name;
	enum field_type type;
	unsigned flags;
	const char *const *values; /* FT_ENUM: NULL-terminated */
	double min, max;           /* FT_NUMBER bounds; FT_STRING min and max
	                              length in bytes */
};

struct feed_errors;

struct feed_spec {
	const char *name; /* "people": the path /v1/people */
	enum stmt_id stmt;
	const struct field_spec *fields;
	bool has_entries; /* timesheets */
	/* Cross-field checks of one record, after the field checks passed. */
	void (*check)(json_t *rec, int index, struct feed_errors *);
};

extern const struct feed_spec feed_people, feed_grants, feed_assignments,
    feed_charges, feed_delegations, feed_timesheets;
/* All six, NULL-terminated. */
extern const struct feed_spec *const feed_specs[];

#endif
