/*
 * Strict parsing of the dates, months and timestamps that feeds carry, and
 * the little day arithmetic validation needs.  Anything not in the exact
 * ISO-8601 form API.md names is refused.
 */
#include <ctype.h>
#include <string.h>

#include "date.h"

/* Reads exactly n digits at s into *out. */
static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (m == 2 && is_leap_year(y))
		return 29;
	return mdays[m - 1];
}

/* Parses "YYYY-MM-DD" at the start of s; does not look past it. */
static bool
date_parse_prefix(const char *s, struct date *d)
{
	if (strnlen(s, 10) < 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits(s, 4, &d->year) || !digits(s + 5, 2, &d->month) ||
	    !digits(s + 8, 2, &d->day))
		return false;
	if (d->year < 1900 || d->year > 9999 || d->month < 1 || d->month > 12)
		return false;
	return d->day >= 1 && d->day <= days_in_month(d->year, d->month);
}

bool
date_parse(const char *s, struct date *d)
{
	return strlen(s) == 10 && date_parse_prefix(s, d);
}

bool
month_parse(const char *s, struct date *d)
{
	if (strlen(s) != 7 || s[4] != '-' || !digits(s, 4, &d->year) ||
	    !digits(s + 5, 2, &d->month))
		return false;
	d->day = 1;
	return d->year >= 1900 && d->month >= 1 && d->month <= 12;
}

/* "HH:MM" or "HH:MM:SS" with an optional fraction of at most 6 digits
 * (PostgreSQL keeps microseconds and would round a seventh); returns
 * chars used or 0. */
static int
time_parse(const char *s)
{
	int h, m, sec, n = 5;

	if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m) ||
	    h > 23 || m > 59)
		return 0;
	if (s[5] == ':') {
		/* No second 60: PostgreSQL would store a leap second as
		 * the next minute's first (23:59:60 as the next day). */
		if (!digits(s + 6, 2, &sec) || sec > 59)
			return 0;
		n = 8;
		if (s[8] == '.') {
			n = 9;
			while (isdigit((unsigned char)s[n]))
				n++;
			if (n == 9 || n > 15)
				return 0;
		}
	}
	return n;
}

bool
timestamp_valid(const char *s)
{
	struct date d;
	int n, oh, om;

	if (!date_parse_prefix(s, &d) || (s[10] != 'T' && s[10] != ' '))
		return false;
	if ((n = time_parse(s + 11)) == 0)
		return false;
	s += 11 + n;
	if (strcmp(s, "Z") == 0)
		return true;
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    !digits(s + 1, 2, &oh) || !digits(s + 4, 2, &om))
		return false;
	return oh <= 14 && om <= 59;
}

long
date_to_days(struct date d)
{
	/* Days from civil, after H. Hinnant's algorithm. */
	int y = d.year - (d.month <= 2);
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned mp = (unsigned)(d.month + (d.month > 2 ? -3 : 9));
	unsigned doy = (153 * mp + 2) / 5 + (unsigned)d.day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (long)doe - 719468;
}

int
date_cmp(struct date a, struct date b)
{
	long da = date_to_days(a), db = date_to_days(b);

	return (da > db) - (da < db);
}

bool
date_same_month(struct date a, struct date b)
{
	return a.year == b.year && a.month == b.month;
}
