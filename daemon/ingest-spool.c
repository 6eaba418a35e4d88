/*
 * The spool folder.  A timer (spool.interval) lists spool.dir; files named
 * <feed>-<anything>.csv or .json (feeds: people, grants, assignments,
 * delegations, charges, timesheets) are taken one at a time, in that
 * load order and then by name, so that people arrive before the
 * timesheets that name them.  Anything else (a .tmp still being written,
 * a dot file, a folder) is left alone: senders write elsewhere and rename
 * in, as SFTP drops do.  A file written in place all the same waits until
 * it has not been modified for a second, and one modified while it is
 * read is taken again at the next look.
 *
 * A file goes through the same pipeline as POST /v1/<feed> (ingest-feed.c), but
 * is stored by spool_ingest(), which stores the records and claims (name,
 * size, SHA-256) in the spool_files ledger in one transaction.  So if
 * effortd dies after the commit and before the file is moved, the next
 * look finds the claim and only moves the file.  Then:
 *   stored or already stored   -> done/<name>
 *   refused (400/413/422)      -> failed/<name> and failed/<name>.errors
 *   database unavailable       -> left in place, retried next time.
 * A name already taken in done/ or failed/ is kept as <name>.1, .2, ...:
 * nothing kept there is replaced.
 * Files are bounded by limits.max_body (bigger ones fail) and read in the
 * feed's slices, about 1 MiB from disk at a time (spool_read_more), their
 * SHA-256 computed on the way; the ledger's claim is made at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "job-reaudit.h"
#include "effortd.h"
#include "ingest-feed.h"
#include "log.h"
#include "metrics.h"
#include "ingest-spool.h"
#include "xmalloc.h"

static const char *const load_order[] = { "people", "grants", "assignments",
	"delegations", "charges", "timesheets", NULL };

#define READ_PIECE (1 << 20) /* bytes read from disk per slice */
/* A file modified less than this long ago may still be being written in
 * place (not renamed in, as docs/operations.md asks): the next look. */
#define QUIET_NS 1000000000LL
/* The most files of one name kept in done/ or failed/: name.1 ... */
#define SPOOL_KEPT_MAX 9999

struct spool_job {
	char *name;
	char *shown; /* name for the log and .errors: control bytes as '?' */
	const struct feed_spec *feed;
	int fd;
	struct evbuffer *body;
	EVP_MD_CTX *sha;
	long long size, read;  /* bytes: the file's at the start, read so far */
	struct timespec mtime; /* the file's when opened */
	bool changed;          /* written to while read: taken again later */
	char size_s[32], hex[65];
	const char *extra[4]; /* feed, name, size, sha256 */
};

static struct event *timer;
static bool busy, stopping;

static void spool_next(void);

/* The feed a spool file name belongs to and its rank; -1 if none. */
static int
spool_rank(const char *name, bool *csv)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".csv") == 0)
		*csv = true;
	else if (n > 5 && strcmp(name + n - 5, ".json") == 0)
		*csv = false;
	else
		return -1;
	for (int i = 0; load_order[i] != NULL; i++) {
		size_t k = strlen(load_order[i]);
		if (strncmp(name, load_order[i], k) == 0 && name[k] == '-')
			return i;
	}
	return -1;
}

/* A file name as logged and written in .errors: a byte below 0x20 or
 * 0x7f (a newline in a dropped file's name) as '?', so that it cannot
 * start a line of its own. */
static char *
shown_name(const char *name)
{
	char *shown = xstrdup(name);

	for (char *c = shown; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return shown;
}

/* Whether the file in dir was modified less than QUIET_NS ago.  A
 * modification time ahead of the clock (another host's, on a shared
 * folder) does not count: such a file would otherwise hold the folder
 * until then; the check after reading still sees a change. */
static bool
still_written(int dir, const char *name)
{
	struct stat st;
	struct timespec now;
	long long age;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &now) != 0)
		return false; /* spool_open says what is wrong */
	age = (now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
	      (now.tv_nsec - st.st_mtim.tv_nsec);
	return age >= 0 && age < QUIET_NS;
}

/* The next file to take, or NULL: lowest rank, then lowest name; NULL
 * too when that one is still being written (so the load order holds). */
static char *
spool_pick(void)
{
	DIR *d = opendir(effortd.cfg.spool_dir);
	struct dirent *e;
	char *best = NULL;
	int best_rank = 0, rank;
	bool csv;

	if (d == NULL) {
		log_warn("spool: cannot read %s: %s", effortd.cfg.spool_dir,
		    strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || e->d_type == DT_DIR ||
		    (rank = spool_rank(e->d_name, &csv)) < 0)
			continue;
		if (best == NULL || rank < best_rank ||
		    (rank == best_rank && strcmp(e->d_name, best) < 0)) {
			free(best);
			best = xstrdup(e->d_name);
			best_rank = rank;
		}
	}
	if (best != NULL && still_written(dirfd(d), best)) {
		char *shown = shown_name(best);
		log_debug("spool: %s was modified within the last second; "
		          "next look",
		    shown);
		free(shown);
		free(best);
		best = NULL;
	}
	closedir(d);
	return best;
}

static void spool_write_errors(
    const char *kept, const char *shown, const struct feed_outcome *o);

/* <sub>/<name> for attempt 0, else <sub>/<name>.<attempt>. */
static char *
kept_path(const char *sub, const char *name, int attempt)
{
	char *path;

	if (attempt == 0)
		xasprintf(&path, "%s/%s", sub, name);
	else
		xasprintf(&path, "%s/%s.%d", sub, name, attempt);
	return path;
}

/* Renames from to dest unless dest exists (then -1 with EEXIST), so that
 * two instances racing for one name never replace each other's file. */
static int
rename_noreplace(const char *from, const char *dest)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without it (NFS): a hard link fails on EEXIST. */
	if (link(from, dest) != 0)
		return -1;
	unlink(from);
	return 0;
}

/* The attempt whose name (and, into failed/, name.errors) is free in sub. */
static int
free_attempt(const char *sub, const char *name, bool errors, int attempt)
{
	struct stat st;
	char *path, *errs;
	bool taken;

	for (;; attempt++) {
		path = kept_path(sub, name, attempt);
		xasprintf(&errs, "%s.errors", path);
		taken =
		    lstat(path, &st) == 0 || (errors && lstat(errs, &st) == 0);
		free(path);
		free(errs);
		if (!taken || attempt >= SPOOL_KEPT_MAX)
			return attempt;
	}
}

/*
 * Moves name into to/ (made again if it was removed since start-up),
 * without replacing a file kept there before: a nightly export sent
 * under the same name each time is kept as name, name.1, name.2, ...
 * Into failed/, the refusal's reasons (o) go to <kept name>.errors first,
 * so that whoever sees the file finds its .errors whole.  False if the
 * file is still in the folder: then it is not taken again before the
 * next look (spool.interval), never at once.
 */
static bool
spool_move(const char *name, const char *shown, const char *to,
    const struct feed_outcome *o)
{
	char *from, *dest = NULL, *sub;
	struct stat st;
	int rc = -1, attempt = 0;

	xasprintf(&from, "%s/%s", effortd.cfg.spool_dir, name);
	xasprintf(&sub, "%s/%s", effortd.cfg.spool_dir, to);
	if (mkdir(sub, 0750) != 0 && errno != EEXIST)
		goto out;
	for (; attempt <= SPOOL_KEPT_MAX; attempt++) {
		attempt = free_attempt(sub, name, o != NULL, attempt);
		free(dest);
		dest = kept_path(sub, name, attempt);
		if (o != NULL)
			spool_write_errors(dest, shown, o);
		if ((rc = rename_noreplace(from, dest)) == 0 || errno != EEXIST)
			break;
	}
	if (rc != 0 && errno == ENOENT && lstat(from, &st) != 0)
		rc = 0; /* another instance moved it */
out:
	if (rc != 0)
		log_error("spool: cannot move %s to %s/: %s", shown, to,
		    attempt > SPOOL_KEPT_MAX ? "too many files of that name"
		                             : strerror(errno));
	else if (dest != NULL && attempt > 0)
		log_info("spool: %s kept as %s/%s.%d (%s/%s was taken)", shown,
		    to, shown, attempt, to, shown);
	free(from);
	free(sub);
	free(dest);
	return rc == 0;
}

/* The .errors text: the reason, then one line per bad line/record. */
static void
errors_text(FILE *f, const char *shown, const struct feed_outcome *o)
{
	json_t *e;
	size_t i;

	fprintf(f, "%s: %s\n", shown, o->message);
	json_array_foreach(o->errors, i, e)
	{
		json_t *line = json_object_get(e, "line");
		const char *field =
		    json_string_value(json_object_get(e, "field"));
		fprintf(f, "%s %lld: %s%s%s\n", line ? "line" : "record",
		    (long long)json_integer_value(
		        line ? line : json_object_get(e, "index")),
		    field ? field : "", field && *field ? ": " : "",
		    json_string_value(json_object_get(e, "message")));
	}
}

/* <kept>.errors (kept: the path the refused file will have in failed/),
 * written under a temporary name and renamed. */
static void
spool_write_errors(
    const char *kept, const char *shown, const struct feed_outcome *o)
{
	static unsigned long written;
	char *tmp, *path;
	FILE *f = NULL;
	int fd = -1;
	bool ok = false;

	xasprintf(&tmp, "%s/failed/.errors-%ld-%lu.tmp", effortd.cfg.spool_dir,
	    (long)getpid(), ++written);
	xasprintf(&path, "%s.errors", kept);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) >=
	        0 &&
	    (f = fdopen(fd, "w")) != NULL) {
		errors_text(f, shown, o);
		ok = fclose(f) == 0 && rename(tmp, path) == 0;
	} else if (fd >= 0)
		close(fd);
	if (!ok)
		log_error("spool: cannot write the .errors of failed/%s: %s",
		    shown, strerror(errno));
	unlink(tmp); /* left only if it could not be renamed */
	free(tmp);
	free(path);
}

/* The re-audit after a stored file: the file is in done/ already. */
static void
audited(bool ok, void *arg)
{
	(void)ok; /* audit_rescore logged a failure */
	(void)arg;
}

/* Stored (or stored before): re-audit the people it touched (as a feed
 * POST does, audit_rescore), and move it to done/. */
static bool
spool_stored(const struct spool_job *job, json_t *doc)
{
	if (json_is_true(json_object_get(doc, "duplicate"))) {
		log_info("spool: %s was already ingested; moved to done/",
		    job->shown);
		metrics_spool_file("duplicate");
	} else {
		log_info("spool: %s: %lld %s record(s) stored", job->shown,
		    (long long)json_integer_value(
		        json_object_get(doc, "accepted")),
		    job->feed->name);
		metrics_spool_file("done");
	}
	audit_rescore(json_object_get(doc, "people"), audited, NULL);
	return spool_move(job->name, job->shown, "done", NULL);
}

/* The next look: at once after a file (from the loop, never from inside
 * the one that ended, so a folder of unreadable files is no recursion),
 * after spool.interval when a file must wait (database unavailable, or
 * it could not be moved). */
static void
spool_again(bool wait)
{
	struct timeval tv = { wait ? effortd.cfg.spool_interval : 0, 0 };

	if (!stopping && timer != NULL)
		evtimer_add(timer, &tv);
}

static void
spool_done(const struct feed_outcome *o, void *arg)
{
	struct spool_job *job = arg;
	bool wait = false;

	if (job->changed) {
		log_info("spool: %s changed while being read; will take it "
		         "again once it is left alone",
		    job->shown);
		metrics_spool_file("retry");
		wait = true;
	} else if (o->status == 200) {
		wait = !spool_stored(job, o->doc);
	} else if (o->status >= 500) {
		log_warn("spool: %s: %s; will retry", job->shown,
		    o->db && o->db->message ? o->db->message : o->message);
		metrics_spool_file("retry");
		wait = true;
	} else {
		log_warn("spool: %s refused: %s; moved to failed/", job->shown,
		    o->message);
		wait = !spool_move(job->name, job->shown, "failed", o);
		metrics_spool_file("failed");
	}
	if (job->fd >= 0)
		close(job->fd);
	if (job->body != NULL)
		evbuffer_free(job->body);
	EVP_MD_CTX_free(job->sha);
	free(job->name);
	free(job->shown);
	free(job);
	busy = false;
	spool_again(wait);
}

/* Opens the file for the job; its size must be within limits.max_body.
 * 0: open; 1: gone (nothing to do); -1: refused (err says why). */
static int
spool_open(struct spool_job *job, const char *path, char *err, size_t errlen)
{
	struct stat st;

	/* O_NONBLOCK: a FIFO given a spool name must not stop the loop. */
	job->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (job->fd < 0 && errno == ENOENT)
		return 1; /* another instance took it since spool_pick */
	if (job->fd < 0 || fstat(job->fd, &st) != 0) {
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot read: not a regular file");
		return -1;
	}
	job->size = (long long)st.st_size;
	job->mtime = st.st_mtim;
	if (st.st_size > effortd.cfg.max_body) {
		snprintf(err, errlen, "%lld bytes; limits.max_body is %d",
		    job->size, effortd.cfg.max_body);
		return -1;
	}
	job->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(job->sha, EVP_sha256(), NULL);
	return 0;
}

/* The feed's read_more: the next piece of the file, hashed on the way. */
static int
spool_read_more(void *arg, struct evbuffer *body, char *err, size_t errlen)
{
	struct spool_job *job = arg;
	struct evbuffer_iovec v;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	ssize_t got;
	struct stat st;

	if (evbuffer_reserve_space(body, READ_PIECE, &v, 1) < 1) {
		snprintf(err, errlen, "cannot read: out of memory");
		return -1;
	}
	got = read(job->fd, v.iov_base,
	    READ_PIECE < v.iov_len ? READ_PIECE : v.iov_len);
	if (got < 0) {
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
		return -1;
	}
	v.iov_len = (size_t)got;
	evbuffer_commit_space(body, &v, 1);
	EVP_DigestUpdate(job->sha, v.iov_base, (size_t)got);
	job->read += got;
	if (job->read > effortd.cfg.max_body) {
		snprintf(err, errlen, "%lld bytes; limits.max_body is %d",
		    job->read, effortd.cfg.max_body);
		return -1;
	}
	if (got > 0)
		return 1;
	if (fstat(job->fd, &st) != 0 || st.st_size != job->read ||
	    st.st_mtim.tv_sec != job->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != job->mtime.tv_nsec) {
		job->changed = true;
		snprintf(err, errlen, "changed while being read");
		return -1;
	}
	EVP_DigestFinal_ex(job->sha, md, &n);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(job->hex + 2 * i, 3, "%02x", md[i]);
	snprintf(job->size_s, sizeof job->size_s, "%lld", job->read);
	return 0;
}

/* Takes the next file, if any; when none is left, waits for the timer. */
static void
spool_next(void)
{
	struct timeval tv = { effortd.cfg.spool_interval, 0 };
	struct spool_job *job;
	char *name, *path, err[256];
	bool csv = false;
	int opened;

	if (busy || stopping)
		return;
	if ((name = spool_pick()) == NULL) {
		evtimer_add(timer, &tv);
		return;
	}
	job = xcalloc(1, sizeof *job);
	job->name = name;
	job->shown = shown_name(name);
	job->feed = feed_by_name(load_order[spool_rank(name, &csv)]);
	job->fd = -1;
	xasprintf(&path, "%s/%s", effortd.cfg.spool_dir, name);
	busy = true;
	if ((opened = spool_open(job, path, err, sizeof err)) == 1) {
		free(job->name);
		free(job->shown);
		free(job);
		busy = false;
		spool_again(false);
	} else if (opened != 0) {
		struct feed_outcome o = { .status = 413, .message = err };
		spool_done(&o, job);
	} else {
		job->body = evbuffer_new();
		job->extra[0] = job->feed->name;
		job->extra[1] = job->name;
		job->extra[2] = job->size_s;
		job->extra[3] = job->hex;
		struct feed_source src = { .feed = job->feed,
			.body = job->body,
			.csv = csv,
			.stmt = STMT_SPOOL_INGEST,
			.nextra = 4,
			.extra = job->extra,
			.read_more = spool_read_more };
		feed_ingest(&src, spool_done, job);
	}
	free(path);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	spool_next();
}

int
spool_start(void)
{
	const char *dir = effortd.cfg.spool_dir;
	struct timeval now = { 0, 0 };
	char *sub;

	if (*dir == '\0')
		return 0;
	for (int i = 0; i < 2; i++) {
		xasprintf(&sub, "%s/%s", dir, i == 0 ? "done" : "failed");
		if (mkdir(sub, 0750) != 0 && errno != EEXIST) {
			log_error("spool: cannot create %s: %s", sub,
			    strerror(errno));
			free(sub);
			return -1;
		}
		free(sub);
	}
	stopping = false;
	timer = evtimer_new(effortd.base, on_timer, NULL);
	evtimer_add(timer, &now);
	log_info(
	    "spool: watching %s every %d s", dir, effortd.cfg.spool_interval);
	return 0;
}

void
spool_stop(void)
{
	stopping = true;
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
}
