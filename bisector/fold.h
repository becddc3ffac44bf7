/* fold.h: the chain's events folded into the bisector's view of the chain (the models it serves,
 * the tasks, the games, what the contracts owe it), as a pure function: state in, event in, state
 * and a list of effects out. No I/O happens here (no log, no storage, no clock), so every rule of
 * the fold is tested without a chain (bisector/tests/test_fold.c); the bisector carries the
 * effects out (chainio.c).
 *
 * Events are read as the typed messages chainwatch publishes beside the JSON (ChainEvent's
 * payload_type and payload, proto/chain.proto "opml.Chain<Event>"), never by re-parsing args_json.
 * An event the fold cannot use is refused whole, with an error line that says why: no typed
 * payload, a payload of another type or that does not unpack, an address that is not 20 bytes, a
 * hash that is not 32, a range with lo > hi, an amount that is not decimal wei. An event that does
 * not fit the view (a task or game never seen, a second start of one, a submission other than the
 * live one) gets a warning, and what the chain says is still folded where the view allows (a
 * credit that names us is a credit whatever we missed); nothing is ever folded as a silent zero.
 *
 * Events come from our own identity's chainwatch only (fold_intake_of): every identity's
 * chainwatch publishes on the same bus, each numbering the events it follows in a stream of its
 * own, so another's seq is not ours. They are folded once each and in our chainwatch's seq order:
 * a seq already folded is skipped with a debug line saying so (repeats are normal: the catch-up at
 * start overlaps the live stream), a seq after a gap is folded with a warning naming the gap (the
 * bisector asks chainwatch for what it missed before it folds a later event, so a gap here means
 * that failed).
 * A retraction (a re-org) is counted and not folded: the chain's next events rebuild the view. */
#ifndef OPML_FOLD_H
#define OPML_FOLD_H

#include "chain.pb-c.h"
#include "fault.h"
#include "game.h"
#include "generation.h"
#include "model.h"
#include "payout.h"
#include "record.h"

#include <stddef.h>
#include <stdint.h>

/* InferenceOracle.Status, same numbers. */
typedef enum task_status {
    TASK_NONE = 0,
    TASK_OPEN = 1,      /* waiting for a submission */
    TASK_SUBMITTED = 2, /* a submission is in its window or in games */
    TASK_FINALIZED = 3,
    TASK_CANCELLED = 4,
} task_status;

const char *task_status_name(task_status s);

#define FOLD_MAX_MODELS 8

/* A model this identity serves: its file (loaded at start), and what its ModelRegistered event
 * says of it on-chain. */
typedef struct model_entry {
    opml_model m;
    uint64_t id;          /* on-chain id, 0 until ModelRegistered names it */
    int is_gen;           /* a generation model (its file is the step graph): GenerationRegistered */
    opml_gen_facts gen;   /* when is_gen: vocab, ctx, layers, kvValue as registered */
    uint16_t k;
    uint8_t steps_log2;
    uint64_t clock;
    char sbond[80], cbond[80]; /* decimal wei */
} model_entry;

/* A generation task's request (GenerationRequested, docs/generation.md). */
typedef struct gen_request {
    uint32_t *prompt;     /* the prompt's P ids */
    uint32_t P, max_new, stop;
    opml_gen_sampler sampler;
} gen_request;

/* Our side of a generation task (phase0.c), computed by executors: the ids x_0 .. x_T (the prompt
 * then the output) and the generation states G_t, tokensRoot_t and kvRoot_t at every t. `claimed`
 * is what we post as its submitter (honest when not lying); `honest` what we compute, generated on
 * past the claimed length when the claimed generation is longer (docs/generation.md: the challenger
 * continues past its stop). */
typedef struct gen_side {
    uint32_t *ids;
    uint32_t n;               /* ids held: T + 1 */
    uint8_t (*g)[32], (*tok)[32], (*kv)[32]; /* at t = 0 .. states - 1 */
    uint32_t states;
} gen_side;

typedef struct gen_run {
    gen_side honest, claimed;
    int64_t step;             /* the token step whose step-graph run task.honest/claimed hold; -1 none */
    uint8_t step_state_n[32]; /* that run's claimed State_n */
} gen_run;

typedef struct task {
    /* the chain's, written by the fold */
    uint64_t id, model_id;
    task_status status;
    gen_request *gen;     /* a generation task's request; NULL for a classifier task */
    uint8_t requester[20];
    uint8_t *input;
    size_t input_len;
    uint32_t sub_id;      /* the live (or last) submission */
    uint8_t submitter[20];
    uint8_t *output;      /* the live submission's output (checked, finalized, bound in a game) */
    size_t output_len;
    uint64_t deadline;
    /* ours: the submitter's and the validator's work, changed on the fold's effects */
    int checked;          /* validator: this submission was checked */
    int busy;             /* submitter: a submit or finalize is in flight */
    uint64_t busy_at;
    int inferred;         /* claimed_out is known (the happy path: submitter.c's infer_task) */
    int ran;              /* values below are known (a game's run: run_task) */
    uint8_t (*honest)[32];  /* value roots, nin + n */
    uint8_t (*claimed)[32]; /* what we post as submitter (honest when not lying) */
    uint8_t *claimed_out;
    size_t claimed_out_len;
    fault_plan plan;        /* the lie told on this task (inactive: none) */
    gen_run *gr;            /* a generation task's ids and states (phase0.c); NULL until computed */
    struct task *next;
} task;

typedef struct gm {
    /* the chain's, written by the fold */
    uint64_t id, task_id;
    uint32_t sub_id;
    game_role role;       /* ours: GAME_SUBMITTER or GAME_CHALLENGER; 0: another identity's game */
    game_view v;
    uint8_t submitter[20], challenger[20];
    uint8_t (*roots)[32]; /* the pending dissection's roots */
    size_t nroots;
    uint64_t token_step;  /* a generation game past phase 0: the token step StepOpened opened */
    /* ours (play.c): the write-ahead record, read when the game starts (FOLD_FX_JOINED) */
    game_record rec;
    struct gm *next;
} gm;

/* The contracts we send transactions to: fold_state's addr[] and contract_names[] share this
 * index. Only the oracle pays (one bank: every credit, challengers' bonds included, is the
 * oracle's, docs/game.md "Money"); the game holds no money. */
enum { C_ORACLE, C_GAME, NCONTRACTS };
extern const char *const contract_names[NCONTRACTS];

/* A ModelRegistered that named no served model's root: a generation model's names its generation
 * root, which the GenerationRegistered after it (same transaction) matches to a step graph. */
typedef struct fold_pending_model {
    uint64_t model_id;            /* 0: none */
    uint8_t root[32];
    uint16_t k;
    uint8_t steps_log2;
    uint64_t clock;
    char sbond[80], cbond[80];
} fold_pending_model;

typedef struct fold_state {
    uint8_t me[20];                /* our identity */
    fold_pending_model pending_model;
    uint8_t addr[NCONTRACTS][20];  /* the oracle's and the game's addresses */
    model_entry models[FOLD_MAX_MODELS];
    size_t nmodels;
    task *tasks;
    gm *games;
    payout pay;                    /* our credit at the oracle and its withdrawal (payout.h) */
    uint64_t last_seq;             /* the last event folded (retractions count) */
} fold_state;

typedef enum fold_level { FOLD_DEBUG = 1, FOLD_INFO, FOLD_WARN, FOLD_ERROR } fold_level;

/* What the fold asks of the bisector, in order. */
typedef enum fold_fx_kind {
    FOLD_FX_LOG = 1,    /* a line for the log: level, text */
    FOLD_FX_SUBMITTED,  /* task id: a new live submission: check it afresh, no submit is in flight */
    FOLD_FX_REJECTED,   /* task id: its submission was rejected, no submit is in flight; flag: it was
                         * ours, so our run (and lie) is dropped and the task submitted again honestly */
    FOLD_FX_CHALLENGED, /* task id: our challenge of its live submission is on-chain */
    FOLD_FX_JOINED,     /* game id: a game we play started: read its record, give it the game's identity */
    FOLD_FX_ABANDONED,  /* game id: a game we play was abandoned: its record is finished */
    FOLD_FX_RESOLVED,   /* game id: a game we play was resolved (paid out); flag: we won; text: the bond (wei) */
    FOLD_FX_CREDITED,   /* the oracle credited us (pay is owed); text: the amount (wei); why: for what */
} fold_fx_kind;

#define FOLD_TEXT_MAX 320

typedef struct fold_fx {
    fold_fx_kind kind;
    fold_level level;        /* LOG */
    uint64_t id;             /* the task or game */
    int flag;                /* REJECTED: ours; RESOLVED: we won */
    const char *why;         /* CREDITED: a constant string */
    char text[FOLD_TEXT_MAX];
} fold_fx;

#define FOLD_MAX_FX 8 /* more than any one event makes */

typedef struct fold_out {
    fold_fx fx[FOLD_MAX_FX];
    size_t n;
    size_t lost;             /* effects beyond FOLD_MAX_FX (none by construction; said if any) */
} fold_out;

/* What the bisector does with an envelope from the bus's "chain." topics. Only our identity's
 * chainwatch speaks for the chain: it signs what it publishes with the identity's key, so the
 * envelope's sender (verified by envelope_open) is s->me. Another identity's chainwatch (or any
 * other actor on the bus) is FOREIGN whatever it sends: its events are numbered in its own stream
 * (another start block, other contracts), and folded here they would be skipped as repeats of our
 * seqs, or fold another stream's event at our seq and make us skip our own as repeats; its
 * receipts are not of our transactions. */
typedef enum fold_intake {
    FOLD_INTAKE_EVENT = 1, /* an opml.ChainEvent of our chainwatch: fold it (fold_event) */
    FOLD_INTAKE_RECEIPT,   /* an opml.ChainReceipt of our chainwatch: the receipt of one of our transactions */
    FOLD_INTAKE_FOREIGN,   /* signed by another identity: dropped */
    FOLD_INTAKE_OTHER,     /* another type from our chainwatch: dropped */
} fold_intake;

fold_intake fold_intake_of(const fold_state *s, const uint8_t sender[20], const char *type);

/* Folds chain event ev into s. `now` is the chain's time as the bisector estimates it, used as the
 * event's time when it carries no block_time. out is reset, then filled. Returns 1 when ev was
 * folded (or was a retraction), 0 when it was skipped (a seq already folded, or refused). */
int fold_event(fold_state *s, const Opml__ChainEvent *ev, uint64_t now, fold_out *out);

/* Lookups (NULL when unknown). A model's id 0 is "not registered yet", never found. */
model_entry *fold_model(fold_state *s, uint64_t model_id);
task *fold_task(const fold_state *s, uint64_t task_id);
gm *fold_game(const fold_state *s, uint64_t game_id);

/* Our run of task t (honest and claimed values, the lie) is forgotten: it is computed again. */
void fold_task_forget_run(task *t);

/* Frees every task and game of s (not the models' files: whoever loaded them frees them). */
void fold_free(fold_state *s);

#endif
