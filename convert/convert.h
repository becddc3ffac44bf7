/* convert.h: model import (`opml convert`, docs/model-format.md): a model of another format into an
 * opml model file. opml_convert picks the importer by the file's format (convert.c; ONNX is
 * onnx/onnx_import.h, a GGUF importer goes beside it in gguf/). Every importer lowers its graph
 * through the same helpers (lower.h): constants folded by the reference kernels, weights of the
 * matrix products quantized to int8 with per-output-channel scales by the kernels' own rule, and
 * the model committed and written. Anything an importer cannot convert exactly is an error naming
 * the node and its operator. */
#ifndef OPML_CONVERT_H
#define OPML_CONVERT_H

#include <stddef.h>
#include <stdint.h>

typedef struct opml_convert_opts {
    uint32_t batch;      /* value for every symbolic input dimension (default 1) */
    float input_divisor; /* recorded in the model: IDX byte b becomes b / input_divisor */
    int no_fuse;         /* ONNX: lower decomposed LayerNorm/GELU chains node by node (same bits) */
} opml_convert_opts;

/* Convert model bytes of any supported format to model-file bytes (*out, malloc'd, *out_len).
 * Returns 0 or -1 + err. */
int opml_convert(const uint8_t *model, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                 char *err, size_t errlen);

#endif
