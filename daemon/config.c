/*
 * Configuration loading with libconfig.  Every option lives in one table
 * with its type, default, bounds and whether SIGHUP may change it; the
 * loader, the sample conf/effortd.conf and the docs are checked against it
 * (tests/t/config.t).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "feed-map.h"
#include "log.h"
#include "xmalloc.h"

static bool check_timezone(const char *, char *, size_t);
static bool check_log_level(const char *, char *, size_t);
static bool check_nonempty(const char *, char *, size_t);
static bool check_webhook_url(const char *, char *, size_t);
static bool check_smtp_url(const char *, char *, size_t);
static bool check_oidc_issuer(const char *, char *, size_t);
static bool check_person_match(const char *, char *, size_t);

#define OFF(f) offsetof(struct config, f)
#define INF    1e12

/* The mapping of one feed's CSV files (docs/configuration.md). */
#define FEED_MAP_OPTIONS(feed)                                                 \
	{ #feed ".columns", OPT_GROUP, "{}", OFF(maps.feed.columns), false, 0, \
		0, NULL },                                                     \
	    { #feed ".ignore_columns", OPT_ARRAY, "[]",                        \
		    OFF(maps.feed.ignore_columns), false, 0, 0, NULL },        \
	    { #feed ".delimiter", OPT_STRING, ",", OFF(maps.feed.delimiter),   \
		    false, 0, 0, feedmap_check_delimiter },                    \
	    { #feed ".decimal_separator", OPT_STRING, ".",                     \
		    OFF(maps.feed.decimal_separator), false, 0, 0,             \
		    feedmap_check_decimal },                                   \
	{                                                                      \
#feed ".date_format", OPT_STRING, "%Y-%m-%d",                  \
		    OFF(maps.feed.date_format), false, 0, 0,                   \
		    feedmap_check_date_format                                  \
	}

const char *const config_type_names[] = { "string", "integer", "number",
	"group", "list" };

/* clang-format off */
const struct config_option config_options[] = {
	{ "listen.address", OPT_STRING, "127.0.0.1", OFF(listen_address), true, 0, 0, check_nonempty },
	{ "listen.port", OPT_INT, "8470", OFF(listen_port), true, 0, 65535, NULL },
	{ "db.conninfo", OPT_STRING, "dbname=effortd", OFF(db_conninfo), true, 0, 0, NULL },
	{ "db.pool_size", OPT_INT, "4", OFF(db_pool_size), true, 1, 256, NULL },
	{ "db.statement_timeout", OPT_INT, "30", OFF(db_statement_timeout), true, 0, 86400, NULL },
	{ "db.connect_timeout", OPT_INT, "5", OFF(db_connect_timeout), false, 1, 600, NULL },
	{ "db.queue_max", OPT_INT, "1024", OFF(db_queue_max), false, 1, 1000000, NULL },
	{ "db.report_conninfo", OPT_STRING, "", OFF(db_report_conninfo), true, 0, 0, NULL },
	{ "db.report_wait_ms", OPT_INT, "1000", OFF(db_report_wait_ms), false, 0, 60000, NULL },
	{ "db.sql_dir", OPT_STRING, SQLDIR, OFF(sql_dir), false, 0, 0, check_nonempty },
	{ "limits.max_body", OPT_INT, "67108864", OFF(max_body), true, 1024, 2147483647, NULL },
	{ "limits.max_records", OPT_INT, "100000", OFF(max_records), false, 1, 10000000, NULL },
	{ "limits.request_timeout", OPT_INT, "60", OFF(request_timeout), true, 1, 3600, NULL },
	{ "limits.min_rate", OPT_INT, "16384", OFF(min_rate), false, 1, 1073741824, NULL },
	{ "limits.max_connections", OPT_INT, "1000", OFF(max_connections), false, 1, 1000000, NULL },
	{ "limits.max_json_depth", OPT_INT, "32", OFF(max_json_depth), false, 2, 10000, NULL },
	{ "limits.max_header_size", OPT_INT, "16384", OFF(max_header_size), false, 1024, 1048576, NULL },
	{ "limits.idle_timeout", OPT_INT, "30", OFF(idle_timeout), false, 1, 3600, NULL },
	{ "limits.drain_timeout", OPT_INT, "30", OFF(drain_timeout), false, 0, 3600, NULL },
	{ "auth.cache_seconds", OPT_INT, "5", OFF(auth_cache_seconds), false, 0, 3600, NULL },
	{ "log.level", OPT_STRING, "info", OFF(log_level), false, 0, 0, check_log_level },
	{ "audit.sweep_interval", OPT_INT, "3600", OFF(sweep_interval), false, 0, 604800, NULL },
	{ "notify.enabled", OPT_INT, "0", OFF(notify_enabled), false, 0, 1, NULL },
	{ "notify.hour", OPT_INT, "8", OFF(notify_hour), false, 0, 23, NULL },
	{ "notify.sendmail", OPT_STRING, "/usr/sbin/sendmail -t -i", OFF(notify_sendmail), false, 0, 0, NULL },
	{ "notify.from", OPT_STRING, "", OFF(notify_from), false, 0, 0, NULL },
	{ "notify.max_senders", OPT_INT, "4", OFF(notify_max_senders), false, 1, 1000, NULL },
	{ "notify.webhook_url", OPT_STRING, "", OFF(notify_webhook_url), false, 0, 0, check_webhook_url },
	{ "notify.smtp_url", OPT_STRING, "", OFF(notify_smtp_url), false, 0, 0, check_smtp_url },
	{ "notify.smtp_starttls", OPT_INT, "0", OFF(notify_smtp_starttls), false, 0, 1, NULL },
	{ "notify.smtp_user", OPT_STRING, "", OFF(notify_smtp_user), false, 0, 0, NULL },
	{ "notify.smtp_password_file", OPT_STRING, "", OFF(notify_smtp_password_file), false, 0, 0, NULL },
	{ "notify.smtp_ca_file", OPT_STRING, "", OFF(notify_smtp_ca_file), false, 0, 0, NULL },
	{ "notify.smtp_timeout", OPT_INT, "30", OFF(notify_smtp_timeout), false, 1, 600, NULL },
	{ "notify.retry_seconds", OPT_INT, "300", OFF(notify_retry_seconds), false, 1, 3600, NULL },
	{ "spool.dir", OPT_STRING, "", OFF(spool_dir), true, 0, 0, NULL },
	{ "spool.interval", OPT_INT, "5", OFF(spool_interval), false, 1, 86400, NULL },
	{ "tls.cert", OPT_STRING, "", OFF(tls_cert), false, 0, 0, NULL },
	{ "tls.key", OPT_STRING, "", OFF(tls_key), false, 0, 0, NULL },
	{ "oidc.issuer", OPT_STRING, "", OFF(oidc_issuer), false, 0, 0, check_oidc_issuer },
	{ "oidc.audience", OPT_STRING, "", OFF(oidc_audience), false, 0, 0, NULL },
	{ "oidc.ca_file", OPT_STRING, "", OFF(oidc_ca_file), false, 0, 0, NULL },
	{ "oidc.leeway", OPT_INT, "60", OFF(oidc_leeway), false, 0, 600, NULL },
	{ "oidc.person_claim", OPT_STRING, "employee_id", OFF(oidc_person_claim), false, 0, 0, check_nonempty },
	{ "oidc.person_match", OPT_STRING, "person_id", OFF(oidc_person_match), false, 0, 0, check_person_match },
	{ "oidc.roles_claim", OPT_STRING, "groups", OFF(oidc_roles_claim), false, 0, 0, check_nonempty },
	{ "oidc.reviewer_groups", OPT_STRING, "", OFF(oidc_reviewer_groups), false, 0, 0, NULL },
	{ "oidc.admin_groups", OPT_STRING, "", OFF(oidc_admin_groups), false, 0, 0, NULL },
	{ "oidc.refresh_interval", OPT_INT, "60", OFF(oidc_refresh_interval), false, 1, 86400, NULL },
	{ "oidc.keys_max_age", OPT_INT, "3600", OFF(oidc_keys_max_age), false, 1, 604800, NULL },
	{ "oidc.fetch_timeout", OPT_INT, "10", OFF(oidc_fetch_timeout), false, 1, 300, NULL },
	{ "rules.timezone", OPT_STRING, "Europe/London", OFF(rules.timezone), false, 0, 0, check_timezone },
	{ "rules.standard_weekly_hours", OPT_DOUBLE, "37.5", OFF(rules.standard_weekly_hours), false, 0.01, 168, NULL },
	{ "rules.investigator_annual_hours", OPT_DOUBLE, "1650", OFF(rules.investigator_annual_hours), false, 0, 8784, NULL },
	{ "rules.authorisation_months", OPT_INT, "2", OFF(rules.authorisation_months), false, 0, 120, NULL },
	{ "rules.cap_year_start_month", OPT_INT, "8", OFF(rules.cap_year_start_month), false, 1, 12, NULL },
	{ "rules.teaching_weekly_hours", OPT_DOUBLE, "6", OFF(rules.teaching_weekly_hours), false, 0, 168, NULL },
	{ "rules.all_hours_tolerance", OPT_DOUBLE, "0.5", OFF(rules.all_hours_tolerance), false, 0, INF, NULL },
	{ "rules.charge_tolerance", OPT_DOUBLE, "0.5", OFF(rules.charge_tolerance), false, 0, INF, NULL },
	{ "rules.reminder_days", OPT_INT, "14", OFF(rules.reminder_days), false, 0, 3650, NULL },
	FEED_MAP_OPTIONS(people),
	FEED_MAP_OPTIONS(grants),
	FEED_MAP_OPTIONS(assignments),
	FEED_MAP_OPTIONS(charges),
	FEED_MAP_OPTIONS(delegations),
	FEED_MAP_OPTIONS(timesheets),
};
/* clang-format on */
const int config_option_count =
    sizeof config_options / sizeof config_options[0];

static bool
check_nonempty(const char *v, char *err, size_t len)
{
	if (*v != '\0')
		return true;
	snprintf(err, len, "must not be empty");
	return false;
}

/* notify.webhook_url: empty (no webhook) or an http:// URL. */
static bool
check_webhook_url(const char *v, char *err, size_t len)
{
	if (*v == '\0' || (strncmp(v, "http://", 7) == 0 && v[7] != '\0'))
		return true;
	snprintf(err, len, "must be empty or an http:// URL");
	return false;
}

/*
 * notify.smtp_url: empty (no relay) or smtp://HOST[:PORT] or
 * smtps://HOST[:PORT].  Never echoed: a URL may hold a password, which
 * belongs in notify.smtp_password_file.
 */
static bool
check_smtp_url(const char *v, char *err, size_t len)
{
	CURLU *u;
	CURLUcode rc = CURLUE_OK;
	char *host = NULL, *path = NULL, *part = NULL;
	const char *why = NULL;

	if (*v == '\0')
		return true;
	u = curl_url();
	if (strncasecmp(v, "smtp://", 7) != 0 &&
	    strncasecmp(v, "smtps://", 8) != 0)
		why = "must be empty or an smtp:// or smtps:// URL";
	else if ((rc = curl_url_set(u, CURLUPART_URL, v,
	              CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK)
		snprintf(err, len, "cannot be read as a URL (%s)",
		    curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		why = "must name a host (smtp://HOST[:PORT])";
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	         curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		why = "must not hold a user or password: use notify.smtp_user "
		      "and notify.smtp_password_file";
	else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	         curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK ||
	         (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	             strcmp(path, "/") != 0))
		why = "must have no path, query or fragment "
		      "(smtp://HOST[:PORT])";
	if (why != NULL)
		snprintf(err, len, "%s", why);
	curl_free(host);
	curl_free(path);
	curl_free(part);
	curl_url_cleanup(u);
	return rc == CURLUE_OK && why == NULL;
}

/* oidc.issuer: empty (no sign-in with a provider) or an https:// URL. */
static bool
check_oidc_issuer(const char *v, char *err, size_t len)
{
	if (*v == '\0' || (strncmp(v, "https://", 8) == 0 && v[8] != '\0'))
		return true;
	snprintf(err, len, "must be empty or an https:// URL");
	return false;
}

static bool
check_person_match(const char *v, char *err, size_t len)
{
	if (strcmp(v, "person_id") == 0 || strcmp(v, "email") == 0)
		return true;
	snprintf(err, len, "must be person_id or email");
	return false;
}

static bool
check_log_level(const char *v, char *err, size_t len)
{
	enum log_level l;

	if (log_parse_level(v, &l) == 0)
		return true;
	snprintf(
	    err, len, "unknown level \"%s\" (error, warning, info, debug)", v);
	return false;
}

/* Whether path is a compiled zone file (they begin with "TZif"). */
static bool
is_tzif(const char *path)
{
	char magic[4];
	FILE *f = fopen(path, "rb");
	bool ok = f != NULL && fread(magic, 1, 4, f) == 4 &&
	          memcmp(magic, "TZif", 4) == 0;

	if (f != NULL)
		fclose(f);
	return ok;
}

/* A zone is known when the system's tz database (tzdata) has it. */
static bool
check_timezone(const char *v, char *err, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	if (*v != '\0' && *v != '/' && strstr(v, "..") == NULL) {
		snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", v);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    is_tzif(path))
			return true;
	}
	snprintf(err, len, "unknown time zone \"%s\"", v);
	return false;
}

/* The first line of notify.smtp_password_file into *password; why filled
 * when it cannot be read (the file's name only, never its text). */
static void
read_password(const char *file, char **password, char *why, size_t len)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		snprintf(why, len,
		    "notify.smtp_password_file: cannot read \"%s\": %s", file,
		    strerror(errno));
		return;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		snprintf(why, len,
		    "notify.smtp_password_file: \"%s\" holds no password on "
		    "its first line",
		    file);
		free(line);
		return;
	}
	*password = line;
}

/* Whether a is an address SMTP can carry between < and >. */
static bool
address_ok(const char *a, size_t n)
{
	if (n == 0 || memchr(a, '@', n) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] <= ' ' || a[i] == '<' || a[i] == '>' ||
		    a[i] == 0x7f)
			return false;
	return true;
}

char *
config_mail_address(const char *v)
{
	const char *lt = strrchr(v, '<'), *a = v;
	size_t n;
	char *out;

	if (lt != NULL) {
		a = lt + 1;
		n = strcspn(a, ">");
	} else {
		a += strspn(a, " \t");
		n = strlen(a);
		while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
	}
	if (!address_ok(a, n))
		return NULL;
	xasprintf(&out, "<%.*s>", (int)n, a);
	return out;
}

/*
 * The notify.smtp_* settings together: a relay needs notify.from (the
 * envelope sender); a user needs a password file and TLS (a password
 * never crosses the network in clear); the password is read now.
 */
static int
check_notify_smtp(struct config *cfg, char *why, size_t len)
{
	bool tls = strncasecmp(cfg->notify_smtp_url, "smtps:", 6) == 0 ||
	           cfg->notify_smtp_starttls;
	bool user = *cfg->notify_smtp_user != '\0';
	char *from;

	if (*cfg->notify_smtp_url == '\0')
		return 0;
	from = config_mail_address(cfg->notify_from);
	free(from);
	if (*cfg->notify_from == '\0')
		snprintf(why, len,
		    "notify.from must be set with notify.smtp_url "
		    "(it is the envelope sender)");
	else if (from == NULL)
		snprintf(why, len,
		    "notify.from: no mail address in it for the envelope "
		    "sender (\"user@domain\" or \"Name <user@domain>\")");
	else if (user != (*cfg->notify_smtp_password_file != '\0'))
		snprintf(why, len,
		    "notify.smtp_user and "
		    "notify.smtp_password_file go together");
	else if (user && !tls)
		snprintf(why, len,
		    "notify.smtp_user: a password is sent only "
		    "over TLS: use smtps:// or "
		    "notify.smtp_starttls = 1");
	else if (user)
		read_password(cfg->notify_smtp_password_file,
		    &cfg->notify_smtp_password, why, len);
	return *why != '\0' ? -1 : 0;
}

static void
set_value(struct config *cfg, const struct config_option *o, const char *s,
    double d, json_t *j)
{
	char *p = (char *)cfg + o->offset;

	switch (o->type) {
	case OPT_GROUP:
	case OPT_ARRAY:
		json_decref(*(json_t **)p);
		*(json_t **)p = j != NULL ? j : json_loads(s, 0, NULL);
		break;
	case OPT_STRING:
		free(*(char **)p);
		*(char **)p = xstrdup(s);
		break;
	case OPT_INT:
		*(int *)p = (int)d;
		break;
	case OPT_DOUBLE:
		*(double *)p = d;
		break;
	}
}

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (int i = 0; i < config_option_count; i++) {
		const struct config_option *o = &config_options[i];
		set_value(cfg, o, o->def, strtod(o->def, NULL), NULL);
	}
}

/*
 * A group of name = "text" (OPT_GROUP) or an array or list of texts
 * (OPT_ARRAY) as JSON; NULL with why filled when it is neither.
 */
static json_t *
json_setting(
    const struct config_option *o, config_setting_t *s, char *why, size_t len)
{
	bool map = o->type == OPT_GROUP;
	json_t *j = map ? json_object() : json_array();

	if (map ? !config_setting_is_group(s)
	        : !config_setting_is_array(s) && !config_setting_is_list(s)) {
		snprintf(why, len, "must be %s",
		    map ? "a group { field = \"column\"; }"
		        : "a list of column names [ \"column\" ]");
		json_decref(j);
		return NULL;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (v == NULL) {
			snprintf(why, len, "%s%smust be a string",
			    map ? config_setting_name(e) : "",
			    map ? " " : "each name ");
			json_decref(j);
			return NULL;
		}
		if (map)
			json_object_set_new(
			    j, config_setting_name(e), json_string(v));
		else
			json_array_append_new(j, json_string(v));
	}
	if (!(map ? feedmap_check_columns(o->path, j, why, len)
	          : feedmap_check_ignore(o->path, j, why, len))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Reads one setting; returns -1 with err filled when it is not valid. */
static int
load_option(const struct config_option *o, config_setting_t *s,
    struct config *cfg, char *err, size_t errlen)
{
	char why[768] = "";
	const char *str = NULL;
	double d = 0;
	int type = config_setting_type(s);
	json_t *j = NULL;

	if (o->type == OPT_GROUP || o->type == OPT_ARRAY)
		j = json_setting(o, s, why, sizeof why);
	else if (o->type == OPT_STRING) {
		if (type != CONFIG_TYPE_STRING)
			snprintf(why, sizeof why, "must be a string");
		else if (o->check != NULL &&
		         !o->check(str = config_setting_get_string(s), why,
		             sizeof why))
			;
		else
			str = config_setting_get_string(s);
	} else {
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
			d = (double)config_setting_get_int64(s);
		else if (type == CONFIG_TYPE_FLOAT && o->type == OPT_DOUBLE)
			d = config_setting_get_float(s);
		else
			snprintf(why, sizeof why, "must be %s",
			    o->type == OPT_INT ? "an integer" : "a number");
		if (*why == '\0' && (d < o->min || d > o->max))
			snprintf(why, sizeof why,
			    "%g is out of range (%g to %g)", d, o->min, o->max);
	}
	if (*why != '\0') {
		snprintf(err, errlen, "%s:%d: %s: %s",
		    config_setting_source_file(s)
		        ? config_setting_source_file(s)
		        : "?",
		    config_setting_source_line(s), o->path, why);
		return -1;
	}
	set_value(cfg, o, str, d, j);
	return 0;
}

/* Refuses settings the table does not know, so typos do not pass silently. */
static int
check_unknown(
    config_setting_t *group, const char *prefix, char *err, size_t errlen)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *s =
		    config_setting_get_elem(group, (unsigned)i);
		char path[256];
		bool known = false, option = false;

		snprintf(path, sizeof path, "%s%s%s", prefix,
		    *prefix ? "." : "", config_setting_name(s));
		for (int j = 0; j < config_option_count && !known; j++) {
			size_t n = strlen(path);
			known = strcmp(config_options[j].path, path) == 0;
			option = known && config_options[j].type == OPT_GROUP;
			known = known || (config_setting_is_group(s) &&
			                     strncmp(config_options[j].path,
			                         path, n) == 0 &&
			                     config_options[j].path[n] == '.');
		}
		if (!known) {
			snprintf(err, errlen, "%s:%d: unknown setting \"%s\"",
			    config_setting_source_file(s)
			        ? config_setting_source_file(s)
			        : "?",
			    config_setting_source_line(s), path);
			return -1;
		}
		/* (A group option, <feed>.columns, holds names of its own.) */
		if (config_setting_is_group(s) && !option &&
		    check_unknown(s, path, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	config_t lc;
	char why[768] = "";
	int rc = 0;

	config_defaults(cfg);
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read file", path);
		else
			snprintf(err, errlen, "%s:%d: %s",
			    config_error_file(&lc) ? config_error_file(&lc)
			                           : path,
			    config_error_line(&lc), config_error_text(&lc));
		rc = -1;
	}
	if (rc == 0)
		rc = check_unknown(config_root_setting(&lc), "", err, errlen);
	for (int i = 0; rc == 0 && i < config_option_count; i++) {
		config_setting_t *s =
		    config_lookup(&lc, config_options[i].path);
		if (s != NULL)
			rc = load_option(
			    &config_options[i], s, cfg, err, errlen);
	}
	config_destroy(&lc);
	if (rc == 0 && *cfg->oidc_issuer != '\0' &&
	    *cfg->oidc_audience == '\0') {
		snprintf(err, errlen,
		    "%s: oidc.audience must be set with oidc.issuer", path);
		rc = -1;
	}
	if (rc == 0 && check_notify_smtp(cfg, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		rc = -1;
	}
	if (rc != 0)
		config_free(cfg);
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg->notify_smtp_password != NULL)
		explicit_bzero(cfg->notify_smtp_password,
		    strlen(cfg->notify_smtp_password));
	free(cfg->notify_smtp_password);
	cfg->notify_smtp_password = NULL;
	for (int i = 0; i < config_option_count; i++) {
		if (config_options[i].type == OPT_GROUP ||
		    config_options[i].type == OPT_ARRAY) {
			json_t **p =
			    (json_t **)((char *)cfg + config_options[i].offset);
			json_decref(*p);
			*p = NULL;
		} else if (config_options[i].type == OPT_STRING) {
			char **p =
			    (char **)((char *)cfg + config_options[i].offset);
			free(*p);
			*p = NULL;
		}
	}
}

char *
config_rules_json(const struct config *cfg)
{
	const struct rules_config *r = &cfg->rules;
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:f, s:f, s:i, s:i, s:f, s:f, s:f, s:i}",
	    "timezone", r->timezone, "standard_weekly_hours",
	    r->standard_weekly_hours, "investigator_annual_hours",
	    r->investigator_annual_hours, "authorisation_months",
	    r->authorisation_months, "cap_year_start_month",
	    r->cap_year_start_month, "teaching_weekly_hours",
	    r->teaching_weekly_hours, "all_hours_tolerance",
	    r->all_hours_tolerance, "charge_tolerance", r->charge_tolerance,
	    "reminder_days", r->reminder_days);
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (s == NULL)
		fatal("config_rules_json: out of memory");
	return s;
}

char *
config_rules_defaults_json(void)
{
	struct config cfg;
	char *s;

	config_defaults(&cfg);
	s = config_rules_json(&cfg);
	config_free(&cfg);
	return s;
}

static bool
option_equal(const struct config *a, const struct config *b,
    const struct config_option *o)
{
	const char *pa = (const char *)a + o->offset;
	const char *pb = (const char *)b + o->offset;

	if (o->type == OPT_STRING)
		return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
	if (o->type == OPT_GROUP || o->type == OPT_ARRAY)
		return json_equal(*(json_t *const *)pa, *(json_t *const *)pb);
	if (o->type == OPT_INT)
		return *(const int *)pa == *(const int *)pb;
	return *(const double *)pa == *(const double *)pb;
}

const struct feed_map *
config_feed_map(const struct config *cfg, const char *name)
{
	const struct feed_maps *m = &cfg->maps;
	const struct {
		const char *name;
		const struct feed_map *map;
	} maps[] = { { "people", &m->people }, { "grants", &m->grants },
		{ "assignments", &m->assignments }, { "charges", &m->charges },
		{ "delegations", &m->delegations },
		{ "timesheets", &m->timesheets } };

	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		if (strcmp(maps[i].name, name) == 0)
			return maps[i].map;
	return NULL;
}

const char *
config_restart_needed(const struct config *old, const struct config *new)
{
	for (int i = 0; i < config_option_count; i++) {
		if (config_options[i].no_reload &&
		    !option_equal(old, new, &config_options[i]))
			return config_options[i].path;
	}
	return NULL;
}
