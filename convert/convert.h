/* convert.h: model import (`opml convert`, docs/model-format.md): a model of another format into an
 * opml model file. The importer is picked by the file's first bytes (opml_convert_format): ONNX
 * (onnx/onnx_import.h) lowers its graph through the shared helpers (lower.h): constants folded by
 * the reference kernels, weights of the matrix products quantized to int8 with per-output-channel
 * scales by the kernels' own rule, and the model committed and written; anything it cannot convert
 * exactly is an error naming the node and its operator. GGUF (gguf/gguf_import.h, LLaMA models)
 * converts file to file, its weights streamed from the mapped input, so it has no entry taking
 * bytes in memory: opml_convert refuses GGUF bytes and names the way. */
#ifndef OPML_CONVERT_H
#define OPML_CONVERT_H

#include <stddef.h>
#include <stdint.h>

typedef struct opml_convert_opts {
    uint32_t batch;      /* value for every symbolic input dimension (default 1) */
    float input_divisor; /* recorded in the model: IDX byte b becomes b / input_divisor */
    int no_fuse;         /* ONNX: lower decomposed LayerNorm/GELU chains node by node (same bits) */
} opml_convert_opts;

/* The formats, told apart by a file's first bytes: a format with a magic number ("GGUF") by it;
 * ONNX files are protobuf messages with no magic, so ONNX is whatever no other format claims. */
enum opml_format { OPML_FORMAT_ONNX, OPML_FORMAT_GGUF };
enum opml_format opml_convert_format(const uint8_t *head, size_t len);
/* The same for the file at path (its first bytes; an unreadable file is ONNX, whose importer then
 * reports it). */
enum opml_format opml_convert_file_format(const char *path);

/* Convert model bytes of any format but GGUF to model-file bytes (*out, malloc'd, *out_len).
 * Returns 0 or -1 + err. */
int opml_convert(const uint8_t *model, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                 char *err, size_t errlen);

#endif
