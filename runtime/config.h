/* config.h: an actor's configuration. Every option has a name, a default and a line of help; its
 * value comes from, in increasing priority:
 *   1. the default;
 *   2. the file named by --config FILE (or OPML_CONFIG): lines "name = value", '#' comments;
 *   3. the environment: OPML_<NAME>, then OPML_<ACTOR>_<NAME> (upper case, '-' as '_');
 *   4. flags: --name=value or --name value ('-' and '_' are the same in names).
 * An unknown name in the file or the flags is an error, so a typo never goes unnoticed. */
#ifndef OPML_CONFIG_H
#define OPML_CONFIG_H

#include <stddef.h>

typedef struct config_opt {
    const char *name; /* lower case, '_' between words; NULL ends a table */
    const char *def;  /* default value, never NULL ("" for none) */
    const char *help;
} config_opt;

typedef struct config config;

/* Builds the configuration of `actor` from the option tables (each NULL-terminated; `extra` may be
 * NULL) and argv[1..argc-1]. Returns NULL with a reason in err on an unknown option, a missing
 * value or an unreadable file. */
config *config_load(const char *actor, const config_opt *common, const config_opt *extra, int argc, char **argv,
                    char *err, size_t errlen);

/* The value of a declared option (never NULL). Asking for an undeclared name aborts: a bug. */
const char *config_get(const config *c, const char *name);

/* The value as an integer in [min, max]. Returns 0, or -1 with a reason in err. */
int config_get_long(const config *c, const char *name, long min, long max, long *out, char *err, size_t errlen);

/* Prints every option with its help and current value (the usage text of --help). */
void config_print_help(const config *c, const char *actor);

void config_free(config *c);

#endif
