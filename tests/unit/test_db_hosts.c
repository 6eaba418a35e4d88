/*
 * Unit tests of daemon/db-hosts.c: the host list of a multi-host conninfo
 * rotated after a connect timeout (key=value and URI forms, hostaddr, a
 * port per host or one for all, nothing to rotate).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include "db-hosts.h"

static void
counts(void **state)
{
	(void)state;
	assert_int_equal(db_hosts_count("dbname=x"), 1);
	assert_int_equal(db_hosts_count("host=a dbname=x"), 1);
	assert_int_equal(db_hosts_count("host=a,b,c port=1,2,3"), 3);
	assert_int_equal(db_hosts_count("hostaddr=127.0.0.1,127.0.0.2"), 2);
	assert_int_equal(db_hosts_count("postgresql://a:1,b:2/x"), 2);
	assert_int_equal(db_hosts_count("host='unterminated"), 0);
}

static void
rotated(void **state)
{
	struct db_hosts h;

	(void)state;
	assert_true(db_hosts_rotated(
	    "host=a,b,c port=1,2,3 dbname=x target_session_attrs=read-write", 1,
	    &h));
	assert_string_equal(h.host, "b,c,a");
	assert_string_equal(h.port, "2,3,1");
	assert_null(h.hostaddr);
	db_hosts_clear(&h);

	assert_true(db_hosts_rotated("host=a,b,c port=5432", 5, &h));
	assert_string_equal(h.host, "c,a,b");
	assert_null(h.port); /* one port for every host: left as it is */
	db_hosts_clear(&h);

	assert_true(db_hosts_rotated(
	    "host=/run/a,/run/b hostaddr=,127.0.0.2 port=1,2", 1, &h));
	assert_string_equal(h.host, "/run/b,/run/a");
	assert_string_equal(h.hostaddr, "127.0.0.2,");
	assert_string_equal(h.port, "2,1");
	db_hosts_clear(&h);

	assert_true(db_hosts_rotated("postgresql://a:1,b:2/x", 1, &h));
	assert_string_equal(h.host, "b,a");
	assert_string_equal(h.port, "2,1");
	db_hosts_clear(&h);
}

static void
nothing_to_rotate(void **state)
{
	struct db_hosts h;

	(void)state;
	assert_false(db_hosts_rotated("host=a port=1", 1, &h));
	assert_null(h.host);
	assert_false(db_hosts_rotated("host=a,b", 0, &h));
	assert_false(db_hosts_rotated("host=a,b", 2, &h)); /* a full turn */
	assert_false(db_hosts_rotated("host='unterminated", 1, &h));
	assert_null(h.port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts),
		cmocka_unit_test(rotated),
		cmocka_unit_test(nothing_to_rotate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
