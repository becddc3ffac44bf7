/* fold_gen.c: the events only generation tasks have, folded into the bisector's view (fold.h,
 * docs/generation.md): a generation model's facts (GenerationRegistered, after the ModelRegistered
 * that names its generation root), a generation request (GenerationRequested: the prompt's ids
 * and the request's numbers) and the token step a game's phase 0 opened (StepOpened). The fold,
 * its checks and every other event are fold.c's; like those, each handler here checks what it
 * uses before it changes anything. */
#include "fold_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A generation model (docs/generation.md): the step graph we serve whose root the event names, with
 * the game parameters of the ModelRegistered before it, whose root must be the generation root of
 * the step root and the facts. */
int fold_on_generation_registered(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainGenerationRegistered *m = (const Opml__ChainGenerationRegistered *)msg;
    if (fold_need_len(c, "step_root", m->step_root, 32)) return -1;
    opml_gen_facts f = {m->vocab, m->ctx, m->layers, m->kv_value};
    uint8_t root[32];
    opml_gen_root(m->step_root.data, &f, root);
    fold_pending_model *p = &c->s->pending_model;
    for (size_t i = 0; i < c->s->nmodels; i++) {
        model_entry *me = &c->s->models[i];
        if (memcmp(me->m.root, m->step_root.data, 32)) continue;
        if (p->model_id != m->model_id || memcmp(p->root, root, 32))
            return fold_refuse(c, "model %" PRIu64 ": no ModelRegistered with its generation root before it", m->model_id);
        me->is_gen = 1;
        me->gen = f;
        fold_serve_model(c, me);
    }
    return 0;
}

/* A generation task: the prompt's ids (int32 little-endian) and the request's numbers. */
int fold_on_generation_requested(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainGenerationRequested *m = (const Opml__ChainGenerationRequested *)msg;
    if (fold_need_len(c, "requester", m->requester, 20)) return -1;
    if (m->prompt.len == 0 || m->prompt.len % 4) return fold_refuse(c, "a prompt of %zu bytes is no list of ids", m->prompt.len);
    if (fold_task(c->s, m->task_id)) {
        fold_odd(c, "task %" PRIu64 " was requested before: the first request stands", m->task_id);
        return 0;
    }
    task *t = calloc(1, sizeof *t);
    gen_request *q = calloc(1, sizeof *q);
    uint32_t P = (uint32_t)(m->prompt.len / 4);
    uint32_t *ids = malloc((size_t)P * 4);
    if (!t || !q || !ids) {
        free(t), free(q), free(ids);
        return fold_refuse(c, "out of memory");
    }
    opml_gen_ids_from_bytes(m->prompt.data, P, ids);
    *q = (gen_request){ids, P, m->max_new, m->stop_token, {m->temperature, m->top_k, m->top_p, m->seed}};
    t->id = m->task_id;
    t->model_id = m->model_id;
    t->status = TASK_OPEN;
    memcpy(t->requester, m->requester.data, 20);
    t->gen = q;
    t->next = c->s->tasks;
    c->s->tasks = t;
    return 0;
}

int fold_on_step_opened(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainStepOpened *m = (const Opml__ChainStepOpened *)msg;
    if (fold_need_len(c, "state0", m->state0, 32) || fold_need_len(c, "state_n", m->state_n, 32)) return -1;
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    if (g->v.phase != 0 || g->v.turn != GAME_TURN_OPEN_STEP || m->step != g->v.lo)
        fold_odd(c, "game %" PRIu64 " opened token step %" PRIu64 ", the view is at phase %u [%" PRIu64 ", %" PRIu64 "] (%s to move)",
            g->id, m->step, g->v.phase, g->v.lo, g->v.hi, game_turn_name(g->v.turn));
    g->token_step = m->step;
    game_step_opened(&g->v, m->n, m->state0.data, m->state_n.data, c->now);
    fold_moved(c, g);
    return 0;
}
