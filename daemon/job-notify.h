/*
 * Sending one notification without blocking the event loop: a mail through
 * a sendmail-compatible command (a child process reading the message from
 * a non-blocking pipe) or an SMTP relay, or a JSON POST to a webhook with
 * libevent's HTTP client.  Each calls back once with whether it worked.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdbool.h>

typedef void (*notify_cb)(bool ok, void *arg);

/* Runs "/bin/sh -c cmd" with message on its stdin; ok: it exited 0.  At
 * most notify.max_senders run at once; the others wait their turn. */
void notify_sendmail(const char *cmd, const char *message, notify_cb, void *);
/* Submits message to the relay of notify.smtp_url (job-notify-smtp.h):
 * the envelope sender is the address in from (notify.from), the
 * recipient to; ok: the relay accepted it.  Shares notify_sendmail's
 * queue and its notify.max_senders. */
void notify_smtp(
    const char *from, const char *to, const char *message, notify_cb, void *);
/* POSTs body (JSON) to url (http://HOST[:PORT]/PATH); ok: a 2xx reply. */
void notify_webhook(const char *url, const char *body, notify_cb, void *);
/* Abandons whatever is in flight (children are terminated) without
 * calling back; at shutdown. */
void notify_cancel_all(void);

#endif
