/* attention_host.h: OP_ATTENTION vectorized for the host backends, with the reference kernel's
 * bits (attention_host.c says how). */
#ifndef OPML_ATTENTION_HOST_H
#define OPML_ATTENTION_HOST_H

#include "kernel.h"

/* 1 when this CPU has AVX-512 F, BW, VL, VNNI and F16C. */
int attention_host_available(void);
/* kernel_exec's contract for a checked OP_ATTENTION node; scr holds kernel_scratch_size(d) bytes.
 * Q8_0 caches: precondition head_dim <= 512 (16 blocks). */
void attention_host_run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr);

#endif
