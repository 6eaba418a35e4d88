/*
 * effortd: start-up, the modes of the command line (--migrate,
 * --create-token, --check-config), signals through the event loop
 * (SIGTERM/SIGINT: an ordered shutdown, see shutdown_begin() and
 * shutdown_finish(); SIGHUP reloads) and systemd readiness.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/http.h>
#include <systemd/sd-daemon.h>

#include "job-reaudit.h"
#include "api-audit-trail.h"
#include "auth-cache.h"
#include "config.h"
#include "http-conn.h"
#include "http-tls.h"
#include "effortd.h"
#include "log.h"
#include "migrate.h"
#include "auth-oidc.h"
#include "job-reminders.h"
#include "request.h"
#include "ingest-spool.h"
#include "auth-token.h"
#include "xmalloc.h"

static struct evhttp_bound_socket *listener;
static struct event *drain_timer;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: effortd [-c FILE] [--check-config | --migrate |\n"
	    "               --create-token ROLE [--person ID] [--label TEXT]]\n"
	    "\n"
	    "  -c, --config FILE    configuration file (default /etc/effortd/effortd.conf)\n"
	    "  --check-config       check the configuration file and exit\n"
	    "  --migrate            bring the database schema up to date and exit\n"
	    "  --create-token ROLE  create an API token (feed, manager, reviewer,\n"
	    "                       admin), print it once and exit\n"
	    "  --person ID          the person a manager token belongs to\n"
	    "  --label TEXT         a note kept with the token\n"
	    "  --list-options       print every setting with its default and exit\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "\n"
	    "Without a mode, effortd serves in the foreground until SIGTERM.\n");
}

static void
apply_config(void)
{
	enum log_level level;
	const char *tz = getenv("TZ");

	free(effortd.rules_json);
	effortd.rules_json = config_rules_json(&effortd.cfg);
	/* Local time (sweeps after midnight, reminders) is the
	 * organisation's: set once here, not on every timer tick. */
	if (tz == NULL || strcmp(tz, effortd.cfg.rules.timezone) != 0) {
		setenv("TZ", effortd.cfg.rules.timezone, 1);
		tzset();
	}
	authcache_clear(); /* auth.cache_seconds may have changed */
	if (log_parse_level(effortd.cfg.log_level, &level) == 0)
		log_set_level(level);
	if (effortd.db != NULL) {
		db_pool_set_limits(effortd.db, effortd.cfg.db_queue_max,
		    effortd.cfg.db_connect_timeout);
		if (effortd.report_db != NULL)
			db_pool_set_limits(effortd.report_db,
			    effortd.cfg.db_queue_max,
			    effortd.cfg.db_connect_timeout);
		oidc_configure(); /* SIGHUP: the provider's keys again */
	}
	if (effortd.http != NULL) {
		char err[512];
		conn_apply_limits(effortd.http);
		if (tls_load(effortd.cfg.tls_cert, effortd.cfg.tls_key, err,
		        sizeof err) != 0)
			log_error(
			    "TLS: keeping the previous certificate: %s", err);
	}
}

/* systemd's watchdog (WatchdogSec=): a ping at half the interval. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

static struct event *
watchdog_start(void)
{
	uint64_t usec;
	struct event *ev;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return NULL;
	tv.tv_sec = (time_t)(usec / 2 / 1000000);
	tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	ev = event_new(effortd.base, -1, EV_PERSIST, on_watchdog, NULL);
	event_add(ev, &tv);
	log_info("systemd watchdog: pinging every %.1f s", (double)usec / 2e6);
	return ev;
}

static void
reload(void)
{
	struct config next;
	char err[512];
	const char *fixed;

	sd_notify(0, "RELOADING=1");
	if (config_load(effortd.config_path, &next, err, sizeof err) != 0) {
		log_error(
		    "reload failed, keeping the running configuration: %s",
		    err);
	} else if ((fixed = config_restart_needed(&effortd.cfg, &next)) !=
	           NULL) {
		log_error("reload refused, keeping the running configuration: "
		          "%s changed and needs a restart",
		    fixed);
		config_free(&next);
	} else {
		char *rules_before = xstrdup(effortd.rules_json);

		auditlog_config_reloaded(&effortd.cfg, &next);
		config_free(&effortd.cfg);
		effortd.cfg = next;
		apply_config();
		log_info("configuration reloaded from %s", effortd.config_path);
		/* The kept findings are the old rules': sweep with the new. */
		if (strcmp(rules_before, effortd.rules_json) != 0)
			audit_sweep_soon();
		free(rules_before);
	}
	sd_notify(0, "READY=1");
}

/* The drain timeout passed: what is still running is cancelled (503). */
static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	int n;

	(void)fd;
	(void)what;
	(void)arg;
	n = requests_cancel_all("effortd is shutting down; the request was "
	                        "cancelled (if it was a change, whether it "
	                        "was stored is unknown; sending it again is "
	                        "safe)");
	log_warn("shutting down: limits.drain_timeout (%d s) passed; "
	         "cancelled %d request(s)",
	    effortd.cfg.drain_timeout, n);
	conn_drained();
}

/*
 * SIGTERM/SIGINT, step one: stop accepting connections and starting
 * work of our own; the requests in flight get limits.drain_timeout to
 * finish.  The loop stops when the last is answered (or cancelled); the
 * rest of the order is in serve().
 */
static void
shutdown_begin(void)
{
	struct timeval tv = { effortd.cfg.drain_timeout, 0 };

	if (effortd.draining)
		return;
	log_info("shutting down: finishing %d request(s)", effortd.inflight);
	sd_notify(0, "STOPPING=1");
	effortd.draining = true;
	if (listener != NULL)
		evhttp_del_accept_socket(effortd.http, listener);
	listener = NULL;
	audit_timer_stop();
	spool_stop();
	if (effortd.inflight == 0) {
		conn_drained();
		return;
	}
	drain_timer = evtimer_new(effortd.base, on_drain_timeout, NULL);
	evtimer_add(drain_timer, &tv);
}

/*
 * After the loop: the order matters.  Nothing new starts (timers,
 * reminders), the pools are freed (every job left is cancelled and its
 * callback runs: replies to cancelled requests are dropped), what is
 * left of the requests is freed, and only then the HTTP server, so no
 * reply can reach a connection evhttp has freed.
 */
static void
shutdown_finish(void)
{
	if (drain_timer != NULL)
		event_free(drain_timer);
	drain_timer = NULL;
	effortd.draining = true;
	requests_cancel_all("effortd is shutting down");
	oidc_stop();
	audit_timer_stop();
	reminders_stop();
	spool_stop();
	db_pool_free(effortd.report_db);
	effortd.report_db = NULL;
	db_pool_free(effortd.db);
	effortd.db = NULL;
	requests_free_all();
	evhttp_free(effortd.http);
	effortd.http = NULL;
	conn_shutdown();
	tls_free();
	authcache_clear();
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP)
		reload();
	else
		shutdown_begin();
}

/* The HTTP server: limits, TLS and the listening socket. */
static int
http_start(void)
{
	char err[512];

	effortd.http = evhttp_new(effortd.base);
	/* effortd answers bodies over max_body with a JSON 413 itself; the
	 * HTTP layer's own (HTML) 413 is only for bodies far beyond it. */
	evhttp_set_max_body_size(
	    effortd.http, (ev_ssize_t)effortd.cfg.max_body * 2 + 1024 * 1024);
	conn_setup(effortd.http);
	/* Every method reaches dispatch, which answers a JSON 405 with
	 * Allow for those a path does not take: every bit, not only the
	 * methods of enum evhttp_cmd_type, for libevent 2.1 gives a method
	 * it does not know (FOO, PROPFIND, "get") a type outside the enum
	 * and would answer it an HTML 501 of its own. */
	evhttp_set_allowed_methods(effortd.http, (ev_uint16_t)~0);
	evhttp_set_gencb(effortd.http, request_dispatch, NULL);
	if (tls_load(effortd.cfg.tls_cert, effortd.cfg.tls_key, err,
	        sizeof err) != 0) {
		log_error("TLS: %s", err);
		return -1;
	}
	listener = evhttp_bind_socket_with_handle(effortd.http,
	    effortd.cfg.listen_address, (ev_uint16_t)effortd.cfg.listen_port);
	if (listener == NULL) {
		log_error("cannot listen on %s:%d", effortd.cfg.listen_address,
		    effortd.cfg.listen_port);
		return -1;
	}
	return 0;
}

/* The database pools: the main one and, if configured, the read pool. */
static void
pools_start(void)
{
	struct db_pool_config pc = { effortd.cfg.db_conninfo,
		effortd.cfg.db_pool_size, effortd.cfg.db_queue_max,
		effortd.cfg.db_statement_timeout,
		effortd.cfg.db_connect_timeout, "main" };

	effortd.db = db_pool_new(effortd.base, &pc);
	if (*effortd.cfg.db_report_conninfo != '\0') {
		pc.conninfo = effortd.cfg.db_report_conninfo;
		pc.name = "report";
		effortd.report_db = db_pool_new(effortd.base, &pc);
	}
}

/* Blocks the n signals of signums in the loop's thread for the rest of
 * the process (the other threads start with every signal blocked). */
static void
signals_block(const int *signums, int n)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, signums[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int
serve(void)
{
	struct event *sigs[3];
	struct event *watchdog = NULL;
	const int signums[3] = { SIGTERM, SIGINT, SIGHUP };

	signal(SIGPIPE, SIG_IGN);
	effortd.base = event_base_new();
	if (http_start() != 0)
		return 1;
	pools_start();
	oidc_configure();
	watchdog = watchdog_start();
	if (spool_start() != 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		sigs[i] =
		    evsignal_new(effortd.base, signums[i], on_signal, NULL);
		evsignal_add(sigs[i], NULL);
	}
	audit_timer_start();
	reminders_start();
	log_info("effortd %s listening on %s:%d", EFFORTD_VERSION,
	    effortd.cfg.listen_address, effortd.cfg.listen_port);
	sd_notify(0, "READY=1");
	event_base_dispatch(effortd.base);

	if (watchdog != NULL)
		event_free(watchdog);
	shutdown_finish();
	/* Only now: freeing the last event of a signal puts its default
	 * action back, and SIGHUP's (or a second SIGTERM's) would end
	 * effortd in the middle of shutdown_finish(), which may wait for
	 * cancel requests (db_pool_free) or the mail thread.  Until here
	 * the loop's handler takes them, and nothing acts on them; blocked
	 * before the events go, one arriving after stays pending and goes
	 * with the process. */
	signals_block(signums, 3);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(effortd.base);
	log_info("stopped");
	return 0;
}

enum {
	OPT_CHECK = 256,
	OPT_MIGRATE,
	OPT_TOKEN,
	OPT_PERSON,
	OPT_LABEL,
	OPT_LIST
};

static void
list_options(void)
{
	for (int i = 0; i < config_option_count; i++) {
		const struct config_option *o = &config_options[i];
		printf("%s\t%s\t%s\t%s\n", o->path, config_type_names[o->type],
		    o->def, o->no_reload ? "restart" : "reload");
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument,
		                                  NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "migrate", no_argument, NULL, OPT_MIGRATE },
		{ "create-token", required_argument, NULL, OPT_TOKEN },
		{ "person", required_argument, NULL, OPT_PERSON },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "list-options", no_argument, NULL, OPT_LIST },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *role = NULL, *person = NULL, *label = NULL;
	int c, mode = 0, rc;
	char err[512];

	effortd.config_path = "/etc/effortd/effortd.conf";
	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			effortd.config_path = optarg;
			break;
		case OPT_CHECK:
		case OPT_MIGRATE:
			mode = c;
			break;
		case OPT_TOKEN:
			mode = c;
			role = optarg;
			break;
		case OPT_PERSON:
			person = optarg;
			break;
		case OPT_LABEL:
			label = optarg;
			break;
		case OPT_LIST:
			list_options();
			return 0;
		case 'V':
			printf("effortd %s\n", EFFORTD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* libcurl (reminder mail to an SMTP relay) before any thread. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("libcurl cannot start");
	if (config_load(effortd.config_path, &effortd.cfg, err, sizeof err) !=
	    0)
		fatal("%s", err);
	apply_config();
	switch (mode) {
	case OPT_CHECK:
		printf("%s: ok\n", effortd.config_path);
		rc = 0;
		break;
	case OPT_MIGRATE:
		rc = migrate_run(effortd.cfg.db_conninfo, effortd.cfg.sql_dir);
		break;
	case OPT_TOKEN:
		rc = token_create(effortd.cfg.db_conninfo, role, person, label,
		    effortd.rules_json);
		break;
	default:
		rc = serve();
	}
	config_free(&effortd.cfg);
	free(effortd.rules_json);
	curl_global_cleanup();
	return rc;
}
