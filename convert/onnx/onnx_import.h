/* onnx_import.h: the ONNX importer (docs/model-format.md). Reads an ONNX ModelProto through
 * protobuf-c (compiled from Debian's onnx.proto), folds constants, folds BatchNormalization into
 * the preceding Conv/Gemm, splits multi-output operators and lowers every node by its operator's
 * function (onnx_lower.h's dispatch table). */
#ifndef OPML_ONNX_IMPORT_H
#define OPML_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

/* convert.h; declared here only, so that the entry point can include this header */
struct opml_convert_opts;

/* Convert ONNX bytes to model-file bytes (*out, malloc'd, *out_len). Returns 0 or -1 + err. */
int opml_convert_onnx(const uint8_t *onnx, size_t len, const struct opml_convert_opts *opts, uint8_t **out,
                      size_t *out_len, char *err, size_t errlen);

/* A serialized ONNX TensorProto (the conformance tests' input_N.pb / output_N.pb) as float32:
 * *data (malloc'd, numel floats; int64/int32/double tensors are converted), dims, rank. Returns
 * 0 or -1 + err. */
int opml_onnx_tensor_read(const uint8_t *buf, size_t len, float **data, int64_t dims[8], int *rank, char *err,
                          size_t errlen);

#endif
