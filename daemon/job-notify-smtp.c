/*
 * Mail submission to an SMTP relay with libcurl's multi socket interface,
 * driven by libevent.  libcurl waits for the relay's reply to the end of
 * the message and to QUIT inside its "done" step, blocking its caller
 * (a known libcurl limitation: curl issue 8555, "More non-blocking" in its
 * TODO), so the transfers do not run on effortd's event loop but on a
 * mail thread with an event base of its own; a slow relay delays only
 * other mails, bounded by notify.smtp_timeout.
 *
 * The event loop hands a submission to the thread through the inbox (a
 * list under a mutex, and a byte on a pipe that wakes the thread); the
 * thread adds it to its curl multi handle, whose sockets and timer are
 * libevent events of the thread's base (curl's threaded resolver looks up
 * names); a finished submission goes to the outbox, and a byte on another
 * pipe wakes the event loop, which calls back.  Each submission's state
 * says which of these it is in; send_move is the one transition.  The
 * thread logs nothing and reads no configuration: everything is copied
 * at submission and reported back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "config.h"
#include "effortd.h"
#include "job-notify-smtp.h"
#include "xmalloc.h"

enum send_state {
	SEND_NEW,     /* being made by smtp_submit */
	SEND_INBOX,   /* submitted, not yet seen by the thread */
	SEND_RUNNING, /* the thread's: a transfer of its multi handle */
	SEND_OUTBOX,  /* finished, waiting for the event loop to call back */
	SEND_DONE,    /* called back or abandoned: to be freed */
};

struct smtp_send {
	TAILQ_ENTRY(smtp_send) link; /* in the list of its state */
	enum send_state state;
	char *url, *user, *password, *ca_file, *from, *to;
	bool starttls;
	long timeout;
	char *wire; /* the message as sent: CRLF line ends */
	size_t len, sent;
	CURL *easy;
	struct curl_slist *rcpt;
	bool ok;
	char why[CURL_ERROR_SIZE + 64];
	smtp_done_cb done;
	void *arg;
};

TAILQ_HEAD(send_list, smtp_send);

/* Shared by the event loop and the thread, under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct send_list inbox = TAILQ_HEAD_INITIALIZER(inbox);
static struct send_list outbox = TAILQ_HEAD_INITIALIZER(outbox);
static bool stopping;

/* The thread's own. */
static struct send_list running = TAILQ_HEAD_INITIALIZER(running);
static struct event_base *tbase;
static struct event *ev_inbox, *ev_timer;
static CURLM *multi;

/* The event loop's own. */
static pthread_t thread;
static bool started;
static int wake_thread[2] = { -1, -1 }, wake_loop[2] = { -1, -1 };
static struct event *ev_outbox;
static unsigned message_seq;

/* One socket curl asked us to watch. */
struct smtp_sock {
	struct event *ev;
};

/* The one transition: moves s from the list of its state to that of
 * next (the caller holds lock when either is the inbox or the outbox). */
static void
send_move(struct smtp_send *s, enum send_state next)
{
	struct send_list *lists[] = { NULL, &inbox, &running, &outbox, NULL };

	if (lists[s->state] != NULL)
		TAILQ_REMOVE(lists[s->state], s, link);
	s->state = next;
	if (lists[next] != NULL)
		TAILQ_INSERT_TAIL(lists[next], s, link);
}

/* send_move for a move into or out of the inbox or the outbox, which the
 * event loop and the thread share. */
static void
send_move_locked(struct smtp_send *s, enum send_state next)
{
	pthread_mutex_lock(&lock);
	send_move(s, next);
	pthread_mutex_unlock(&lock);
}

static void
send_free(struct smtp_send *s)
{
	if (s->password != NULL)
		explicit_bzero(s->password, strlen(s->password));
	free(s->url);
	free(s->user);
	free(s->password);
	free(s->ca_file);
	free(s->from);
	free(s->to);
	free(s->wire);
	curl_slist_free_all(s->rcpt);
	free(s);
}

static void
wake(int fd)
{
	char c = 0;
	ssize_t n = write(fd, &c, 1);

	(void)n; /* EAGAIN: a full pipe is already a wake-up */
}

static void
drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* ---------------------------------------------------------------- thread */

/* The thread: a finished transfer goes to the outbox. */
static void
send_finished(struct smtp_send *s, CURLcode rc)
{
	long reply = 0;
	char code[32];

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &reply);
	curl_multi_remove_handle(multi, s->easy);
	curl_easy_cleanup(s->easy);
	s->ok = rc == CURLE_OK;
	snprintf(code, sizeof code, "%ld", reply);
	if (!s->ok && reply > 0 && strstr(s->why, code) == NULL)
		snprintf(s->why + strlen(s->why),
		    sizeof s->why - strlen(s->why), " (reply %ld)", reply);
	s->easy = NULL;
	send_move_locked(s, SEND_OUTBOX);
	wake(wake_loop[1]);
}

static void
check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		struct smtp_send *s;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &s);
		if (s->why[0] == '\0')
			snprintf(s->why, sizeof s->why, "%s",
			    curl_easy_strerror(m->data.result));
		send_finished(s, m->data.result);
	}
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	            ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int still;

	(void)arg;
	curl_multi_socket_action(multi, fd, flags, &still);
	check_done();
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	int still;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &still);
	check_done();
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl waits for. */
static int
curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct smtp_sock *k = sockp;
	short kind = ((what & CURL_POLL_IN) ? EV_READ : 0) |
	             ((what & CURL_POLL_OUT) ? EV_WRITE : 0);

	(void)easy;
	(void)userp;
	if (k != NULL) {
		event_free(k->ev);
		k->ev = NULL;
	}
	if (what == CURL_POLL_REMOVE) {
		free(k);
		return 0;
	}
	if (k == NULL) {
		k = xcalloc(1, sizeof *k);
		curl_multi_assign(multi, fd, k);
	}
	k->ev = event_new(tbase, fd, kind | EV_PERSIST, on_socket, NULL);
	event_add(k->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's one timeout (-1: none). */
static int
curl_timer(CURLM *m, long ms, void *userp)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	(void)m;
	(void)userp;
	if (ms < 0)
		evtimer_del(ev_timer);
	else
		evtimer_add(ev_timer, &tv);
	return 0;
}

static size_t
read_message(char *buf, size_t size, size_t n, void *arg)
{
	struct smtp_send *s = arg;
	size_t take = s->len - s->sent;

	if (take > size * n)
		take = size * n;
	memcpy(buf, s->wire + s->sent, take);
	s->sent += take;
	return take;
}

/* The thread: the transfer of one submission; false if curl refuses. */
static bool
send_setup(struct smtp_send *s)
{
	CURL *e = s->easy = curl_easy_init();
	bool ok = e != NULL;

	s->rcpt = curl_slist_append(NULL, s->to);
	ok = ok && s->rcpt != NULL &&
	     curl_easy_setopt(e, CURLOPT_URL, s->url) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") ==
	         CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_MAIL_FROM, s->from) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_READFUNCTION, read_message) ==
	         CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_READDATA, s) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_TIMEOUT, s->timeout) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, s->timeout) ==
	         CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->why) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PRIVATE, s) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_USE_SSL,
	         s->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE) ==
	         CURLE_OK &&
	     (*s->ca_file == '\0' ||
	         curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file) == CURLE_OK) &&
	     (*s->user == '\0' ||
	         (curl_easy_setopt(e, CURLOPT_USERNAME, s->user) == CURLE_OK &&
	             curl_easy_setopt(e, CURLOPT_PASSWORD, s->password) ==
	                 CURLE_OK));
	ok = ok && curl_multi_add_handle(multi, e) == CURLM_OK;
	if (!ok && e != NULL)
		curl_easy_cleanup(e);
	if (!ok)
		s->easy = NULL;
	return ok;
}

/* The thread: start what the inbox holds; at stop, leave. */
static void
on_inbox(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_send *s, *next;
	bool stop;

	(void)what;
	(void)arg;
	drain(fd);
	pthread_mutex_lock(&lock);
	stop = stopping;
	while (!stop && (s = TAILQ_FIRST(&inbox)) != NULL)
		send_move(s, SEND_RUNNING);
	pthread_mutex_unlock(&lock);
	if (stop) {
		event_base_loopbreak(tbase); /* the inbox: smtp_stop's */
		return;
	}
	for (s = TAILQ_FIRST(&running); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->easy != NULL || send_setup(s))
			continue;
		snprintf(s->why, sizeof s->why, "libcurl refused the settings");
		send_move_locked(s, SEND_OUTBOX);
		wake(wake_loop[1]);
	}
}

/* The thread: abandon the transfers (a 1 ms timeout bounds curl's wait
 * for a reply while it lets go of one mid-message: curl issue 4015). */
static void
thread_cleanup(void)
{
	struct smtp_send *s;

	while ((s = TAILQ_FIRST(&running)) != NULL) {
		send_move(s, SEND_DONE);
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 1L);
		curl_easy_setopt(s->easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, 1L);
		curl_multi_remove_handle(multi, s->easy);
		curl_easy_cleanup(s->easy);
		send_free(s);
	}
	curl_multi_cleanup(multi);
	multi = NULL;
	event_free(ev_timer);
	event_free(ev_inbox);
	ev_timer = ev_inbox = NULL;
	event_base_free(tbase);
	tbase = NULL;
}

static void *
thread_main(void *arg)
{
	(void)arg;
	event_base_loop(tbase, EVLOOP_NO_EXIT_ON_EMPTY);
	thread_cleanup();
	return NULL;
}

/* ---------------------------------------------------------------- event loop
 */

/* The event loop: call back for what the thread finished. */
static void
on_outbox(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_send *s;

	(void)what;
	(void)arg;
	drain(fd);
	for (;;) {
		pthread_mutex_lock(&lock);
		if ((s = TAILQ_FIRST(&outbox)) != NULL)
			send_move(s, SEND_DONE);
		pthread_mutex_unlock(&lock);
		if (s == NULL)
			return;
		s->done(s->ok, s->why, s->arg);
		send_free(s);
	}
}

static int
make_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC | O_NONBLOCK);
}

static void
close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++) {
		if (p[i] != -1)
			close(p[i]);
		p[i] = -1;
	}
}

/* Undoes what thread_start made before it failed; keeps errno. */
static void
thread_start_failed(void)
{
	int saved = errno;

	if (ev_outbox != NULL)
		event_free(ev_outbox);
	if (ev_inbox != NULL)
		event_free(ev_inbox);
	if (ev_timer != NULL)
		event_free(ev_timer);
	ev_outbox = ev_inbox = ev_timer = NULL;
	if (multi != NULL)
		curl_multi_cleanup(multi);
	multi = NULL;
	if (tbase != NULL)
		event_base_free(tbase);
	tbase = NULL;
	close_pipe(wake_thread);
	close_pipe(wake_loop);
	errno = saved;
}

/* The event loop: the thread, its base and multi handle, the pipes. */
static int
thread_start(void)
{
	sigset_t all, old;
	int rc;

	if (make_pipe(wake_thread) != 0 || make_pipe(wake_loop) != 0 ||
	    (tbase = event_base_new()) == NULL ||
	    (multi = curl_multi_init()) == NULL) {
		thread_start_failed();
		return -1;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curl_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer);
	ev_timer = evtimer_new(tbase, on_timer, NULL);
	ev_inbox = event_new(
	    tbase, wake_thread[0], EV_READ | EV_PERSIST, on_inbox, NULL);
	event_add(ev_inbox, NULL);
	ev_outbox = event_new(
	    effortd.base, wake_loop[0], EV_READ | EV_PERSIST, on_outbox, NULL);
	event_add(ev_outbox, NULL);
	/* Signals stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, NULL, thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		thread_start_failed();
		return -1;
	}
	started = true;
	return 0;
}

/* A header naming the date and the message, which a relay need not add
 * (sendmail adds them itself); the domain is the sender's. */
static char *
extra_headers(const char *from)
{
	const char *at = strrchr(from, '@');
	char date[64], *h;
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	xasprintf(&h, "Date: %s\r\nMessage-ID: <%lld.%d.%u.effortd@%.*s>\r\n",
	    date, (long long)now, (int)getpid(), ++message_seq,
	    at != NULL ? (int)strcspn(at + 1, ">") : 9,
	    at != NULL ? at + 1 : "localhost");
	return h;
}

/* The message as SMTP carries it: CRLF line ends (curl doubles a dot
 * that begins a line only after CRLF). */
static void
wire_text(struct smtp_send *s, const char *message, size_t len)
{
	char *head = extra_headers(s->from);
	size_t n = strlen(head), cap = n + 2 * len + 1;

	s->wire = xmalloc(cap);
	memcpy(s->wire, head, n);
	free(head);
	for (size_t i = 0; i < len; i++) {
		if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r'))
			s->wire[n++] = '\r';
		s->wire[n++] = message[i];
	}
	s->wire[n] = '\0';
	s->len = n;
}

int
smtp_submit(const struct smtp_request *r, smtp_done_cb done, void *arg,
    char *why, size_t whylen)
{
	struct smtp_send *s;
	char *from = config_mail_address(r->from),
	     *to = config_mail_address(r->to);

	if (from == NULL || to == NULL) {
		snprintf(why, whylen, "%s is not a mail address",
		    from == NULL ? "the sender (notify.from)"
		                 : "the recipient");
		free(from);
		free(to);
		return -1;
	}
	if (!started && thread_start() != 0) {
		snprintf(why, whylen, "cannot start the mail thread: %s",
		    strerror(errno));
		free(from);
		free(to);
		return -1;
	}
	s = xcalloc(1, sizeof *s);
	s->url = xstrdup(r->url);
	s->user = xstrdup(r->user);
	s->password = xstrdup(r->password != NULL ? r->password : "");
	s->ca_file = xstrdup(r->ca_file);
	s->starttls = r->starttls;
	s->timeout = r->timeout;
	s->from = from;
	s->to = to;
	s->done = done;
	s->arg = arg;
	wire_text(s, r->message, r->message_len);
	send_move_locked(s, SEND_INBOX);
	wake(wake_thread[1]);
	return 0;
}

void
smtp_stop(void)
{
	struct smtp_send *s;

	if (!started)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_mutex_unlock(&lock);
	wake(wake_thread[1]);
	pthread_join(thread, NULL);
	started = false;
	stopping = false;
	while ((s = TAILQ_FIRST(&inbox)) != NULL ||
	       (s = TAILQ_FIRST(&outbox)) != NULL) {
		send_move(s, SEND_DONE);
		send_free(s);
	}
	event_free(ev_outbox);
	ev_outbox = NULL;
	close_pipe(wake_thread);
	close_pipe(wake_loop);
}
