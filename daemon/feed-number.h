/*
 * Numbers as a feed wrote them (feed-number.c).  jansson and strtod hand
 * the checks a double: 0.99999999999999999 arrives as 1 and 1e-400 as 0,
 * and the decimals the field checks count would be the double's, not the
 * sender's.  So a literal is also read here as written, and one a double
 * does not hold exactly is refused with the decimals it was sent with.
 */
#ifndef FEED_NUMBER_H
#define FEED_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* The decimals of n's shortest text: the fewest significant digits that
 * read back as n, which is what the sender's language prints for it. */
long number_decimals(double n);
/* That shortest text ("1.0000001", not %g's "1"), for messages. */
void number_text(double n, char *text, size_t len);

/*
 * Whether the n bytes at s, a number literal (JSON's form, or a decimal
 * strtod reads: sign, digits, point, exponent), are exactly the double
 * read from them, as its shortest text.  *decimals: the literal's own
 * decimals, trailing zeros aside ("7.50" 1, "1e-400" 400, "1.5e1" 0).
 */
bool number_literal_exact(const char *s, size_t n, long *decimals);

/*
 * Whether the n bytes at s are a number as JSON writes one (RFC 8259):
 * an optional minus, digits without a leading zero, a point only with
 * digits either side, an exponent.  Not "+7.5", ".5", "5.", "007.5",
 * "0x10", "Infinity" or "NaN", which strtod reads.
 */
bool number_json_form(const char *s, size_t n);

/* The number literals of one record that a double does not hold as
 * written, by the path its field's check names ("fte", "entries[2].hours").
 * Any one of them fails the record: those past the first few are not
 * named. */
#define NUMBER_INEXACT_MAX 8
#define NUMBER_FIELD_MAX   96
struct number_inexact {
	int count;
	struct {
		char field[NUMBER_FIELD_MAX];
		long decimals;
	} at[NUMBER_INEXACT_MAX];
};

#endif
