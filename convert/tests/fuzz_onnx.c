/* fuzz_onnx.c: the ONNX converter's fuzz target (libFuzzer's entry point; tests/lib/fuzz_replay.c
 * drives it without libFuzzer). Whatever the bytes, opml_convert returns (no crash, no hang, no
 * allocation from an unchecked declared shape: the target runs under a 1 GiB limit), with a
 * message when it refuses them; what it writes, the model loader accepts and the model keeps the
 * loader's promises (model_exercise.h); converting twice gives the same bytes. */
#include "convert.h"
#include "model.h"
#include "model_exercise.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
    uint8_t *out = NULL, *again = NULL;
    size_t len, len2;
    char err[512] = "";
    if (opml_convert(data, size, &o, &out, &len, err, sizeof err) != 0) {
        if (!err[0]) abort(); /* every refusal says why */
        return 0;
    }
    if (opml_convert(data, size, &o, &again, &len2, err, sizeof err) != 0 || len2 != len || memcmp(out, again, len))
        abort(); /* deterministic */
    free(again);
    opml_model m;
    if (opml_model_parse(out, len, &m, err, sizeof err) != 0) abort(); /* the converter writes valid files */
    model_exercise(&m, out, len);
    opml_model_free(&m);
    free(out);
    return 0;
}
