/*
 * Text formats shared by effortd's reports and effortctl's output: RFC 4180
 * CSV fields and hours with two decimals.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "xmalloc.h"

char *
csv_quote(const char *s)
{
	char *out, *p;

	if (s == NULL)
		return xstrdup("");
	if (strpbrk(s, ",\"\r\n") == NULL)
		return xstrdup(s);
	p = out = xmalloc(2 * strlen(s) + 3);
	*p++ = '"';
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
