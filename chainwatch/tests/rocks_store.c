/* rocks_store.c: see rocks_store.h. */
#include "rocks_store.h"

#include "errmsg.h"

#include <stdlib.h>
#include <string.h>

static int st_get(void *user, const char *key, int *found, uint8_t **val, size_t *len, char *err, size_t errlen) {
    int rc = store_kv_get(user, key, strlen(key), val, len, err, errlen);
    if (rc < 0) return -1;
    *found = rc == STORE_OK;
    return 0;
}

static int st_put(void *user, size_t n, const char *const *keys, const uint8_t *const *vals, const size_t *lens,
                  char *err, size_t errlen) {
    storage_kv_op *ops = calloc(n ? n : 1, sizeof *ops);
    if (!ops) return opml_errf(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) ops[i] = (storage_kv_op){keys[i], strlen(keys[i]), vals[i], lens[i], 0};
    int rc = store_kv_write(user, ops, n, err, errlen);
    free(ops);
    return rc == STORE_OK ? 0 : -1;
}

follow_store rocks_follow_store(store *db) {
    follow_store fs = {st_get, st_put, db};
    return fs;
}
