/* convert.c: the entry point of model import (convert.h): the importer picked by the file's
 * format. The importers lower through lower.h. */
#include "convert.h"

#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "gguf_file.h"
#include "onnx_import.h"

/* The formats with a magic number are tested for here, first; ONNX takes the rest. */
enum opml_format opml_convert_format(const uint8_t *head, size_t len) {
    if (len >= 4 && !memcmp(head, GGUF_MAGIC, 4)) return OPML_FORMAT_GGUF;
    return OPML_FORMAT_ONNX;
}

enum opml_format opml_convert_file_format(const char *path) {
    uint8_t head[4];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    return opml_convert_format(head, n);
}

int opml_convert(const uint8_t *model, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                 char *err, size_t errlen) {
    if (opml_convert_format(model, len) == OPML_FORMAT_GGUF)
        return opml_errf(err, errlen, "a GGUF file is converted from its path (gguf_import, `opml convert MODEL.gguf`)");
    return opml_convert_onnx(model, len, opts, out, out_len, err, errlen);
}
