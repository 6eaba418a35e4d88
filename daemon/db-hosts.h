/*
 * The host list of a multi-host conninfo ("host=a,b port=p,q"), rotated:
 * libpq's asynchronous connect applies no per-host timeout, so a host that
 * drops packets would hold every attempt until db.connect_timeout and the
 * hosts after it would never be tried.  After such a timeout the pool
 * starts its next attempt one host further on (daemon/db-hosts.c).
 */
#ifndef DB_HOSTS_H
#define DB_HOSTS_H

#include <stdbool.h>

/* The host, hostaddr and port lists of a conninfo rotated left by shift
 * (each NULL when the conninfo does not set it or it has a single entry
 * shared by all hosts); free()d by the caller. */
struct db_hosts {
	char *host, *hostaddr, *port;
};

/* How many hosts the conninfo names (0 when it cannot be parsed). */
int db_hosts_count(const char *conninfo);
/* Fills *out; false when there is nothing to rotate (fewer than 2 hosts
 * or a bad conninfo), and then *out is all NULL. */
bool db_hosts_rotated(const char *conninfo, int shift, struct db_hosts *out);
void db_hosts_clear(struct db_hosts *);
/* The same for one list value as given to libpq (after effortd resolved
 * the names: db-pool.c): its item count, and the list rotated left by shift
 * (NULL unless it has n items; free()d by the caller). */
int db_hosts_list_count(const char *list);
char *db_hosts_rotate_list(const char *list, int n, int shift);

#endif
