/* main.c: opml-bisector, one per identity: it drives the verification game (docs/game.md)
 * from the chain's events (chainwatch, on the bus) to transactions (chainwatch's ChainSendTx),
 * with executors (through the bus's work broker) computing the honest graph states.
 *
 *   as submitter (`submit` = 1): every task on a model it serves is run by an executor and
 *     submitted with the bond (its output alone: claimed states and output as the `fault` setting
 *     lies, fault.h); after the window it finalizes; in a game it binds its State_n to the output
 *     first (bindEnd), then dissects with its claimed states;
 *   as validator (`validate` = 1): every other identity's submission is re-computed; an output
 *     other than ours is challenged with the bond; in the game it selects against its own states
 *     (game_select), and times out an opponent whose clock has run out (game_next).
 *
 * State: the chain's events are the log. On start the bisector reads every event from chainwatch
 * (ChainGetEvents) and rebuilds its view of tasks and games (fold.h: a pure fold of the events'
 * typed messages), then follows the bus; a gap in the stream's seq is fetched again. What only it
 * knows is in storage, written before it acts: the game records (record.h, the write-ahead move)
 * and the submission counter (for `fault`'s @K).
 * So a SIGKILL at any point resumes: a move recorded SENT is not sent again until its receipt says
 * it failed, a move recorded INTENDED is sent (again), and the contract refuses a move whose
 * position has passed (chainwatch refuses a transaction that would revert: harmless).
 *
 * Time: deadlines and chess clocks are the chain's (chaintime.h). A move's time is its event's
 * block timestamp, as the contract charges it, and "now" is the newest block timestamp seen (in
 * events and in chainwatch's ChainGetEvents replies) plus the local time elapsed since: never the
 * local wall clock, which drifts from block.timestamp and would age a replayed game wrongly.
 *
 * Money: every payout is a credit to pull from the oracle, the one bank (docs/game.md "Money"):
 * the game holds no money, and its GameResolved and GameAbandoned name credits at the oracle. What
 * we are owed is read from the events (payout.h); with `auto_withdraw` the credit is withdrawn as
 * soon as the chain shows it, with the same write-ahead record as a move (record.h), so a restart
 * sends no second withdraw. A game is decided by the one-step proof or a timeout and paid out by a
 * separate resolve, which the winner sends (a move like the others, written ahead). A game whose submission another game rejected is ended
 * with abandon by its challenger (our bond back at once, and our share of the rejected bond) and no longer played by its submitter.
 *
 * Phase 2: at one graph step the submitter opens the node (openNode: the node's leaf and its
 * path into the model, the operands' roots and paths into the agreed state, the claimed final VM
 * state from vmjudge with slot 15's path); the VM bisection then runs over vmjudge's state hashes,
 * and at one VM step the challenger sends vmjudge's step proof. On start the bisector puts each
 * served model's node descriptors and weights into storage, where vmjudge fetches them.
 *
 * This file is the process's start-up only: the settings, the connections, the resume (models
 * published, records read, the history folded) and the wiring of the actor's loop (the bus's
 * events, the tick that lets each role act, the health stats). Each job has its own file, listed
 * in bisector.h.
 */
#include "bisector.h"
#include "fault.h"
#include "hex.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static const config_opt options[] = {
    {"chainwatch", "", "this identity's chainwatch, KEYHEX@endpoint (required)"},
    {"bus_events", "", "the bus's event output (XPUB), KEYHEX@endpoint (required)"},
    {"work", "", "the bus's work socket, KEYHEX@endpoint: executors and vmjudge (required)"},
    {"storage", "", "the storage actor, KEYHEX@endpoint: game records (required)"},
    {"address", "", "this identity's on-chain address (chainwatch's), 0x... (required)"},
    {"registry", "", "ModelRegistry address"},
    {"oracle", "", "InferenceOracle address (required)"},
    {"game", "", "DisputeGame address (required)"},
    {"artifacts", "contracts/out", "forge's output directory: <Name>.sol/<Name>.json"},
    {"model", "", "model files this identity serves and checks, comma-separated"},
    {"fault", "none", "fault injection (bisector/fault.h): none, node=N, random[=SEED], output, vm=N[:STEP], each @K"},
    {"submit", "1", "1: submit results for requested tasks"},
    {"validate", "1", "1: check others' submissions and challenge wrong ones"},
    {"auto_withdraw", "1", "1: withdraw this identity's credit (bonds, fees) from the oracle once on-chain"},
    {"tick_ms", "200", "how often to look for work"},
    {NULL, NULL, NULL},
};

static void tick(actor *a, void *user) {
    bisector *b = user;
    if (actor_stopping(a)) return;
    for (task *t = b->s.tasks; t; t = t->next) {
        if (b->submit && t->status == TASK_OPEN) try_submit(b, t);
        if (b->submit && t->status == TASK_SUBMITTED) try_finalize(b, t);
        if (b->validate && t->status == TASK_SUBMITTED) try_check(b, t);
    }
    for (gm *g = b->s.games; g; g = g->next) play(b, g);
    if (b->auto_withdraw) try_withdraw(b);
}

static void stats(actor *a, void *user) {
    bisector *b = user;
    int64_t games = 0, won = 0;
    for (gm *g = b->s.games; g; g = g->next)
        if (g->role) games++, won += g->rec.won;
    actor_health_stat(a, "last_seq", (int64_t)b->s.last_seq);
    actor_health_stat(a, "games", games);
    actor_health_stat(a, "games_won", won);
    actor_health_stat(a, "moves_sent", b->moves);
    actor_health_stat(a, "txs_refused", b->txs_refused);
    actor_health_stat(a, "foreign_dropped", b->foreign_dropped);
    actor_health_stat(a, "submissions", b->submissions);
}

static int need_address(const config *c, const char *name, uint8_t out[20]) {
    const char *v = config_get(c, name);
    if (!v || hex_decode(v, out, 20)) {
        log_error("option %s must be a 0x address (got \"%s\")", name, v ? v : "");
        return -1;
    }
    return 0;
}

static contract *load_contract(const char *dir, const char *name) {
    char path[1024], err[400];
    snprintf(path, sizeof path, "%s/%s.sol/%s.json", dir, name, name);
    contract *c = contract_load(path, err, sizeof err);
    if (!c) log_error("%s", err);
    return c;
}

int main(int argc, char **argv) {
    bisector b;
    memset(&b, 0, sizeof b);
    char err[600];
    actor *a = actor_new("bisector", options, argc, argv);
    if (!a) return 2;
    b.a = a;
    const config *c = actor_config(a);
    int rc = 2;
    long submit, validate, auto_withdraw, tick_ms;
    if (config_get_long(c, "submit", 0, 1, &submit, err, sizeof err) || config_get_long(c, "validate", 0, 1, &validate, err, sizeof err) ||
        config_get_long(c, "auto_withdraw", 0, 1, &auto_withdraw, err, sizeof err) ||
        config_get_long(c, "tick_ms", 10, 60000, &tick_ms, err, sizeof err) || fault_parse(config_get(c, "fault"), &b.f, err, sizeof err)) {
        log_error("%s", err);
        goto out;
    }
    b.submit = (int)submit;
    b.validate = (int)validate;
    b.auto_withdraw = (int)auto_withdraw;
    if (need_address(c, "address", b.s.me) || need_address(c, "oracle", b.s.addr[C_ORACLE]) ||
        need_address(c, "game", b.s.addr[C_GAME])) goto out;
    for (const char **o = (const char *[]){"chainwatch", "bus_events", "work", "storage", NULL}; *o; o++)
        if (!*config_get(c, *o)) {
            log_error("option %s is required (KEYHEX@endpoint)", *o);
            goto out;
        }
    for (int i = 0; i < NCONTRACTS; i++)
        if (!(b.abi[i] = load_contract(config_get(c, "artifacts"), contract_names[i]))) goto out;
    if (served_load(&b, config_get(c, "model"), err, sizeof err)) { /* the models we serve */
        log_error("%s", err);
        goto out;
    }
    b.cw = rpc_connect(actor_net(a), actor_signer(a), config_get(c, "chainwatch"), 0, err, sizeof err);
    b.work = b.cw ? rpc_connect(actor_net(a), actor_signer(a), config_get(c, "work"), 0, err, sizeof err) : NULL;
    b.st = b.work ? storage_client_new(actor_net(a), actor_signer(a), config_get(c, "storage"), 10000, 2, err, sizeof err) : NULL;
    b.sub = b.st ? net_connect(actor_net(a), ZMQ_SUB, config_get(c, "bus_events"), err, sizeof err) : NULL;
    if (!b.sub) {
        log_error("%s", err);
        goto out;
    }
    zmq_setsockopt(b.sub, ZMQ_SUBSCRIBE, "chain.", 6);
    if (served_publish(&b)) goto out;
    submissions_load(&b); /* the submission counter, then the chain's whole history */
    payout_load(&b); /* before the history: its Withdrawn events end it */
    while (catch_up(&b, 0) && !actor_stopping(a)) {
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    payout_resume(&b);
    char fs[64];
    fault_format(&b.f, fs, sizeof fs);
    log_info("resumed at event %" PRIu64 ": %zu model(s), %s%s, fault %s, auto_withdraw %d", b.s.last_seq, b.s.nmodels,
             b.submit ? "submitter " : "", b.validate ? "validator" : "", fs, b.auto_withdraw);
    actor_watch(a, b.sub, on_sub, &b);
    actor_every(a, (unsigned)tick_ms, tick, &b);
    actor_on_health(a, stats, &b);
    rc = actor_run(a);
out:
    fold_free(&b.s);
    for (size_t i = 0; i < b.s.nmodels; i++) opml_model_free(&b.s.models[i].m);
    net_close(b.sub);
    storage_client_free(b.st);
    rpc_close(b.work);
    rpc_close(b.cw);
    for (int i = 0; i < NCONTRACTS; i++) contract_free(b.abi[i]);
    actor_free(a);
    return rc;
}
