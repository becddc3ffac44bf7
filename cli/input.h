/* input.h: what the `opml` tool reads from files its command line names: a bounded whole-file read
 * (vm-exec's ELF, raw inputs) and the INPUT argument of `opml infer`, `opml vm-run` and `opml eval`,
 * one parser for all so that they take the same forms and refuse bad ones with the same messages:
 *
 *   PATH, raw:PATH  a raw file of the model input's little-endian bytes in its dtype (float32,
 *                   int64 token ids, ...), one or more whole model inputs
 *   idx:PATH#N      item N of an IDX file, one item per batch row
 *   idx:PATH#A-B    items A to B, the model's batch at a time
 *   idx:PATH        every item, the model's batch at a time (a last partial batch left out)
 *
 * IDX items of unsigned bytes feed a float32 input as byte / the model's pixel divisor; unsigned
 * bytes or int32 values feed an integer input (int64, int32, int8, bool) as integers.
 *
 * Errors are written to err (at most errlen bytes, errlen > 0) without the command's name, which
 * the caller puts in front. */
#ifndef OPML_CLI_INPUT_H
#define OPML_CLI_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "idx.h"

/* Reads the whole regular file at path, of at most max bytes, into a malloc'd buffer (one byte
 * longer than *len, so a caller may end it with 0). A device, a directory or a larger file is
 * refused instead of read until memory runs out. Returns NULL with a message naming the file. */
uint8_t *cli_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* An opened INPUT: `count` model inputs of `need` bytes each, taken one at a time by cli_input_at. */
typedef struct cli_input {
    size_t need;  /* bytes of one model input */
    size_t count; /* model inputs INPUT holds, >= 1 once opened */
    /* private: a raw file, or an IDX file with the first item and the items per model input */
    const char *spec;
    uint8_t *raw;
    opml_idx idx;
    long first;
    uint32_t per;
    unsigned dtype; /* the model input's */
    float divisor;
    void *buf;
    char path[4096];
} cli_input;

/* Opens INPUT spec for model m, which has to hold at most max model inputs (SIZE_MAX: any number;
 * idx:PATH takes the first max). Preconditions: m is loaded; spec outlives in. Returns 0, or -1
 * with a message (m has other than one input, a malformed spec, an unreadable file, a size that is
 * not whole model inputs, IDX items that do not fit the input or its dtype, an IDX index out of
 * range, more than max inputs); in needs cli_input_close either way. */
int cli_input_open(cli_input *in, const char *spec, const opml_model *m, size_t max, char *err, size_t errlen);

/* Model input k (k < in->count): in->need bytes, valid until the next call or cli_input_close. With
 * label non-NULL, writes there what the input is (the spec, PATH@k or idx:PATH#A-B). */
const void *cli_input_at(cli_input *in, size_t k, char *label, size_t labellen);

void cli_input_close(cli_input *in);

#endif
