/*
 * Text formats shared by effortd's reports and effortctl's output: RFC 4180
 * CSV fields and hours with two decimals.
 */
#ifndef FMT_H
#define FMT_H

#include <stdio.h>

/* A CSV field, quoted when it holds a comma, quote, CR or LF; NULL is "". */
char *csv_quote(const char *);
void csv_put_field(FILE *, const char *);
/* Hours with two decimals, never "-0.00". */
char *hours_text(double);

#endif
