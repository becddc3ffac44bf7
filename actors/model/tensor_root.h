/* tensor_root.h: the tensor root of docs/commitments.md (merkle_tensor_root's result, bit for
 * bit), computed with eight Keccak permutations per AVX-512 instruction stream where the CPU has
 * it: the engine's commitments and a model's loading cost are almost all hashing. */
#ifndef OPML_TENSOR_ROOT_H
#define OPML_TENSOR_ROOT_H

#include <stddef.h>
#include <stdint.h>

/* merkle_tensor_root(data, len, root): returns 0, or -1 when len > 2^28. */
int opml_tensor_root(const void *data, size_t len, uint8_t root[32]);

#endif
