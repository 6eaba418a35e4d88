/*
 * Text formats shared by effortd's reports and effortctl's output: RFC 4180
 * CSV fields, safe to open in a spreadsheet, and hours with two decimals.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "xmalloc.h"

/* A plain decimal number ("-1.5", "80", "-2e-07"): a spreadsheet reads it
 * as a number and runs nothing, so it is left as it is. */
static bool
is_number(const char *s)
{
	size_t n;

	s += *s == '-';
	if ((n = strspn(s, "0123456789")) == 0)
		return false;
	s += n;
	if (*s == '.') {
		if ((n = strspn(++s, "0123456789")) == 0)
			return false;
		s += n;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '-' || *s == '+';
		if ((n = strspn(s, "0123456789")) == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

/*
 * A cell a spreadsheet would take for a formula: one beginning with =, +,
 * -, @, tab or CR (the OWASP list) that is not a plain number.
 */
static bool
is_formula_like(const char *s)
{
	return *s != '\0' && strchr("=+-@\t\r", *s) != NULL && !is_number(s);
}

char *
csv_quote(const char *s)
{
	bool prefix;
	char *out, *p;

	if (s == NULL)
		return xstrdup("");
	prefix = is_formula_like(s);
	p = out = xmalloc(2 * strlen(s) + 4);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		if (prefix)
			*p++ = '\'';
		strcpy(p, s);
		return out;
	}
	*p++ = '"';
	if (prefix)
		*p++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

void
csv_put_field(FILE *fp, const char *s)
{
	char *f = csv_quote(s);

	fputs(f, fp);
	free(f);
}

char *
hours_text(double h)
{
	char *s;

	xasprintf(&s, "%.2f", h);
	if (strcmp(s, "-0.00") == 0) {
		free(s);
		s = xstrdup("0.00");
	}
	return s;
}
