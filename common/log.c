/*
 * Logging to stderr with levels.  Each line is "<prefix>: level: message";
 * under systemd the "<N>" syslog priority prefix lets journald classify it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_INFO;
static const char *log_prefix = "effortd";

static const char *level_names[] = { "error", "warning", "info", "debug" };
static const int level_syslog[] = { 3, 4, 6, 7 };

int
log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0];
	     i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (getenv("JOURNAL_STREAM") != NULL)
		fprintf(stderr, "<%d>%s\n", level_syslog[level], msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prefix, level_names[level],
		    msg);
}

#define LOG_FUNC(name, level)                                                  \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		if (log_level < (level))                                       \
			return;                                                \
		va_start(ap, fmt);                                             \
		log_vwrite((level), fmt, ap);                                  \
		va_end(ap);                                                    \
	}

LOG_FUNC(log_error, LOG_ERROR)
LOG_FUNC(log_warn, LOG_WARN)
LOG_FUNC(log_info, LOG_INFO)
LOG_FUNC(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
