/* onnx_build.h: ONNX models composed in memory for the converter's tests (protobuf-c messages of
 * Debian's onnx.proto, packed to the bytes `opml convert` reads). A test states the graph it means
 * (inputs, initializers, nodes with attributes, outputs) instead of shipping a binary file. Every
 * string and array belongs to the builder and is freed by ob_free. Preconditions: names non-NULL,
 * ranks <= 8; out of memory aborts (tests only). */
#ifndef OPML_ONNX_BUILD_H
#define OPML_ONNX_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

typedef struct ob_model ob_model;

/* An empty model importing the default domain at `opset`. */
ob_model *ob_new(int64_t opset);
void ob_free(ob_model *m);
/* Graph input/output `name` of ONNX element type elem (1 float, 7 int64, ...) and shape (rank -1:
 * no shape; a dim < 0 is symbolic, "N"). */
void ob_input(ob_model *m, const char *name, int elem, int rank, const int64_t *dims);
void ob_output(ob_model *m, const char *name, int elem, int rank, const int64_t *dims);
/* An initializer: float32 data (numel of dims floats, as float_data) or int64 data. */
void ob_init_f32(ob_model *m, const char *name, int rank, const int64_t *dims, const float *data);
void ob_init_i64(ob_model *m, const char *name, int rank, const int64_t *dims, const int64_t *data);
/* An initializer whose raw_data holds `len` bytes of type elem, whatever its dims say. */
void ob_init_raw(ob_model *m, const char *name, int elem, int rank, const int64_t *dims, const void *raw, size_t len);
/* A node (inputs and outputs NULL-terminated; "" is an omitted optional one). */
Onnx__NodeProto *ob_node(ob_model *m, const char *op, const char *const *inputs, const char *const *outputs);
void ob_attr_i(ob_model *m, Onnx__NodeProto *n, const char *name, int64_t v);
void ob_attr_f(ob_model *m, Onnx__NodeProto *n, const char *name, float v);
void ob_attr_s(ob_model *m, Onnx__NodeProto *n, const char *name, const char *v);
void ob_attr_ints(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const int64_t *v);
void ob_attr_floats(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const float *v);
void ob_attr_strings(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const char *const *v);
/* The model's bytes (malloc'd, *len). */
uint8_t *ob_pack(ob_model *m, size_t *len);
/* The model (freed) converted with options o (opml_convert) and parsed into *out: 0, or -1 with
 * the reason in err. */
struct opml_convert_opts;
struct opml_model;
int ob_convert(ob_model *m, const struct opml_convert_opts *o, struct opml_model *out, char *err, size_t errlen);

#endif
