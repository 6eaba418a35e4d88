/*
 * Notifications that never block the event loop.  Mail: the sendmail
 * command runs as a child (posix_spawn of /bin/sh -c), at most
 * notify.max_senders at once (the other messages wait in a FIFO), whose
 * standard input
 * is a pipe; the message is written to it through a non-blocking write
 * event, and the child is reaped by polling waitpid(WNOHANG) on a timer
 * (killed if it takes longer than NOTIFY_TIMEOUT).  Or, with
 * notify.smtp_url, the message goes to an SMTP relay (job-notify-smtp.c),
 * through the same queue and limit.  Webhook: one POST with
 * libevent's HTTP client, names resolved by evdns.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "effortd.h"
#include "log.h"
#include "job-notify-smtp.h"
#include "job-notify.h"
#include "xmalloc.h"

#define NOTIFY_TIMEOUT 60 /* seconds a mail command or webhook may take */
#define POLL_USEC      20000

extern char **environ;

enum mail_via {
	MAIL_VIA_COMMAND, /* notify.sendmail */
	MAIL_VIA_SMTP,    /* notify.smtp_url */
};

struct mail_job {
	LIST_ENTRY(mail_job) link;     /* running */
	TAILQ_ENTRY(mail_job) waiting; /* waiting for a free sender */
	enum mail_via via;
	char *cmd;       /* the command; MAIL_VIA_SMTP: the relay URL */
	char *from, *to; /* MAIL_VIA_SMTP: notify.from, the recipient */
	pid_t pid;
	int fd; /* the pipe to the child's stdin; -1 once closed */
	bool written;
	struct evbuffer *out;
	struct event *ev_write, *ev_poll;
	int polls;
	notify_cb cb;
	void *arg;
};

struct hook_job {
	LIST_ENTRY(hook_job) link;
	struct evhttp_connection *conn;
	notify_cb cb;
	void *arg;
};

static LIST_HEAD(, mail_job) mails = LIST_HEAD_INITIALIZER(mails);
static TAILQ_HEAD(, mail_job) queue = TAILQ_HEAD_INITIALIZER(queue);
static int running;

static void mail_start_next(void);
static LIST_HEAD(, hook_job) hooks = LIST_HEAD_INITIALIZER(hooks);
static struct evdns_base *dns;

static void
mail_close_pipe(struct mail_job *j)
{
	if (j->ev_write != NULL)
		event_free(j->ev_write);
	j->ev_write = NULL;
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
}

/* Frees a job that is not running (waiting, or taken off the list). */
static void
mail_job_free(struct mail_job *j)
{
	free(j->cmd);
	free(j->from);
	free(j->to);
	mail_close_pipe(j);
	if (j->ev_poll != NULL)
		event_free(j->ev_poll);
	evbuffer_free(j->out);
	free(j);
}

static void
mail_free(struct mail_job *j)
{
	LIST_REMOVE(j, link);
	running--;
	mail_job_free(j);
}

/* A running job ended: freed, then its caller told whether it went. */
static void
mail_finish(struct mail_job *j, bool ok)
{
	notify_cb cb = j->cb;
	void *arg = j->arg;

	mail_free(j);
	cb(ok, arg);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct mail_job *j = arg;
	int n = evbuffer_write(j->out, fd);

	(void)what;
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		log_warn("mail command stopped reading its message: %s",
		    strerror(errno));
		mail_close_pipe(j);
	} else if (evbuffer_get_length(j->out) == 0) {
		j->written = true;
		mail_close_pipe(j); /* end of the message */
	}
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct mail_job *j = arg;
	struct timeval tv = { 0, POLL_USEC };
	int st;

	(void)fd;
	(void)what;
	if (waitpid(j->pid, &st, WNOHANG) == j->pid) {
		bool ok = j->written && WIFEXITED(st) && WEXITSTATUS(st) == 0;

		if (!ok)
			log_warn("mail command failed (%s %d)",
			    WIFEXITED(st) ? "exit status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		mail_finish(j, ok);
		mail_start_next();
		return;
	}
	if (++j->polls == NOTIFY_TIMEOUT * (1000000 / POLL_USEC)) {
		log_warn("mail command still running after %d s: killed",
		    NOTIFY_TIMEOUT);
		kill(j->pid, SIGKILL);
	}
	evtimer_add(j->ev_poll, &tv);
}

/* Starts /bin/sh -c cmd reading from the pipe; -1 if it cannot. */
static int
mail_spawn(struct mail_job *j, const char *cmd)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE); /* effortd ignores it; the child must not */
	posix_spawnattr_init(&sa);
	posix_spawnattr_setsigdefault(&sa, &def);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
	rc = posix_spawn(&j->pid, "/bin/sh", &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[0]);
	if (rc != 0) {
		close(p[1]);
		errno = rc;
		return -1;
	}
	j->fd = p[1];
	evutil_make_socket_nonblocking(j->fd);
	return 0;
}

static void
on_smtp_done(bool ok, const char *why, void *arg)
{
	struct mail_job *j = arg;

	if (!ok)
		log_warn("mail to %s: the SMTP relay %s did not take it: %s",
		    j->to, j->cmd, why);
	mail_finish(j, ok);
	mail_start_next();
}

/* Hands a waiting message to the SMTP relay; -1 (logged) if it cannot. */
static int
mail_submit(struct mail_job *j)
{
	const struct config *c = &effortd.cfg;
	struct smtp_request r = { c->notify_smtp_url, c->notify_smtp_starttls,
		c->notify_smtp_user, c->notify_smtp_password,
		c->notify_smtp_ca_file, c->notify_smtp_timeout, j->from, j->to,
		(const char *)evbuffer_pullup(j->out, -1),
		evbuffer_get_length(j->out) };
	char why[256] = "notify.smtp_url is no longer set";

	j->cmd = xstrdup(c->notify_smtp_url); /* the relay, for the log */
	if (*c->notify_smtp_url == '\0' ||
	    smtp_submit(&r, on_smtp_done, j, why, sizeof why) != 0) {
		log_error("mail to %s: %s", j->to, why);
		return -1;
	}
	return 0;
}

/* Runs a waiting message's command, writing the message to it and
 * polling for its end; -1 (logged) if it cannot. */
static int
mail_run(struct mail_job *j)
{
	struct timeval tv = { 0, POLL_USEC };

	if (mail_spawn(j, j->cmd) != 0) {
		log_error("cannot run the mail command: %s", strerror(errno));
		return -1;
	}
	j->ev_write = event_new(
	    effortd.base, j->fd, EV_WRITE | EV_PERSIST, on_writable, j);
	event_add(j->ev_write, NULL);
	j->ev_poll = evtimer_new(effortd.base, on_poll, j);
	evtimer_add(j->ev_poll, &tv);
	return 0;
}

/* Starts a waiting message's command, or its submission to the relay. */
static void
mail_start(struct mail_job *j)
{
	LIST_INSERT_HEAD(&mails, j, link);
	running++;
	if ((j->via == MAIL_VIA_SMTP ? mail_submit(j) : mail_run(j)) != 0)
		mail_finish(j, false);
}

static void
mail_start_next(void)
{
	struct mail_job *j;

	while (running < effortd.cfg.notify_max_senders &&
	       (j = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, j, waiting);
		mail_start(j);
	}
}

/* A message to send, the way given, for the queue (mail_enqueue). */
static struct mail_job *
mail_job_new(enum mail_via via, const char *message, notify_cb cb, void *arg)
{
	struct mail_job *j = xcalloc(1, sizeof *j);

	j->via = via;
	j->fd = -1;
	j->cb = cb;
	j->arg = arg;
	j->out = evbuffer_new();
	evbuffer_add(j->out, message, strlen(message));
	return j;
}

static void
mail_enqueue(struct mail_job *j)
{
	TAILQ_INSERT_TAIL(&queue, j, waiting);
	mail_start_next();
}

void
notify_sendmail(const char *cmd, const char *message, notify_cb cb, void *arg)
{
	struct mail_job *j = mail_job_new(MAIL_VIA_COMMAND, message, cb, arg);

	j->cmd = xstrdup(cmd);
	mail_enqueue(j);
}

void
notify_smtp(const char *from, const char *to, const char *message, notify_cb cb,
    void *arg)
{
	struct mail_job *j = mail_job_new(MAIL_VIA_SMTP, message, cb, arg);

	j->from = xstrdup(from);
	j->to = xstrdup(to);
	mail_enqueue(j);
}

static void
free_conn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_connection_free(arg);
}

static void
on_hook_reply(struct evhttp_request *req, void *arg)
{
	struct hook_job *j = arg;
	struct timeval now = { 0, 0 };
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	bool ok = code >= 200 && code < 300;

	if (!ok)
		log_warn("webhook failed: %s",
		    code ? "the server refused it" : "no reply");
	/* The connection cannot be freed inside its own callback. */
	event_base_once(effortd.base, -1, EV_TIMEOUT, free_conn, j->conn, &now);
	LIST_REMOVE(j, link);
	j->cb(ok, j->arg);
	free(j);
}

/* Makes the request; -1 if the URL is unusable. */
static int
hook_request(struct hook_job *j, const char *url, const char *body)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char *target;
	int port, rc;

	if (host == NULL || *host == '\0') {
		evhttp_uri_free(uri);
		return -1;
	}
	if (dns == NULL)
		dns = evdns_base_new(
		    effortd.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	j->conn = evhttp_connection_base_new(
	    effortd.base, dns, host, (ev_uint16_t)port);
	evhttp_connection_set_timeout(j->conn, NOTIFY_TIMEOUT);
	req = evhttp_request_new(on_hook_reply, j);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "effortd");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	xasprintf(&target, "%s%s%s", path && *path ? path : "/",
	    query ? "?" : "", query ? query : "");
	rc = evhttp_make_request(j->conn, req, EVHTTP_REQ_POST, target);
	free(target);
	evhttp_uri_free(uri);
	return rc;
}

void
notify_webhook(const char *url, const char *body, notify_cb cb, void *arg)
{
	struct hook_job *j = xcalloc(1, sizeof *j);

	j->cb = cb;
	j->arg = arg;
	LIST_INSERT_HEAD(&hooks, j, link);
	if (hook_request(j, url, body) != 0) {
		log_error("cannot post to the webhook");
		LIST_REMOVE(j, link);
		if (j->conn != NULL)
			evhttp_connection_free(j->conn);
		free(j);
		cb(false, arg);
	}
}

void
notify_cancel_all(void)
{
	struct mail_job *m;
	struct hook_job *h;

	smtp_stop(); /* first: nothing of the relay's calls back after */
	while ((m = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, m, waiting);
		mail_job_free(m);
	}
	while ((m = LIST_FIRST(&mails)) != NULL) {
		if (m->via == MAIL_VIA_COMMAND) {
			kill(m->pid, SIGTERM);
			waitpid(m->pid, NULL, WNOHANG);
		}
		mail_free(m);
	}
	while ((h = LIST_FIRST(&hooks)) != NULL) {
		LIST_REMOVE(h, link);
		evhttp_connection_free(h->conn);
		free(h);
	}
	if (dns != NULL)
		evdns_base_free(dns, 0);
	dns = NULL;
}
