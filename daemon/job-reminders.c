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
 *
 * Nothing is lost to a short outage: a message whose mail or webhook fails
 * gives its items' claims back (reminders_release), and the timer tries
 * again after notify.retry_seconds, doubling up to an hour, until local
 * midnight; so it does when the database does not answer the timer's run.
 * A retry claims afresh, so an item still goes at most once a day.
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

struct run;

/* One message of a run, while its mail and webhook are being sent. */
struct msg_send {
	struct run *run;
	json_t *msg; /* the run's doc holds it */
	int pending; /* its sends not finished */
	bool failed; /* one of them failed: its claims are released */
};

struct run {
	LIST_ENTRY(run) link;
	enum run_state state;
	/* at shutdown while the database has a query of the run's: free
	 * when answered */
	bool cancelled;
	reminders_done_cb done; /* POST /v1/reminders/run or the timer */
	void *done_arg;
	json_t *doc;            /* {"day": ..., "messages": [...]} */
	struct msg_send *sends; /* one per message */
	int pending;   /* messages not finished, plus one while starting */
	int releasing; /* reminders_release queries not answered */
	int released;  /* messages whose items were given back */
	int mail_sent, mail_failed, mail_skipped;
	int hooks_sent, hooks_failed;
};

static LIST_HEAD(, run) runs = LIST_HEAD_INITIALIZER(runs);
static struct event *daily;
/* the local date of the last daily run (reminders_due) */
static long last_run_day = -1;
/* The timer's next try after a failed run (NULL: none yet); tries so far
 * (0: none due); whether a run of the timer's is under way. */
static struct event *retry;
static int retry_tries;
static bool timer_running;

static void on_retry(evutil_socket_t, short, void *);
static void timer_done(const struct reminders_outcome *, void *);

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
	free(run->sends);
	free(run);
}

/* Tells whoever asked for the run how it ended. */
static void
run_end(struct run *run, enum reminders_end end, json_t *summary,
    const struct db_result *db)
{
	struct reminders_outcome o = { end, summary, db, run->released };

	if (run->done != NULL)
		run->done(&o, run->done_arg);
	if (run->done != timer_done) /* POST /v1/reminders/run */
		timer_done(&o, NULL);
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

/* The claims of a message that was not delivered were given back, or
 * not (logged): its part of the run is over. */
static void
released(const struct db_result *res, void *arg)
{
	struct msg_send *m = arg;
	struct run *run = m->run;
	const char *who =
	    json_string_value(json_object_get(m->msg, "recipient_id"));

	run->releasing--;
	if (res->status == DB_OK) {
		run->released++;
		log_warn("reminders: the message to %s was not delivered; its "
		         "%zu item(s) are given back for the next run",
		    who, json_array_size(json_object_get(m->msg, "items")));
	} else
		log_error("reminders: the message to %s was not delivered and "
		          "its items could not be given back (%s): they are "
		          "not sent again today",
		    who, res->message ? res->message : "bad reply");
	if (run->cancelled) {
		if (run->releasing == 0)
			run_free(run);
		return;
	}
	run_release(run);
}

/* Gives back the claims of the items of a message that was not
 * delivered, for the next run (reminders_release). */
static void
msg_release_claims(struct msg_send *m)
{
	json_t *keys = json_array();
	json_t *item;
	size_t i;
	char *items;
	const char *params[3];

	json_array_foreach(json_object_get(m->msg, "items"), i, item)
	    json_array_append(keys, json_object_get(item, "item"));
	items = json_dumps(keys, JSON_COMPACT);
	params[0] = json_string_value(json_object_get(m->msg, "recipient_id"));
	params[1] = items;
	params[2] = json_string_value(json_object_get(m->run->doc, "day"));
	m->run->releasing++;
	db_query(effortd.db, STMT_REMINDERS_RELEASE, 3, params, released, m);
	free(items);
	json_decref(keys);
}

/* One send of a message finished; after its last, a message that was not
 * delivered gives its items back, else the run is told. */
static void
msg_sent(struct msg_send *m, bool ok)
{
	m->failed |= !ok;
	if (--m->pending > 0)
		return;
	if (m->failed)
		msg_release_claims(m);
	else
		run_release(m->run);
}

static void
mail_done(bool ok, void *arg)
{
	struct msg_send *m = arg;

	ok ? m->run->mail_sent++ : m->run->mail_failed++;
	msg_sent(m, ok);
}

static void
hook_done(bool ok, void *arg)
{
	struct msg_send *m = arg;

	ok ? m->run->hooks_sent++ : m->run->hooks_failed++;
	msg_sent(m, ok);
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
send_mail(struct msg_send *m, const char *email)
{
	char *text = mail_text(m->msg);

	m->pending++;
	if (*effortd.cfg.notify_smtp_url != '\0')
		notify_smtp(effortd.cfg.notify_from, email, text, mail_done, m);
	else
		notify_sendmail(
		    effortd.cfg.notify_sendmail, text, mail_done, m);
	free(text);
}

static void
send_hook(struct msg_send *m)
{
	json_t *body = json_deep_copy(m->msg);
	char *s;

	json_object_set(body, "day", json_object_get(m->run->doc, "day"));
	s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	m->pending++;
	notify_webhook(effortd.cfg.notify_webhook_url, s, hook_done, m);
	free(s);
}

/* Sends a message by mail and/or webhook; the run waits for it. */
static void
send_message(struct msg_send *m)
{
	const char *email = json_string_value(json_object_get(m->msg, "email"));
	bool has_email = email != NULL && *email != '\0';
	bool mail = mail_configured() && has_email;
	bool hook = *effortd.cfg.notify_webhook_url != '\0';

	if (mail_configured() && !has_email)
		m->run->mail_skipped++;
	if (!mail && !hook)
		return; /* nothing to send it with */
	m->run->pending++;
	m->pending = 1; /* while starting: a send may call back at once */
	if (mail)
		send_mail(m, email);
	if (hook)
		send_hook(m);
	msg_sent(m, true);
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
	run->sends =
	    xcalloc(json_array_size(json_object_get(run->doc, "messages")) + 1,
	        sizeof *run->sends);
	json_array_foreach(json_object_get(run->doc, "messages"), i, msg)
	{
		run->sends[i].run = run;
		run->sends[i].msg = msg;
		send_message(&run->sends[i]);
	}
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

long
reminders_retry_delay(time_t now, long first, int tries)
{
	long delay = first;

	for (int i = 1; i < tries && delay < 3600; i++)
		delay *= 2;
	if (delay > 3600)
		delay = 3600;
	return now + delay < local_time_on(now, 1, 0, 0) ? delay : -1;
}

/* Tries again later, after a run that could not deliver everything (what
 * says what); or, past local midnight, gives up for the day. */
static void
retry_later(const char *what)
{
	time_t now = time(NULL);
	long delay;
	struct timeval tv = { 0, 0 };

	if (retry != NULL && evtimer_pending(retry, NULL))
		return; /* a try is already due */
	delay = reminders_retry_delay(
	    now, effortd.cfg.notify_retry_seconds, ++retry_tries);
	if (delay < 0) {
		log_error("reminders: %s; no more tries today", what);
		retry_tries = 0;
		return;
	}
	log_warn("reminders: %s; trying again in %ld s", what, delay);
	if (retry == NULL)
		retry = evtimer_new(effortd.base, on_retry, NULL);
	tv.tv_sec = delay;
	evtimer_add(retry, &tv);
}

/* Any run that gave items back has them tried again by the timer; the
 * timer's own run also when the database did not answer. */
static void
timer_done(const struct reminders_outcome *o, void *arg)
{
	bool timers = arg != NULL; /* else after POST /v1/reminders/run's */

	if (timers) {
		timer_running = false;
		json_decref(o->summary);
	}
	if (o->end == REMINDERS_STOPPED || !effortd.cfg.notify_enabled)
		return;
	if (o->end == REMINDERS_DB_FAILED && timers)
		retry_later("the database did not answer");
	else if (o->end == REMINDERS_SENT && o->released > 0)
		retry_later("some messages were not delivered");
	else if (o->end == REMINDERS_SENT && timers)
		retry_tries = 0; /* all delivered */
}

static void
timer_run(void)
{
	if (timer_running)
		return;
	timer_running = true;
	reminders_run(timer_done, &timer_running);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (effortd.cfg.notify_enabled && !effortd.draining)
		timer_run();
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
	    reminders_due(now, effortd.cfg.notify_hour, &last_run_day)) {
		retry_tries = 0; /* a new day */
		timer_run();
	}
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
	if (retry != NULL)
		event_free(retry);
	retry = NULL;
	notify_cancel_all();
	for (run = LIST_FIRST(&runs); run != NULL; run = next) {
		next = LIST_NEXT(run, link);
		if (run->done != NULL)
			run_end(run, REMINDERS_STOPPED, NULL, NULL);
		run->done = NULL;
		if (run->state == RUN_SENDING && run->releasing == 0)
			run_free(run);
		else
			run->cancelled = true; /* the pool will call back */
	}
}
