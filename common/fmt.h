/*
 * Text formats shared by effortd's reports and effortctl's output: RFC 4180
 * CSV fields, safe to open in a spreadsheet, and hours with two decimals.
 */
#ifndef FMT_H
#define FMT_H

#include <stdio.h>

/*
 * A CSV field, quoted when it holds a comma, quote, CR or LF; NULL is "".
 * Every CSV effortd and effortctl write goes through here: a cell that
 * begins with =, +, -, @, tab or CR, and is not a plain number such as
 * -1.5, gets a leading ' so that no spreadsheet runs it as a formula.
 */
char *csv_quote(const char *);
void csv_put_field(FILE *, const char *);
/* Hours with two decimals, never "-0.00". */
char *hours_text(double);

#endif
