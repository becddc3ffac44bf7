/* gather.c: ONNX's data-movement operators whose indices are constants (onnx_lower.h), each one
 * Take node (numerics/kernels/take.c) with an index map computed here in exact integer
 * arithmetic: Tile, Trilu, GatherElements, GatherND, Compress, ScatterElements, Scatter,
 * ScatterND (with reduction "none"), MaxUnpool, ReverseSequence; and DepthToSpace, SpaceToDepth
 * as Reshape, Transpose, Reshape. A Scatter reads two tensors: its map indexes the data and the
 * updates joined end to end (one Concat of their flattened forms). Map entry -1 gives zero. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Row-major strides of dims[0..rank). */
static void strides_of(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) st[i] = s, s *= dims[i];
}

/* Coordinates of flat index f in dims. */
static void coords_of(int64_t f, int rank, const int64_t *dims, int64_t *co) {
    for (int i = rank - 1; i >= 0; i--) co[i] = dims[i] ? f % dims[i] : 0, f = dims[i] ? f / dims[i] : 0;
}

/* A map of numel(dims) entries, the size checked before it is allocated. NULL on failure. */
static int32_t *map_new(conv *c, int rank, const int64_t *dims, int64_t *n) {
    *n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && *n > CV_MAX_NUMEL / dims[i])) return cv_fail(c, "output too large"), NULL;
        *n *= dims[i];
    }
    int32_t *m = malloc((size_t)*n * 4 + 4);
    if (!m) cv_fail(c, "out of memory");
    return m;
}

int onnx_take(conv *c, int x, int32_t *map, int rank, const int64_t *dims, const char *name) {
    char mn[CV_NAME];
    int k = cv_i32_const(c, cv_subname(mn, name, "map"), rank, dims, map);
    free(map);
    if (k < 0) return -1;
    kd_desc d = {.op = OP_TAKE, .noperands = 2};
    cv_set_out(&d, rank, dims);
    d.out.dtype = (uint8_t)c->syms[x].dtype; /* bytes moved: any dtype */
    int ops[2] = {x, k};
    return cv_emit(c, &d, ops, name);
}

/* Input i as an int64 constant (indices, repeats, conditions), or -1 with the reason. */
static int int_input(onnx_ctx *ox, size_t i, const char *what) {
    int k;
    if (onnx_in(ox, i, &k)) return -1;
    if (k < 0 || !ox->c->syms[k].is_const || ox->c->syms[k].dtype == KD_F32) /* integer or bool, held in ->i */
        return cv_fail(ox->c, "%s must be a constant integer tensor (run-time %s are not supported)", what, what);
    return k;
}

int onnx_op_tile(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x, kr;
    if (onnx_first_input(ox, none, &x) || (kr = int_input(ox, 1, "repeats")) < 0) return -1;
    const cv_sym *s = &c->syms[x], *r = &c->syms[kr];
    if (cv_numel(r) != s->rank) return cv_fail(c, "repeats has %lld entries for rank %d", (long long)cv_numel(r), s->rank);
    int64_t dims[KD_MAX_RANK], st[KD_MAX_RANK], co[KD_MAX_RANK], n;
    for (int i = 0; i < s->rank; i++) {
        if (r->i[i] < 0 || r->i[i] > CV_MAX_NUMEL) return cv_fail(c, "bad repeats %lld", (long long)r->i[i]);
        dims[i] = s->dims[i] * r->i[i];
    }
    int32_t *map = map_new(c, s->rank, dims, &n);
    if (!map) return -1;
    strides_of(s->rank, s->dims, st);
    for (int64_t f = 0; f < n; f++) {
        coords_of(f, s->rank, dims, co);
        int64_t src = 0;
        for (int i = 0; i < s->rank; i++) src += (co[i] % s->dims[i]) * st[i];
        map[f] = (int32_t)src;
    }
    return onnx_take(c, x, map, s->rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_trilu(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"upper", NULL};
    int x, kk;
    if (onnx_first_input(ox, known, &x) || onnx_in(ox, 1, &kk)) return -1;
    int64_t k = 0;
    if (kk >= 0) {
        if ((kk = int_input(ox, 1, "k")) < 0) return -1;
        if (cv_numel(&c->syms[kk]) != 1) return cv_fail(c, "k must be a scalar");
        k = c->syms[kk].i[0];
    }
    const cv_sym *s = &c->syms[x];
    if (s->rank < 2) return cv_fail(c, "input of rank %d", s->rank);
    int upper = (int)onnx_attr_i(ox, "upper", 1);
    int64_t n, co[KD_MAX_RANK], dims[KD_MAX_RANK];
    memcpy(dims, s->dims, sizeof dims);
    int32_t *map = map_new(c, s->rank, dims, &n);
    if (!map) return -1;
    for (int64_t f = 0; f < n; f++) {
        coords_of(f, s->rank, dims, co);
        int64_t row = co[s->rank - 2], col = co[s->rank - 1];
        int keep = upper ? col - row >= k : col - row <= k;
        map[f] = keep ? (int32_t)f : -1;
    }
    return onnx_take(c, x, map, s->rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* An index along a dimension of size dim, negative counting from the end; -1 when out of range. */
static int64_t wrap(int64_t i, int64_t dim) {
    if (i < 0) i += dim;
    return i >= 0 && i < dim ? i : -1;
}

int onnx_op_gather_elements(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    int x, ki;
    if (onnx_first_input(ox, known, &x) || (ki = int_input(ox, 1, "indices")) < 0) return -1;
    const cv_sym *s = &c->syms[x], *ix = &c->syms[ki];
    int64_t axis, n, st[KD_MAX_RANK], co[KD_MAX_RANK];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    if (ix->rank != s->rank) return cv_fail(c, "indices of rank %d for data of rank %d", ix->rank, s->rank);
    int32_t *map = map_new(c, ix->rank, ix->dims, &n);
    if (!map) return -1;
    strides_of(s->rank, s->dims, st);
    for (int64_t f = 0; f < n; f++) {
        coords_of(f, ix->rank, ix->dims, co);
        int64_t j = wrap(ix->i[f], s->dims[axis]), src = 0;
        for (int i = 0; i < s->rank; i++) {
            int64_t v = i == axis ? j : co[i];
            if (v < 0 || v >= s->dims[i]) {
                free(map);
                return cv_fail(c, "index %lld out of range", (long long)ix->i[f]);
            }
            src += v * st[i];
        }
        map[f] = (int32_t)src;
    }
    return onnx_take(c, x, map, ix->rank, ix->dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_gather_nd(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"batch_dims", NULL};
    int x, ki;
    if (onnx_first_input(ox, known, &x) || (ki = int_input(ox, 1, "indices")) < 0) return -1;
    const cv_sym *s = &c->syms[x], *ix = &c->syms[ki];
    int64_t b = onnx_attr_i(ox, "batch_dims", 0), q = ix->rank, last = q ? ix->dims[q - 1] : 0;
    if (q < 1 || b < 0 || b >= q || last < 1 || b + last > s->rank) return cv_fail(c, "indices do not fit the data");
    /* output: indices.shape[:-1] ++ data.shape[b + last:] */
    int64_t dims[KD_MAX_RANK], st[KD_MAX_RANK], co[KD_MAX_RANK], n;
    int rank = 0;
    for (int i = 0; i < q - 1; i++) dims[rank++] = ix->dims[i];
    for (int i = (int)(b + last); i < s->rank; i++) {
        if (rank == KD_MAX_RANK) return cv_fail(c, "output of rank above %d", KD_MAX_RANK);
        dims[rank++] = s->dims[i];
    }
    for (int i = 0; i < b; i++)
        if (ix->dims[i] != s->dims[i]) return cv_fail(c, "batch dimensions differ");
    int32_t *map = map_new(c, rank, dims, &n);
    if (!map) return -1;
    strides_of(s->rank, s->dims, st);
    for (int64_t f = 0; f < n; f++) {
        coords_of(f, rank, dims, co);
        int64_t tuple = 0; /* the flat position of this output's index tuple in indices */
        for (int i = 0; i < q - 1; i++) tuple = tuple * ix->dims[i] + co[i];
        int64_t src = 0;
        for (int i = 0; i < b; i++) src += co[i] * st[i];
        for (int64_t k = 0; k < last; k++) {
            int64_t j = wrap(ix->i[tuple * last + k], s->dims[b + k]);
            if (j < 0) {
                free(map);
                return cv_fail(c, "index out of range");
            }
            src += j * st[b + k];
        }
        for (int i = (int)(b + last); i < s->rank; i++) src += co[q - 1 + i - (b + last)] * st[i];
        map[f] = (int32_t)src;
    }
    return onnx_take(c, x, map, rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_compress(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    int x, kc;
    if (onnx_first_input(ox, known, &x) || (kc = int_input(ox, 1, "condition")) < 0) return -1;
    const cv_sym *s = &c->syms[x], *cd = &c->syms[kc];
    int has_axis = onnx_attr(ox, "axis") != NULL, rank = has_axis ? s->rank : 1;
    int64_t axis = 0, dims[KD_MAX_RANK], flat = cv_numel(s), st[KD_MAX_RANK], co[KD_MAX_RANK], n;
    if (has_axis && cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    int64_t len = has_axis ? s->dims[axis] : flat, kept = 0, nc = cv_numel(cd);
    for (int64_t i = 0; i < nc && i < len; i++) kept += cd->i[i] != 0;
    if (has_axis) memcpy(dims, s->dims, sizeof dims);
    dims[has_axis ? axis : 0] = kept;
    int32_t *map = map_new(c, rank, dims, &n), *pos = malloc((size_t)kept * 4 + 4);
    if (!map || !pos) {
        free(map), free(pos);
        return map ? cv_fail(c, "out of memory") : -1;
    }
    for (int64_t i = 0, k = 0; i < nc && i < len; i++)
        if (cd->i[i]) pos[k++] = (int32_t)i;
    strides_of(s->rank, s->dims, st);
    for (int64_t f = 0; f < n; f++) {
        if (!has_axis) {
            map[f] = pos[f];
            continue;
        }
        coords_of(f, rank, dims, co);
        int64_t src = 0;
        for (int i = 0; i < s->rank; i++) src += (i == axis ? pos[co[i]] : co[i]) * st[i];
        map[f] = (int32_t)src;
    }
    free(pos);
    return onnx_take(c, x, map, rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* The data and the updates of a Scatter flattened and joined: the tensor its map indexes. */
static int scatter_source(onnx_ctx *ox, int x, int u) {
    conv *c = ox->c;
    const char *name = onnx_out_name(ox, 0);
    char b[3][CV_NAME];
    int64_t nx = cv_numel(&c->syms[x]), nu = cv_numel(&c->syms[u]), both = nx + nu;
    if (cv_reshape_to(c, x, 1, &nx, cv_subname(b[0], name, "data_flat")) ||
        cv_reshape_to(c, u, 1, &nu, cv_subname(b[1], name, "updates_flat")))
        return -1;
    int ops[2] = {cv_find(c, b[0]), cv_find(c, b[1])};
    kd_desc d = {.op = OP_CONCAT, .noperands = 2};
    cv_set_out(&d, 1, &both);
    d.out.dtype = (uint8_t)c->syms[ops[0]].dtype;
    return cv_emit(c, &d, ops, cv_subname(b[2], name, "joined"));
}

/* ScatterElements and Scatter (opset < 11): the map starts as the identity on the data; update k
 * at its position (indices[k] along the axis, its own coordinates elsewhere) points at
 * numel(data) + k. Later updates of a position win. */
int onnx_op_scatter_elements(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", "reduction", NULL};
    int x, ki, u;
    if (onnx_first_input(ox, known, &x) || (ki = int_input(ox, 1, "indices")) < 0 || onnx_in(ox, 2, &u)) return -1;
    if (u < 0) return cv_fail(c, "missing updates");
    if (strcmp(onnx_attr_s(ox, "reduction", "none"), "none")) return cv_fail(c, "reduction '%s' is not supported", onnx_attr_s(ox, "reduction", ""));
    const cv_sym *s = &c->syms[x], *ix = &c->syms[ki];
    int64_t axis, n, st[KD_MAX_RANK], co[KD_MAX_RANK], dims[KD_MAX_RANK];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    if (ix->rank != s->rank || c->syms[u].rank != ix->rank || cv_numel(&c->syms[u]) != cv_numel(ix))
        return cv_fail(c, "indices and updates must have one shape of the data's rank");
    memcpy(dims, s->dims, sizeof dims);
    int rank = s->rank;
    int32_t *map = map_new(c, rank, dims, &n);
    if (!map) return -1;
    for (int64_t f = 0; f < n; f++) map[f] = (int32_t)f;
    strides_of(rank, dims, st);
    for (int64_t k = 0; k < cv_numel(ix); k++) {
        coords_of(k, ix->rank, ix->dims, co);
        int64_t j = wrap(ix->i[k], dims[axis]), dst = 0;
        for (int i = 0; i < rank; i++) {
            int64_t v = i == axis ? j : co[i];
            if (v < 0 || v >= dims[i]) {
                free(map);
                return cv_fail(c, "index %lld out of range", (long long)ix->i[k]);
            }
            dst += v * st[i];
        }
        map[dst] = (int32_t)(n + k);
    }
    int src = scatter_source(ox, x, u);
    if (src < 0) {
        free(map);
        return -1;
    }
    return onnx_take(c, src, map, rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_scatter_nd(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"reduction", NULL};
    int x, ki, u;
    if (onnx_first_input(ox, known, &x) || (ki = int_input(ox, 1, "indices")) < 0 || onnx_in(ox, 2, &u)) return -1;
    if (u < 0) return cv_fail(c, "missing updates");
    if (strcmp(onnx_attr_s(ox, "reduction", "none"), "none")) return cv_fail(c, "reduction '%s' is not supported", onnx_attr_s(ox, "reduction", ""));
    const cv_sym *s = &c->syms[x], *ix = &c->syms[ki];
    int64_t q = ix->rank, last = q ? ix->dims[q - 1] : 0, n, st[KD_MAX_RANK], dims[KD_MAX_RANK];
    if (q < 1 || last < 1 || last > s->rank) return cv_fail(c, "indices do not fit the data");
    int64_t tuples = cv_numel(ix) / last, slice = 1;
    for (int i = (int)last; i < s->rank; i++) slice *= s->dims[i];
    if (cv_numel(&c->syms[u]) != tuples * slice) return cv_fail(c, "updates do not fit the indices");
    memcpy(dims, s->dims, sizeof dims);
    int32_t *map = map_new(c, s->rank, dims, &n);
    if (!map) return -1;
    for (int64_t f = 0; f < n; f++) map[f] = (int32_t)f;
    strides_of(s->rank, dims, st);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t dst = 0;
        for (int64_t k = 0; k < last; k++) {
            int64_t j = wrap(ix->i[t * last + k], dims[k]);
            if (j < 0) {
                free(map);
                return cv_fail(c, "index out of range");
            }
            dst += j * st[k];
        }
        for (int64_t e = 0; e < slice; e++) map[dst + e] = (int32_t)(n + t * slice + e);
    }
    int src = scatter_source(ox, x, u);
    if (src < 0) {
        free(map);
        return -1;
    }
    return onnx_take(c, src, map, s->rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* MaxUnpool: X [N, C, H, W] and its MaxPool indices (flat in each image's output) give an output
 * of zeros but at those indices; the size from output_shape or (in - 1) * stride + kernel - pads. */
int onnx_op_maxunpool(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"kernel_shape", "strides", "pads", NULL};
    int x, ki, ks;
    if (onnx_first_input(ox, known, &x) || (ki = int_input(ox, 1, "indices")) < 0 || onnx_in(ox, 2, &ks)) return -1;
    const cv_sym *s = &c->syms[x], *ix = &c->syms[ki];
    if (s->rank < 3 || cv_numel(ix) != cv_numel(s)) return cv_fail(c, "indices must have the shape of X");
    int sp = s->rank - 2;
    int64_t k[KD_MAX_RANK], st[KD_MAX_RANK], pads[2 * KD_MAX_RANK], dims[KD_MAX_RANK], n;
    if (onnx_attr_ints(ox, "kernel_shape", k, KD_MAX_RANK) != sp) return cv_fail(c, "kernel_shape must have %d entries", sp);
    int ns = onnx_attr_ints(ox, "strides", st, KD_MAX_RANK), np = onnx_attr_ints(ox, "pads", pads, 2 * KD_MAX_RANK);
    for (int i = 0; i < sp; i++) {
        if (ns < 0) st[i] = 1;
        if (np < 0) pads[i] = pads[sp + i] = 0;
    }
    if ((ns >= 0 && ns != sp) || (np >= 0 && np != 2 * sp)) return cv_fail(c, "strides or pads do not fit the rank");
    int64_t inferred[KD_MAX_RANK], co[KD_MAX_RANK], ost[KD_MAX_RANK];
    inferred[0] = s->dims[0], inferred[1] = s->dims[1];
    for (int i = 0; i < sp; i++) inferred[2 + i] = (s->dims[2 + i] - 1) * st[i] + k[i] - pads[i] - pads[sp + i];
    memcpy(dims, inferred, sizeof dims);
    if (ks >= 0) { /* the indices still count in the inferred shape; the output is larger, zeros after */
        if ((ks = int_input(ox, 2, "output_shape")) < 0) return -1;
        if (cv_numel(&c->syms[ks]) != s->rank) return cv_fail(c, "output_shape has the wrong length");
        for (int i = 0; i < s->rank; i++) dims[i] = c->syms[ks].i[i];
    }
    for (int i = 0; i < s->rank; i++)
        if (dims[i] < 1) return cv_fail(c, "empty output");
    int32_t *map = map_new(c, s->rank, dims, &n);
    if (!map) return -1;
    for (int64_t f = 0; f < n; f++) map[f] = -1;
    strides_of(s->rank, dims, ost);
    int64_t ninf = 1;
    for (int i = 0; i < s->rank; i++) ninf *= inferred[i];
    for (int64_t j = 0; j < cv_numel(ix); j++) { /* MaxPool's indices are flat over the whole tensor */
        int64_t dst = 0;
        int ok = ix->i[j] >= 0 && ix->i[j] < ninf;
        if (ok) coords_of(ix->i[j], s->rank, inferred, co);
        for (int i = 0; ok && i < s->rank; i++) ok = co[i] < dims[i], dst += co[i] * ost[i];
        if (!ok) {
            free(map);
            return cv_fail(c, "index %lld out of range", (long long)ix->i[j]);
        }
        map[dst] = (int32_t)j;
    }
    return onnx_take(c, x, map, s->rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_reverse_sequence(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"batch_axis", "time_axis", NULL};
    int x, kl;
    if (onnx_first_input(ox, known, &x) || (kl = int_input(ox, 1, "sequence_lens")) < 0) return -1;
    const cv_sym *s = &c->syms[x], *sl = &c->syms[kl];
    int64_t ba = onnx_attr_i(ox, "batch_axis", 1), ta = onnx_attr_i(ox, "time_axis", 0), n, st[KD_MAX_RANK],
            co[KD_MAX_RANK], dims[KD_MAX_RANK];
    if (s->rank < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta || cv_numel(sl) != s->dims[ba])
        return cv_fail(c, "batch_axis, time_axis or sequence_lens do not fit");
    memcpy(dims, s->dims, sizeof dims);
    int32_t *map = map_new(c, s->rank, dims, &n);
    if (!map) return -1;
    strides_of(s->rank, dims, st);
    for (int64_t f = 0; f < n; f++) {
        coords_of(f, s->rank, dims, co);
        int64_t len = sl->i[co[ba]], t = co[ta];
        if (len < 0 || len > dims[ta]) {
            free(map);
            return cv_fail(c, "sequence length %lld out of range", (long long)len);
        }
        map[f] = (int32_t)(f + (t < len ? (len - 1 - 2 * t) * st[ta] : 0));
    }
    return onnx_take(c, x, map, s->rank, dims, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* DepthToSpace (DCR, CRD) and SpaceToDepth: Reshape to rank 6, Transpose, Reshape. */
int onnx_op_depth_space(onnx_ctx *ox, unsigned to_space) {
    conv *c = ox->c;
    static const char *const known[] = {"blocksize", "mode", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    const cv_sym *s = &c->syms[x];
    int64_t b = onnx_attr_i(ox, "blocksize", 0);
    if (s->rank != 4 || b < 1 || b > 65536) return cv_fail(c, "only [N, C, H, W] inputs and a positive blocksize are supported");
    int64_t nn = s->dims[0], ch = s->dims[1], h = s->dims[2], w = s->dims[3], six[6], out[4];
    int32_t perm[6];
    const char *mode = onnx_attr_s(ox, "mode", "DCR");
    if (to_space) {
        if (ch % (b * b)) return cv_fail(c, "channels not a multiple of blocksize^2");
        int crd = !strcmp(mode, "CRD");
        if (!crd && strcmp(mode, "DCR")) return cv_fail(c, "mode '%s' is not supported", mode);
        int64_t cd[6] = {nn, b, b, ch / (b * b), h, w}, cc[6] = {nn, ch / (b * b), b, b, h, w};
        int32_t pd[6] = {0, 3, 4, 1, 5, 2}, pc[6] = {0, 1, 4, 2, 5, 3};
        memcpy(six, crd ? cc : cd, sizeof six), memcpy(perm, crd ? pc : pd, sizeof perm);
        out[0] = nn, out[1] = ch / (b * b), out[2] = h * b, out[3] = w * b;
    } else {
        if (h % b || w % b) return cv_fail(c, "spatial size not a multiple of blocksize");
        int64_t sd[6] = {nn, ch, h / b, b, w / b, b};
        int32_t ps[6] = {0, 3, 5, 1, 2, 4};
        memcpy(six, sd, sizeof six), memcpy(perm, ps, sizeof perm);
        out[0] = nn, out[1] = ch * b * b, out[2] = h / b, out[3] = w / b;
    }
    const char *name = onnx_out_name(ox, 0);
    char b1[CV_NAME], b2[CV_NAME];
    if (cv_reshape_to(c, x, 6, six, cv_subname(b1, name, "blocks"))) return -1;
    int y = cv_find(c, b1);
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1};
    d.out.dtype = (uint8_t)c->syms[y].dtype;
    int64_t tdims[6];
    for (int i = 0; i < 6; i++) d.ia[i] = perm[i], tdims[i] = six[perm[i]];
    cv_set_out(&d, 6, tdims);
    if ((y = cv_emit(c, &d, &y, cv_subname(b2, name, "moved"))) < 0) return -1;
    return cv_reshape_to(c, y, 4, out, name);
}
