/* onnx_lower.h: inside the ONNX importer. The reader (reader.c) walks the graph's nodes and calls
 * each node's lowering function from the dispatch table (operator name -> function); the
 * lowerings are grouped by family, one file each: elementwise.c (unary, binary, Clip, HardSigmoid,
 * HardSwish, Erf, Gelu, Pow, Reciprocal, Mod, the breadth's unary maps, the variadic Sum, Mean,
 * Max, Min), shape.c (Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Pad,
 * Shape, Size, Gather, Cast, Constant, Identity), mask.c (Equal, Not, Where, Expand,
 * ConstantOfShape, Range), conv_pool.c (Conv, ConvTranspose, MaxPool, AveragePool,
 * GlobalAveragePool, GlobalMaxPool), gemm.c (Gemm, MatMul, Einsum), reduce.c (the Reduce*
 * operators, CumSum, ArgMax, ArgMin, TopK, Det), norm.c (Softmax, LogSoftmax, Hardmax,
 * BatchNormalization, LayerNormalization, InstanceNormalization, MeanVarianceNormalization, LRN),
 * gather.c (data movement by constant index maps), resize.c (Resize, Upsample), recurrent.c
 * (LSTM, GRU, RNN), loss.c (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss). Every lowering
 * emits through lower.h; an attribute it does not handle is refused, never ignored. */
#ifndef OPML_ONNX_LOWER_H
#define OPML_ONNX_LOWER_H

#include <stddef.h>
#include <stdint.h>

#include "lower.h"
#include "onnx.pb-c.h"

/* The ONNX side of a conversion: the graph, the node being lowered, the opset. */
typedef struct onnx_ctx {
    conv *c;
    const Onnx__GraphProto *g;
    const Onnx__NodeProto *cur;
    int64_t opset;
    int as1d; /* the current Conv or pool is 1-D, run as 2-D with height 1 */
} onnx_ctx;

/* A lowering: the current node into symbols and nodes; arg is the table's (a kernel operator for
 * families, a variant flag, or unused). Returns 0 or -1 with the reason in the conversion. */
typedef int (*onnx_lower_fn)(onnx_ctx *ox, unsigned arg);

/* ---- the current node's attributes, inputs and outputs (reader.c) ---- */
const Onnx__AttributeProto *onnx_attr(onnx_ctx *ox, const char *name);
int64_t onnx_attr_i(onnx_ctx *ox, const char *name, int64_t def);
float onnx_attr_f(onnx_ctx *ox, const char *name, float def);
/* ints attribute into out[max]; returns the count, or -1 (absent), -2 (too many) */
int onnx_attr_ints(onnx_ctx *ox, const char *name, int64_t *out, int max);
/* a string attribute (at most 63 bytes, in a static buffer), or def */
const char *onnx_attr_s(onnx_ctx *ox, const char *name, const char *def);
/* Every attribute of the node must be in the NULL-terminated known list. */
int onnx_only_attrs(onnx_ctx *ox, const char *const *known);
/* Input i of the current node: its symbol in *k, or -1 when absent (optional input left empty). */
int onnx_in(onnx_ctx *ox, size_t i, int *k);
/* The start of most lowerings: every attribute in the NULL-terminated known list, and input 0
 * present (its symbol in *x; "missing input" when it is absent or undefined). Returns 0 or -1. */
int onnx_first_input(onnx_ctx *ox, const char *const *known, int *x);
const char *onnx_out_name(onnx_ctx *ox, size_t i);
/* Only output 0 may be used (a second output such as MaxPool's Indices is an error). */
int onnx_single_output(onnx_ctx *ox);
/* How many node inputs and graph outputs name this tensor. */
int onnx_consumers(onnx_ctx *ox, const char *name);
/* The model dtype of an ONNX element type (float32, int64, int32, int8, bool), or 0 for one the
 * kernels do not have. */
int onnx_dtype(int64_t elem_type);
/* ints from a constant input or an attribute (Slice before opset 10); *n -1 when neither */
int onnx_ints_of(onnx_ctx *ox, size_t input, const char *attrname, int64_t *out, int *n);

/* ---- the lowerings, by family ---- */
int onnx_op_unary(onnx_ctx *ox, unsigned op);
int onnx_op_hard(onnx_ctx *ox, unsigned swish);
int onnx_op_clip(onnx_ctx *ox, unsigned arg);
int onnx_op_binary(onnx_ctx *ox, unsigned op);
int onnx_op_variadic(onnx_ctx *ox, unsigned op); /* op: OP_ADD (Sum), OP_DIV (Mean), OP_MAX, OP_MIN */
int onnx_op_mod(onnx_ctx *ox, unsigned arg);
int onnx_op_gelu(onnx_ctx *ox, unsigned arg);
int onnx_op_reciprocal(onnx_ctx *ox, unsigned arg);

int onnx_op_flatten(onnx_ctx *ox, unsigned arg);
int onnx_op_reshape(onnx_ctx *ox, unsigned arg);
int onnx_op_squeeze(onnx_ctx *ox, unsigned unsqueeze);
int onnx_op_transpose(onnx_ctx *ox, unsigned arg);
int onnx_op_concat(onnx_ctx *ox, unsigned arg);
int onnx_op_split(onnx_ctx *ox, unsigned arg);
int onnx_op_slice(onnx_ctx *ox, unsigned arg);
int onnx_op_pad(onnx_ctx *ox, unsigned arg);
int onnx_op_shape(onnx_ctx *ox, unsigned arg);
int onnx_op_size(onnx_ctx *ox, unsigned arg);
int onnx_op_gather(onnx_ctx *ox, unsigned arg);
int onnx_op_cast(onnx_ctx *ox, unsigned arg);
int onnx_op_constant(onnx_ctx *ox, unsigned arg);
int onnx_op_identity(onnx_ctx *ox, unsigned arg);

int onnx_op_equal(onnx_ctx *ox, unsigned arg);
int onnx_op_not(onnx_ctx *ox, unsigned arg);
int onnx_op_where(onnx_ctx *ox, unsigned arg);
int onnx_op_expand(onnx_ctx *ox, unsigned arg);
int onnx_op_constant_of_shape(onnx_ctx *ox, unsigned arg);
int onnx_op_range(onnx_ctx *ox, unsigned arg);

int onnx_op_pool(onnx_ctx *ox, unsigned op);
int onnx_op_gap(onnx_ctx *ox, unsigned arg);
int onnx_op_conv(onnx_ctx *ox, unsigned arg);
int onnx_op_gmp(onnx_ctx *ox, unsigned arg);
int onnx_op_convtranspose(onnx_ctx *ox, unsigned arg);

int onnx_op_gemm(onnx_ctx *ox, unsigned arg);
int onnx_op_matmul(onnx_ctx *ox, unsigned arg);
int onnx_op_einsum(onnx_ctx *ox, unsigned arg);

int onnx_op_reduce(onnx_ctx *ox, unsigned op);
enum { ONNX_REDUCE_L1, ONNX_REDUCE_L2, ONNX_REDUCE_SUMSQUARE, ONNX_REDUCE_LOGSUM, ONNX_REDUCE_LOGSUMEXP };
int onnx_op_reduce_composite(onnx_ctx *ox, unsigned which);
int onnx_op_cumsum(onnx_ctx *ox, unsigned arg);
int onnx_op_argminmax(onnx_ctx *ox, unsigned min);
int onnx_op_topk(onnx_ctx *ox, unsigned arg);
int onnx_op_det(onnx_ctx *ox, unsigned arg);

/* y = Take(x, map) of shape dims (numel(dims) map entries, taken over and freed), named `name`.
 * Returns the symbol or -1. */
int onnx_take(conv *c, int x, int32_t *map, int rank, const int64_t *dims, const char *name);
int onnx_op_tile(onnx_ctx *ox, unsigned arg);
int onnx_op_trilu(onnx_ctx *ox, unsigned arg);
int onnx_op_gather_elements(onnx_ctx *ox, unsigned arg);
int onnx_op_gather_nd(onnx_ctx *ox, unsigned arg);
int onnx_op_compress(onnx_ctx *ox, unsigned arg);
int onnx_op_scatter_elements(onnx_ctx *ox, unsigned arg);
int onnx_op_scatter_nd(onnx_ctx *ox, unsigned arg);
int onnx_op_maxunpool(onnx_ctx *ox, unsigned arg);
int onnx_op_reverse_sequence(onnx_ctx *ox, unsigned arg);
int onnx_op_depth_space(onnx_ctx *ox, unsigned to_space);

int onnx_op_resize(onnx_ctx *ox, unsigned arg);
int onnx_op_upsample(onnx_ctx *ox, unsigned arg);

int onnx_op_recurrent(onnx_ctx *ox, unsigned op); /* OP_LSTM, OP_GRU, OP_RNN */
int onnx_op_nll(onnx_ctx *ox, unsigned arg);
int onnx_op_sce(onnx_ctx *ox, unsigned arg);

int onnx_op_softmax(onnx_ctx *ox, unsigned op);
int onnx_op_batchnorm(onnx_ctx *ox, unsigned arg);
int onnx_op_instancenorm(onnx_ctx *ox, unsigned arg);
int onnx_op_mvn(onnx_ctx *ox, unsigned arg);
int onnx_op_lrn(onnx_ctx *ox, unsigned arg);
int onnx_op_layernorm(onnx_ctx *ox, unsigned arg);

/* fuse.c: the decomposed LayerNorm or GELU chain starting at node n lowered to one node, its
 * other nodes marked in skip[]; 1 fused, 0 not such a chain (lower n alone), -1 error. */
int onnx_fuse(onnx_ctx *ox, size_t n, uint8_t *skip);

/* mask.c's operand helpers, shared with compare.c: the broadcast shape of n symbols (numpy) into
 * *rank and dims; operands a and b to one dtype (a constant takes the other's, two run-time values
 * must agree). Return 0 or -1. */
int broadcast_n(conv *c, const int *ks, int n, int *rank, int64_t *dims);
int same_dtype(conv *c, int *a, int *b);
/* compare.c: Less, LessOrEqual, Greater, GreaterOrEqual (arg the relation), And, Or, Xor, IsNaN,
 * IsInf. */
int onnx_op_compare(onnx_ctx *ox, unsigned rel);
int onnx_op_logic(onnx_ctx *ox, unsigned op);
int onnx_op_isnaninf(onnx_ctx *ox, unsigned inf);

/* A constant from a TensorProto (reader.c; Constant's `value`). Returns the symbol or -1. */
int onnx_tensor_const(conv *c, const char *name, const Onnx__TensorProto *t);

#endif
