/*
 * Reminders: each day at notify.hour (local time, rules.timezone; on the
 * day the clocks skip that hour, the hour after the gap; on the day it
 * comes twice, the first) effortd asks the database for today's digests,
 * claiming every (recipient, item, day) first so that nothing goes twice
 * even with several instances, and sends each message by mail
 * (notify.smtp_url, else notify.sendmail) and/or to notify.webhook_url.
 * An admin can preview today's or send them now (api-reminders.c: GET
 * /v1/reminders, POST /v1/reminders/run, answered when every send has
 * finished).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "effortd.h"
#include "log.h"
#include "job-notify.h"
#include "job-reminders.h"
#include "job-clock.h"
#include "xmalloc.h"

enum run_state {
	RUN_CLAIMING, /* waiting for the database's messages */
	RUN_SENDING,  /* sends in flight */
};

struct run {
	LIST_ENTRY(run) link;
	enum run_state state;
	bool cancelled; /* at shutdown while claiming: free when answered */
	reminders_done_cb done; /* POST /v1/reminders/run; NULL: the timer */
	void *done_arg;
	json_t *doc; /* {"day": ..., "messages": [...]} */
	int pending; /* sends not finished, plus one while starting */
	int mail_sent, mail_failed, mail_skipped;
	int hooks_sent, hooks_failed;
};

static LIST_HEAD(, run) runs = LIST_HEAD_INITIALIZER(runs);
static struct event *daily;
/* the local date of the last daily run (reminders_due) */
static long last_run_day = -1;

static json_t *
run_summary(const struct run *run)
{
	return json_pack("{s:O, s:O, s:{s:i, s:i, s:i}, s:{s:i, s:i}}", "day",
	    json_object_get(run->doc, "day"), "messages",
	    json_object_get(run->doc, "messages"), "mail", "sent",
	    run->mail_sent, "failed", run->mail_failed, "skipped",
	    run->mail_skipped, "webhook", "sent", run->hooks_sent, "failed",
	    run->hooks_failed);
}

static void
run_free(struct run *run)
{
	LIST_REMOVE(run, link);
	json_decref(run->doc);
	free(run);
}

/* Tells whoever asked for the run how it ended. */
static void
run_end(struct run *run, enum reminders_end end, json_t *summary,
    const struct db_result *db)
{
	struct reminders_outcome o = { end, summary, db };

	run->done(&o, run->done_arg);
}

/* One send (or the start) finished; the last one ends the run. */
static void
run_release(struct run *run)
{
	if (--run->pending > 0)
		return;
	log_info("reminders for %s: %zu message(s); mail %d sent, %d failed, "
	         "%d without address; webhook %d sent, %d failed",
	    json_string_value(json_object_get(run->doc, "day")),
	    json_array_size(json_object_get(run->doc, "messages")),
	    run->mail_sent, run->mail_failed, run->mail_skipped,
	    run->hooks_sent, run->hooks_failed);
	if (run->done != NULL)
		run_end(run, REMINDERS_SENT, run_summary(run), NULL);
	run_free(run);
}

static void
mail_done(bool ok, void *arg)
{
	struct run *run = arg;

	ok ? run->mail_sent++ : run->mail_failed++;
	run_release(run);
}

static void
hook_done(bool ok, void *arg)
{
	struct run *run = arg;

	ok ? run->hooks_sent++ : run->hooks_failed++;
	run_release(run);
}

/* A header value on one line. */
static char *
header_value(const char *s)
{
	char *v = xstrdup(s != NULL ? s : "");

	for (char *p = v; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return v;
}

/* The message as sendmail -t reads it: headers, a blank line, the body. */
static char *
mail_text(json_t *msg)
{
	char *to =
	    header_value(json_string_value(json_object_get(msg, "email")));
	char *subject =
	    header_value(json_string_value(json_object_get(msg, "subject")));
	char *from = header_value(effortd.cfg.notify_from);
	char *text;

	xasprintf(&text,
	    "%s%s%sTo: %s\nSubject: %s\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Auto-Submitted: auto-generated\n\n%s",
	    *from ? "From: " : "", from, *from ? "\n" : "", to, subject,
	    json_string_value(json_object_get(msg, "body")) ?: "");
	free(to);
	free(subject);
	free(from);
	return text;
}

/* Whether mail goes out, through notify.smtp_url (which wins) or
 * notify.sendmail. */
static bool
mail_configured(void)
{
	return *effortd.cfg.notify_smtp_url != '\0' ||
	       *effortd.cfg.notify_sendmail != '\0';
}

static void
send_mail(struct run *run, json_t *msg, const char *email)
{
	char *text = mail_text(msg);

	run->pending++;
	if (*effortd.cfg.notify_smtp_url != '\0')
		notify_smtp(
		    effortd.cfg.notify_from, email, text, mail_done, run);
	else
		notify_sendmail(
		    effortd.cfg.notify_sendmail, text, mail_done, run);
	free(text);
}

static void
send_message(struct run *run, json_t *msg)
{
	const char *email = json_string_value(json_object_get(msg, "email"));

	if (mail_configured() && email != NULL && *email != '\0')
		send_mail(run, msg, email);
	else if (mail_configured())
		run->mail_skipped++;
	if (*effortd.cfg.notify_webhook_url != '\0') {
		json_t *body = json_deep_copy(msg);
		char *s;

		json_object_set(body, "day", json_object_get(run->doc, "day"));
		s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(body);
		run->pending++;
		notify_webhook(
		    effortd.cfg.notify_webhook_url, s, hook_done, run);
		free(s);
	}
}

static void
claimed(const struct db_result *res, void *arg)
{
	struct run *run = arg;
	json_t *msg;
	size_t i;

	if (run->cancelled) {
		log_warn("reminders: shutting down; nothing was sent");
		run_free(run);
		return;
	}
	if (res->status == DB_OK && PQntuples(res->res) == 1)
		run->doc = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (run->doc == NULL) {
		log_warn("reminders: the database did not answer (%s); "
		         "nothing was sent",
		    res->message ? res->message : "bad reply");
		if (run->done != NULL)
			run_end(run, REMINDERS_DB_FAILED, NULL, res);
		run_free(run);
		return;
	}
	run->state = RUN_SENDING;
	run->pending = 1;
	json_array_foreach(json_object_get(run->doc, "messages"), i, msg)
	    send_message(run, msg);
	run_release(run);
}

void
reminders_run(reminders_done_cb done, void *arg)
{
	struct run *run = xcalloc(1, sizeof *run);
	const char *params[2] = { effortd.rules_json, "true" };

	run->done = done;
	run->done_arg = arg;
	LIST_INSERT_HEAD(&runs, run, link);
	db_query(effortd.db, STMT_REMINDERS, 2, params, claimed, run);
}

void
reminders_preview(db_cb cb, void *arg)
{
	const char *params[2] = { effortd.rules_json, "false" };

	db_query(effortd.db, STMT_REMINDERS, 2, params, cb, arg);
}

/* Seconds from now until the timer's next look: 5 s past the next full
 * local hour. */
long
reminders_seconds_to_check(time_t now)
{
	struct tm lt;

	localtime_r(&now, &lt);
	return 3600 - (lt.tm_min * 60 + lt.tm_sec) + 5;
}

/*
 * Is now within the daily run's hour: notify.hour local time, or on a day
 * the clocks skip it (Europe/London, 01:00 on the last Sunday in March),
 * the hour after the gap (02:00 BST), where mktime puts it?  On a day it
 * happens twice (01:00 on the last Sunday in October), both are; the run
 * is at the first (reminders_due).
 */
static bool
in_run_hour(time_t now, const struct tm *lt, int hour)
{
	time_t at;
	struct tm at_lt;

	if (lt->tm_hour == hour)
		return true;
	at = local_time_on(now, 0, hour, 0);
	localtime_r(&at, &at_lt);
	return at_lt.tm_hour != hour && now >= at && now < at + 3600;
}

bool
reminders_due(time_t now, int hour, long *last_day)
{
	struct tm lt;
	long day;

	localtime_r(&now, &lt);
	day = lt.tm_year * 1000L + lt.tm_yday;
	if (day == *last_day || !in_run_hour(now, &lt, hour))
		return false;
	*last_day = day;
	return true;
}

/* At every full local hour: the daily run when it is due (reminders_due). */
static void
on_daily(evutil_socket_t fd, short what, void *arg)
{
	time_t now = time(NULL);
	struct timeval tv = { reminders_seconds_to_check(now), 0 };

	(void)fd;
	(void)what;
	(void)arg;
	if (effortd.cfg.notify_enabled && !effortd.draining &&
	    reminders_due(now, effortd.cfg.notify_hour, &last_run_day))
		reminders_run(NULL, NULL);
	evtimer_add(daily, &tv);
}

void
reminders_start(void)
{
	struct timeval tv = { 2, 0 }; /* soon: catch up within the hour */

	if (daily == NULL)
		daily = evtimer_new(effortd.base, on_daily, NULL);
	evtimer_add(daily, &tv);
}

void
reminders_stop(void)
{
	struct run *run, *next;

	if (daily != NULL)
		event_free(daily);
	daily = NULL;
	notify_cancel_all();
	for (run = LIST_FIRST(&runs); run != NULL; run = next) {
		next = LIST_NEXT(run, link);
		if (run->done != NULL)
			run_end(run, REMINDERS_STOPPED, NULL, NULL);
		run->done = NULL;
		if (run->state == RUN_SENDING)
			run_free(run);
		else
			run->cancelled = true; /* the pool will call back */
	}
}
