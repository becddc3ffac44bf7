/* bisector.h: the state of one opml-bisector process (one per identity) and the entry points its
 * files give each other. The process is split by role (main.c says how they are wired):
 *
 *   main.c       start-up: configuration, connections, the resume, the wiring of the actor loop;
 *   served.c     the models this identity serves: loaded, looked up, published to storage;
 *   chainio.c    the conversation with chainwatch: transactions out, events and receipts in;
 *   fold.c       the chain's events folded into tasks, games and credits: a pure function
 *                (fold.h), whose effects chainio.c carries out; fold_gen.c folds the events
 *                only generation tasks have;
 *   submitter.c  runs a task on an executor, submits it with the bond, finalizes it;
 *   validator.c  checks another identity's submission, challenges a wrong one;
 *   play.c       one move of a game we play, recorded before it is sent (record.h);
 *   phase0.c     a generation task: its run, phase 0's generation states G_t, the binding of G_T
 *                (bindTokens), the opening of a token step (openStep) and the step graph's run at
 *                that step, on which phases 1 and 2 play;
 *   phase1.c     phase 1's graph states, the binding of State_n (bindEnd) and the opening of a
 *                node (openNode);
 *   phase2.c     phase 2's VM state hashes and the one-step proof, from vmjudge;
 *   withdraw.c   the withdrawal of our credit at the oracle (payout.h).
 *
 * Everything runs on the actor's one thread: no locking. */
#ifndef OPML_BISECTOR_H
#define OPML_BISECTOR_H

#include "actor.h"
#include "chaintime.h"
#include "client.h"
#include "contract.h"
#include "fold.h"
#include "rpc.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bisector {
    actor *a;
    rpc *cw, *work;
    storage_client *st;
    void *sub;
    contract *abi[NCONTRACTS]; /* the oracle's and the game's ABI, contract_names[] order */
    fold_state s;         /* the chain's view: our identity, models, tasks, games, credits (fold.h) */
    fault f;
    int submit, validate, auto_withdraw;
    chain_time ct;        /* the chain's time, from the events' block timestamps */
    uint32_t submissions;
    int64_t moves, txs_refused;
    int64_t foreign_dropped; /* envelopes on "chain." signed by another identity (fold_intake_of) */
} bisector;

/* served.c */
int served_load(bisector *b, const char *list, char *err, size_t errlen);
int served_publish(bisector *b);

/* chainio.c */
uint64_t now_s(const bisector *b);
int send_tx(bisector *b, int to, const char *fn, const cJSON *args, const char *value, uint8_t id[32]);
int catch_up(bisector *b, uint64_t until);
void on_sub(actor *a, void *sock, void *user);

/* submitter.c */
/* An executor's (any, through the bus's work broker) answer of type d to req, a request about task
 * t, within timeout_ms; NULL with a warning naming the task. */
ProtobufCMessage *executor_call(bisector *b, const task *t, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d,
                                int timeout_ms);
void submissions_load(bisector *b);
/* The output of task t (claimed_out) with nothing committed, lied as the lying_nth submission's lie
 * says (0: honest). Returns 0 or -1. */
int infer_task(bisector *b, task *t, model_entry *me, int lying_nth);
/* Task t's run with every value's root (honest and claimed values, the claimed output): a game's. */
int run_task(bisector *b, task *t, model_entry *me, int lying_nth);
int state_at(const task *t, const model_entry *me, int claimed, uint64_t s, uint8_t out[32]);
void try_submit(bisector *b, task *t);
void try_finalize(bisector *b, task *t);

/* validator.c */
void try_check(bisector *b, task *t);

/* play.c */
void game_join(bisector *b, gm *g);
void game_abandoned(bisector *b, gm *g);
void game_resolved(bisector *b, gm *g, int won, const char *bond);
void hash_json_add(cJSON *a, const uint8_t h[32]); /* one hash as a "0x..." string appended to a */
cJSON *hashes_json(const uint8_t (*h)[32], size_t n);
void play(bisector *b, gm *g);
void on_move_receipt(bisector *b, const uint8_t id[32], int success, const char *revert);

/* phase0.c (generation tasks, t->gen set) */
/* Runs t's generation (any executor) and fills the ids we post (lied as the `fault` setting says for
 * the lying_nth submission; 0: honest). Returns 0 or -1. */
int gen_run_task(bisector *b, task *t, model_entry *me, int lying_nth);
/* Our G_t at the m + 1 points of a dissection of a game over [0, T]: the submitter's claims (sub) or
 * the challenger's honest ones. Returns 0 or -1. */
int gen_point_hashes(bisector *b, task *t, const model_entry *me, int sub, uint64_t T, const uint64_t *pts, unsigned m,
                     uint8_t (*out)[32]);
/* bindTokens' arguments after the game id (tokensRoot_T, kvRoot_T, the prompt, the output), appended. */
int gen_binding(bisector *b, task *t, const model_entry *me, uint64_t T, cJSON *args);
/* openStep's argument (DisputeGame.StepOpening) at token step j of a game over [0, T], or NULL. */
cJSON *gen_step_opening(bisector *b, task *t, const model_entry *me, uint64_t T, uint64_t j);
/* Makes t->honest and t->claimed the value roots of token step `step`'s run (our role's ids; the
 * submitter's with its lie when it lied there). Returns 0 or -1. */
int gen_step_ready(bisector *b, task *t, const model_entry *me, uint64_t step, game_role role);

/* phase1.c */
/* bindEnd's arguments after the game id (State_n, the output, its path), appended to args: our
 * claims as the submitter. Returns 0 or -1. */
int end_binding(const task *t, const model_entry *me, cJSON *args);
int graph_hashes(const task *t, const model_entry *me, int sub, const uint64_t *pts, unsigned m, uint8_t (*out)[32]);
cJSON *node_opening(bisector *b, task *t, const model_entry *me, uint64_t s);

/* phase2.c */
/* What openNode needs of the VM run of the node it opens: the node leaf's descriptor root and refs,
 * the submitter's claimed final VM state (173 bytes packed) and slot 15's path in it. */
typedef struct vm_opening {
    uint8_t desc_root[32];
    uint8_t refs[KD_MAX_OPERANDS][32];
    uint8_t packed[173];
    uint8_t slot_path[4][32];
} vm_opening;
int vm_opening_claim(bisector *b, task *t, const model_entry *me, uint32_t node, vm_opening *o);
int vm_point_hashes(bisector *b, task *t, const model_entry *me, uint32_t node, int sub, const uint64_t *pts,
                    unsigned m, uint8_t (*out)[32]);
int vm_step_args(bisector *b, task *t, const model_entry *me, uint32_t node, uint64_t step, cJSON *args);

/* withdraw.c */
void payout_load(bisector *b);
void payout_resume(bisector *b);
void try_withdraw(bisector *b);
void on_payout_receipt(bisector *b, const uint8_t id[32], int success, const char *revert);
void credited(const bisector *b, const char *amount, const char *why);

#endif
