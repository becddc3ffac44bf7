/* fold_private.h: what the fold's files share (fold.h is the API):
 *   fold.c      the fold itself (fold_event, the handler table), the registry's, the oracle's and
 *               the game's events, and the checks and effects every handler uses
 *   fold_gen.c  the events only generation tasks have (docs/generation.md): GenerationRegistered,
 *               GenerationRequested, StepOpened
 * Each handler checks what it uses before it changes anything (fold_refuse returns -1 and changes
 * nothing), so a refused event leaves the view as it was. */
#ifndef OPML_FOLD_PRIVATE_H
#define OPML_FOLD_PRIVATE_H

#include "fold.h"

/* The event being folded, for the handlers. */
typedef struct fold_ctx {
    fold_state *s;
    const Opml__ChainEvent *ev;
    uint64_t now; /* the event's block time, or the bisector's estimate */
    fold_out *out;
} fold_ctx;

/* The event refused whole: an error line naming it and why. Returns -1. */
int fold_refuse(const fold_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The event does not fit the view: a warning naming it (what it says is still folded where the
 * view allows). */
void fold_odd(const fold_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 if field `name` has exactly n bytes, else refused (-1). */
int fold_need_len(const fold_ctx *c, const char *name, ProtobufCBinaryData d, size_t n);
/* The game with that id, or NULL with a warning that the event names one never started here. */
gm *fold_known_game(const fold_ctx *c, uint64_t id);
/* Served model me takes the on-chain id and game parameters of the pending registration. */
void fold_serve_model(const fold_ctx *c, model_entry *me);
/* The line every move of a game we play gets. */
void fold_moved(const fold_ctx *c, const gm *g);

/* The generation events' handlers (fold_gen.c); msg is the event's typed message. 0, or -1 when
 * refused. */
int fold_on_generation_registered(const fold_ctx *c, const ProtobufCMessage *msg);
int fold_on_generation_requested(const fold_ctx *c, const ProtobufCMessage *msg);
int fold_on_step_opened(const fold_ctx *c, const ProtobufCMessage *msg);

#endif
