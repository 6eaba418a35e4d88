/*
 * db.conninfo as libpq keyword/value arrays, and its host names resolved
 * with evdns before each connection attempt (see db-addr.c).  Each name of
 * host=a,b,... gets one lookup; when all have answered, hostaddr lists
 * the addresses in host order (an entry is left empty for a socket
 * directory or a numeric address, which libpq uses without a lookup).
 * A name that does not resolve is dropped from both lists; when none is
 * left the attempt fails with the resolver's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>
#include <libpq-fe.h>

#include "db-addr.h"
#include "xmalloc.h"

#define MAX_PARAMS 64

struct db_target {
	int n; /* keys/vals in use */
	char *keys[MAX_PARAMS + 2], *vals[MAX_PARAMS + 2];
	int host_index; /* index of "host" in keys, -1 if none */
	int port_index; /* index of "port" when it lists one per host */
	int nhosts;
	char **hosts; /* host split at commas */
	char **ports; /* port split at commas (port_index >= 0) */
	bool has_names;
};

struct host_lookup {
	struct db_lookup *parent; /* NULL once abandoned */
	struct evdns_getaddrinfo_request *req;
	int index;
	LIST_ENTRY(host_lookup) link;
};

struct db_lookup {
	const struct db_target *target;
	struct event *done_ev;
	db_lookup_cb cb;
	void *arg;
	int pending;
	char *
	    *addrs; /* per host: the address, "" (no lookup) or NULL (failed) */
	char error[160];
	struct host_lookup **lookups;
};

/* Lookups abandoned before evdns answered: freed when it does. */
static LIST_HEAD(, host_lookup) orphans = LIST_HEAD_INITIALIZER(orphans);

static bool
is_name(const char *h)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;

	return *h != '\0' && *h != '/' && *h != '@' &&
	       evutil_parse_sockaddr_port(h, (struct sockaddr *)&ss, &len) != 0;
}

static void
target_set(struct db_target *t, const char *key, const char *val)
{
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i], key) == 0) {
			free(t->vals[i]);
			t->vals[i] = xstrdup(val);
			return;
		}
	}
	if (t->n < MAX_PARAMS) {
		t->keys[t->n] = xstrdup(key);
		t->vals[t->n++] = xstrdup(val);
	}
}

/* Splits s at commas into *parts; returns how many. */
static int
split_list(const char *s, char ***parts)
{
	char *copy = xstrdup(s), *p, *save = NULL;
	int n = 0;

	*parts = NULL;
	for (p = strtok_r(copy, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		*parts = xreallocarray(*parts, (size_t)n + 1, sizeof **parts);
		(*parts)[n++] = xstrdup(p);
	}
	free(copy);
	return n;
}

static void
target_split_hosts(struct db_target *t)
{
	char **ports = NULL;
	int nports = 0;

	t->host_index = t->port_index = -1;
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i], "host") == 0)
			t->host_index = i;
		if (strcmp(t->keys[i], "port") == 0) {
			t->port_index = i;
			nports = split_list(t->vals[i], &ports);
		}
		/* An explicit hostaddr is the operator's choice. */
		if (strcmp(t->keys[i], "hostaddr") == 0)
			return;
	}
	if (t->host_index < 0)
		return;
	t->nhosts = split_list(t->vals[t->host_index], &t->hosts);
	for (int i = 0; i < t->nhosts; i++)
		t->has_names |= is_name(t->hosts[i]);
	if (nports > 1 && nports == t->nhosts) {
		t->ports = ports; /* one per host: dropped with its host */
		return;
	}
	for (int i = 0; i < nports; i++)
		free(ports[i]);
	free(ports);
	t->port_index = -1;
}

struct db_target *
db_target_new(const char *conninfo, const char *const *keys,
    const char *const *vals, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	struct db_target *t;

	if (opts == NULL) {
		snprintf(err, errlen, "db.conninfo: %s",
		    perr ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	t = xcalloc(1, sizeof *t);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			target_set(t, o->keyword, o->val);
	PQconninfoFree(opts);
	for (int i = 0; keys[i] != NULL; i++)
		target_set(t, keys[i], vals[i]);
	target_split_hosts(t);
	return t;
}

void
db_target_free(struct db_target *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->n; i++) {
		free(t->keys[i]);
		free(t->vals[i]);
	}
	for (int i = 0; i < t->nhosts; i++) {
		free(t->hosts[i]);
		if (t->ports != NULL)
			free(t->ports[i]);
	}
	free(t->hosts);
	free(t->ports);
	free(t);
}

bool
db_target_has_names(const struct db_target *t)
{
	return t->has_names;
}

void
db_target_params(const struct db_target *t, const char *const **keys,
    const char *const **vals)
{
	*keys = (const char *const *)t->keys;
	*vals = (const char *const *)t->vals;
}

static char *
join(char **parts, const bool *use, int n)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += use[i] ? strlen(parts[i]) + 1 : 0;
	s = xcalloc(1, len);
	for (int i = 0, first = 1; i < n; i++) {
		if (!use[i])
			continue;
		if (!first)
			strcat(s, ",");
		strcat(s, parts[i]);
		first = 0;
	}
	return s;
}

/* Every lookup answered: the arrays with host and hostaddr in step. */
static void
lookup_done(evutil_socket_t fd, short what, void *arg)
{
	struct db_lookup *l = arg;
	const struct db_target *t = l->target;
	const char *keys[MAX_PARAMS + 2], *vals[MAX_PARAMS + 2];
	bool *use = xcalloc((size_t)t->nhosts, sizeof *use);
	char *host, *hostaddr, *port = NULL;
	int n = 0, k;

	(void)fd;
	(void)what;
	for (int i = 0; i < t->nhosts; i++)
		n += use[i] = l->addrs[i] != NULL;
	host = join(t->hosts, use, t->nhosts);
	hostaddr = join(l->addrs, use, t->nhosts);
	if (t->ports != NULL)
		port = join(t->ports, use, t->nhosts);
	for (k = 0; k < t->n; k++) {
		keys[k] = t->keys[k];
		vals[k] = k == t->host_index   ? host
		          : k == t->port_index ? port
		                               : t->vals[k];
	}
	keys[k] = "hostaddr";
	vals[k++] = hostaddr;
	keys[k] = vals[k] = NULL;
	l->cb(keys, vals, n == 0 ? l->error : NULL, l->arg);
	free(use);
	free(host);
	free(hostaddr);
	free(port);
	/* cb may not touch l again; it was the last use. */
	db_lookup_cancel(l);
}

static void
on_addrinfo(int result, struct evutil_addrinfo *res, void *arg)
{
	struct host_lookup *h = arg;
	struct db_lookup *l = h->parent;
	char buf[128];

	if (l == NULL) {
		LIST_REMOVE(h, link);
		free(h);
	} else {
		l->lookups[h->index] = NULL;
		if (result == 0 && res != NULL) {
			const void *a =
			    res->ai_family == AF_INET6
			        ? (const void *)&(
			              (struct sockaddr_in6 *)res->ai_addr)
			              ->sin6_addr
			        : (const void *)&(
			              (struct sockaddr_in *)res->ai_addr)
			              ->sin_addr;
			if (evutil_inet_ntop(
			        res->ai_family, a, buf, sizeof buf))
				l->addrs[h->index] = xstrdup(buf);
		}
		if (l->addrs[h->index] == NULL)
			snprintf(l->error, sizeof l->error,
			    "cannot resolve %s: %s", l->target->hosts[h->index],
			    evutil_gai_strerror(result));
		free(h);
		if (--l->pending == 0)
			event_active(l->done_ev, 0, 0);
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

struct db_lookup *
db_lookup_start(const struct db_target *t, struct event_base *base,
    struct evdns_base *dns, db_lookup_cb cb, void *arg)
{
	struct db_lookup *l = xcalloc(1, sizeof *l);
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM };

	struct evdns_getaddrinfo_request *req;

	l->target = t;
	l->cb = cb;
	l->arg = arg;
	l->addrs = xcalloc((size_t)t->nhosts, sizeof *l->addrs);
	l->lookups = xcalloc((size_t)t->nhosts, sizeof *l->lookups);
	l->done_ev = event_new(base, -1, 0, lookup_done, l);
	l->pending = 1; /* until every lookup is started */
	for (int i = 0; i < t->nhosts; i++) {
		struct host_lookup *h;
		if (!is_name(t->hosts[i])) {
			l->addrs[i] = xstrdup("");
			continue;
		}
		h = xcalloc(1, sizeof *h);
		h->parent = l;
		h->index = i;
		l->lookups[i] = h;
		l->pending++;
		req = evdns_getaddrinfo(
		    dns, t->hosts[i], NULL, &hints, on_addrinfo, h);
		if (req != NULL) /* NULL: answered already, h is gone */
			h->req = req;
	}
	if (--l->pending == 0)
		event_active(l->done_ev, 0, 0);
	return l;
}

void
db_lookup_cancel(struct db_lookup *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < l->target->nhosts; i++) {
		struct host_lookup *h = l->lookups[i];
		if (h != NULL) {
			h->parent = NULL;
			LIST_INSERT_HEAD(&orphans, h, link);
			evdns_getaddrinfo_cancel(h->req);
		}
		free(l->addrs[i]);
	}
	event_free(l->done_ev);
	free(l->addrs);
	free(l->lookups);
	free(l);
}

void
db_lookup_forget_orphans(void)
{
	struct host_lookup *h;

	while ((h = LIST_FIRST(&orphans)) != NULL) {
		LIST_REMOVE(h, link);
		free(h);
	}
}
