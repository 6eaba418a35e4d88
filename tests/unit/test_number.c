/*
 * Unit tests of numbers read as written (daemon/feed-number.c) and of the
 * walk that finds a JSON record's literals no double holds, by the path
 * the field checks name (daemon/ingest-json-literal.c); and of a record's
 * check with such a literal (daemon/feed-validate.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-validate.h"
#include "ingest-json-literal.h"

static void
expect_literal(const char *s, bool exact, long decimals)
{
	long got = -1;

	if (number_literal_exact(s, strlen(s), &got) != exact)
		fail_msg("%s: expected %s", s, exact ? "exact" : "inexact");
	if (got != decimals)
		fail_msg("%s: %ld decimals, expected %ld", s, got, decimals);
}

static void
test_literals(void **state)
{
	(void)state;
	expect_literal("7.5", true, 1);
	expect_literal("7.50", true, 1);
	expect_literal("-0", true, 0);
	expect_literal("0.000", true, 0);
	expect_literal("0e-999", true, 0);
	expect_literal("1.000000000000000000000", true, 0);
	expect_literal("1.5e1", true, 0);
	expect_literal("75e-1", true, 1);
	expect_literal("1e-7", true, 7);
	expect_literal("123456789012345", true, 0);
	/* The double's own shortest text: exact, its 17 decimals counted. */
	expect_literal("0.30000000000000004", true, 17);
	expect_literal("0.1000000000000000055511151231257827", false, 34);
	/* No double holds these as written. */
	expect_literal("0.99999999999999999", false, 17);
	expect_literal("7.0000000000000000001", false, 19);
	expect_literal("1e-400", false, 400);
	expect_literal("-1e-400", false, 400);
	expect_literal("1e400", false, 0);
	expect_literal("123456789012345678", false, 0);
	expect_literal("1e-99999999999999999999", false, 1000000000);
	/* CSV cells strtod reads. */
	expect_literal("+.5", true, 1);
	expect_literal(" 5.", true, 0);
	expect_literal("0.99999999999999999", false, 17);
	/* Not a number: left to the field checks. */
	expect_literal("abc", true, 0);
	expect_literal("1e", true, 0);
}

static void
test_decimals(void **state)
{
	(void)state;
	assert_int_equal(number_decimals(7.5), 1);
	assert_int_equal(number_decimals(0.1 + 0.2), 17);
	assert_int_equal(number_decimals(1e20), 0);
	assert_int_equal(number_decimals(1e-7), 7);
	assert_int_equal(number_decimals(744), 0);
}

/* The walk's list for a record, as "path=decimals;..." */
static const char *
walked(const char *text)
{
	static char out[512];
	struct number_inexact list;
	size_t n = 0;

	json_literals_check(text, strlen(text), &list);
	out[0] = '\0';
	for (int i = 0; i < list.count; i++)
		n += (size_t)snprintf(out + n, sizeof out - n, "%s=%ld;",
		    list.at[i].field, list.at[i].decimals);
	return out;
}

static void
test_walk(void **state)
{
	(void)state;
	assert_string_equal(walked("{\"fte\":0.5,\"x\":\"1e-400\"}"), "");
	assert_string_equal(
	    walked("{\"person_id\":\"P\",\"fte\":0.99999999999999999}"),
	    "fte=17;");
	assert_string_equal(
	    walked("{\"entries\":[{\"hours\":1},{\"kind\":\"a\",\"hours\""
	           ": 1e-400 }],\"person_id\":\"P\"}"),
	    "entries[1].hours=400;");
	/* An escaped key is the field it spells. */
	assert_string_equal(
	    walked("{\"\\u0066te\":0.99999999999999999}"), "fte=17;");
	assert_string_equal(
	    walked("{\"a\\\"b\":7.0000000000000000001,\"c\\u00e9\":1e-400}"),
	    "a\"b=19;c?=400;");
	/* Values inside containers the checks refuse keep their path. */
	assert_string_equal(walked("{\"fte\":[1,[2,1e-400]],\"hours\":{\"a\":"
	                           "{\"b\":1e-400}},\"n\":null,\"t\":true}"),
	    "fte[1][1]=400;hours.a.b=400;");
	assert_string_equal(walked("1e-400"), "=400;");
}

static void
test_walk_many(void **state)
{
	char text[4096];
	struct number_inexact list;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof text - n, "{\"entries\":[");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		    "%s{\"hours\":1e-400}", i ? "," : "");
	snprintf(text + n, sizeof text - n, "]}");
	json_literals_check(text, strlen(text), &list);
	assert_int_equal(list.count, NUMBER_INEXACT_MAX);
	assert_string_equal(list.at[7].field, "entries[7].hours");
}

/* A record's checks with the walk's list: the decimals as sent. */
static void
test_record_check(void **state)
{
	const char *text =
	    "{\"person_id\":\"E1\",\"name\":\"N\",\"fte\":0.99999999999999999,"
	    "\"employment_start\":\"2020-01-01\"}";
	struct number_inexact list;
	struct feed_errors errs;
	json_t *records = json_array(), *e;

	(void)state;
	json_array_append_new(records, json_loads(text, 0, NULL));
	json_literals_check(text, strlen(text), &list);
	feed_errors_init(&errs, false);
	errs.inexact = &list;
	assert_int_equal(feed_validate(&feed_people, records, &errs), 1);
	e = json_array_get(errs.list, 0);
	assert_string_equal(
	    json_string_value(json_object_get(e, "field")), "fte");
	assert_string_equal(json_string_value(json_object_get(e, "message")),
	    "at most 6 decimals");
	/* Without the list the double, 1, would pass. */
	json_decref(errs.list);
	feed_errors_init(&errs, false);
	assert_int_equal(feed_validate(&feed_people, records, &errs), 0);
	json_decref(errs.list);
	json_decref(records);
}

/* A number as JSON writes one (RFC 8259), what a CSV cell may hold. */
static void
test_json_form(void **state)
{
	static const char *const yes[] = { "0", "-0", "7", "7.5", "7.50", "10",
		"1e1", "1E+1", "0.5e-1", "-7.25", "0.0", NULL };
	static const char *const no[] = { "", "-", "+7.5", ".5", "5.", "-.5",
		"007.50", "00", "01", "0x10", "Infinity", "NaN", "1e", "1e+",
		"7.5 ", " 7.5", "7,5", "1..2", "--1", NULL };

	(void)state;
	for (const char *const *s = yes; *s != NULL; s++)
		if (!number_json_form(*s, strlen(*s)))
			fail_msg("\"%s\" refused", *s);
	for (const char *const *s = no; *s != NULL; s++)
		if (number_json_form(*s, strlen(*s)))
			fail_msg("\"%s\" taken", *s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_walk_many),
		cmocka_unit_test(test_record_check),
		cmocka_unit_test(test_json_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
