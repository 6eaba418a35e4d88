/*
 * Unit tests of daemon/db-addr.c: db.conninfo parsed into libpq's arrays
 * with effortd's settings on top, which hosts need a lookup, and the
 * arrays after one (host, hostaddr and a per-host port list in step).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "db-addr.h"

static const char *const extra_keys[] = { "application_name", NULL };
static const char *const extra_vals[] = { "effortd", NULL };

/* The value of key in a NULL-ended key/value pair of arrays, or NULL. */
static const char *
param(const char *const *keys, const char *const *vals, const char *key)
{
	for (int i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return vals[i];
	return NULL;
}

static struct db_target *
target(const char *conninfo)
{
	char err[256];
	struct db_target *t =
	    db_target_new(conninfo, extra_keys, extra_vals, err, sizeof err);

	if (t == NULL)
		fail_msg("db_target_new(\"%s\"): %s", conninfo, err);
	return t;
}

static void
test_no_names(void **state)
{
	const char *const *keys, *const *vals;
	struct db_target *t = target("host=/run/postgresql port=5433 dbname=x "
	                             "application_name=other");

	(void)state;
	assert_false(db_target_has_names(t));
	db_target_params(t, &keys, &vals);
	assert_string_equal(param(keys, vals, "host"), "/run/postgresql");
	assert_string_equal(param(keys, vals, "dbname"), "x");
	/* effortd's own settings win over the conninfo's */
	assert_string_equal(param(keys, vals, "application_name"), "effortd");
	db_target_free(t);

	t = target("host=10.1.2.3,::1 dbname=x");
	assert_false(db_target_has_names(t)); /* numeric addresses */
	db_target_free(t);
	t = target("host=db.example hostaddr=10.1.2.3 dbname=x");
	assert_false(db_target_has_names(t)); /* the operator's hostaddr */
	db_target_free(t);
}

static void
test_names(void **state)
{
	struct db_target *t = target("host=db1.example,/tmp dbname=x");

	(void)state;
	assert_true(db_target_has_names(t));
	db_target_free(t);
}

static void
test_bad_conninfo(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(
	    db_target_new("nonsense", extra_keys, extra_vals, err, sizeof err));
	assert_non_null(strstr(err, "db.conninfo"));
}

struct got {
	int calls;
	char host[64], hostaddr[64], port[64];
	const char *error;
};

static void
looked_up(const char *const *keys, const char *const *vals, const char *error,
    void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->error = error;
	strcpy(g->host, param(keys, vals, "host"));
	strcpy(g->hostaddr, param(keys, vals, "hostaddr"));
	strcpy(g->port, param(keys, vals, "port"));
}

/* localhost comes from /etc/hosts: no network needed. */
static void
test_lookup_localhost(void **state)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns =
	    evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	struct db_target *t = target("host=localhost,/tmp port=1,2 dbname=x");
	struct got g = { 0 };

	(void)state;
	assert_non_null(dns);
	assert_non_null(db_lookup_start(t, base, dns, looked_up, &g));
	assert_int_equal(g.calls, 0); /* never from inside the call */
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 1);
	assert_null(g.error);
	assert_string_equal(g.host, "localhost,/tmp");
	assert_non_null(strstr(g.hostaddr, ","));
	assert_true(strncmp(g.hostaddr, "127.0.0.1,", 10) == 0 ||
	            strncmp(g.hostaddr, "::1,", 4) == 0);
	assert_string_equal(g.port, "1,2");
	db_target_free(t);
	evdns_base_free(dns, 0);
	db_lookup_forget_orphans();
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_names),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_conninfo),
		cmocka_unit_test(test_lookup_localhost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
