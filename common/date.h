/*
 * Calendar dates as used by the feeds: strict ISO-8601 parsing of dates
 * (YYYY-MM-DD), months (YYYY-MM) and timestamps with an offset or Z, and
 * day arithmetic on a proleptic Gregorian calendar.
 */
#ifndef DATE_H
#define DATE_H

#include <stdbool.h>

struct date {
	int year, month, day;
};

bool date_parse(const char *, struct date *);
bool month_parse(const char *, struct date *); /* day set to 1 */
bool timestamp_valid(const char *);
bool is_leap_year(int);
int days_in_month(int year, int month);
long date_to_days(struct date); /* days since 1970-01-01 */
int date_cmp(struct date, struct date);
bool date_same_month(struct date, struct date);

#endif
