/* log.c: see log.h. Lines are formatted into one buffer and written with one write(2), so lines of
 * several threads or processes sharing stderr do not interleave. */
#include "log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_actor[32] = "opml";
static enum log_level log_min = LOGL_INFO;
static int log_as_json;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_upper[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_setup(const char *actor, enum log_level level, int json) {
    snprintf(log_actor, sizeof log_actor, "%s", actor);
    log_min = level;
    log_as_json = json;
}

int log_level_parse(const char *text, enum log_level *out) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(text, level_names[i])) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

uint64_t clock_unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t clock_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void emit(enum log_level level, const char *msg) {
    char ts[32], line[2048];
    uint64_t now = clock_unix_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03uZ", (unsigned)(now % 1000));
    int len;
    if (log_as_json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "actor", log_actor);
        cJSON_AddStringToObject(o, "level", level_names[level]);
        cJSON_AddStringToObject(o, "msg", msg);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        len = snprintf(line, sizeof line, "%s\n", text ? text : "{}");
        free(text);
    } else {
        len = snprintf(line, sizeof line, "%s %s %s %s\n", ts, log_actor, level_upper[level], msg);
    }
    if (len >= (int)sizeof line) {
        len = sizeof line - 1;
        line[len - 1] = '\n';
    }
    if (write(STDERR_FILENO, line, (size_t)len) < 0) { /* nowhere left to report it */
    }
}

static void vlog(enum log_level level, const char *fmt, va_list ap) {
    char msg[1536];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(level, msg);
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if (level < log_min) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void log_limited(log_limiter *lim, enum log_level level, const char *fmt, ...) {
    if (level < log_min) return;
    uint64_t sec = clock_mono_ms() / 1000;
    if (sec != lim->second) {
        if (lim->suppressed) log_msg(level, "(%llu similar lines suppressed)", (unsigned long long)lim->suppressed);
        lim->second = sec;
        lim->printed = 0;
        lim->suppressed = 0;
    }
    if (lim->printed >= LOG_LIMIT_PER_SEC) {
        lim->suppressed++;
        return;
    }
    lim->printed++;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}
