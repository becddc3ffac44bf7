/* config.c: see config.h. The option tables are small (tens of names): linear search is enough. */
#include "config.h"
#include "errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const config_opt *opt;
    char *value;
    const char *source; /* "default", "file", "env", "flag" */
};

struct config {
    struct entry *entries;
    size_t count;
};

/* Normalises an option name in place: lower case, '-' -> '_'. */
static void normalise(char *name) {
    for (; *name; name++) *name = *name == '-' ? '_' : (char)tolower((unsigned char)*name);
}

static struct entry *find(const config *c, const char *name) {
    for (size_t i = 0; i < c->count; i++)
        if (!strcmp(c->entries[i].opt->name, name)) return &c->entries[i];
    return NULL;
}

static int set(config *c, const char *name, const char *value, const char *source, char *err, size_t errlen) {
    struct entry *e = find(c, name);
    if (!e) return opml_errf(err, errlen, "unknown option '%s' (from %s); --help lists them", name, source);
    char *v = strdup(value);
    if (!v) return opml_errf(err, errlen, "out of memory");
    free(e->value);
    e->value = v;
    e->source = source;
    return 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static int load_file(config *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return opml_errf(err, errlen, "config file %s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = opml_errf(err, errlen, "config file %s:%d: expected 'name = value'", path, lineno);
            break;
        }
        *eq = 0;
        char *name = trim(s), *value = trim(eq + 1);
        normalise(name);
        if (set(c, name, value, "file", err, errlen) != 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            rc = opml_errf(err, errlen, "config file %s:%d: %s", path, lineno, why);
        }
    }
    fclose(f);
    return rc;
}

static void env_name(char *out, size_t len, const char *actor, const char *name) {
    snprintf(out, len, actor ? "OPML_%s_%s" : "OPML_%s%s", actor ? actor : "", name);
    for (char *p = out; *p; p++) *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
}

config *config_load(const char *actor, const config_opt *common, const config_opt *extra, int argc, char **argv,
                    char *err, size_t errlen) {
    config *c = calloc(1, sizeof *c);
    size_t n = 0;
    for (const config_opt *o = common; o && o->name; o++) n++;
    for (const config_opt *o = extra; o && o->name; o++) n++;
    if (!c || !(c->entries = calloc(n + 1, sizeof *c->entries))) goto oom;
    for (int t = 0; t < 2; t++)
        for (const config_opt *o = t ? extra : common; o && o->name; o++) {
            if (find(c, o->name)) {
                opml_errf(err, errlen, "option '%s' declared twice", o->name);
                goto bad;
            }
            struct entry *e = &c->entries[c->count++];
            e->opt = o;
            e->source = "default";
            if (!(e->value = strdup(o->def))) goto oom;
        }

    /* The config file: --config FILE / --config=FILE, else OPML_CONFIG. */
    const char *file = getenv("OPML_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) file = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9)) file = argv[i] + 9;
    }
    if (file && *file && load_file(c, file, err, errlen) != 0) goto bad;

    for (size_t i = 0; i < c->count; i++)
        for (int specific = 0; specific < 2; specific++) {
            char name[160];
            env_name(name, sizeof name, specific ? actor : NULL, c->entries[i].opt->name);
            const char *v = getenv(name);
            if (v && set(c, c->entries[i].opt->name, v, "env", err, errlen) != 0) goto bad;
        }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            opml_errf(err, errlen, "unexpected argument '%s' (options are --name=value)", a);
            goto bad;
        }
        char name[128];
        const char *eq = strchr(a, '='), *value;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len == 0 || len >= sizeof name) {
            opml_errf(err, errlen, "bad option '%s'", a);
            goto bad;
        }
        memcpy(name, a + 2, len);
        name[len] = 0;
        normalise(name);
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else {
            opml_errf(err, errlen, "option --%s needs a value", name);
            goto bad;
        }
        if (!strcmp(name, "config")) continue;
        if (set(c, name, value, "flag", err, errlen) != 0) goto bad;
    }
    return c;
oom:
    opml_errf(err, errlen, "out of memory");
bad:
    config_free(c);
    return NULL;
}

const char *config_get(const config *c, const char *name) {
    struct entry *e = find(c, name);
    if (!e) {
        fprintf(stderr, "config_get: option '%s' was never declared\n", name);
        abort();
    }
    return e->value;
}

int config_get_long(const config *c, const char *name, long min, long max, long *out, char *err, size_t errlen) {
    const char *v = config_get(c, name);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max)
        return opml_errf(err, errlen, "option %s: '%s' is not an integer in [%ld, %ld]", name, v, min, max);
    *out = x;
    return 0;
}

void config_print_help(const config *c, const char *actor) {
    char upper[64];
    size_t i = 0;
    for (; actor[i] && i + 1 < sizeof upper; i++) upper[i] = actor[i] == '-' ? '_' : (char)toupper((unsigned char)actor[i]);
    upper[i] = 0;
    printf("usage: %s [--config FILE] [--name=value ...]\n\noptions (env OPML_NAME or OPML_%s_NAME; flags win):\n",
           actor, upper);
    for (i = 0; i < c->count; i++) {
        const struct entry *e = &c->entries[i];
        printf("  --%-16s %s\n  %-18s (now: \"%s\" from %s)\n", e->opt->name, e->opt->help, "", e->value, e->source);
    }
}

void config_free(config *c) {
    if (!c) return;
    for (size_t i = 0; i < c->count; i++) free(c->entries[i].value);
    free(c->entries);
    free(c);
}
