/* fuzz_model.c: the model loader's fuzz target (libFuzzer's entry point; tests/lib/fuzz_replay.c
 * drives it without libFuzzer). Whatever the bytes, opml_model_parse returns, with a message when
 * it refuses them; a model it accepts keeps the parser's promises (model_exercise.h: the same file
 * written back, every node runs). */
#include "model.h"
#include "model_exercise.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    opml_model m;
    char err[400] = "";
    if (opml_model_parse(data, size, &m, err, sizeof err) != 0) {
        if (strncmp(err, "model: ", 7) != 0) abort(); /* every refusal says why */
        return 0;
    }
    model_exercise(&m, data, size);
    opml_model_free(&m);
    return 0;
}
