/*
 * Logging to stderr with levels; journald adds the time stamp when effortd
 * runs under systemd.  Never pass a token, password or conninfo to these.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

int log_parse_level(const char *, enum log_level *);
void log_set_level(enum log_level);
enum log_level log_get_level(void);
void log_set_prefix(const char *);

void log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
