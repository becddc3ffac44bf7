/* kernel.h: the reference kernels of opml (docs/numerics.md) and the node
 * descriptor they read (docs/model-format.md, normative).
 *
 * Every operator has exactly one meaning, defined by the portable C in this directory. The same
 * sources are compiled for the host (the `ref` backend of the engine, and the element-wise ops of
 * every other backend) and for the RV32IM guest of the VM, which reads the descriptor from slot 1,
 * operand j from slot 3 + j and writes the output to slot 15. So these files use only <stdint.h>,
 * <stddef.h> and <string.h>: no libm, no allocation, no I/O. Working memory comes from the caller
 * as `scratch` (the guest's slot 2), sized by kernel_scratch_size().
 *
 * Layout of a descriptor (all integers little-endian, KD_BYTES bytes):
 *   0   u32 magic KD_MAGIC ("OPND")      4   u16 version KD_VERSION      6  u16 op
 *   8   u8  noperands (0..12)            9   u8[3] zero
 *   12  tensor: the output               40  tensor[12]: operands 0..11 (unused: dtype 0, rank 0)
 *   376 i32[16] integer attributes       440 f32[8] float attributes
 * tensor = u8 dtype, u8 rank (0..6), u16 zero, u32 dims[6] (dims past rank are 0): 28 bytes. */
#ifndef OPML_KERNEL_H
#define OPML_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#define KD_MAGIC 0x444E504Fu /* "OPND" read little-endian */
#define KD_VERSION 1
#define KD_BYTES 472
#define KD_MAX_RANK 6
#define KD_MAX_OPERANDS 12
#define KD_NIATTR 16
#define KD_NFATTR 8
#define KD_MAX_TENSOR_BYTES (1u << 28) /* one VM slot */
#define KD_MAX_K 131072                /* int32 accumulators cannot overflow: 127*127*K < 2^31 */

/* Element types. KD_I64: int64 (token ids, indices, ONNX's integer tensors); KD_BOOL: one byte per
 * element, 0 or 1 (a kernel reads any non-zero byte as true and writes only 0 and 1).
 * KD_Q8_0: GGUF's Q8_0 blocks. The dims count values (the last one a multiple of KD_Q8_BLOCK);
 * the bytes are numel / 32 blocks of KD_Q8_BYTES, each an fp16 scale d (little-endian) followed
 * by 32 int8 q, value i of the block being q[i] * d (docs/numerics.md, "Q8_0"); it has no element
 * size (kd_elsize 0), so the byte-moving kernels refuse it. */
enum kd_dtype { KD_NONE = 0, KD_F32 = 1, KD_I8 = 2, KD_I32 = 3, KD_Q8_0 = 4, KD_I64 = 5, KD_BOOL = 6 };
#define KD_Q8_BLOCK 32
#define KD_Q8_BYTES 34

/* Operator ids: stable, part of the descriptor (never renumber; 32 and up are the transformer
 * operators, docs/model-format.md gives each family's range). */
enum kd_op {
    OP_QLINEAR = 1,   /* X[..,K] . W[N,K]^T, int8 weights, per-row activations (Gemm, MatMul) */
    OP_QMATMUL = 2,   /* A[..,M,K] . B[..,K,N], both quantized at run time */
    OP_QCONV = 3,     /* 2-D convolution, int8 weights */
    OP_RELU = 4,
    OP_LEAKYRELU = 5,
    OP_SIGMOID = 6,
    OP_TANH = 7,
    OP_SOFTMAX = 8,
    OP_MAXPOOL = 9,
    OP_AVGPOOL = 10,
    OP_GLOBALAVGPOOL = 11,
    OP_ADD = 12,
    OP_SUB = 13,
    OP_MUL = 14,
    OP_DIV = 15,
    OP_RESHAPE = 16,  /* Flatten, Reshape, Squeeze, Unsqueeze: the bytes unchanged */
    OP_TRANSPOSE = 17,
    OP_CONCAT = 18,
    OP_CLIP = 19,
    OP_SLICE = 20,    /* strided slice; the pieces of a split multi-output operator */
    OP_LOGSOFTMAX = 21,
    OP_EXP = 22,
    OP_LOG = 23,
    OP_SQRT = 24,
    OP_NEG = 25,
    OP_ABS = 26,
    OP_REDUCESUM = 27, /* over the axes in the bit mask ia[0] */
    OP_REDUCEMEAN = 28,
    OP_REDUCEMAX = 29,
    OP_PAD = 30,       /* constant padding */
    /* transformer operators (LLaMA-class models) */
    OP_EMBEDDING = 32, /* token ids -> rows of an int8 table times the row's scale */
    OP_RMSNORM = 33,
    OP_ROPE = 34,      /* rotary position embedding from cos/sin tables */
    OP_KVAPPEND = 35,  /* the key/value cache with this step's rows written at pos */
    OP_ATTENTION = 36, /* causal self-attention over the cache, W8A8 scores, fp32 softmax */
    OP_SILU = 37,
    OP_ARGMAX = 38,
    OP_Q8LINEAR = 39,  /* X[..,K] . W[N,K]^T, Q8_0 weights, activations quantized per block of 32 */
    OP_SAMPLE = 40,    /* a generation's next token from the last row of logits (sample.h) */
    /* 41-63: GGUF models' operators to come */
    /* integer inputs, masks and transformer blocks of ONNX exports (64-95) */
    OP_GATHER = 64,    /* run-time Gather: data (any dtype) by int64/int32 indices along ia[0] */
    OP_CAST = 65,      /* between f32, i8, i32, i64 and bool */
    OP_EQUAL = 66,     /* -> bool, numpy broadcasting */
    OP_WHERE = 67,     /* cond bool ? X : Y, numpy broadcasting */
    OP_NOT = 68,       /* bool -> bool */
    OP_EXPAND = 69,    /* broadcast to a larger shape */
    OP_LAYERNORM = 70, /* over the dims from ia[0] on, eps fa[0] */
    OP_ERF = 71,
    OP_GELU = 72,      /* ia[0] 0 exact (erf), 1 tanh approximation */
    OP_POW = 73,       /* numpy broadcasting */
    /* the breadth operators of the ONNX importer (ids 96-159) */
    OP_SIN = 96, /* element-wise maps of math_unary.c (96-117) */
    OP_COS = 97,
    OP_TAN = 98,
    OP_ASIN = 99,
    OP_ACOS = 100,
    OP_ATAN = 101,
    OP_SINH = 102,
    OP_COSH = 103,
    OP_ASINH = 104,
    OP_ACOSH = 105,
    OP_ATANH = 106,
    OP_CEIL = 107,
    OP_FLOOR = 108,
    OP_ROUND = 109,
    OP_SIGN = 110,
    OP_SOFTPLUS = 111,
    OP_SOFTSIGN = 112,
    OP_ELU = 113,
    OP_SELU = 114,
    OP_CELU = 115,
    OP_THRESHOLDEDRELU = 116,
    OP_SHRINK = 117,
    OP_MIN = 118, /* broadcasting binary (minmax.c) */
    OP_MAX = 119,
    OP_PRELU = 120,
    OP_REDUCEMIN = 121,
    OP_REDUCEPROD = 122,
    OP_CUMSUM = 123,
    OP_HARDMAX = 124,
    OP_TAKE = 125, /* a gather by a constant flat index map */
    OP_AXISRESAMPLE = 126, /* a linear map along one axis (Resize, Upsample) */
    OP_QCONVTRANSPOSE = 127, /* 2-D transposed convolution, int8 weights */
    OP_LSTM = 128, /* the recurrent nets (recurrent.c): the whole sequence, W8A8 products */
    OP_GRU = 129,
    OP_RNN = 130,
    OP_ARGMINMAX = 131, /* ArgMax, ArgMin along any axis (i32 indices) */
    OP_MOD = 132,       /* fmod of floats, broadcasting */
    OP_DET = 133,
    OP_TOPK = 134,      /* the sorted top K values or their indices */
    OP_COMPARE = 135,   /* <, <=, >, >= -> bool (compare.c) */
    OP_LOGIC = 136,     /* and, or, xor of bools */
    OP_ISNANINF = 137,  /* IsNaN, IsInf -> bool */
    OP_MAX_ID = 137
};

typedef struct kd_tensor {
    uint8_t dtype; /* enum kd_dtype */
    uint8_t rank;
    uint32_t dims[KD_MAX_RANK];
} kd_tensor;

typedef struct kd_desc {
    uint16_t op;
    uint8_t noperands;
    kd_tensor out;
    kd_tensor in[KD_MAX_OPERANDS];
    int32_t ia[KD_NIATTR];
    float fa[KD_NFATTR];
} kd_desc;

/* Error codes of the kernels (negative; the guest exits with their absolute value). */
enum kd_err {
    KD_OK = 0,
    KD_EFORMAT = -1,  /* descriptor bytes malformed (magic, version, length, reserved bytes) */
    KD_EOP = -2,      /* unknown operator id */
    KD_ESHAPE = -3,   /* operand or output shapes/dtypes inconsistent with the operator */
    KD_EATTR = -4,    /* attribute out of range */
    KD_ESCRATCH = -5  /* scratch smaller than kernel_scratch_size() */
};

/* Parse and check the generic layout of a descriptor (not the operator's own rules).
 * Precondition: buf holds len bytes. Returns KD_OK or KD_EFORMAT. */
int kd_decode(const uint8_t *buf, size_t len, kd_desc *d);
/* Serialize d into exactly KD_BYTES bytes; zero-fills every reserved or unused field. */
void kd_encode(const kd_desc *d, uint8_t out[KD_BYTES]);

/* One 28-byte tensor record (dtype, rank, zero, dims[6]) as in the descriptor; decoding rejects
 * non-canonical bytes and tensors over KD_MAX_TENSOR_BYTES. */
int kd_decode_tensor(const uint8_t p[28], kd_tensor *t);
void kd_encode_tensor(uint8_t p[28], const kd_tensor *t);

/* Bytes of one element of this dtype (0 for KD_NONE and for an unknown dtype). */
unsigned kd_elsize(unsigned dtype);

/* 1 if a and b have the same dtype, rank and dims. */
int kd_same(const kd_tensor *a, const kd_tensor *b);

/* Number of elements of t (1 for rank 0), and its size in bytes (0 for KD_NONE; numel / 32 * 34
 * for KD_Q8_0). Both saturate at UINT64_MAX / 2 on absurd shapes; kd_decode rejects tensors over
 * KD_MAX_TENSOR_BYTES and Q8_0 tensors whose last dimension is not a multiple of 32. */
uint64_t kd_numel(const kd_tensor *t);
uint64_t kd_nbytes(const kd_tensor *t);

/* For a broadcasting matrix product (QMatMul) with output y: dim i (counted from y's left) of
 * operand t, 1 where t has no such dim; and the element offset in t of y's batch matrix idx. */
uint32_t kd_batch_dim(const kd_tensor *t, unsigned outrank, unsigned i);
size_t kd_batch_offset(const kd_tensor *t, const kd_tensor *y, size_t idx);

/* What an operator source (relu.c, ...) provides to the dispatcher (kernel.c's table). The
 * attribute masks make the descriptor canonical (docs/model-format.md): bit i of ia_used (fa_used)
 * set when the operator reads ia[i] (fa[i]); kernel_check refuses a non-zero unused slot (a float
 * slot must be +0.0 by its bits) and a NaN float attribute other than the canonical 0x7FC00000,
 * so that one node has one descriptor and one root. An operator whose used slots depend on the
 * rank (Transpose, Slice, Pad) checks the slots past the rank itself. */
typedef struct kernel_op {
    const char *name;
    int (*check)(const kd_desc *d);
    size_t (*scratch)(const kd_desc *d); /* NULL: none */
    void (*run)(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch);
    uint16_t ia_used;
    uint8_t fa_used;
} kernel_op;
/* Masks of the first n attribute slots. */
#define KD_IA(n) ((uint16_t)((1u << (n)) - 1u))
#define KD_FA(n) ((uint8_t)((1u << (n)) - 1u))

/* The operator's name ("QLinear", ...), or NULL for an unknown id. */
const char *kernel_op_name(unsigned op);

/* The operator's shape and attribute rules (and the attribute masks above): KD_OK or a negative
 * kd_err. */
int kernel_check(const kd_desc *d);

/* Scratch bytes the operator needs (after kernel_check succeeded). */
size_t kernel_scratch_size(const kd_desc *d);

/* Run one node on a decoded, checked descriptor. in[j] points at operand j's bytes (any
 * alignment of 4), out at room for kd_nbytes(&d->out) bytes, scratch at kernel_scratch_size(d)
 * bytes aligned to 4. Returns KD_OK or a negative kd_err. */
int kernel_exec(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch,
                size_t scratch_len);

/* The guest's and the ref backend's single entry point: decode, check, run. */
int kernel_run(const uint8_t *desc, size_t desc_len, const void *const in[KD_MAX_OPERANDS], void *out,
               void *scratch, size_t scratch_len);

#endif
