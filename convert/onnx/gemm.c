/* gemm.c: ONNX's matrix products (onnx_lower.h): Gemm, MatMul, and Einsum where it is one. A
 * product with constant weights is a QLinear (int8 weights, its bias folded in); one of two
 * run-time operands a QMatMul, with alpha, beta and C as Mul and Add nodes where they cannot be
 * folded. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A transposed copy (rank 2) or a plain one, emitted as a node when the symbol is a value. */
static int transpose2(onnx_ctx *ox, int x, const char *suffix) {
    conv *c = ox->c;
    cv_sym *s = &c->syms[x];
    if (s->rank != 2) return cv_fail(c, "transposed operand of rank %d", s->rank);
    char name[300];
    snprintf(name, sizeof name, "%s/%s", ox->cur->output[0], suffix);
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}};
    int64_t dims[2] = {s->dims[1], s->dims[0]};
    cv_set_out(&d, 2, dims);
    return cv_emit(c, &d, &x, name);
}

int onnx_op_gemm(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int a, b, cc;
    if (onnx_in(ox, 0, &a) || onnx_in(ox, 1, &b) || onnx_in(ox, 2, &cc)) return -1;
    if (a < 0 || b < 0) return cv_fail(c, "missing input");
    float alpha = onnx_attr_f(ox, "alpha", 1.0f), beta = onnx_attr_f(ox, "beta", 1.0f);
    int ta = (int)onnx_attr_i(ox, "transA", 0), tb = (int)onnx_attr_i(ox, "transB", 0);
    if (c->syms[a].rank != 2 || c->syms[b].rank != 2) return cv_fail(c, "Gemm operands must be matrices");
    if (ta && (a = transpose2(ox, a, "transA")) < 0) return -1;
    cv_sym *sb = &c->syms[b];
    int64_t n = tb ? sb->dims[0] : sb->dims[1];
    int bias_folded = 0;
    float *biasv = NULL;
    const char *name = onnx_out_name(ox, 0);
    char tmpname[300];
    if (cc >= 0) {
        cv_sym *sc = &c->syms[cc];
        int64_t ncn = cv_numel(sc);
        if (sc->is_const && sc->dtype == KD_F32 && (ncn == 1 || (ncn == n && (sc->rank == 1 || sc->dims[0] == 1)))) {
            biasv = malloc((size_t)ncn * 4 + 4);
            if (!biasv) return cv_fail(c, "out of memory");
            for (int64_t i = 0; i < ncn; i++) biasv[i] = beta == 1.0f ? sc->f[i] : sc->f[i] * beta;
            bias_folded = 1;
        }
    }
    int needs_more = (cc >= 0 && !bias_folded) || (!sb->is_const && alpha != 1.0f);
    if (needs_more) snprintf(tmpname, sizeof tmpname, "%s/product", name);
    int y;
    if (sb->is_const) {
        y = cv_linear_const(c, a, b, tb, alpha, biasv, cc >= 0 ? cv_numel(&c->syms[cc]) : 0, needs_more ? tmpname : name);
        free(biasv);
        biasv = NULL;
        if (y < 0) return -1;
        if (bias_folded || cc < 0) return 0; /* no C, or C is the QLinear's bias */
    } else {
        free(biasv);
        if (tb && (b = transpose2(ox, b, "transB")) < 0) return -1;
        kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
        int64_t dims[2] = {c->syms[a].dims[0], c->syms[b].dims[1]};
        cv_set_out(&d, 2, dims);
        int ops[2] = {a, b};
        char pname[300];
        snprintf(pname, sizeof pname, "%s/matmul", name);
        if ((y = cv_emit(c, &d, ops, (cc >= 0 || alpha != 1.0f) ? pname : name)) < 0) return -1;
        if (alpha != 1.0f) {
            int64_t one = 1;
            char an[300];
            snprintf(an, sizeof an, "%s/alpha", name);
            int ka = cv_new_const(c, an, KD_F32, 1, &one, &alpha);
            if (ka < 0) return -1;
            kd_desc m = {.op = OP_MUL, .noperands = 2};
            cv_set_out(&m, 2, dims);
            int ops2[2] = {y, ka};
            char mn[300];
            snprintf(mn, sizeof mn, "%s/scaled", name);
            if ((y = cv_emit(c, &m, ops2, cc >= 0 ? mn : name)) < 0) return -1;
        }
        if (cc < 0) return 0;
    }
    /* Y = product + beta * C, C not folded into the bias */
    int ck = cc;
    if (beta != 1.0f) {
        int64_t one = 1;
        char bn[300], sn[300];
        snprintf(bn, sizeof bn, "%s/beta", name);
        snprintf(sn, sizeof sn, "%s/betaC", name);
        int kb = cv_new_const(c, bn, KD_F32, 1, &one, &beta);
        if (kb < 0) return -1;
        kd_desc m = {.op = OP_MUL, .noperands = 2};
        cv_set_out(&m, c->syms[cc].rank, c->syms[cc].dims);
        int ops2[2] = {cc, kb};
        if ((ck = cv_emit(c, &m, ops2, sn)) < 0) return -1;
    }
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (cv_broadcast(c, &c->syms[y], &c->syms[ck], &rank, dims)) return -1;
    kd_desc ad = {.op = OP_ADD, .noperands = 2};
    cv_set_out(&ad, rank, dims);
    int ops3[2] = {y, ck};
    return cv_emit(c, &ad, ops3, name) < 0 ? -1 : 0;
}

int onnx_op_matmul(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    if (onnx_only_attrs(ox, none)) return -1;
    int a, b;
    if (onnx_in(ox, 0, &a) || onnx_in(ox, 1, &b)) return -1;
    if (a < 0 || b < 0) return cv_fail(c, "missing input");
    cv_sym *sa = &c->syms[a], *sb = &c->syms[b];
    if (sb->is_const && sb->rank == 2 && !sa->is_const) return cv_linear_const(c, a, b, 0, 1.0f, NULL, 0, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    if (sa->rank < 2 || sb->rank < 2) return cv_fail(c, "MatMul of a 1-D run-time operand is not supported");
    kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
    int rank = sa->rank > sb->rank ? sa->rank : sb->rank;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < rank - 2; i++) {
        int ia = i - (rank - sa->rank), ib = i - (rank - sb->rank);
        int64_t da = ia >= 0 ? sa->dims[ia] : 1, db = ib >= 0 ? sb->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return cv_fail(c, "batch dimensions do not broadcast");
        dims[i] = da == 1 ? db : da;
    }
    dims[rank - 2] = sa->dims[sa->rank - 2];
    dims[rank - 1] = sb->dims[sb->rank - 1];
    cv_set_out(&d, rank, dims);
    int ops[2] = {a, b};
    return cv_emit(c, &d, ops, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* ---- Einsum where it is a plain matrix product ---- */

/* The subscripts of an Einsum with its "..." spelled out: term[j] holds one letter per dim of
 * input j, out the output's. */
typedef struct einsum {
    int n;                              /* inputs: 1 or 2 */
    char term[2][KD_MAX_RANK + 1], out[KD_MAX_RANK + 1];
} einsum;

/* The letters of a term (any other character than "..." refused: -1) and whether it has "...". */
static int term_letters(const char *t, size_t len, int *dots) {
    int letters = 0;
    *dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (len - i >= 3 && !strncmp(t + i, "...", 3) && !*dots) *dots = 1, i += 2;
        else if ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')) letters++;
        else return -1;
    }
    return letters;
}

/* A term into dst with its "..." as the last k of the ellipsis letters ell (numpy aligns the
 * ellipsis dims right). Precondition: term_letters(t, len) >= 0. */
static void spell_out(const char *t, size_t len, int k, const char *ell, int nell, char *dst) {
    int at = 0;
    for (size_t i = 0; i < len; i++) {
        if (len - i >= 3 && !strncmp(t + i, "...", 3)) {
            for (int j = nell - k; j < nell; j++) dst[at++] = ell[j];
            i += 2;
        } else {
            dst[at++] = t[i];
        }
    }
    dst[at] = 0;
}

static int einsum_parse(onnx_ctx *ox, const int *ks, einsum *e) {
    conv *c = ox->c;
    const Onnx__AttributeProto *a = onnx_attr(ox, "equation");
    if (!a || !a->has_s || a->s.len == 0 || a->s.len > 200) return cv_fail(c, "no equation");
    char eq[201];
    size_t len = 0;
    for (size_t i = 0; i < a->s.len; i++)
        if (a->s.data[i] != ' ') eq[len++] = (char)a->s.data[i];
    eq[len] = 0;
    char *arrow = strstr(eq, "->"), *comma = strchr(eq, ',');
    size_t lhs = arrow ? (size_t)(arrow - eq) : len;
    e->n = comma && (size_t)(comma - eq) < lhs ? 2 : 1;
    if ((e->n == 2 && strchr(comma + 1, ',') && (size_t)(strchr(comma + 1, ',') - eq) < lhs) || (int)ox->cur->n_input != e->n)
        return cv_fail(c, "only Einsum of one or two inputs is supported, matching the equation");
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char ell[KD_MAX_RANK];
    int nell = 0, maxk = 0, dots;
    for (const char *p = pool; *p && nell < KD_MAX_RANK; p++)
        if (!memchr(eq, *p, len)) ell[nell++] = *p;
    size_t starts[2] = {0, e->n == 2 ? (size_t)(comma - eq) + 1 : 0}, ends[2] = {e->n == 2 ? (size_t)(comma - eq) : lhs, lhs};
    for (int j = 0; j < e->n; j++) {
        int rank = c->syms[ks[j]].rank, letters = term_letters(eq + starts[j], ends[j] - starts[j], &dots);
        int k = dots ? rank - letters : 0;
        if (letters < 0 || k < 0 || k > nell || letters + k != rank) return cv_fail(c, "subscripts do not fit input %d of rank %d", j, rank);
        spell_out(eq + starts[j], ends[j] - starts[j], k, ell, nell, e->term[j]);
        if (k > maxk) maxk = k;
    }
    if (arrow) {
        size_t olen = strlen(arrow + 2);
        int letters = term_letters(arrow + 2, olen, &dots);
        if (letters < 0 || letters + (dots ? maxk : 0) > KD_MAX_RANK) return cv_fail(c, "bad output subscripts");
        spell_out(arrow + 2, olen, dots ? maxk : 0, ell, nell, e->out);
    } else { /* implicit: the ellipsis, then the letters that appear once, in alphabetical order */
        int at = 0;
        for (int j = nell - maxk; j < nell; j++) e->out[at++] = ell[j];
        for (char l = 'A'; l <= 'z'; l++) {
            int cnt = 0;
            for (int j = 0; j < e->n; j++) cnt += strchr(e->term[j], l) != NULL;
            if (cnt == 1 && !memchr(ell, l, (size_t)nell) && at < KD_MAX_RANK) e->out[at++] = l;
        }
        e->out[at] = 0;
    }
    for (int j = 0; j <= e->n; j++) { /* a letter twice in one term is a diagonal: not a product */
        const char *t = j < e->n ? e->term[j] : e->out;
        for (const char *p = t; *p; p++)
            if (strchr(p + 1, *p)) return cv_fail(c, "repeated subscript '%c' (a diagonal) is not supported", *p);
    }
    for (const char *p = e->out; *p; p++)
        if (!strchr(e->term[0], *p) && (e->n < 2 || !strchr(e->term[1], *p))) return cv_fail(c, "output subscript '%c' is in no input", *p);
    return 0;
}

/* x with its dims permuted to the letters of `to` (a permutation of the letters of `from`),
 * emitted as `name` unless the order is already right. Returns the symbol. */
static int einsum_permute(onnx_ctx *ox, int x, const char *from, const char *to, const char *name) {
    conv *c = ox->c;
    int r = (int)strlen(to), same = 1;
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1};
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < r; i++) {
        d.ia[i] = (int32_t)(strchr(from, to[i]) - from);
        dims[i] = c->syms[x].dims[d.ia[i]];
        same &= d.ia[i] == i;
    }
    if (same) return x;
    cv_set_out(&d, r, dims);
    d.out.dtype = (uint8_t)c->syms[x].dtype;
    return cv_emit(c, &d, &x, name);
}

/* x reshaped (or a constant re-dimensioned) as `name`; returns the symbol. */
static int einsum_reshape(conv *c, int x, int rank, const int64_t *dims, const char *name) {
    return cv_reshape_to(c, x, rank, dims, name) ? -1 : cv_find(c, name);
}

/* Input j's letters in no other term are summed away first (ReduceSum); *t becomes the rest. */
static int einsum_sum_own(onnx_ctx *ox, const einsum *e, int j, int x, char *t) {
    conv *c = ox->c;
    const char *other = e->n == 2 ? e->term[1 - j] : "";
    int32_t mask = 0, rank = 0;
    int64_t dims[KD_MAX_RANK];
    char kept[KD_MAX_RANK + 1];
    for (int i = 0; e->term[j][i]; i++) {
        char l = e->term[j][i];
        if (!strchr(e->out, l) && !strchr(other, l)) mask |= 1 << i;
        else kept[rank] = l, dims[rank++] = c->syms[x].dims[i];
    }
    kept[rank] = 0;
    strcpy(t, kept);
    if (!mask) return x;
    char name[300];
    snprintf(name, sizeof name, "%s/sum%d", onnx_out_name(ox, 0), j);
    kd_desc d = {.op = OP_REDUCESUM, .noperands = 1, .ia = {mask}};
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, &x, name);
}

/* Einsum as a matrix product: each input's own letters summed (ReduceSum); then the letters of
 * both inputs and the output are batch dims, those of both inputs only are contracted (K), the
 * others are the rows (M, first input) and columns (N, second input). A is permuted to
 * [batch, M, K] and B to [batch, K, N], both reshaped to matrices, multiplied (a QLinear when B
 * is a constant without batch letters, else a QMatMul), reshaped to [batch, M, N] and permuted
 * to the output's order. One input: the sum, then a permutation. */
int onnx_op_einsum(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"equation", NULL};
    int ks[2] = {-1, -1};
    if (onnx_only_attrs(ox, known)) return -1;
    for (size_t j = 0; j < ox->cur->n_input && j < 2; j++)
        if (onnx_in(ox, j, &ks[j]) || ks[j] < 0) return ks[j] < 0 ? cv_fail(c, "missing input") : -1;
    einsum e;
    if (einsum_parse(ox, ks, &e)) return -1;
    const char *name = onnx_out_name(ox, 0);
    char t[2][KD_MAX_RANK + 1], nm[300];
    for (int j = 0; j < e.n; j++)
        if (cv_need_f32(c, ks[j]) || (ks[j] = einsum_sum_own(ox, &e, j, ks[j], t[j])) < 0) return -1;
    if (e.n == 1) {
        int y = einsum_permute(ox, ks[0], t[0], e.out, name);
        return y < 0 ? -1 : y == ks[0] ? (cv_alias(c, y, name) < 0 ? -1 : 0) : 0;
    }
    char bat[KD_MAX_RANK + 1] = "", mm[KD_MAX_RANK + 1] = "", nn[KD_MAX_RANK + 1] = "", kk[KD_MAX_RANK + 1] = "";
    int64_t m = 1, n = 1, k = 1, bdims[2][KD_MAX_RANK], mdims[KD_MAX_RANK], ndims[KD_MAX_RANK];
    int nb = 0, nm_ = 0, nn_ = 0;
    for (const char *p = e.out; *p; p++) {
        const char *ia = strchr(t[0], *p), *ib = strchr(t[1], *p);
        int64_t da = ia ? c->syms[ks[0]].dims[ia - t[0]] : 1, db = ib ? c->syms[ks[1]].dims[ib - t[1]] : 1;
        if (ia && ib) {
            if (da != db && da != 1 && db != 1) return cv_fail(c, "subscript '%c' has sizes %lld and %lld", *p, (long long)da, (long long)db);
            bdims[0][nb] = da, bdims[1][nb] = db, bat[nb++] = *p;
        } else if (ia) {
            mdims[nm_] = da, mm[nm_++] = *p, m *= da;
        } else {
            ndims[nn_] = db, nn[nn_++] = *p, n *= db;
        }
    }
    int nk = 0;
    for (const char *p = t[0]; *p; p++)
        if (!strchr(e.out, *p)) {
            int64_t da = c->syms[ks[0]].dims[p - t[0]], db = c->syms[ks[1]].dims[strchr(t[1], *p) - t[1]];
            if (da != db) return cv_fail(c, "contracted subscript '%c' has sizes %lld and %lld", *p, (long long)da, (long long)db);
            kk[nk++] = *p, k *= da;
        }
    char ta[3 * KD_MAX_RANK + 1], tb[3 * KD_MAX_RANK + 1]; /* each is one input's letters: at most KD_MAX_RANK */
    snprintf(ta, sizeof ta, "%s%s%s", bat, mm, kk), snprintf(tb, sizeof tb, "%s%s%s", bat, kk, nn);
    int64_t da[KD_MAX_RANK], db[KD_MAX_RANK], dy[KD_MAX_RANK];
    memcpy(da, bdims[0], (size_t)nb * 8), memcpy(db, bdims[1], (size_t)nb * 8);
    da[nb] = m, da[nb + 1] = k, db[nb] = k, db[nb + 1] = n;
    int a, b, y;
    snprintf(nm, sizeof nm, "%s/a", name);
    if ((a = einsum_permute(ox, ks[0], t[0], ta, nm)) < 0) return -1;
    snprintf(nm, sizeof nm, "%s/a_matrix", name);
    if ((a = einsum_reshape(c, a, nb + 2, da, nm)) < 0) return -1;
    snprintf(nm, sizeof nm, "%s/b", name);
    if ((b = einsum_permute(ox, ks[1], t[1], tb, nm)) < 0) return -1;
    snprintf(nm, sizeof nm, "%s/b_matrix", name);
    if ((b = einsum_reshape(c, b, nb + 2, db, nm)) < 0) return -1;
    snprintf(nm, sizeof nm, "%s/product", name);
    if (c->syms[b].is_const && nb == 0 && !c->syms[a].is_const) {
        if (cv_linear_const(c, a, b, 0, 1.0f, NULL, 0, nm) < 0) return -1;
        y = cv_find(c, nm);
    } else {
        kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
        for (int i = 0; i < nb; i++) dy[i] = da[i] > db[i] ? da[i] : db[i];
        dy[nb] = m, dy[nb + 1] = n;
        cv_set_out(&d, nb + 2, dy);
        int ops[2] = {a, b};
        if ((y = cv_emit(c, &d, ops, nm)) < 0) return -1;
    }
    for (int i = 0; i < nb; i++) dy[i] = c->syms[y].dims[i];
    memcpy(dy + nb, mdims, (size_t)nm_ * 8), memcpy(dy + nb + nm_, ndims, (size_t)nn_ * 8);
    char ty[3 * KD_MAX_RANK + 1];
    snprintf(ty, sizeof ty, "%s%s%s", bat, mm, nn);
    snprintf(nm, sizeof nm, "%s/unflat", name);
    if ((y = einsum_reshape(c, y, nb + nm_ + nn_, dy, nm)) < 0) return -1;
    int z = einsum_permute(ox, y, ty, e.out, name);
    return z < 0 ? -1 : z == y ? (cv_alias(c, y, name) < 0 ? -1 : 0) : 0;
}
