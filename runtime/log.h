/* log.h: the process's log, one line per event on stderr: text for people, or JSON lines for
 * machines (log_json). Never pass a secret to these functions: nothing here can redact it.
 *
 *   text: 2026-11-24T16:20:00.123Z storage INFO opened /var/lib/opml/db
 *   JSON: {"ts":"2026-11-24T16:20:00.123Z","actor":"storage","level":"info","msg":"opened ..."}
 *
 * Hostile input can produce a refusal per message: log those through a log_limiter, which lets a
 * few lines a second through and then reports how many it held back. */
#ifndef OPML_LOG_H
#define OPML_LOG_H

#include <stdint.h>

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/* Sets the actor name printed on each line, the lowest level printed and the format. May be called
 * again (the configuration is read after the first log lines). Not thread-safe against logging. */
void log_setup(const char *actor, enum log_level level, int json);

/* "debug", "info", "warn", "error" -> level. Returns 0 or -1. */
int log_level_parse(const char *text, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)

/* At most LOG_LIMIT_PER_SEC lines a second through one limiter; the first line after a quiet
 * second says how many were suppressed. Zero-initialise: `static log_limiter lim;`. */
#define LOG_LIMIT_PER_SEC 10
typedef struct log_limiter {
    uint64_t second;
    unsigned printed;
    uint64_t suppressed;
} log_limiter;
void log_limited(log_limiter *lim, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Milliseconds since the Unix epoch, and a monotonic clock in milliseconds. */
uint64_t clock_unix_ms(void);
uint64_t clock_mono_ms(void);

#endif
