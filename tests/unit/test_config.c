/*
 * Unit tests of the configuration loader (daemon/config.c): defaults, the
 * "FILE:LINE: reason" of every kind of bad setting, the rules as JSON and
 * which differences need a restart.  Fixture files are written into a
 * fresh mkdtemp directory that is removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

static char tmpdir[] = "/tmp/effortd-config-test.XXXXXX";
static int nfiles;
static char files[64][300];

/* Writes text to a new fixture file; returns its path. */
static const char *
fixture(const char *text)
{
	char *path;
	FILE *fp;

	assert_true(nfiles < 64);
	path = files[nfiles];
	snprintf(path, sizeof files[0], "%s/f%02d.conf", tmpdir, nfiles);
	nfiles++;
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nfiles; i++)
		unlink(files[i]);
	return rmdir(tmpdir);
}

static void
load_ok(const char *path, struct config *cfg)
{
	char err[512] = "";

	if (config_load(path, cfg, err, sizeof err) != 0)
		fail_msg("config_load(%s) failed: %s", path, err);
}

/* Loads text and expects failure with exactly "PATH:LINE: " + want. */
static void
load_bad(const char *text, int line, const char *want)
{
	const char *path = fixture(text);
	struct config cfg;
	char err[512] = "", expect[1024];

	if (config_load(path, &cfg, err, sizeof err) == 0) {
		config_free(&cfg);
		fail_msg("config_load accepted: %s", text);
	}
	snprintf(expect, sizeof expect, "%s:%d: %s", path, line, want);
	if (strncmp(err, expect, strlen(expect)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err, expect);
	/* The strings were released on failure. */
	assert_null(cfg.rules.timezone);
	assert_null(cfg.listen_address);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(fixture(""), &cfg);
	assert_int_equal(cfg.listen_port, 8470);
	assert_string_equal(cfg.listen_address, "127.0.0.1");
	assert_int_equal(cfg.db_pool_size, 4);
	assert_string_equal(cfg.db_conninfo, "dbname=effortd");
	assert_true(cfg.rules.standard_weekly_hours == 37.5);
	assert_string_equal(cfg.rules.timezone, "Europe/London");
	assert_int_equal(cfg.rules.cap_year_start_month, 8);
	assert_int_equal(cfg.rules.authorisation_months, 2);
	assert_true(cfg.rules.all_hours_tolerance == 0.5);
	assert_true(cfg.rules.charge_tolerance == 0.5);
	assert_int_equal(cfg.rules.reminder_days, 14);
	assert_true(cfg.rules.investigator_annual_hours == 1650);
	assert_true(cfg.rules.teaching_weekly_hours == 6);
	assert_string_equal(cfg.log_level, "info");
	config_free(&cfg);
	assert_null(cfg.rules.timezone);
	assert_null(cfg.listen_address);

	/* Comments and empty groups only: the same defaults. */
	load_ok(
	    fixture("# nothing\n// here\nrules = { };\nlisten = { };\n"), &cfg);
	assert_int_equal(cfg.listen_port, 8470);
	assert_true(cfg.rules.standard_weekly_hours == 37.5);
	config_free(&cfg);
}

static void
test_values_read(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(
	    fixture(
	        "listen = { address = \"0.0.0.0\"; port = 9000; };\n"
	        "db = { pool_size = 8; conninfo = \"host=db dbname=e\"; };\n"
	        "log = { level = \"debug\"; };\n"
	        "rules = {\n"
	        "  timezone = \"America/New_York\";\n"
	        "  standard_weekly_hours = 40;\n" /* an integer for a double */
	        "  cap_year_start_month = 4;\n"
	        "  authorisation_months = 3;\n"
	        "  all_hours_tolerance = 0.25;\n"
	        "  reminder_days = 7;\n"
	        "};\n"),
	    &cfg);
	assert_string_equal(cfg.listen_address, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 9000);
	assert_int_equal(cfg.db_pool_size, 8);
	assert_string_equal(cfg.db_conninfo, "host=db dbname=e");
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.rules.timezone, "America/New_York");
	assert_true(cfg.rules.standard_weekly_hours == 40.0);
	assert_int_equal(cfg.rules.cap_year_start_month, 4);
	assert_int_equal(cfg.rules.authorisation_months, 3);
	assert_true(cfg.rules.all_hours_tolerance == 0.25);
	assert_int_equal(cfg.rules.reminder_days, 7);
	/* Untouched settings keep their defaults. */
	assert_true(cfg.rules.charge_tolerance == 0.5);
	config_free(&cfg);
}

/* The sample configuration of the repository loads and is the defaults. */
static void
test_sample_conf(void **state)
{
	struct config cfg, def;

	(void)state;
	if (access("conf/effortd.conf", R_OK) != 0)
		skip();
	load_ok("conf/effortd.conf", &cfg);
	load_ok(fixture(""), &def);
	assert_int_equal(cfg.listen_port, def.listen_port);
	assert_true(
	    cfg.rules.standard_weekly_hours == def.rules.standard_weekly_hours);
	assert_string_equal(cfg.rules.timezone, def.rules.timezone);
	config_free(&cfg);
	config_free(&def);
}

static void
test_bad_values(void **state)
{
	(void)state;
	load_bad("# effortd\n"
	         "listen = { port = 8470; };\n"
	         "rules = {\n"
	         "  timezone = \"Europe/London\";\n"
	         "  standard_weekly_hours = -1.0;\n"
	         "};\n",
	    5, "rules.standard_weekly_hours: -1 is out of range");
	load_bad("rules = { standard_weekly_hours = -1.0; };\n", 1,
	    "rules.standard_weekly_hours: -1 is out of range");
	load_bad("\n\nrules = {\n\n  cap_year_start_month = 13;\n};\n", 5,
	    "rules.cap_year_start_month: 13 is out of range (1 to 12)");
	load_bad("rules = {\n  cap_year_start_month = 0;\n};\n", 2,
	    "rules.cap_year_start_month: 0 is out of range");
	load_bad("rules = {\n"
	         "  reminder_days = 14;\n"
	         "  timezone = \"Mars/Olympus\";\n"
	         "};\n",
	    3, "rules.timezone: unknown time zone \"Mars/Olympus\"");
	load_bad("rules = { timezone = \"\"; };\n", 1,
	    "rules.timezone: unknown time zone");
	load_bad("rules = { timezone = \"Europe\"; };\n", 1,
	    "rules.timezone: unknown time zone");
	load_bad("rules = { timezone = \"../../../etc/passwd\"; };\n", 1,
	    "rules.timezone: unknown time zone");
	load_bad("rules = { timezone = \"/etc/passwd\"; };\n", 1,
	    "rules.timezone: unknown time zone");
	load_bad("rules = { all_hours_tolerance = -0.5; };\n", 1,
	    "rules.all_hours_tolerance: -0.5 is out of range");
	load_bad("rules = { authorisation_months = -1; };\n", 1,
	    "rules.authorisation_months: -1 is out of range");
	load_bad("\nlisten = { port = 70000; };\n", 2,
	    "listen.port: 70000 is out of range (0 to 65535)");
	load_bad(
	    "db = { pool_size = 0; };\n", 1, "db.pool_size: 0 is out of range");
	load_bad("log = { level = \"loud\"; };\n", 1,
	    "log.level: unknown level \"loud\"");
	load_bad("listen = { address = \"\"; };\n", 1,
	    "listen.address: must not be empty");
}

static void
test_wrong_types(void **state)
{
	(void)state;
	load_bad("listen = { port = \"x\"; };\n", 1,
	    "listen.port: must be an integer");
	load_bad("listen = {\n  port = 8470.0;\n};\n", 2,
	    "listen.port: must be an integer");
	load_bad("rules = {\n\n  reminder_days = true;\n};\n", 3,
	    "rules.reminder_days: must be an integer");
	load_bad("rules = { standard_weekly_hours = \"37.5\"; };\n", 1,
	    "rules.standard_weekly_hours: must be a number");
	load_bad("rules = { timezone = 1; };\n", 1,
	    "rules.timezone: must be a string");
	load_bad("db = { conninfo = [ \"a\" ]; };\n", 1,
	    "db.conninfo: must be a string");
}

static void
test_unknown_settings(void **state)
{
	(void)state;
	load_bad("rules = { tolerance = 1; };\n", 1,
	    "unknown setting \"rules.tolerance\"");
	load_bad("rules = {\n"
	         "  timezone = \"Europe/London\";\n"
	         "  tolerance = 1;\n"
	         "};\n",
	    3, "unknown setting \"rules.tolerance\"");
	load_bad("# top\nlistne = { port = 1; };\n", 2,
	    "unknown setting \"listne\"");
	load_bad("port = 8470;\n", 1, "unknown setting \"port\"");
	load_bad("listen = {\n  port = { x = 1; };\n};\n", 2,
	    "unknown setting \"listen.port.x\"");
	/* A setting named like a group prefix is not an option. */
	load_bad("rules = { time = \"UTC\"; };\n", 1,
	    "unknown setting \"rules.time\"");
}

static void
test_syntax_error(void **state)
{
	(void)state;
	load_bad("listen = {\n  port = 8470;\n};\nrules = {\n"
	         "  timezone = = \"UTC\";\n  reminder_days = 3;\n};\n",
	    5, "syntax error");
	load_bad("# one\n# two\nlisten = { port = 8470; }\n"
	         "db = { pool_size = 4; ;\n",
	    4, "syntax error");
	load_bad("# one\n\nlisten = { port 8470; };\n"
	         "db = { pool_size = 4; };\n",
	    3, "syntax error");
	load_bad("rules = {\n  reminder_days = 3;\n  reminder_days = 4;\n};\n",
	    3, "duplicate setting");
}

static void
test_unreadable(void **state)
{
	struct config cfg;
	char err[512] = "", path[400], expect[512];

	(void)state;
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
	snprintf(expect, sizeof expect, "%s: cannot read file", path);
	assert_string_equal(err, expect);
	assert_null(cfg.rules.timezone);

	if (geteuid() != 0) {
		const char *p = fixture("listen = { port = 1; };\n");
		assert_int_equal(chmod(p, 0), 0);
		assert_int_equal(config_load(p, &cfg, err, sizeof err), -1);
		snprintf(expect, sizeof expect, "%s: cannot read file", p);
		assert_string_equal(err, expect);
	}
}

/* Files of the tz database that are not zones are no time zones. */
static void
test_timezone_not_a_zone(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/zone.tab", R_OK) != 0)
		skip();
	load_bad("rules = { timezone = \"zone.tab\"; };\n", 1,
	    "rules.timezone: unknown time zone");
}

static void
test_rules_json(void **state)
{
	static const char *const keys[] = { "timezone", "standard_weekly_hours",
		"investigator_annual_hours", "authorisation_months",
		"cap_year_start_month", "teaching_weekly_hours",
		"all_hours_tolerance", "charge_tolerance", "reminder_days" };
	struct config cfg;
	json_error_t jerr;
	json_t *o;
	char *s;

	(void)state;
	load_ok(fixture("rules = { standard_weekly_hours = 36.25; "
	                "timezone = \"UTC\"; reminder_days = 10; };\n"),
	    &cfg);
	s = config_rules_json(&cfg);
	o = json_loads(s, 0, &jerr);
	if (o == NULL)
		fail_msg("config_rules_json gave bad JSON: %s", s);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(o, keys[i]) == NULL)
			fail_msg("rules JSON lacks \"%s\": %s", keys[i], s);
	assert_int_equal(json_object_size(o), sizeof keys / sizeof keys[0]);
	assert_string_equal(
	    json_string_value(json_object_get(o, "timezone")), "UTC");
	assert_true(json_number_value(
	                json_object_get(o, "standard_weekly_hours")) == 36.25);
	assert_true(json_is_integer(json_object_get(o, "reminder_days")));
	assert_int_equal(
	    json_integer_value(json_object_get(o, "reminder_days")), 10);
	assert_int_equal(
	    json_integer_value(json_object_get(o, "cap_year_start_month")), 8);
	assert_true(json_number_value(json_object_get(
	                o, "investigator_annual_hours")) == 1650);
	assert_true(json_number_value(
	                json_object_get(o, "all_hours_tolerance")) == 0.5);
	json_decref(o);
	free(s);
	config_free(&cfg);
}

static void
test_restart_needed(void **state)
{
	struct config base, port, rules, same;

	(void)state;
	load_ok(fixture("listen = { port = 8470; };\n"), &base);
	load_ok(fixture("listen = { port = 8471; };\n"), &port);
	load_ok(fixture("listen = { port = 8470; };\n"
	                "rules = { standard_weekly_hours = 35.0; "
	                "timezone = \"UTC\"; reminder_days = 1; };\n"
	                "log = { level = \"debug\"; };\n"),
	    &rules);
	load_ok(fixture(""), &same);

	const char *what = config_restart_needed(&base, &port);
	assert_non_null(what);
	assert_string_equal(what, "listen.port");
	what = config_restart_needed(&port, &base);
	assert_non_null(what);
	assert_string_equal(what, "listen.port");
	assert_null(config_restart_needed(&base, &rules));
	assert_null(config_restart_needed(&base, &same));
	assert_null(config_restart_needed(&base, &base));

	config_free(&base);
	config_free(&port);
	config_free(&rules);
	config_free(&same);

	load_ok(fixture("listen = { address = \"::1\"; };\n"), &base);
	load_ok(fixture(""), &same);
	assert_string_equal(
	    config_restart_needed(&same, &base), "listen.address");
	config_free(&base);
	config_free(&same);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values_read),
		cmocka_unit_test(test_sample_conf),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_unknown_settings),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_timezone_not_a_zone),
		cmocka_unit_test(test_rules_json),
		cmocka_unit_test(test_restart_needed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
