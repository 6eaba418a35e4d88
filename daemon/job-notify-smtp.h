/*
 * Submitting one mail to an SMTP relay (notify.smtp_url) with libcurl,
 * without blocking effortd's event loop: the transfers run on a mail
 * thread of their own (job-notify-smtp.c says why), whose results come
 * back to the event loop.  job-notify.c queues the messages and keeps
 * notify.max_senders.
 */
#ifndef NOTIFY_SMTP_H
#define NOTIFY_SMTP_H

#include <stdbool.h>

/* One submission; every string is copied by smtp_submit. */
struct smtp_request {
	const char *url;      /* smtp://HOST[:PORT] or smtps://HOST[:PORT] */
	bool starttls;        /* smtp://: STARTTLS required */
	const char *user;     /* "" = no AUTH */
	const char *password; /* with user */
	const char *ca_file;  /* "" = the system CA store */
	int timeout;          /* seconds the whole submission may take */
	const char *from;     /* envelope sender: an address */
	const char *to;       /* envelope recipient: an address */
	const char *message;  /* headers, blank line, body; "\n" line ends */
	size_t message_len;
};

/* ok: the relay took the message; else why (never a secret), e.g.
 * "RCPT failed: 554 (reply 554)". */
typedef void (*smtp_done_cb)(bool ok, const char *why, void *arg);

/* Hands the message to the mail thread (started on first use); done runs
 * later, on the event loop.  -1 (nothing will call back) with why filled
 * when it cannot be submitted. */
int smtp_submit(const struct smtp_request *, smtp_done_cb done, void *arg,
    char *why, size_t whylen);
/* Abandons every submission (no callback), stops the mail thread. */
void smtp_stop(void);

#endif
