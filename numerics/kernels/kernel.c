/* kernel.c: the operator table and the single entry point kernel_run() that the ref backend and
 * the RISC-V guest's dispatcher call (kernel.h). Each operator's kernel_op is defined in its
 * source (relu.c: kop_relu, ...). */
#include "kernel.h"

#include "fmath.h"

#define KERNEL_OP_DECL(sym) extern const kernel_op sym
KERNEL_OP_DECL(kop_qlinear);
KERNEL_OP_DECL(kop_qmatmul);
KERNEL_OP_DECL(kop_qconv);
KERNEL_OP_DECL(kop_relu);
KERNEL_OP_DECL(kop_leakyrelu);
KERNEL_OP_DECL(kop_sigmoid);
KERNEL_OP_DECL(kop_tanh);
KERNEL_OP_DECL(kop_softmax);
KERNEL_OP_DECL(kop_maxpool);
KERNEL_OP_DECL(kop_avgpool);
KERNEL_OP_DECL(kop_globalavgpool);
KERNEL_OP_DECL(kop_add);
KERNEL_OP_DECL(kop_sub);
KERNEL_OP_DECL(kop_mul);
KERNEL_OP_DECL(kop_div);
KERNEL_OP_DECL(kop_reshape);
KERNEL_OP_DECL(kop_transpose);
KERNEL_OP_DECL(kop_concat);
KERNEL_OP_DECL(kop_clip);
KERNEL_OP_DECL(kop_slice);
KERNEL_OP_DECL(kop_logsoftmax);
KERNEL_OP_DECL(kop_exp);
KERNEL_OP_DECL(kop_log);
KERNEL_OP_DECL(kop_sqrt);
KERNEL_OP_DECL(kop_neg);
KERNEL_OP_DECL(kop_abs);
KERNEL_OP_DECL(kop_reducesum);
KERNEL_OP_DECL(kop_reducemean);
KERNEL_OP_DECL(kop_reducemax);
KERNEL_OP_DECL(kop_pad);
KERNEL_OP_DECL(kop_embedding);
KERNEL_OP_DECL(kop_rmsnorm);
KERNEL_OP_DECL(kop_rope);
KERNEL_OP_DECL(kop_kvappend);
KERNEL_OP_DECL(kop_attention);
KERNEL_OP_DECL(kop_silu);
KERNEL_OP_DECL(kop_argmax);
KERNEL_OP_DECL(kop_q8linear);
KERNEL_OP_DECL(kop_sample);
KERNEL_OP_DECL(kop_gather);
KERNEL_OP_DECL(kop_cast);
KERNEL_OP_DECL(kop_equal);
KERNEL_OP_DECL(kop_where);
KERNEL_OP_DECL(kop_not);
KERNEL_OP_DECL(kop_expand);
KERNEL_OP_DECL(kop_layernorm);
KERNEL_OP_DECL(kop_erf);
KERNEL_OP_DECL(kop_gelu);
KERNEL_OP_DECL(kop_pow);
KERNEL_OP_DECL(kop_sin);
KERNEL_OP_DECL(kop_cos);
KERNEL_OP_DECL(kop_tan);
KERNEL_OP_DECL(kop_asin);
KERNEL_OP_DECL(kop_acos);
KERNEL_OP_DECL(kop_atan);
KERNEL_OP_DECL(kop_sinh);
KERNEL_OP_DECL(kop_cosh);
KERNEL_OP_DECL(kop_asinh);
KERNEL_OP_DECL(kop_acosh);
KERNEL_OP_DECL(kop_atanh);
KERNEL_OP_DECL(kop_ceil);
KERNEL_OP_DECL(kop_floor);
KERNEL_OP_DECL(kop_round);
KERNEL_OP_DECL(kop_sign);
KERNEL_OP_DECL(kop_softplus);
KERNEL_OP_DECL(kop_softsign);
KERNEL_OP_DECL(kop_elu);
KERNEL_OP_DECL(kop_selu);
KERNEL_OP_DECL(kop_celu);
KERNEL_OP_DECL(kop_thresholdedrelu);
KERNEL_OP_DECL(kop_shrink);
KERNEL_OP_DECL(kop_min);
KERNEL_OP_DECL(kop_max);
KERNEL_OP_DECL(kop_prelu);
KERNEL_OP_DECL(kop_reducemin);
KERNEL_OP_DECL(kop_reduceprod);
KERNEL_OP_DECL(kop_cumsum);
KERNEL_OP_DECL(kop_hardmax);
KERNEL_OP_DECL(kop_take);
KERNEL_OP_DECL(kop_axisresample);
KERNEL_OP_DECL(kop_qconvtranspose);
KERNEL_OP_DECL(kop_lstm);
KERNEL_OP_DECL(kop_gru);
KERNEL_OP_DECL(kop_rnn);
KERNEL_OP_DECL(kop_argminmax);
KERNEL_OP_DECL(kop_mod);
KERNEL_OP_DECL(kop_det);
KERNEL_OP_DECL(kop_topk);
KERNEL_OP_DECL(kop_compare);
KERNEL_OP_DECL(kop_logic);
KERNEL_OP_DECL(kop_isnaninf);

static const kernel_op *const table[OP_MAX_ID + 1] = {
    [OP_QLINEAR] = &kop_qlinear,     [OP_QMATMUL] = &kop_qmatmul, [OP_QCONV] = &kop_qconv,
    [OP_RELU] = &kop_relu,           [OP_LEAKYRELU] = &kop_leakyrelu, [OP_SIGMOID] = &kop_sigmoid,
    [OP_TANH] = &kop_tanh,           [OP_SOFTMAX] = &kop_softmax, [OP_MAXPOOL] = &kop_maxpool,
    [OP_AVGPOOL] = &kop_avgpool,     [OP_GLOBALAVGPOOL] = &kop_globalavgpool,
    [OP_ADD] = &kop_add,             [OP_SUB] = &kop_sub,         [OP_MUL] = &kop_mul,
    [OP_DIV] = &kop_div,             [OP_RESHAPE] = &kop_reshape, [OP_TRANSPOSE] = &kop_transpose,
    [OP_CONCAT] = &kop_concat,       [OP_CLIP] = &kop_clip,       [OP_SLICE] = &kop_slice,
    [OP_LOGSOFTMAX] = &kop_logsoftmax, [OP_EXP] = &kop_exp,     [OP_LOG] = &kop_log,
    [OP_SQRT] = &kop_sqrt,           [OP_NEG] = &kop_neg,         [OP_ABS] = &kop_abs,
    [OP_REDUCESUM] = &kop_reducesum, [OP_REDUCEMEAN] = &kop_reducemean, [OP_REDUCEMAX] = &kop_reducemax,
    [OP_PAD] = &kop_pad,
    [OP_EMBEDDING] = &kop_embedding, [OP_RMSNORM] = &kop_rmsnorm, [OP_ROPE] = &kop_rope,
    [OP_KVAPPEND] = &kop_kvappend,   [OP_ATTENTION] = &kop_attention, [OP_SILU] = &kop_silu,
    [OP_ARGMAX] = &kop_argmax,       [OP_Q8LINEAR] = &kop_q8linear, [OP_SAMPLE] = &kop_sample,
    [OP_GATHER] = &kop_gather,       [OP_CAST] = &kop_cast,       [OP_EQUAL] = &kop_equal,
    [OP_WHERE] = &kop_where,         [OP_NOT] = &kop_not,         [OP_EXPAND] = &kop_expand,
    [OP_LAYERNORM] = &kop_layernorm, [OP_ERF] = &kop_erf,         [OP_GELU] = &kop_gelu,
    [OP_POW] = &kop_pow,
    [OP_SIN] = &kop_sin, [OP_COS] = &kop_cos, [OP_TAN] = &kop_tan, [OP_ASIN] = &kop_asin,
    [OP_ACOS] = &kop_acos, [OP_ATAN] = &kop_atan, [OP_SINH] = &kop_sinh, [OP_COSH] = &kop_cosh,
    [OP_ASINH] = &kop_asinh, [OP_ACOSH] = &kop_acosh, [OP_ATANH] = &kop_atanh, [OP_CEIL] = &kop_ceil,
    [OP_FLOOR] = &kop_floor, [OP_ROUND] = &kop_round, [OP_SIGN] = &kop_sign, [OP_SOFTPLUS] = &kop_softplus,
    [OP_SOFTSIGN] = &kop_softsign, [OP_ELU] = &kop_elu, [OP_SELU] = &kop_selu, [OP_CELU] = &kop_celu,
    [OP_THRESHOLDEDRELU] = &kop_thresholdedrelu, [OP_SHRINK] = &kop_shrink, [OP_MIN] = &kop_min,
    [OP_MAX] = &kop_max, [OP_PRELU] = &kop_prelu, [OP_REDUCEMIN] = &kop_reducemin,
    [OP_REDUCEPROD] = &kop_reduceprod, [OP_CUMSUM] = &kop_cumsum, [OP_HARDMAX] = &kop_hardmax,
    [OP_TAKE] = &kop_take, [OP_AXISRESAMPLE] = &kop_axisresample,
    [OP_QCONVTRANSPOSE] = &kop_qconvtranspose, [OP_LSTM] = &kop_lstm, [OP_GRU] = &kop_gru, [OP_RNN] = &kop_rnn,
    [OP_ARGMINMAX] = &kop_argminmax, [OP_MOD] = &kop_mod, [OP_DET] = &kop_det, [OP_TOPK] = &kop_topk,
    [OP_COMPARE] = &kop_compare, [OP_LOGIC] = &kop_logic, [OP_ISNANINF] = &kop_isnaninf,
};

static const kernel_op *lookup(unsigned op) { return op <= OP_MAX_ID ? table[op] : NULL; }

const char *kernel_op_name(unsigned op) {
    const kernel_op *k = lookup(op);
    return k ? k->name : NULL;
}

/* Unused attribute slots zero, float attributes free of non-canonical NaNs (kernel.h). */
static int attrs_canonical(const kernel_op *k, const kd_desc *d) {
    for (unsigned i = 0; i < KD_NIATTR; i++)
        if (d->ia[i] && !(k->ia_used >> i & 1)) return KD_EATTR;
    for (unsigned i = 0; i < KD_NFATTR; i++) {
        uint32_t u = kf_bits(d->fa[i]);
        if ((!(k->fa_used >> i & 1) && u) || (kf_isnan(d->fa[i]) && u != KF_CANON_NAN)) return KD_EATTR;
    }
    return KD_OK;
}

int kernel_check(const kd_desc *d) {
    const kernel_op *k = lookup(d->op);
    if (!k) return KD_EOP;
    int r = attrs_canonical(k, d);
    return r ? r : k->check(d);
}

size_t kernel_scratch_size(const kd_desc *d) {
    const kernel_op *k = lookup(d->op);
    return k && k->scratch ? k->scratch(d) : 0;
}

int kernel_exec(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch,
                size_t scratch_len) {
    int r = kernel_check(d);
    if (r) return r;
    if (kernel_scratch_size(d) > scratch_len) return KD_ESCRATCH;
    lookup(d->op)->run(d, in, out, scratch);
    return KD_OK;
}

int kernel_run(const uint8_t *desc, size_t desc_len, const void *const in[KD_MAX_OPERANDS], void *out,
               void *scratch, size_t scratch_len) {
    kd_desc d;
    int r = kd_decode(desc, desc_len, &d);
    if (r) return r;
    return kernel_exec(&d, in, out, scratch, scratch_len);
}
