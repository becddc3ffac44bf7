/* lower.h: what every importer lowers its graph with (lower.c): the model under conversion.
 *
 * An importer walks its graph in topological order, keeping a symbol per tensor name: either a
 * constant (data known now, of any model dtype) or a graph value (a model input or the output of
 * an emitted node, with its static dtype and shape). A node whose operands are all constant is
 * evaluated now (by the reference kernels themselves; int64 shape arithmetic is the importer's)
 * and becomes a constant; any other node is emitted. Quantized products (QLinear,
 * QConv) keep float weights until cv_finish, so that a following normalization can still be
 * folded into them; cv_finish then quantizes them per output channel with the kernels' own rule
 * (quant.h), commits the model and writes the file.
 *
 * Every function returns -1 on failure with the reason in the conversion's err, prefixed by the
 * source node (at_name, at_op) while at_node is set. */
#ifndef OPML_CONVERT_LOWER_H
#define OPML_CONVERT_LOWER_H

#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

#define CV_I64 KD_I64 /* int64: shape arithmetic, token ids, indices */
/* The most elements of any tensor under conversion: a model tensor holds at most
 * KD_MAX_TENSOR_BYTES of 4-byte elements. Shapes are checked against it before anything is
 * allocated from them. */
#define CV_MAX_NUMEL ((int)(KD_MAX_TENSOR_BYTES / 4))

typedef struct cv_sym {
    char *name;
    int is_const, dtype, rank; /* dtype: a kd_dtype (KD_F32, KD_I64, KD_I32, KD_I8, KD_BOOL) */
    int64_t dims[KD_MAX_RANK];
    float *f;      /* float32 constant data (owned) */
    int64_t *i;    /* constant data of the other dtypes, each value widened to int64 (owned) */
    uint32_t value; /* value id when not constant */
    int producer;  /* emitted node producing the value, or -1 */
    int weight;    /* weight index once the constant is a model weight, else -1 */
} cv_sym;

typedef struct cv_node {
    kd_desc d;
    int opsym[KD_MAX_OPERANDS]; /* operand j's symbol; for a quantized op operands 1..3 are built */
    int quant;                  /* QLinear/QConv: float weights below, quantized when finishing */
    float *wf, *bias;           /* [rows x rowlen] float weights, [rows] bias or NULL (owned) */
    size_t rows, rowlen;
} cv_node;

/* The model under conversion. Zero-initialize, then set err/errlen and batch. */
typedef struct conv {
    cv_sym *syms;
    size_t nsyms, capsyms;
    cv_node *nodes;
    size_t nnodes, capnodes;
    kd_tensor inputs[64];
    uint32_t nin;
    uint32_t batch;             /* value for every symbolic input dimension */
    int at_node;                /* a source node is being lowered: errors name it */
    const char *at_name, *at_op; /* its name and operator (either may be NULL) */
    char *err;
    size_t errlen;
} conv;

/* Writes the printf-style reason to c->err (with the node when at_node) and returns -1. */
int cv_fail(conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t cv_numel(const cv_sym *s);
/* The latest symbol of this name, or -1. */
int cv_find(conv *c, const char *name);
int cv_new_sym(conv *c, const char *name);
int cv_set_dims(conv *c, cv_sym *s, int rank, const int64_t *dims);
/* Bytes per element of a constant's data as a symbol holds it: 4 (floats) for KD_F32, 8 (int64
 * values) for every other dtype. */
size_t cv_held_size(int dtype);
/* A constant of dtype with a copy of data: floats for KD_F32, int64 values for the others. */
int cv_new_const(conv *c, const char *name, int dtype, int rank, const int64_t *dims, const void *data);
/* Constant s's data in the kernels' layout of its dtype (malloc'd, the caller frees; NULL when
 * out of memory), and a constant made from such bytes. */
void *cv_const_bytes(const cv_sym *s);
int cv_const_from_bytes(conv *c, const char *name, int dtype, int rank, const int64_t *dims, const void *bytes);
/* Symbol k as dtype: k itself when it has that dtype, else a constant converted by the Cast
 * kernel (a constant only: a run-time value of another dtype is an error). Returns the symbol. */
int cv_as_dtype(conv *c, int k, int dtype);
/* An int32 constant (the index maps and taps of Take and AxisResample). */
int cv_i32_const(conv *c, const char *name, int rank, const int64_t *dims, const int32_t *data);
/* A scalar float constant. */
int cv_scalar(conv *c, const char *name, float v);
kd_tensor cv_tensor(const cv_sym *s);
int cv_need_f32(conv *c, int k);
int cv_push_node(conv *c, const kd_desc *d, const int *ops, const char *name);
/* Output `name` of node d on operand symbols ops: folded now when all are constant, else emitted.
 * d->out.dtype 0 means float32. Returns the symbol or -1. */
int cv_emit(conv *c, kd_desc *d, const int *ops, const char *name);
void cv_set_out(kd_desc *d, int rank, const int64_t *dims);
/* "base/suffix" in buf: the name of a tensor a lowering makes on the way to its output. */
#define CV_NAME 300
const char *cv_subname(char buf[CV_NAME], const char *base, const char *suffix);
/* Emitted (or folded) nodes without attributes: op of x's shape; op of a and b broadcast; and a
 * reduction op over the axes in mask (keep: the reduced dims stay as 1). Return the symbol or -1. */
int cv_unary(conv *c, unsigned op, int x, const char *name);
int cv_binary(conv *c, unsigned op, int a, int b, const char *name);
int cv_reduce(conv *c, unsigned op, int x, uint32_t mask, int keep, const char *name);
int cv_emit_quant(conv *c, kd_desc *d, int x, float *w, size_t rows, size_t rowlen, float *bias, const char *name);
/* A second name for symbol k (constant data copied). Returns the new symbol. */
int cv_alias(conv *c, int k, const char *name);
/* axis in [-rank, rank) made non-negative into *out. */
int cv_norm_axis(conv *c, int64_t axis, int rank, int64_t *out);
int cv_broadcast(conv *c, const cv_sym *a, const cv_sym *b, int *rank, int64_t *dims);
/* x re-dimensioned (a constant) or reshaped by a node, as `name`. Returns 0 or -1. */
int cv_reshape_to(conv *c, int x, int rank, const int64_t *dims, const char *name);
int cv_emit_slice(conv *c, int x, const int64_t *start, const int64_t *step, const int64_t *dims, const char *name);
int cv_linear_const(conv *c, int x, int bsym, int wt, float alpha, const float *bias, int64_t nb, const char *name);

/* The model whose output is symbol out_sym, quantized, committed and written to *out (malloc'd),
 * recording input_divisor (convert.h). */
int cv_finish(conv *c, int out_sym, float input_divisor, uint8_t **out, size_t *out_len);
void cv_free(conv *c);

#endif
