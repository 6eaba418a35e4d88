/*
 * Unit tests of effortctl's output formatting (cli/output.c, included
 * whole): RFC 4180 CSV quoting, hours and number cells, text-table
 * alignment and the JSON pretty-printer that keeps values untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../cli/output.c"

/* Prints t into a string. */
static char *
capture_table(const struct table *t, const char *indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	out_table_print(t, fp, indent);
	fclose(fp);
	return buf;
}

static void
check_csv(const char *in, const char *want)
{
	char *got = csv_quote(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_csv_quoting(void **state)
{
	(void)state;
	check_csv("plain", "plain");
	check_csv("", "");
	check_csv(NULL, "");
	check_csv("EP/X012345/1", "EP/X012345/1");
	check_csv("a,b", "\"a,b\"");
	check_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
	check_csv("\"", "\"\"\"\"");
	check_csv("line\nbreak", "\"line\nbreak\"");
	check_csv("cr\rhere", "\"cr\rhere\"");
	check_csv(" spaces kept ", " spaces kept ");
	check_csv("Zoë", "Zoë");
	/* Formula-like text gets a leading ' (spreadsheets run nothing);
	 * plain numbers stay numbers. */
	check_csv("=1+2", "'=1+2");
	check_csv("+44 20 7946 0000", "'+44 20 7946 0000");
	check_csv("-", "'-");
	check_csv("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0");
	check_csv("@SUM(A1)", "'@SUM(A1)");
	check_csv("\tTAB", "'\tTAB");
	check_csv("\rCR", "\"'\rCR\"");
	check_csv(
	    "=HYPERLINK(\"x\",\"y\")", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	check_csv("-1.5", "-1.5");
	check_csv("-0.00", "-0.00");
	check_csv("-2e-07", "-2e-07");
	check_csv("-1.", "'-1.");
	check_csv("-1e", "'-1e");
	check_csv("a=b", "a=b");
}

static void
test_hours(void **state)
{
	char *s;

	(void)state;
	s = hours_text(172.5);
	assert_string_equal(s, "172.50");
	free(s);
	s = hours_text(0.125);
	assert_string_equal(s, "0.12");
	free(s);
	s = hours_text(-0.001);
	assert_string_equal(s, "0.00");
	free(s);
	s = hours_text(80);
	assert_string_equal(s, "80.00");
	free(s);
}

static void
check_cell(const char *json, enum col_type type, enum output_format f,
    const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *got;

	assert_non_null(v);
	got = out_json_cell(v, type, f);
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
	free(got);
	json_decref(v);
}

static void
test_cells(void **state)
{
	(void)state;
	check_cell("22.5", COL_HOURS, FORMAT_TABLE, "22.50");
	check_cell("80", COL_HOURS, FORMAT_TABLE, "80.00");
	check_cell("22.5", COL_HOURS, FORMAT_CSV, "22.5");
	check_cell("80", COL_HOURS, FORMAT_CSV, "80");
	check_cell("0.1", COL_HOURS, FORMAT_CSV, "0.1");
	check_cell("1234.567", COL_HOURS, FORMAT_CSV, "1234.567");
	check_cell("17", COL_INT, FORMAT_TABLE, "17");
	check_cell("\"E1001\"", COL_TEXT, FORMAT_CSV, "E1001");
	check_cell("null", COL_TEXT, FORMAT_TABLE, NULL);
	check_cell("true", COL_TEXT, FORMAT_CSV, "true");
	assert_null(out_json_cell(NULL, COL_TEXT, FORMAT_CSV));
}

static void
test_text_width(void **state)
{
	(void)state;
	assert_int_equal(out_text_width(""), 0);
	assert_int_equal(out_text_width("abc"), 3);
	assert_int_equal(out_text_width("Zoë"), 3);
	assert_int_equal(out_text_width("£10—"), 4);
	assert_int_equal(out_text_width("山田太郎"), 8);    /* wide */
	assert_int_equal(out_text_width("Zoe\xcc\x81"), 3); /* combining */
	assert_int_equal(out_text_width("a\xff"
	                                "b"),
	    3); /* not UTF-8 */
}

static const struct column cols[] = {
	{ "person_id", "PERSON", COL_TEXT },
	{ "hours", "HOURS", COL_HOURS },
	{ "detail", "DETAIL", COL_TEXT },
};

static struct table *
sample_table(enum output_format f)
{
	struct table *t = out_table_new(cols, 3, f);
	json_t *a = json_pack("{s:s,s:f,s:s}", "person_id", "E1", "hours",
	    172.5, "detail", "short");
	json_t *b = json_pack("{s:s,s:i,s:s}", "person_id", "Zoë", "hours", 8,
	    "detail", "a, \"b\"\nc");
	json_t *c = json_pack("{s:s,s:n}", "person_id", "E1003", "hours");

	out_table_add_json(t, a);
	out_table_add_json(t, b);
	out_table_add_json(t, c);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	return t;
}

static void
test_table_text(void **state)
{
	struct table *t = sample_table(FORMAT_TABLE);
	char *got = capture_table(t, NULL);

	(void)state;
	assert_int_equal(out_table_rows(t), 3);
	assert_string_equal(got, "PERSON   HOURS  DETAIL\n"
	                         "E1      172.50  short\n"
	                         "Zoë       8.00  a, \"b\" c\n"
	                         "E1003        -  -\n");
	free(got);
	got = capture_table(t, "  ");
	assert_string_equal(got, "  PERSON   HOURS  DETAIL\n"
	                         "  E1      172.50  short\n"
	                         "  Zoë       8.00  a, \"b\" c\n"
	                         "  E1003        -  -\n");
	free(got);
	out_table_free(t);
}

static void
test_table_csv(void **state)
{
	struct table *t = sample_table(FORMAT_CSV);
	char *got = capture_table(t, NULL);

	(void)state;
	assert_string_equal(got, "person_id,hours,detail\r\n"
	                         "E1,172.5,short\r\n"
	                         "Zoë,8,\"a, \"\"b\"\"\nc\"\r\n"
	                         "E1003,,\r\n");
	free(got);
	out_table_free(t);
}

static void
test_table_empty(void **state)
{
	struct table *t = out_table_new(cols, 3, FORMAT_CSV);
	char *got = capture_table(t, NULL);

	(void)state;
	assert_string_equal(got, "person_id,hours,detail\r\n");
	free(got);
	out_table_free(t);
}

static void
test_json_pretty(void **state)
{
	const char *in = "{\"a\":[1,2.50,1e3],\"b\":{},\"c\":[ ],"
	                 "\"s\":\"x, {y}: [\\\"z\\\"]\",\"n\":null}";
	char *got = out_json_pretty(in, strlen(in));

	(void)state;
	assert_string_equal(got, "{\n"
	                         "  \"a\": [\n"
	                         "    1,\n"
	                         "    2.50,\n"
	                         "    1e3\n"
	                         "  ],\n"
	                         "  \"b\": {},\n"
	                         "  \"c\": [],\n"
	                         "  \"s\": \"x, {y}: [\\\"z\\\"]\",\n"
	                         "  \"n\": null\n"
	                         "}\n");
	free(got);
}

static void
test_parse_format(void **state)
{
	enum output_format f;

	(void)state;
	assert_int_equal(out_parse_format("table", &f), 0);
	assert_int_equal(f, FORMAT_TABLE);
	assert_int_equal(out_parse_format("csv", &f), 0);
	assert_int_equal(f, FORMAT_CSV);
	assert_int_equal(out_parse_format("json", &f), 0);
	assert_int_equal(f, FORMAT_JSON);
	assert_int_equal(out_parse_format("xml", &f), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_table_text),
		cmocka_unit_test(test_table_csv),
		cmocka_unit_test(test_table_empty),
		cmocka_unit_test(test_json_pretty),
		cmocka_unit_test(test_parse_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
