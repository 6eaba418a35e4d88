/*
 * effortctl: the command table, the options every command shares and the
 * exit statuses.  Each command lives in cli/cmd-<verb>.c and exports one
 * struct cmd_entry; cli/effortctl.c collects them and dispatches.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "client.h"
#include "output.h"

#define EFFORTCTL_DEFAULT_URL     "http://127.0.0.1:8470"
#define EFFORTCTL_DEFAULT_TIMEOUT 30
#define EFFORTCTL_MAX_TIMEOUT     86400

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

/*
 * One of a command's own options, declared in its entry's table; the one
 * parser (cli_run) reads it.  An own option named like a shared one
 * (--format) takes that one's place.
 */
struct cmd_option {
	const char *name; /* --name */
	char letter;      /* -letter, or 0 */
	bool has_value;   /* --name VALUE */
	/* NULL, or the values it takes (NULL-terminated): any other is a
	 * usage error at once, invalid saying so (%s: the value). */
	const char *const *values;
	const char *invalid;
};

#define CMD_OPTIONS_MAX 8

struct cmd_run;

struct cmd_entry {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *help;    /* one line */
	const char *options; /* the command's own options, for --help */
	const struct cmd_option *opts; /* { NULL }-ended; NULL: none */
	/* Positional arguments: between args_min and args_max (-1: any
	 * number); args_error is the usage error otherwise (args_max 0:
	 * "unexpected argument: ARG"). */
	int args_min, args_max;
	const char *args_error;
	int (*exec)(struct cmd_run *);
};

/*
 * What a command runs with: the shared settings, its own options' values
 * and its positional arguments as the parser left them, and the client
 * and response that cli_run frees after it.
 */
struct cmd_run {
	struct cli_ctx *ctx;
	const struct cmd_entry *entry;
	/* Per option of entry->opts: its value ("" for a flag given), NULL
	 * when absent; the last one given counts. */
	const char *value[CMD_OPTIONS_MAX];
	int argc; /* positional arguments */
	char **argv;
	struct client cl; /* cmd_client() */
	bool have_client;
	struct response resp; /* freed after exec */
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
 * The long options every command accepts besides its own (cli_run puts
 * them after the command's, and handles them with cli_common_option).
 */
enum {
	OPT_URL = 256,
	OPT_TOKEN,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_FORMAT,
	OPT_HELP,
	OPT_CMD_BASE = 300 /* a command's own options: OPT_CMD_BASE + index */
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
/* Parses the command line against e's table, runs e and frees what the
 * run held; returns the exit status. */
int cli_run(struct cli_ctx *, const struct cmd_entry *e, int, char **);
/* The value of the command's own option name, or NULL when not given. */
const char *cmd_value(const struct cmd_run *, const char *name);
bool cmd_flag(const struct cmd_run *, const char *name);
/* The client for effortd, set up on first use (EXIT_OK or the status to
 * exit with); cli_run frees it. */
int cmd_client(struct cmd_run *, struct client **);
int cli_set_format(struct cli_ctx *, const char *);
int cli_usage_error(const struct cmd_entry *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void cli_command_help(const struct cmd_entry *);
bool cli_parse_id(const char *, long long *);
/* A usage error (its status) when option opt's value v is not UTF-8,
 * else CLI_OPT_HANDLED; v may be NULL. */
int cli_check_utf8(const struct cmd_entry *, const char *opt, const char *v);

#endif
