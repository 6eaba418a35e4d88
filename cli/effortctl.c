/*
 * effortctl: the command-line client of effortd.  main() parses the global
 * options, finds the command in the table below and runs it through
 * cli_run, the one parser of every command's options and arguments (read
 * from the command's entry, in the manner of an argument table); also the
 * helpers every command shares (common options, usage errors, --help).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "xmalloc.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_ingest_entry,
	&cmd_timesheets_entry,
	&cmd_timesheet_entry,
	&cmd_violations_entry,
	&cmd_approve_entry,
	&cmd_reject_entry,
	&cmd_report_entry,
	&cmd_pending_entry,
	&cmd_delegate_entry,
	&cmd_token_entry,
	&cmd_audit_entry,
	&cmd_reminders_entry,
	&cmd_login_entry,
	&cmd_logout_entry,
	&cmd_whoami_entry,
};
#define NCMDS (sizeof cmd_table / sizeof cmd_table[0])

static const char common_help[] =
    "Options every command accepts:\n"
    "  --url URL          effortd's address (default " EFFORTCTL_DEFAULT_URL
    ")\n"
    "  --token TOKEN      bearer token (prefer $EFFORTCTL_TOKEN or the\n"
    "                     config file: command lines are visible to others)\n"
    "  --format FORMAT    output: table (default), csv or json\n"
    "  --timeout SECONDS  give up waiting for effortd (default 30)\n"
    "  --verbose          log each request and reply status to stderr\n"
    "  --help             show help and exit\n";

static const char exit_help[] =
    "Exit status:\n"
    "  0  success; for violations, nothing found\n"
    "  1  violations found; audit verify: the chain is broken;\n"
    "     ingest --preview: a violation would open\n"
    "  2  usage error (bad option, argument, URL or config file)\n"
    "  3  the server refused the request (HTTP 4xx: 401, 403, 404, 409,\n"
    "     413, 422)\n"
    "  4  effortd or its database unavailable: connection failed, timeout,\n"
    "     HTTP 5xx or an unreadable reply\n";

/*
 * What each command's --help says beyond its entry: the token role it
 * needs and the exit statuses it can return (bit n: status n).  Kept here,
 * by name, so that the command files need not change.
 */
struct cmd_info {
	const char *name;
	const char *role;
	unsigned exits;
	const char *found; /* what exit status 1 means, if it can */
};
#define EXITS_USUAL                                                            \
	((1u << EXIT_OK) | (1u << EXIT_USAGE) | (1u << EXIT_REFUSED) |         \
	    (1u << EXIT_UNAVAILABLE))
static const struct cmd_info cmd_infos[] = {
	{ "ingest", "a feed or admin token (--preview: also a reviewer token)",
	    EXITS_USUAL | (1u << EXIT_FOUND),
	    "--preview: it would open at least one violation" },
	{ "timesheets", "a manager, reviewer or admin token", EXITS_USUAL,
	    NULL },
	{ "timesheet", "a manager, reviewer or admin token", EXITS_USUAL,
	    NULL },
	{ "violations", "a manager, reviewer or admin token",
	    EXITS_USUAL | (1u << EXIT_FOUND), "violations or warnings found" },
	{ "approve", "a manager token", EXITS_USUAL, NULL },
	{ "reject", "a manager token", EXITS_USUAL, NULL },
	{ "report", "a reviewer or admin token", EXITS_USUAL, NULL },
	{ "pending", "a manager token", EXITS_USUAL, NULL },
	{ "delegate", "a manager token", EXITS_USUAL, NULL },
	{ "token", "an admin token", EXITS_USUAL, NULL },
	{ "audit", "a reviewer or admin token",
	    EXITS_USUAL | (1u << EXIT_FOUND),
	    "audit verify: the chain is broken" },
	{ "reminders", "an admin token", EXITS_USUAL, NULL },
	{ "login", "no token: it gets one from the identity provider",
	    EXITS_USUAL, NULL },
	{ "logout", "no token: it forgets the sign-in", EXITS_USUAL, NULL },
	{ "whoami", "any token, or a sign-in", EXITS_USUAL, NULL },
};

static const struct cmd_info *
cmd_info(const struct cmd_entry *e)
{
	for (size_t i = 0; i < sizeof cmd_infos / sizeof cmd_infos[0]; i++) {
		if (strcmp(cmd_infos[i].name, e->name) == 0)
			return &cmd_infos[i];
	}
	return NULL;
}

/* The exit statuses one command can return, as --help lists them. */
static void
command_exit_help(const struct cmd_info *ci)
{
	printf("Exit status:\n");
	if (ci->exits & (1u << EXIT_OK))
		printf("  0  success%s\n",
		    ci->found != NULL && strncmp(ci->found, "viol", 4) == 0
		        ? "; nothing found"
		        : "");
	if (ci->exits & (1u << EXIT_FOUND))
		printf("  1  %s\n", ci->found);
	if (ci->exits & (1u << EXIT_USAGE))
		printf("  2  usage error (bad option, argument, URL or config "
		       "file)\n");
	if (ci->exits & (1u << EXIT_REFUSED))
		printf("  3  the server refused the request (HTTP 4xx: 401, "
		       "403, 404, 409,\n     413, 422)\n");
	if (ci->exits & (1u << EXIT_UNAVAILABLE))
		printf("  4  effortd or its database unavailable: connection "
		       "failed, timeout,\n     HTTP 5xx or an unreadable "
		       "reply\n");
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: effortctl [--url URL] [--token TOKEN] [--format FORMAT]\n"
	    "                 [--timeout SECONDS] [--verbose] COMMAND "
	    "[ARGS...]\n"
	    "       effortctl --help | --version | help [COMMAND]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\nThe command-line client of effortd, the UKRI grant timesheet "
	       "auditor.\n\nCommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		printf("  %-11s %s\n", cmd_table[i]->name, cmd_table[i]->help);
	printf("\n%s\n"
	       "Configuration, highest first: --url and --token; "
	       "$EFFORTCTL_URL and\n$EFFORTCTL_TOKEN; the libconfig file "
	       "$XDG_CONFIG_HOME/effortctl/config\n(default "
	       "~/.config/effortctl/config) with url, token and timeout.\n\n"
	       "%s\nRun 'effortctl COMMAND --help' for a command's options; "
	       "see effortctl(1).\n",
	    common_help, exit_help);
}

void
cli_command_help(const struct cmd_entry *e)
{
	const struct cmd_info *ci = cmd_info(e);

	printf("usage: effortctl %s%s%s\n\n%s\n", e->name, *e->usage ? " " : "",
	    e->usage, e->help);
	if (ci != NULL)
		printf("Needs %s.\n", ci->role);
	if (e->options != NULL && *e->options != '\0')
		printf("\n%s", e->options);
	printf("\n%s\n", common_help);
	if (ci != NULL)
		command_exit_help(ci);
	else
		printf("%s", exit_help);
}

/* The usage of a command, or of effortctl, on stderr. */
static int
usage_hint(const struct cmd_entry *e)
{
	if (e != NULL)
		fprintf(stderr,
		    "usage: effortctl %s%s%s\n(see 'effortctl %s "
		    "--help')\n",
		    e->name, *e->usage ? " " : "", e->usage, e->name);
	else
		usage(stderr);
	return EXIT_USAGE;
}

int
cli_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	return usage_hint(e);
}

int
cli_set_format(struct cli_ctx *ctx, const char *s)
{
	if (out_parse_format(s, &ctx->format) != 0)
		return -1;
	ctx->format_set = true;
	return 0;
}

/* Parses a positive decimal integer, such as a timesheet id. */
bool
cli_parse_id(const char *s, long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && *out > 0;
}

int
cli_check_utf8(const struct cmd_entry *e, const char *opt, const char *v)
{
	json_t *s = v != NULL ? json_string(v) : NULL;

	if (v != NULL && s == NULL)
		return cli_usage_error(e, "%s is not valid UTF-8", opt);
	json_decref(s);
	return CLI_OPT_HANDLED;
}

/*
 * Handles an option every command shares.  Returns CLI_OPT_HANDLED to carry
 * on, or the status to exit with (after --help or a usage error).
 */
int
cli_common_option(
    struct cli_ctx *ctx, const struct cmd_entry *e, int c, const char *arg)
{
	long long n;

	switch (c) {
	case OPT_URL:
		ctx->url = arg;
		break;
	case OPT_TOKEN:
		ctx->token = arg;
		break;
	case OPT_TIMEOUT:
		if (!cli_parse_id(arg, &n) || n > EFFORTCTL_MAX_TIMEOUT)
			return cli_usage_error(e, "invalid --timeout: %s", arg);
		ctx->timeout = (int)n;
		break;
	case OPT_VERBOSE:
		ctx->verbose = true;
		log_set_level(LOG_DEBUG);
		break;
	case OPT_FORMAT:
		if (cli_set_format(ctx, arg) != 0)
			return cli_usage_error(e,
			    "invalid --format: %s (table, csv or json)", arg);
		break;
	case 'h':
	case OPT_HELP:
		if (e != NULL)
			cli_command_help(e);
		else
			help();
		return EXIT_OK;
	default: /* getopt_long has said what is wrong */
		return usage_hint(e);
	}
	return CLI_OPT_HANDLED;
}

/* The value getopt_long returns for the command's own option i. */
static int
own_val(const struct cmd_option *o, int i)
{
	return o->letter != 0 ? o->letter : OPT_CMD_BASE + i;
}

/* The index in e->opts of the own option named name, or -1. */
static int
own_index(const struct cmd_entry *e, const char *name)
{
	for (int i = 0; e->opts != NULL && e->opts[i].name != NULL; i++)
		if (strcmp(e->opts[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * getopt_long's tables from e's: "h" and each own option's letter; the
 * own options (those not named like a shared one), then the shared
 * options, an own option in the place of the shared one it shadows.
 */
static void
build_options(
    const struct cmd_entry *e, struct option *longopts, char *shortopts)
{
	static const struct option common[] = { CLI_COMMON_OPTIONS };
	const size_t ncommon = sizeof common / sizeof common[0];
	size_t n = 0;
	int i;

	*shortopts++ = 'h';
	for (i = 0; e->opts != NULL && e->opts[i].name != NULL; i++) {
		const struct cmd_option *o = &e->opts[i];
		bool shadows = false;

		if (i >= CMD_OPTIONS_MAX)
			fatal("effortctl %s: more than %d options", e->name,
			    CMD_OPTIONS_MAX);
		if (o->letter != 0) {
			*shortopts++ = o->letter;
			if (o->has_value)
				*shortopts++ = ':';
		}
		for (size_t j = 0; j < ncommon; j++)
			shadows |= strcmp(common[j].name, o->name) == 0;
		if (!shadows)
			longopts[n++] = (struct option){ o->name,
				o->has_value ? required_argument : no_argument,
				NULL, own_val(o, i) };
	}
	*shortopts = '\0';
	for (size_t j = 0; j < ncommon; j++) {
		longopts[n] = common[j];
		if ((i = own_index(e, common[j].name)) >= 0)
			longopts[n].val = own_val(&e->opts[i], i);
		n++;
	}
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* Stores the value of own option i; a usage error (its status) when the
 * option lists the values it takes and this is none of them. */
static int
own_option(struct cmd_run *run, int i, const char *arg)
{
	const struct cmd_option *o = &run->entry->opts[i];
	bool known = o->values == NULL;

	for (int j = 0; !known && o->values[j] != NULL; j++)
		known = strcmp(o->values[j], arg) == 0;
	if (!known)
		return cli_usage_error(run->entry, o->invalid, arg);
	run->value[i] = o->has_value ? arg : "";
	return CLI_OPT_HANDLED;
}

/* The command line against e's table: options, then the count of
 * positional arguments.  CLI_OPT_HANDLED to run, or the exit status. */
static int
parse_args(struct cmd_run *run, int argc, char **argv)
{
	const struct cmd_entry *e = run->entry;
	struct option longopts[CMD_OPTIONS_MAX + 8];
	char shortopts[2 * CMD_OPTIONS_MAX + 2];
	int c, i, rc, nopts;

	build_options(e, longopts, shortopts);
	for (nopts = 0; e->opts != NULL && e->opts[nopts].name != NULL;)
		nopts++;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		for (i = 0; i < nopts && own_val(&e->opts[i], i) != c; i++)
			;
		rc = i < nopts ? own_option(run, i, optarg)
		               : cli_common_option(run->ctx, e, c, optarg);
		if (rc != CLI_OPT_HANDLED)
			return rc;
	}
	run->argc = argc - optind;
	run->argv = argv + optind;
	if (e->args_max == 0 && run->argc > 0)
		return cli_usage_error(
		    e, "unexpected argument: %s", run->argv[0]);
	if (run->argc < e->args_min ||
	    (e->args_max >= 0 && run->argc > e->args_max))
		return cli_usage_error(e, "%s", e->args_error);
	return CLI_OPT_HANDLED;
}

int
cli_run(struct cli_ctx *ctx, const struct cmd_entry *e, int argc, char **argv)
{
	struct cmd_run run = { .ctx = ctx, .entry = e };
	int rc;

	if ((rc = parse_args(&run, argc, argv)) != CLI_OPT_HANDLED)
		return rc;
	rc = e->exec(&run);
	response_free(&run.resp);
	if (run.have_client)
		client_free(&run.cl);
	return rc;
}

const char *
cmd_value(const struct cmd_run *run, const char *name)
{
	int i = own_index(run->entry, name);

	if (i < 0)
		fatal("effortctl %s: no option --%s", run->entry->name, name);
	return run->value[i];
}

bool
cmd_flag(const struct cmd_run *run, const char *name)
{
	return cmd_value(run, name) != NULL;
}

int
cmd_client(struct cmd_run *run, struct client **cl)
{
	int rc;

	if (!run->have_client) {
		if ((rc = client_init(&run->cl, run->ctx)) != EXIT_OK)
			return rc;
		run->have_client = true;
	}
	*cl = &run->cl;
	return EXIT_OK;
}

/* Exact name, else a unique prefix of one; an ambiguous prefix is
 * refused with the commands it could mean. */
static const struct cmd_entry *
find_command(const char *name)
{
	const struct cmd_entry *found = NULL;
	size_t len = strlen(name), nfound = 0;
	char candidates[256] = "";

	if (len == 0) {
		cli_usage_error(NULL, "no command given");
		return NULL;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strncmp(cmd_table[i]->name, name, len) != 0)
			continue;
		if (nfound++ > 0)
			strcat(candidates, ", ");
		strcat(candidates, cmd_table[i]->name);
		found = cmd_table[i];
	}
	if (nfound > 1) {
		cli_usage_error(NULL, "ambiguous command: %s (could be %s)",
		    name, candidates);
		return NULL;
	}
	if (found == NULL)
		cli_usage_error(NULL, "unknown command: %s", name);
	return found;
}

/* "effortctl help [COMMAND]". */
static int
help_command(int argc, char **argv)
{
	const struct cmd_entry *e;

	if (argc < 2) {
		help();
		return EXIT_OK;
	}
	if ((e = find_command(argv[1])) == NULL)
		return EXIT_USAGE;
	cli_command_help(e);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_ctx ctx = { .timeout = -1, .format = FORMAT_TABLE };
	const struct cmd_entry *e;
	int c, rc;

	log_set_prefix("effortctl");
	argv[0] = (char *)"effortctl"; /* for getopt_long's messages */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		if (c == 'V') {
			printf("effortctl %s\n", EFFORTD_VERSION);
			return EXIT_OK;
		}
		if ((rc = cli_common_option(&ctx, NULL, c, optarg)) !=
		    CLI_OPT_HANDLED)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cli_usage_error(NULL, "no command given");
	if (strcmp(argv[0], "help") == 0)
		return help_command(argc, argv);
	if ((e = find_command(argv[0])) == NULL)
		return EXIT_USAGE;
	optind = 0; /* glibc: start afresh for the command's options */
	xasprintf(&argv[0], "effortctl %s", e->name);
	rc = cli_run(&ctx, e, argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("writing output: %s", strerror(errno));
		return rc == EXIT_OK ? EXIT_UNAVAILABLE : rc;
	}
	return rc;
}
