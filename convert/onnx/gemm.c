/* gemm.c: ONNX's matrix products (onnx_lower.h): Gemm and MatMul. A product with constant
 * weights is a QLinear (int8 weights, its bias folded in); one of two run-time operands a QMatMul,
 * with alpha, beta and C as Mul and Add nodes where they cannot be folded. */
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
