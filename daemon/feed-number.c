/*
 * Numbers as a feed wrote them (see feed-number.h): a literal read as
 * significant digits and a power of ten, compared with the shortest text
 * of the double read from it.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-number.h"

#define DIGITS_KEPT  24
#define EXPONENT_CAP 1000000000L /* beyond any double; keeps longs sane */

/* A decimal as digits × 10^scale: its significant digits (the first
 * DIGITS_KEPT - 1 kept as text), how many there are and the power of ten
 * of the last.  Zero has none. */
struct decimal {
	char digits[DIGITS_KEPT];
	long count, scale;
};

/* Reads the mantissa's digits from s[*i]; false when there are none. */
static bool
mantissa_parse(const char *s, size_t n, size_t *i, struct decimal *d,
    long *fraction_digits, long *after_last)
{
	long total = 0, first = -1, last = -1, kept;
	bool point = false;

	for (; *i < n; (*i)++) {
		char c = s[*i];
		if (c == '.' && !point) {
			point = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		if (c != '0') {
			if (first < 0)
				first = total;
			last = total;
		}
		if (first >= 0 && (kept = total - first) < DIGITS_KEPT - 1)
			d->digits[kept] = c;
		total++;
		*fraction_digits += point;
	}
	if (first >= 0) {
		d->count = last - first + 1;
		d->digits[d->count < DIGITS_KEPT - 1 ? d->count
		                                     : DIGITS_KEPT - 1] = '\0';
		*after_last = total - 1 - last;
	}
	return total > 0;
}

/* Reads the n bytes at s as a decimal literal (leading blanks, a sign,
 * digits with a point, an exponent); false when they are not one. */
static bool
decimal_parse(const char *s, size_t n, struct decimal *d)
{
	size_t i = 0;
	long fraction_digits = 0, after_last = 0, exponent = 0;
	bool negative = false;

	memset(d, 0, sizeof *d);
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (!mantissa_parse(s, n, &i, d, &fraction_digits, &after_last))
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			negative = s[i++] == '-';
		if (i == n || !isdigit((unsigned char)s[i]))
			return false;
		for (; i < n && isdigit((unsigned char)s[i]); i++)
			if (exponent < EXPONENT_CAP)
				exponent = exponent * 10 + (s[i] - '0');
		if (exponent > EXPONENT_CAP)
			exponent = EXPONENT_CAP;
	}
	if (i != n)
		return false;
	if (d->count > 0)
		d->scale = (negative ? -exponent : exponent) - fraction_digits +
		           after_last;
	return true;
}

/* n's shortest text: 15 digits read back for all but the numbers that
 * need 16 or 17, and %g drops the zeros the shortest text does not have. */
void
number_text(double n, char *text, size_t len)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(text, len, "%.*g", digits, n);
		if (strtod(text, NULL) == n)
			return;
	}
}

long
number_decimals(double n)
{
	struct decimal d;
	char text[40];

	number_text(n, text, sizeof text);
	if (!decimal_parse(text, strlen(text), &d))
		return 0; /* inf or nan: the range check refuses them */
	return d.scale < 0 ? -d.scale : 0;
}

/* Digits from s[*i]: how many. */
static size_t
digits_run(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

bool
number_json_form(const char *s, size_t n)
{
	size_t i = 0, lead;

	if (i < n && s[i] == '-')
		i++;
	if ((lead = digits_run(s, n, &i)) == 0 ||
	    (lead > 1 && s[i - lead] == '0'))
		return false;
	if (i < n && s[i] == '.' && (++i, digits_run(s, n, &i)) == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (digits_run(s, n, &i) == 0)
			return false;
	}
	return i == n;
}

bool
number_literal_exact(const char *s, size_t n, long *decimals)
{
	struct decimal literal, back;
	char text[64];
	double v;
	long lead;

	*decimals = 0;
	if (!decimal_parse(s, n, &literal))
		return true; /* not a number: the field checks say so */
	*decimals = literal.scale < 0 ? -literal.scale : 0;
	if (literal.count == 0)
		return true;
	if (literal.count > 17) /* more than any double's shortest text */
		return false;
	/* Up to 15 significant digits read back as written (DBL_DIG) while
	 * the number is a normal double. */
	lead = literal.scale + literal.count - 1;
	if (literal.count <= 15 && lead >= -307 && lead <= 307)
		return true;
	snprintf(text, sizeof text, "%se%ld", literal.digits, literal.scale);
	v = strtod(text, NULL);
	if (v == 0 || !isfinite(v))
		return false;
	number_text(v, text, sizeof text);
	return decimal_parse(text, strlen(text), &back) &&
	       back.count == literal.count && back.scale == literal.scale &&
	       strcmp(back.digits, literal.digits) == 0;
}
