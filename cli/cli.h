/*
 * effortctl: the command table, the options every command shares and the
 * exit statuses.  Each command lives in cli/cmd-<verb>.c and exports one
 * struct cmd_entry; cli/effortctl.c collects them and dispatches.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "output.h"

#ifndef EFFORTCTL_VERSION
#define EFFORTCTL_VERSION "0.1.0"
#endif

#define EFFORTCTL_DEFAULT_URL     "http://127.0.0.1:8470"
#define EFFORTCTL_DEFAULT_TIMEOUT 30

/* Exit statuses, documented in --help and docs/effortctl.1. */
enum {
	EXIT_OK = 0,          /* success; violations: nothing found */
	EXIT_FOUND = 1,       /* violations: something found */
	EXIT_USAGE = 2,       /* bad command line or configuration */
	EXIT_REFUSED = 3,     /* the server refused the request (4xx) */
	EXIT_UNAVAILABLE = 4, /* connection failed, timeout, 5xx, bad reply */
};

/* Settings from the command line; NULL/-1 when not given there. */
struct cli_ctx {
	const char *url;
	const char *token;
	int timeout; /* seconds, -1 if not given */
	enum output_format format;
	bool format_set;
	bool verbose;
};

struct cmd_entry {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *help;    /* one line */
	const char *options; /* the command's own options, for --help */
	int (*exec)(struct cli_ctx *, int, char **);
};

extern const struct cmd_entry cmd_ingest_entry;
extern const struct cmd_entry cmd_timesheets_entry;
extern const struct cmd_entry cmd_timesheet_entry;
extern const struct cmd_entry cmd_violations_entry;
extern const struct cmd_entry cmd_approve_entry;
extern const struct cmd_entry cmd_reject_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_pending_entry;
extern const struct cmd_entry cmd_delegate_entry;
extern const struct cmd_entry cmd_token_entry;
extern const struct cmd_entry cmd_audit_entry;
extern const struct cmd_entry cmd_reminders_entry;
extern const struct cmd_entry cmd_login_entry;  /* cmd-login.c */
extern const struct cmd_entry cmd_logout_entry; /* cmd-login.c */
extern const struct cmd_entry cmd_whoami_entry;

/*
 * Long options every command accepts besides its own: put
 * CLI_COMMON_OPTIONS at the end of a command's option table (before the
 * terminator) and pass unknown option values to cli_common_option.
 */
enum {
	OPT_URL = 256,
	OPT_TOKEN,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_FORMAT,
	OPT_HELP,
	OPT_CMD_BASE = 300 /* first value free for a command's own options */
};
#define CLI_COMMON_OPTIONS                                                     \
	{ "url", required_argument, NULL, OPT_URL },                           \
	    { "token", required_argument, NULL, OPT_TOKEN },                   \
	    { "timeout", required_argument, NULL, OPT_TIMEOUT },               \
	    { "verbose", no_argument, NULL, OPT_VERBOSE },                     \
	    { "format", required_argument, NULL, OPT_FORMAT },                 \
	{                                                                      \
		"help", no_argument, NULL, OPT_HELP                            \
	}

/* Result of cli_common_option: handled, or exit with the given status. */
#define CLI_OPT_HANDLED (-1)

int cli_common_option(
    struct cli_ctx *, const struct cmd_entry *, int, const char *);
int cli_common_options_only(
    struct cli_ctx *, const struct cmd_entry *, int, char **);
int cli_set_format(struct cli_ctx *, const char *);
int cli_usage_error(const struct cmd_entry *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void cli_command_help(const struct cmd_entry *);
bool cli_parse_id(const char *, long long *);

#endif
