/* topk.c: OP_TOPK (134), ONNX's TopK with sorted output: x f32, K = the output's size along the
 * axis (1 <= K <= the input's); ia[0] axis, ia[1] 1 largest / 0 smallest, ia[2] 0 the values
 * (f32 output) / 1 their indices (i32 output). Along each line, output position r holds the best
 * element not yet taken, scanning j in order: j is better than the current pick when not taken
 * and (it is NaN and the pick is not, or, without NaN, larger for largest / smaller for smallest);
 * so ties keep index order and NaN counts as the largest (and, for smallest, as the last). */
#include "fmath.h"
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->rank != x->rank) return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)x->rank || (uint32_t)d->ia[1] > 1 || (uint32_t)d->ia[2] > 1) return KD_EATTR;
    if (y->dtype != (d->ia[2] ? KD_I32 : KD_F32)) return KD_ESHAPE;
    unsigned a = (unsigned)d->ia[0];
    for (unsigned i = 0; i < x->rank; i++)
        if (i == a ? y->dims[i] < 1 || y->dims[i] > x->dims[i] : y->dims[i] != x->dims[i]) return KD_ESHAPE;
    return KD_OK;
}

static size_t scratch(const kd_desc *d) { return d->in[0].dims[d->ia[0]]; }

static int better(float a, float b, int largest) {
    if (kf_isnan(a) || kf_isnan(b)) return largest ? kf_isnan(a) && !kf_isnan(b) : kf_isnan(b) && !kf_isnan(a);
    return largest ? a > b : a < b;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const float *x = in[0];
    uint8_t *taken = scr;
    const kd_tensor *t = &d->in[0];
    unsigned a = (unsigned)d->ia[0];
    int largest = d->ia[1], idx = d->ia[2];
    size_t outer = 1, len = t->dims[a], k = d->out.dims[a], inner = 1;
    for (unsigned i = 0; i < a; i++) outer *= t->dims[i];
    for (unsigned i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    for (size_t o = 0; o < outer; o++)
        for (size_t e = 0; e < inner; e++) {
            const float *xl = x + o * len * inner + e;
            memset(taken, 0, len);
            for (size_t r = 0; r < k; r++) {
                size_t pick = len;
                for (size_t j = 0; j < len; j++)
                    if (!taken[j] && (pick == len || better(xl[j * inner], xl[pick * inner], largest))) pick = j;
                taken[pick] = 1;
                size_t at = (o * k + r) * inner + e;
                if (idx) ((int32_t *)out)[at] = (int32_t)pick;
                else ((float *)out)[at] = kf_canon(xl[pick * inner]);
            }
        }
}

const kernel_op kop_topk = {"TopK", check, scratch, run, KD_IA(3), 0};
