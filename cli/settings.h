/*
 * effortctl's settings: the daemon's URL, the token and the timeout,
 * resolved from the command line, the environment and the config file.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

struct cli_ctx;

struct settings {
	char *url;
	char *token; /* NULL when none; never printed */
	int timeout; /* seconds */
};

char *settings_path(void);
int settings_load(const struct cli_ctx *, struct settings *);
void settings_free(struct settings *);

#endif
