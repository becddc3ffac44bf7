/* gguf_fixture.h: the reader tests' reference valid file. */
#ifndef OPML_GGUF_FIXTURE_H
#define OPML_GGUF_FIXTURE_H

#include "gguf_build.h"

/* Version 3, 14 key/values of every value type (see the .c) and two tensors, "w" Q8_0 [32, 2] at
 * offset 0 and "n" F32 [4] at offset 96, data filled with i % 251; the file ends with the last
 * tensor's bytes. */
void gb_valid(gb *b);

#endif
