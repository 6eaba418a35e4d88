/*
 * effortd's configuration: one table of options (config.c) drives the
 * loader, the defaults, reload rules and the checks of conf/effortd.conf
 * and docs/configuration.md.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>

struct rules_config {
	char *timezone;
	double standard_weekly_hours;
	double investigator_annual_hours;
	int authorisation_months;
	int cap_year_start_month;
	double teaching_weekly_hours;
	double all_hours_tolerance;
	double charge_tolerance;
	int reminder_days;
};

/*
 * How one feed's CSV files are written when they are not effortd's own
 * (docs/configuration.md, "Feed mapping"): the groups people, grants, …
 * of the configuration file.
 */
struct feed_map {
	struct json_t *columns;        /* {"person_id": "Employee Number"} */
	struct json_t *ignore_columns; /* ["Department"] */
	char *delimiter;               /* one character */
	char *decimal_separator;       /* "." or "," */
	char *date_format;             /* "%d/%m/%Y" */
};

struct feed_maps {
	struct feed_map people, grants, assignments, charges, delegations,
	    timesheets;
};

struct config {
	char *listen_address;
	int listen_port;

	char *db_conninfo;
	int db_pool_size;
	int db_statement_timeout; /* seconds */
	int db_connect_timeout;   /* seconds */
	int db_queue_max;
	char *sql_dir;

	int max_body;
	int max_records;
	int request_timeout; /* seconds */
	int min_rate;        /* bytes a second that earn another period */
	int max_connections;
	int max_json_depth;
	int max_header_size;
	int idle_timeout;  /* seconds */
	int drain_timeout; /* seconds, at SIGTERM */

	int auth_cache_seconds; /* token lookups kept; 0 = none */

	char *log_level;
	int sweep_interval; /* seconds */

	int notify_enabled;       /* daily reminders on (1) or off (0) */
	int notify_hour;          /* local hour at which they go out */
	char *notify_sendmail;    /* "" = no mail */
	char *notify_from;        /* "" = no From: header */
	int notify_max_senders;   /* mail commands running at once */
	char *notify_webhook_url; /* "" = no webhook */
	char *notify_smtp_url;    /* "" = no SMTP relay (sendmail instead) */
	int notify_smtp_starttls; /* 1: STARTTLS required (smtp://) */
	char *notify_smtp_user;   /* "" = no AUTH */
	char *notify_smtp_password_file;
	char *notify_smtp_ca_file; /* "" = the system CA store */
	int notify_smtp_timeout;   /* seconds one submission may take */
	int notify_retry_seconds;  /* first delay before a run is retried */
	/* Not an option: the first line of notify.smtp_password_file, read by
	 * config_load (NULL without one).  Never logged nor recorded. */
	char *notify_smtp_password;

	char *spool_dir;          /* "" = no spool folder */
	int spool_interval;       /* seconds */
	char *tls_cert, *tls_key; /* "" = plain HTTP */
	char *db_report_conninfo; /* "" = reports use db.conninfo */
	int db_report_wait_ms;    /* read-your-writes wait on the standby */

	char *oidc_issuer;   /* "" = no sign-in with an identity provider */
	char *oidc_audience; /* the aud its access tokens carry for us */
	char *oidc_ca_file;  /* "" = the system CA store */
	int oidc_leeway;     /* seconds of clock skew allowed (exp, nbf) */
	char *oidc_person_claim;
	char *oidc_person_match;    /* "person_id" or "email" */
	char *oidc_roles_claim;     /* the claim listing groups/roles */
	char *oidc_reviewer_groups; /* comma-separated values */
	char *oidc_admin_groups;
	int oidc_refresh_interval; /* seconds between key fetches at least */
	int oidc_keys_max_age;     /* seconds: fetched again at least */
	int oidc_fetch_timeout;    /* seconds */

	struct rules_config rules;
	struct feed_maps maps;
};

/* OPT_GROUP: a group of name = "text" settings (a JSON object), a feed's
 * columns; OPT_ARRAY: an array or list of strings (a JSON array), a feed's
 * columns to ignore (both checked by feed-map.c). */
enum opt_type { OPT_STRING, OPT_INT, OPT_DOUBLE, OPT_GROUP, OPT_ARRAY };

struct config_option {
	const char *path; /* "group.key" */
	enum opt_type type;
	const char *def; /* default, as text */
	size_t offset;
	bool no_reload;  /* change needs a restart */
	double min, max; /* numeric bounds */
	bool (*check)(const char *, char *, size_t); /* strings */
};

/* The name of an option's type as --list-options and the docs show it. */
extern const char *const config_type_names[];

extern const struct config_option config_options[];
extern const int config_option_count;

/* Loads path into *cfg; on failure fills err ("file:line: reason"). */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *);
/* The rules group as the JSON object the rule SQL takes; caller frees. */
char *config_rules_json(const struct config *);
/* The rules group's defaults (the option table) as that JSON; caller frees. */
char *config_rules_defaults_json(void);
/* The mapping of the feed called name ("people"), or NULL. */
const struct feed_map *config_feed_map(const struct config *, const char *name);
/* The address in a From: value ("Name <a@b>" or "a@b") as SMTP's
 * envelope carries it ("<a@b>"); caller frees; NULL if there is none. */
char *config_mail_address(const char *value);
/* Names of no-reload options whose value differs; NULL if none. */
const char *config_restart_needed(const struct config *, const struct config *);

#endif
