/* model.h: the opml model file (docs/model-format.md) and the commitments over it
 * (docs/commitments.md, normative): node leaves, the model root, the state depth and the graph
 * states State_s. The contracts' test vectors are produced from these functions.
 *
 * File layout, all integers little-endian:
 *   0   "OPMLMDL1"            8  u32 nin       12 u32 n          16 u32 nweights
 *   20  u32 outputValue       24 f32 inputDivisor (an IDX byte b becomes b / inputDivisor; 0: none)
 *   28  u32 zero
 *   32  nin input tensors (28-byte records, kernel.h)
 *       nweights weights: tensor record (28) ++ u64 offset of its bytes from the blob's start
 *       n nodes: descriptor (KD_BYTES) ++ u16 inputMask ++ u16 zero ++ u32 ref[12]
 *   blob: at the first multiple of 64 after the tables; each weight's bytes at a multiple of 64;
 *         the file ends with the last weight's bytes, or with a metadata section:
 *   meta: (optional) at the next multiple of 64 (zero padding), "OPMLMETA", u64 length L, then L
 *         bytes of a GGUF file (version 2 or 3) with key/values and no tensors: text, vocabulary
 *         and hyperparameters of an imported model. The model root does not cover it.
 * ref[j] is a value id (bit j of inputMask set), a weight index, or 0xFFFFFFFF past noperands. */
#ifndef OPML_MODEL_H
#define OPML_MODEL_H

#include <stddef.h>

#include "errmsg.h"
#include <stdint.h>
#include <stdio.h>

#include "kernel.h"

#define OPML_MODEL_MAGIC "OPMLMDL1"
#define OPML_REF_NONE 0xFFFFFFFFu
#define OPML_MAX_NODES (1u << 24)
#define OPML_MAX_WEIGHTS (1u << 24)
#define OPML_META_MAGIC "OPMLMETA"
#define OPML_META_HEADER 16 /* magic and u64 length */
#define OPML_MODEL_NO_ROOTS 1u /* opml_model_map flag: no roots (see there) */

struct gguf_file;
typedef struct opml_weight {
    kd_tensor t;
    const uint8_t *data; /* kd_nbytes(&t) bytes */
    uint8_t root[32];    /* tensor root, filled by opml_model_parse / opml_model_commit */
} opml_weight;

typedef struct opml_node {
    kd_desc d;
    uint8_t desc[KD_BYTES]; /* the encoded descriptor: what the guest reads in slot 1 */
    uint16_t input_mask;
    uint32_t ref[KD_MAX_OPERANDS];
    uint8_t desc_root[32], leaf[32];
} opml_node;

typedef struct opml_model {
    uint32_t nin, n, nweights, output_value;
    float input_divisor;
    kd_tensor *inputs;     /* nin */
    opml_weight *weights;  /* nweights */
    opml_node *nodes;      /* n */
    kd_tensor *values;     /* nin + n: inputs then each node's output */
    unsigned state_depth;  /* D of docs/commitments.md */
    uint8_t root[32];      /* the model root (over the graph and its input and output byte lengths) */
    uint8_t *file;         /* owned bytes when parsed (weights point into it), else NULL */
    size_t file_len;
    int mapped;            /* file is a read-only mapping (opml_model_map), else malloc'd */
    int has_roots;         /* the roots above were computed (not with OPML_MODEL_NO_ROOTS) */
    const uint8_t *meta;   /* the metadata section's GGUF bytes (in file, or the writer's), or NULL */
    size_t meta_len;
} opml_model;

/* Parse and fully check a model file held in buf (copied; the model owns its copy), computing
 * every root. Returns 0, or -1 with a message in err naming what is wrong. */
int opml_model_parse(const uint8_t *buf, size_t len, opml_model *m, char *err, size_t errlen);
int opml_model_load(const char *path, opml_model *m, char *err, size_t errlen);
/* The file at path mapped read-only and parsed in place: the weights are used from the mapping
 * (no copy; pages are read as nodes touch them). flags: OPML_MODEL_NO_ROOTS skips hashing the
 * weights and computes no leaf and no model root (root zero, has_roots 0): for local generation
 * with a large model, where hashing gigabytes of weights would dominate the start; everything
 * else is checked. Returns 0 or -1 + err. */
int opml_model_map(const char *path, unsigned flags, opml_model *m, char *err, size_t errlen);
void opml_model_free(opml_model *m);
/* The metadata section as a parsed GGUF (gguf_file.h; gguf_close it). 0, or -1 + err when the
 * model has none. The loader has already parsed it once: a section that loads parses. */
int opml_model_meta(const opml_model *m, struct gguf_file *g, char *err, size_t errlen);


/* 1 when d is a valid input divisor (docs/model-format.md): +0 (none), or positive with
 * 255 / d finite, so that every IDX byte becomes a finite float. */
int opml_input_divisor_ok(float d);

/* The name of a dtype in messages: "float32", "int8", "int32", "Q8_0", "int64", "bool" (or "an unknown
 * type"). */
const char *opml_dtype_name(unsigned dtype);
/* Element i of little-endian tensor bytes of this dtype as a double (exact for every dtype but
 * int64 beyond 2^53; a bool as 0 or 1), for printing and comparing outputs. */
double opml_value_at(const void *bytes, unsigned dtype, size_t i);

/* A whole file read into malloc'd memory (*len bytes; at least one byte allocated). NULL with errno
 * set when it cannot be opened or read (EISDIR for a directory), or memory runs out (ENOMEM). */
uint8_t *opml_read_file(const char *path, size_t *len);

/* For a model assembled in memory (the converter): encode each node's descriptor, check the graph
 * as opml_model_parse does and compute values, roots and the state depth. Returns 0 or -1 + err. */
int opml_model_commit(opml_model *m, char *err, size_t errlen);
/* opml_model_commit without any hashing (has_roots 0): for graphs the engine builds from a model
 * that is already committed (the batched variants of a LLaMA step). */
int opml_model_check(opml_model *m, char *err, size_t errlen);
/* Assembling a model in memory (importers, test graphs): appends node m->n (m->nodes must have
 * room for it) with operator op, output record out and operands ops[0..nops), each a value id
 * (an input, or an earlier node's output) or OPML_OPERAND_WEIGHT(i) for weight i; the operand
 * records are copied from those values and weights. Returns the new node's output value id. */
#define OPML_OPERAND_WEIGHT(i) ((i) | 0x80000000u)
uint32_t opml_model_add_node(opml_model *m, unsigned op, kd_tensor out, unsigned nops, const uint32_t *ops);

/* Write a committed model to f. Returns 0 or -1 (I/O error). */
int opml_model_write(const opml_model *m, FILE *f);
/* The same for a checked model (opml_model_check) whose weights may have no bytes yet (data NULL):
 * fill(user, i, dst) writes weight i's kd_nbytes bytes into dst when its turn comes, so a large
 * model is written without all its weights in memory at once. 0, or -1 (I/O error, out of memory,
 * fill returned non-zero). */
typedef int (*opml_fill_fn)(void *user, uint32_t i, uint8_t *dst);
int opml_model_write_with(const opml_model *m, FILE *f, opml_fill_fn fill, void *user);

/* The normative pieces (docs/commitments.md). */
unsigned opml_state_depth(uint32_t nin, uint32_t n);
void opml_node_leaf(const uint8_t desc_root[32], uint16_t input_mask, const uint8_t refs[KD_MAX_OPERANDS][32],
                    uint8_t out[32]);
/* keccak256(nodesRoot ++ nin ++ n ++ outputValue ++ D ++ outputBytes ++ inputBytes[0..nin-1]), the
 * integers big-endian (docs/commitments.md): input_bytes holds nin byte lengths. */
void opml_model_root(const uint8_t nodes_root[32], uint32_t nin, uint32_t n, uint32_t output_value, uint8_t depth,
                     uint32_t output_bytes, const uint32_t *input_bytes, uint8_t out[32]);
/* State_s: the Merkle root at `depth` over the first `count` value roots (count = nin + s). */
int opml_graph_state(const uint8_t (*value_roots)[32], size_t count, unsigned depth, uint8_t out[32]);

#endif
