/* input.c: the files the `opml` tool reads from its command line (input.h): a bounded whole-file
 * read, and INPUT of `opml infer`, `opml vm-run` and `opml eval` (a raw file of the input's dtype,
 * idx:PATH, idx:PATH#N or idx:PATH#A-B), parsed and checked against the model in one place. */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint8_t *cli_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f) fclose(f);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        if (S_ISREG(st.st_mode))
            snprintf(err, errlen, "%s: file too large (%llu bytes, at most %zu)", path, (unsigned long long)st.st_size, max);
        else snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    size_t n = buf ? fread(buf, 1, size + 1, f) : 0;
    int bad = !buf || ferror(f) || n != size;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read%s", path, buf ? "" : " (out of memory)");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* idx:PATH#A or idx:PATH#A-B: the path into path (pathlen bytes), the items into 0 <= *a <= *b;
 * idx:PATH: *a = *b = -1 (every item). Precondition: spec starts with "idx:". */
static int parse_idx_spec(const char *spec, char *path, size_t pathlen, long *a, long *b) {
    const char *hash = strrchr(spec, '#');
    if (!hash) {
        *a = *b = -1;
        return snprintf(path, pathlen, "%s", spec + 4) >= (int)pathlen || !spec[4] ? -1 : 0;
    }
    if ((size_t)(hash - spec - 4) >= pathlen) return -1;
    memcpy(path, spec + 4, (size_t)(hash - spec - 4));
    path[hash - spec - 4] = 0;
    char *e;
    errno = 0;
    *a = strtol(hash + 1, &e, 10);
    if (e == hash + 1 || *a < 0) return -1;
    *b = *a;
    if (*e == '-') {
        const char *s = e + 1;
        *b = strtol(s, &e, 10);
        if (e == s || *b < *a) return -1;
    }
    return *e || errno ? -1 : 0; /* errno: a number past LONG_MAX */
}

static int open_idx(cli_input *in, const opml_model *m, size_t max, char *err, size_t errlen) {
    long z;
    if (parse_idx_spec(in->spec, in->path, sizeof in->path, &in->first, &z)) {
        snprintf(err, errlen, "bad input '%.300s' (want a raw file, idx:PATH, idx:PATH#N or idx:PATH#A-B)", in->spec);
        return -1;
    }
    if (opml_idx_load(in->path, &in->idx, err, errlen)) return -1;
    const kd_tensor *t = &m->inputs[0];
    /* one item per batch row: the model input is [B, ...] with B * item_elems values */
    if (t->rank < 1 || kd_numel(t) != (uint64_t)t->dims[0] * in->idx.item_elems) {
        snprintf(err, errlen, "%.200s: items of %zu values do not fill the model input of %llu values", in->path,
                 in->idx.item_elems, (unsigned long long)kd_numel(t));
        return -1;
    }
    if (t->dtype == KD_F32 && in->idx.elsize != 1) {
        snprintf(err, errlen, "%.200s: int32 items do not feed the model's float32 input (unsigned bytes do)", in->path);
        return -1;
    }
    in->per = t->dims[0]; /* items per model input: the model's batch */
    if (in->first < 0) { /* every item: whole batches, at most max of them */
        size_t batches = in->idx.count / in->per;
        if (batches > max) batches = max;
        if (!batches) {
            snprintf(err, errlen, "%.200s has %u items, fewer than the model's batch of %u", in->path, in->idx.count, in->per);
            return -1;
        }
        in->first = 0, z = (long)(batches * in->per) - 1;
    }
    if (z >= (long)in->idx.count) {
        snprintf(err, errlen, "%.200s has %u items; index %ld is out of range", in->path, in->idx.count, z);
        return -1;
    }
    if ((z - in->first + 1) % in->per) {
        snprintf(err, errlen, "%.200s: items %ld to %ld are not whole batches of the model's %u", in->path, in->first,
                 z, in->per);
        return -1;
    }
    if (t->dtype == KD_F32 && !(m->input_divisor > 0)) {
        snprintf(err, errlen, "the model records no pixel divisor for IDX inputs");
        return -1;
    }
    in->count = (size_t)(z - in->first + 1) / in->per;
    in->divisor = m->input_divisor;
    if (in->count > max) {
        snprintf(err, errlen, "'%.300s' is %zu model inputs; this command takes at most %zu", in->spec, in->count, max);
        return -1;
    }
    if (!(in->buf = malloc(in->need))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* At most max inputs: a larger file is refused before it is read. */
static int open_raw(cli_input *in, const opml_model *m, size_t max, char *err, size_t errlen) {
    size_t len, most = max > SIZE_MAX / in->need ? SIZE_MAX - 1 : max * in->need;
    if (!(in->raw = cli_read_file(in->spec, most, &len, err, errlen))) return -1;
    if (len == 0 || len % in->need) {
        snprintf(err, errlen, "%s: %zu bytes is not a multiple of the model input (%zu bytes = %llu %s)", in->spec, len,
                 in->need, (unsigned long long)kd_numel(&m->inputs[0]), opml_dtype_name(m->inputs[0].dtype));
        return -1;
    }
    in->count = len / in->need;
    return 0;
}

int cli_input_open(cli_input *in, const char *spec, const opml_model *m, size_t max, char *err, size_t errlen) {
    memset(in, 0, sizeof *in);
    in->spec = spec;
    if (m->nin != 1) {
        snprintf(err, errlen, "the model has %u inputs; this command feeds exactly one", m->nin);
        return -1;
    }
    in->need = (size_t)kd_nbytes(&m->inputs[0]);
    if (in->need == 0) {
        snprintf(err, errlen, "the model's input is empty");
        return -1;
    }
    in->dtype = m->inputs[0].dtype;
    if (!strncmp(spec, "raw:", 4)) in->spec = spec + 4;
    return strncmp(spec, "idx:", 4) ? open_raw(in, m, max, err, errlen) : open_idx(in, m, max, err, errlen);
}

const void *cli_input_at(cli_input *in, size_t k, char *label, size_t labellen) {
    if (in->raw) {
        if (label) snprintf(label, labellen, in->count == 1 ? "%s" : "%s@%zu", in->spec, k);
        return in->raw + k * in->need;
    }
    long i = in->first + (long)k * in->per;
    if (in->dtype == KD_F32) opml_idx_floats(&in->idx, (uint32_t)i, in->per, in->divisor, in->buf);
    else opml_idx_ints(&in->idx, (uint32_t)i, in->per, in->dtype, in->buf);
    if (label) {
        if (in->per == 1) snprintf(label, labellen, "idx:%s#%ld", in->path, i);
        else snprintf(label, labellen, "idx:%s#%ld-%ld", in->path, i, i + in->per - 1);
    }
    return in->buf;
}

void cli_input_close(cli_input *in) {
    opml_idx_free(&in->idx);
    free(in->raw);
    free(in->buf);
    memset(in, 0, sizeof *in);
}
