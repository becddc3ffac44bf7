/* model_exercise.h: what opml_model_parse promises about a model it accepts, checked on any
 * accepted model (the fuzz targets of the model loader and of the ONNX converter call it; so does
 * their replay in every build). */
#ifndef OPML_MODEL_EXERCISE_H
#define OPML_MODEL_EXERCISE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Aborts unless: m written back is exactly bytes[0..len) (one model has one file); and, where the
 * model's values and scratch are small (MODEL_EXERCISE_MAX_BYTES), every node runs on the
 * reference kernels, inputs filled with arbitrary bit patterns, with kernel_exec returning KD_OK
 * (ASan watches that no kernel reads or writes outside its operands). */
#define MODEL_EXERCISE_MAX_BYTES (8u << 20)
void model_exercise(const opml_model *m, const uint8_t *bytes, size_t len);

#endif
