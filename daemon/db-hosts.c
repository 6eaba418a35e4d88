/*
 * Rotating a multi-host conninfo's host list (db-hosts.h): the
 * comma-separated host, hostaddr and port values are parsed with libpq's
 * own PQconninfoParse and each list with one entry per host is rotated.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db-hosts.h"
#include "xmalloc.h"

static int
items(const char *list)
{
	int n = 1;

	for (const char *s = list; *s != '\0'; s++)
		n += *s == ',';
	return n;
}

/* list's n items rotated left by shift, or NULL unless it has n items. */
static char *
rotate(const char *list, int n, int shift)
{
	char *copy, **item, *out, *p;
	size_t len;

	if (list == NULL || *list == '\0' || items(list) != n)
		return NULL;
	copy = xstrdup(list);
	item = xcalloc((size_t)n, sizeof *item);
	len = strlen(list) + 1;
	/* strtok_r would merge empty items ("a,,b"); split by hand. */
	item[0] = copy;
	for (int i = 1; (p = strchr(item[i - 1], ',')) != NULL; i++) {
		*p = '\0';
		item[i] = p + 1;
	}
	out = xcalloc(len, 1);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, item[(i + shift) % n]);
	}
	free(item);
	free(copy);
	return out;
}

static const char *
option(const PQconninfoOption *opts, const char *key)
{
	for (; opts->keyword != NULL; opts++)
		if (strcmp(opts->keyword, key) == 0)
			return opts->val;
	return NULL;
}

int
db_hosts_count(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host, *addr;
	int n = 0;

	if (opts == NULL)
		return 0;
	host = option(opts, "host");
	addr = option(opts, "hostaddr");
	if (host != NULL && *host != '\0')
		n = items(host);
	else if (addr != NULL && *addr != '\0')
		n = items(addr);
	else
		n = 1;
	PQconninfoFree(opts);
	return n;
}

bool
db_hosts_rotated(const char *conninfo, int shift, struct db_hosts *out)
{
	PQconninfoOption *opts;
	int n = db_hosts_count(conninfo);

	memset(out, 0, sizeof *out);
	if (n < 2 || shift % n == 0 ||
	    (opts = PQconninfoParse(conninfo, NULL)) == NULL)
		return false;
	out->host = rotate(option(opts, "host"), n, shift % n);
	out->hostaddr = rotate(option(opts, "hostaddr"), n, shift % n);
	out->port = rotate(option(opts, "port"), n, shift % n);
	PQconninfoFree(opts);
	return true;
}

int
db_hosts_list_count(const char *list)
{
	return list == NULL || *list == '\0' ? 0 : items(list);
}

char *
db_hosts_rotate_list(const char *list, int n, int shift)
{
	return rotate(list, n, shift);
}

void
db_hosts_clear(struct db_hosts *h)
{
	free(h->host);
	free(h->hostaddr);
	free(h->port);
	memset(h, 0, sizeof *h);
}
