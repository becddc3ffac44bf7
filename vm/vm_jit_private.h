/* vm_jit_private.h: the translator's state, shared by its two files (and by nothing else:
 * vm_jit.h is the API):
 *   vm_jit.c      blocks, page copies, the code buffer and the dispatcher (what a block is, when
 *                 it is made, run, linked and dropped)
 *   vm_jit_x86.c  the x86-64 machine code of a block (the encoder, the instruction templates, the
 *                 layout of hot code and cold stubs, the trampoline between C and blocks)
 * Only on x86-64 Linux, the one host with a translator. */
#ifndef OPML_VM_JIT_PRIVATE_H
#define OPML_VM_JIT_PRIVATE_H

#include "vm.h"
#include "vm_jit.h"

#if defined(__x86_64__) && defined(__linux__)

#include <stddef.h>
#include <stdint.h>

#define JIT_CODE_BYTES (8u << 20)      /* code buffer; flushed whole when full */
#define JIT_MAX_BLOCK 128              /* instructions per block */
#define JIT_IC_SIZE 1024               /* JALR inline cache entries (a power of 2) */
#define JIT_COLD_BYTES (32u << 10)     /* out-of-line stubs of one block, worst case < 16 KiB */
#define JIT_BLOCK_ROOM (64u << 10)     /* worst-case bytes of one block, hot and cold */
#define JIT_MAX_FIXUPS (JIT_MAX_BLOCK * 10) /* a store makes 8 jumps, a block end 4 more */
#define JIT_WORDS (VM_PAGE_SIZE / 4)
#define JIT_MAX_PAGES 256              /* page copies kept (1 MiB); more flushes, bounding memory
                                        * and the comparison at each vm_run */
#define JIT_FIRST_RUN 10000          /* a machine gets a translator on its first run this long */

/* Why translated code returned to the dispatcher (the value in eax at the exit). */
enum { EXIT_LOOKUP = 0, EXIT_BUDGET, EXIT_DEOPT, EXIT_CHANGED };

typedef struct jit_ic { uint32_t pc, unused; const uint8_t *code; } jit_ic;
typedef struct jit_block {
    uint32_t pc;
    uint16_t n;           /* instructions; 0: none at pc, interpret it */
    uint8_t used;
    const uint8_t *code;
} jit_block;
typedef struct jit_page {
    uint32_t index;                     /* page number */
    uint8_t copy[VM_PAGE_SIZE];         /* the page's bytes as the translator last saw them */
    uint64_t translated[JIT_WORDS / 64]; /* words some block was translated from */
} jit_page;

typedef struct jit_fixup { uint8_t seg, to_seg; uint32_t at, to; const uint8_t *abs; } jit_fixup;

struct vm_jit {
    /* read and written by translated code at fixed offsets (offsetof below) */
    uint32_t *x;
    vm_page **pages;
    uint64_t left;
    uint8_t *patch;                     /* at EXIT_LOOKUP: the rel32 to link (writable view), NULL
                                         * after a JALR */
    uint32_t pc;                        /* at every exit: where the guest continues */
    jit_ic ic[JIT_IC_SIZE];
    /* the dispatcher's */
    vm *v;
    uint8_t *code;                      /* JIT_CODE_BYTES, the writable view */
    ptrdiff_t delta;                    /* the executable view is at code + delta */
    size_t used, start;                 /* start: past the entry/exit trampoline */
    unsigned gen;                       /* flush count: a pending link from before a flush is void */
    const uint8_t *exit;                /* in the writable view, like every jump target in code */
    jit_block *blocks;                  /* open-addressing table keyed by pc */
    size_t nblocks, capblocks;
    jit_page *cpages;
    size_t ncpages, capcpages;
    uint8_t cold[JIT_COLD_BYTES];       /* a block's stubs, appended to its hot code when done */
    jit_fixup fix[JIT_MAX_FIXUPS];
};

/* A block being emitted: its hot code (in the code buffer), its cold stubs (in j->cold, appended
 * to the hot code by jit_layout) and the jumps between them and to the exit (j->fix), resolved
 * when the block is laid out. */
enum { SEG_HOT, SEG_COLD, SEG_ABS };

typedef struct seg { uint8_t *p; uint32_t n; uint8_t id; } seg;
typedef struct label { uint8_t seg; uint32_t off; const uint8_t *abs; } label;

typedef struct emitter {
    vm_jit *j;
    seg hot, cold;
    size_t nfix;
} emitter;

/* vm_jit.c: the copy of page `index`, NULL if no block was read from it */
jit_page *jit_code_page(vm_jit *j, uint32_t index);

/* vm_jit_x86.c. A block of n instructions at pc is emitted as jit_block_entry (the budget check),
 * jit_translate_insn for each instruction k, jit_block_fallthrough when the last one does not end
 * the block (a jump to pc + 4n), then jit_layout. */
void jit_block_entry(emitter *e, uint32_t n, uint32_t pc);
void jit_translate_insn(emitter *e, const vm_insn *in, uint32_t k, uint32_t n, uint32_t pc);
void jit_block_fallthrough(emitter *e, uint32_t pc);
void jit_layout(emitter *e);
/* The entry and exit sequences at the start of the code buffer; sets j->exit and j->start. */
void jit_trampoline(vm_jit *j);

#endif
#endif
