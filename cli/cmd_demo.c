/* cmd_demo.c: `opml demo`, the whole system on one machine. It converts the shared fortunes LLaMA
 * (tinyllama_fortunes-q8_0.gguf: its one decoding step is the registered step graph), starts the
 * compose topology as local processes (compose/launch.sh: anvil mining a block a second, the
 * contracts deployed, bus, storage, two executors, vmjudge, and two identities, an honest
 * validator and a submitter told to lie on its second submission), registers it as a generation
 * model, asks for two continuations of prompts (64 new tokens each, sampled with a seed: the sampler
 * is part of the disputed computation) and shows what happens
 * as it happens: the first is answered honestly and finalized (its text printed); in the second
 * the submitter lies at the 40th new token, and the game goes down through the three phases (token
 * steps, the disputed step's graph nodes, the disputed node's VM steps) to one RISC-V step proved
 * on-chain, which decides the game, and the winner's resolve that pays it out; then the honest
 * resubmission finalizes. Then a summary: times, transactions and gas per phase and for the
 * resolve, from the chain. With --fashion, the same story with fashion_cnn on two Fashion-MNIST
 * test images (phases 1 and 2). It stops everything with SIGTERM at the end; a second run starts
 * afresh (new chain, same keys).
 *
 *   opml demo [--fashion] [--dir DIR] [--repo DIR] [--model FILE] [--fault SPEC] [--new N] [--keep]
 *             [--window S] [--clock S] [--steps-log2 N] [--timeout S]
 *
 * --repo: the source tree (compose/launch.sh; default "."), --model: the model (default
 * REPO/../shared/models/tinyllama_fortunes-q8_0.gguf, or fashion_cnn.onnx), --fault: the
 * submitter's lie (default token=40@2, or node=4@2), --new: new tokens per request (64), --keep:
 * leave the cluster running. The build directory is the one this binary belongs to. A larger
 * model (bench/bench_gen_dispute_7b.sh: the 7B-shaped file) needs a longer challenge window
 * (--window, default 6 s: the validator recomputes the generation inside it), chess clock (--clock,
 * default 120 s, 60 with --fashion), VM step bound (--steps-log2, default 26, 23 with --fashion)
 * and time for each task (--timeout, default 300 s). */
#include "clock.h"
#include "cluster.h"
#include "commands.h"
#include "ethjson.h"
#include "llama_cli.h"
#include "request_gen.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEMO_NEW_TOKENS 64 /* new tokens per request (--new) */
#define DEMO_TASK_S 300     /* how long a task may take to finalize, a dispute included (--timeout) */
#define DEMO_WINDOW_S 6     /* the challenge window (--window) */
#define DEMO_MAX_STEPS_LOG2 62 /* VM steps are uint64 in the game (docs/game.md, BadStepBound) */
/* the requests' sampler: part of the disputed computation (the step graph's Sample node) */
#define DEMO_SAMPLER "--temperature 0.7 --top-k 40 --top-p 0.95 --seed 7"


/* Runs a shell command line; returns its exit status (or -1). */
static int sh(const char *cmd) {
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* The bisectors' logs, followed: lines about the game are printed as they come. */
typedef struct follow {
    char path[2][700];
    const char *who[2];
    long off[2];
    double lied, challenged, step_opened, opened, decided, verdict, rejected; /* when those lines were first seen (0: not yet) */
    uint64_t lie_block, step_block, node_block, decided_block, verdict_block;  /* the chain's head then */
    cluster *c;
} follow;

static uint64_t block_number(cluster *c);

static const char *const interesting[] = {"LYING", "WRONG", "agrees", "submitted", "challenging", "we are the", "sent (phase",
                                          "Selected", "StepOpened", "NodeOpened", "decided for", "resolved", "rejected", "finalized",
                                          "finalize sent", NULL};

static void follow_poll(follow *f) {
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(f->path[i], "r");
        if (!fp) continue;
        if (fseek(fp, f->off[i], SEEK_SET) == 0) {
            char line[1024];
            while (fgets(line, sizeof line, fp)) {
                size_t n = strlen(line);
                if (n == 0 || line[n - 1] != '\n') break; /* a partial line: read it whole next time */
                f->off[i] += (long)n;
                for (const char *const *k = interesting; *k; k++)
                    if (strstr(line, *k)) {
                        const char *msg = strstr(line, " INFO ");
                        if (!msg) msg = strstr(line, " WARN ");
                        printf("  %-10s %s", f->who[i], msg ? msg + 6 : line);
                        double t = opml_now_s();
                        if (!f->lied && strstr(line, "LYING")) f->lied = t, f->lie_block = block_number(f->c);
                        if (!f->challenged && strstr(line, "challenging")) f->challenged = t;
                        if (!f->step_opened && strstr(line, "StepOpened")) f->step_opened = t, f->step_block = block_number(f->c);
                        if (!f->opened && strstr(line, "NodeOpened")) f->opened = t, f->node_block = block_number(f->c);
                        if (!f->decided && strstr(line, "decided for")) f->decided = t, f->decided_block = block_number(f->c);
                        if (!f->verdict && strstr(line, "resolved")) f->verdict = t;
                        if (!f->rejected && strstr(line, "rejected")) f->rejected = t, f->verdict_block = block_number(f->c);
                        break;
                    }
            }
        }
        fclose(fp);
    }
    fflush(stdout);
}

/* The task's status (1 open, 2 submitted, 3 finalized) and submission number, or -1. */
static int task_status(cluster *c, long long task, long long *sub) {
    char id[24], err[400];
    snprintf(id, sizeof id, "%lld", task);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    cJSON *t = cluster_call(c, c->oracle_c, c->oracle, "task", args, err, sizeof err);
    cJSON_Delete(args);
    const cJSON *o = t ? cJSON_GetArrayItem(t, 0) : NULL;
    int st = o ? (int)cluster_uint(o, "status", 0) : -1;
    if (o && sub) *sub = cluster_uint(o, "subId", 0);
    cJSON_Delete(t);
    return st;
}

/* The summary's noun for n transactions. */
static const char *transactions_word(uint64_t n) { return n == 1 ? "transaction" : "transactions"; }

/* Chain totals over blocks [from, to]: transactions and gas. */
static void chain_totals(cluster *c, uint64_t from, uint64_t to, uint64_t *txs, uint64_t *gas) {
    *txs = *gas = 0;
    for (uint64_t b = from; b <= to; b++) {
        char q[32];
        snprintf(q, sizeof q, "0x%llx", (unsigned long long)b);
        cJSON *p = cJSON_CreateArray(), *res = NULL;
        cJSON_AddItemToArray(p, cJSON_CreateString(q));
        cJSON_AddItemToArray(p, cJSON_CreateFalse());
        if (ethrpc_call(c->rpc, "eth_getBlockByNumber", p, &res) == ETHRPC_OK && cJSON_IsObject(res)) {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(res, "gasUsed");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(res, "transactions");
            uint64_t v;
            if (ej_quantity(g, &v) == 0) *gas += v;
            *txs += (uint64_t)cJSON_GetArraySize(t);
        }
        cJSON_Delete(res);
    }
}

static uint64_t block_number(cluster *c) {
    cJSON *res = NULL;
    uint64_t n = 0;
    if (ethrpc_call(c->rpc, "eth_blockNumber", cJSON_CreateArray(), &res) == ETHRPC_OK && ej_quantity(res, &n)) n = 0;
    cJSON_Delete(res);
    return n;
}

/* The demo's places: the binary and its build directory, the launcher, the model, and a buffer
 * for the command lines it runs. */
typedef struct demo {
    int gen;                /* the fortunes LLaMA (generations); 0: fashion_cnn (--fashion) */
    uint32_t new_tokens, window, clock, steps_log2, task_s;
    const char *dir, *onnx, *fault;
    char exe[PATH_MAX], build[PATH_MAX], model[PATH_MAX + 64], onnx_buf[PATH_MAX + 64], launch[PATH_MAX + 64];
    char cmd[6 * PATH_MAX + 1024];
    double t0;
} demo;

/* The binary, its build directory, the launcher in `repo` and the default model. Returns 0 or 1. */
static int demo_paths(demo *d, const char *repo) {
    ssize_t n = readlink("/proc/self/exe", d->exe, sizeof d->exe - 1);
    if (n <= 0) return 1;
    d->exe[n] = 0;
    snprintf(d->build, sizeof d->build, "%s", d->exe);
    for (int up = 0; up < 2; up++) *strrchr(d->build, '/') = 0; /* BUILD/cli/opml -> BUILD */
    snprintf(d->launch, sizeof d->launch, "%s/compose/launch.sh", repo);
    if (access(d->launch, X_OK)) {
        fprintf(stderr, "opml demo: %s not found: run from the source tree or give --repo\n", d->launch);
        return 1;
    }
    if (!d->onnx) {
        snprintf(d->onnx_buf, sizeof d->onnx_buf, "%s/../shared/models/%s", repo,
                 d->gen ? "tinyllama_fortunes-q8_0.gguf" : "fashion_cnn.onnx");
        d->onnx = d->onnx_buf;
    }
    return 0;
}

/* Converts the model and starts the cluster (compose/launch.sh up). Returns 0 or 1. */
static int demo_up(demo *d) {
    snprintf(d->cmd, sizeof d->cmd, "mkdir -p '%s'", d->dir);
    if (sh(d->cmd)) return 1;
    snprintf(d->model, sizeof d->model, "%s/%s.opml", d->dir, d->gen ? "fortunes" : "fashion_cnn");
    d->t0 = opml_now_s();
    printf("opml demo: %s, two identities (an honest validator; a submitter lying as '%s')\n",
           d->onnx != d->onnx_buf ? d->onnx : d->gen ? "the fortunes LLaMA (3.7M parameters, Q8_0)" : "fashion_cnn",
           d->fault);
    snprintf(d->cmd, sizeof d->cmd, "'%s' convert '%s' -o '%s' >/dev/null", d->exe, d->onnx, d->model);
    if (sh(d->cmd)) {
        fprintf(stderr, "opml demo: converting %s failed\n", d->onnx);
        return 1;
    }
    printf("[%5.1fs] starting anvil, the contracts, bus, storage, 2 executors, vmjudge, 2 chainwatch, 2 bisectors\n",
           opml_now_s() - d->t0);
    fflush(stdout);
    snprintf(d->cmd, sizeof d->cmd,
             "OPML_BUILD='%s' OPML_MODEL='%s' OPML_ROLE_validator=validate OPML_ROLE_submitter=submit "
             "OPML_FAULT_submitter='%s' '%s' up '%s'",
             d->build, d->model, d->fault, d->launch, d->dir);
    if (sh(d->cmd)) {
        fprintf(stderr, "opml demo: the cluster did not start (logs in %s/logs)\n", d->dir);
        return 1;
    }
    return 0;
}

/* Follows the two bisectors' logs from their current ends (the start-up lines skipped). */
static void follow_start(follow *f, const char *dir) {
    snprintf(f->path[0], sizeof f->path[0], "%s/logs/bisector-validator.log", dir);
    snprintf(f->path[1], sizeof f->path[1], "%s/logs/bisector-submitter.log", dir);
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(f->path[i], "r");
        if (fp) {
            fseek(fp, 0, SEEK_END);
            f->off[i] = ftell(fp);
            fclose(fp);
        }
    }
}

static const char *const prompts[2] = {"A fool and his money", "The best way to predict the future is"};

/* The finalized continuation of request r's prompt (task `task`), printed. */
static void demo_text(const demo *d, cluster *c, long long task, int r) {
    size_t len = 0;
    char err[300];
    uint8_t *out = cluster_task_output(c, task, &len);
    char *text = out ? request_gen_text(d->model, out, len, err, sizeof err) : NULL;
    if (text) printf("          \"%s\" ->\n          \"%s\" (%zu new tokens)\n", prompts[r], text, len / 4);
    else printf("          (the finalized ids could not be read back)\n");
    free(text);
    free(out);
}

/* Request r (0 or 1: task r + 1, Fashion-MNIST test image r), followed until it is finalized;
 * *took is how long that took. Returns 0, or 1 if it could not be sent or did not finalize. */
static int demo_request(demo *d, follow *f, cluster *c, int r, double *took) {
    double ts = opml_now_s();
    if (d->gen) {
        printf("[%5.1fs] request %d: \"%s\", %u new tokens, sampled (%s)\n", ts - d->t0, r + 1, prompts[r], d->new_tokens,
               DEMO_SAMPLER);
        snprintf(d->cmd, sizeof d->cmd,
                 "'%s' request --cluster '%s' --model-id 1 --model '%s' --prompt '%s' --max-new %u %s --fee 1000 >'%s/request%d.json'",
                 d->exe, d->dir, d->model, prompts[r], d->new_tokens, DEMO_SAMPLER, d->dir, r + 1);
    } else {
        printf("[%5.1fs] request %d: Fashion-MNIST test image %d\n", ts - d->t0, r + 1, r);
        snprintf(d->cmd, sizeof d->cmd,
                 "'%s' request --cluster '%s' --model-id 1 --model '%s' --idx "
                 "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz#%d --fee 1000 >'%s/request%d.json'",
                 d->exe, d->dir, d->model, r, d->dir, r + 1);
    }
    fflush(stdout);
    if (sh(d->cmd)) return 1;
    long long task = r + 1, sub = 0;
    int st = 0;
    while (opml_now_s() - ts < d->task_s) {
        follow_poll(f);
        st = task_status(c, task, &sub);
        if (st == 3) break;
        usleep(300 * 1000);
    }
    follow_poll(f);
    *took = opml_now_s() - ts;
    if (st != 3) {
        printf("opml demo: task %lld did not finalize in %u s (logs in %s/logs)\n", task, d->task_s, d->dir);
        return 1;
    }
    printf("[%5.1fs] task %lld FINALIZED (submission %lld) after %.1f s\n", opml_now_s() - d->t0, task, sub, *took);
    if (d->gen) demo_text(d, c, task, r);
    fflush(stdout);
    return 0;
}

/* The summary: each request's time, the dispute's phases and their cost, the chain's totals since
 * first_block. */
static void demo_summary(const demo *d, const follow *f, cluster *c, uint64_t first_block, const double took[2]) {
    uint64_t txs, gas;
    chain_totals(c, first_block, block_number(c), &txs, &gas);
    printf("\nsummary\n");
    printf("  request 1 (honest): finalized in %.1f s\n", took[0]);
    printf("  request 2 (a lie):  %.1f s in all until the honest resubmission finalized\n", took[1]);
    if (d->gen && f->lied && f->challenged && f->step_opened && f->opened && f->decided && f->verdict && f->rejected) {
        uint64_t dtx, dgas, ptx[4], pgas[4];
        chain_totals(c, f->lie_block, f->verdict_block, &dtx, &dgas);
        chain_totals(c, f->lie_block, f->step_block, &ptx[0], &pgas[0]);
        chain_totals(c, f->step_block + 1, f->node_block, &ptx[1], &pgas[1]);
        chain_totals(c, f->node_block + 1, f->decided_block, &ptx[2], &pgas[2]);
        chain_totals(c, f->decided_block + 1, f->verdict_block, &ptx[3], &pgas[3]);
        printf("    from the lying submission to the on-chain verdict paid out: %.1f s, %llu %s, %llu gas\n",
               f->verdict - f->lied, (unsigned long long)dtx, transactions_word(dtx), (unsigned long long)dgas);
        printf("      submission to challenge %.1f s\n", f->challenged - f->lied);
        static const char *const names[4] = {"phase 0 (token steps, to the step opened)",
                                             "phase 1 (the step's graph nodes, to the node opened)",
                                             "phase 2 (VM steps, to the one-step proof's decision)",
                                             "resolve (the winner's resolve: the payout)"};
        double at[5] = {f->challenged, f->step_opened, f->opened, f->decided, f->verdict};
        for (int i = 0; i < 4; i++)
            printf("      %-52s %5.1f s, %llu %s, %llu gas\n", names[i], at[i + 1] - at[i],
                   (unsigned long long)ptx[i], transactions_word(ptx[i]), (unsigned long long)pgas[i]);
        printf("      (a phase's transactions and gas: the blocks mined while it was played; phase 0's include the\n"
               "       lying submission and the challenge)\n");
    } else if (f->lied && f->challenged && f->opened && f->decided && f->verdict && f->rejected) {
        uint64_t dtx, dgas, rtx, rgas;
        chain_totals(c, f->lie_block, f->verdict_block, &dtx, &dgas);
        chain_totals(c, f->decided_block + 1, f->verdict_block, &rtx, &rgas);
        printf("    from the lying submission to the on-chain verdict paid out: %.1f s, %llu %s, %llu gas\n",
               f->verdict - f->lied, (unsigned long long)dtx, transactions_word(dtx), (unsigned long long)dgas);
        printf("      submission to challenge %.1f s | phase 1 (graph nodes, to the node opened) %.1f s |"
               " phase 2 (VM steps, to the one-step proof's decision) %.1f s\n",
               f->challenged - f->lied, f->opened - f->challenged, f->decided - f->opened);
        printf("      resolve (the winner's resolve: the payout) %.1f s, %llu %s, %llu gas\n", f->verdict - f->decided,
               (unsigned long long)rtx, transactions_word(rtx), (unsigned long long)rgas);
    }
    printf("  chain: %llu %s, %llu gas (registration, requests, submissions, the game, finalizations)\n",
           (unsigned long long)txs, transactions_word(txs), (unsigned long long)gas);
    printf("  total %.1f s; logs in %s/logs\n", opml_now_s() - d->t0, d->dir);
}

int cmd_demo(int argc, char **argv) {
    const char *repo = ".";
    demo *d = calloc(1, sizeof *d);
    int keep = 0;
    if (!d) return 1;
    d->dir = "opml-demo", d->fault = NULL, d->gen = 1, d->new_tokens = DEMO_NEW_TOKENS;
    d->window = DEMO_WINDOW_S, d->task_s = DEMO_TASK_S;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0; /* 1: usage; -1: a bad number, reported */
        if (!strcmp(argv[i], "--keep")) keep = 1;
        else if (!strcmp(argv[i], "--fashion")) d->gen = 0;
        else if (!strcmp(argv[i], "--dir") && v) d->dir = argv[++i];
        else if (!strcmp(argv[i], "--repo") && v) repo = argv[++i];
        else if ((!strcmp(argv[i], "--model") || !strcmp(argv[i], "--onnx")) && v) d->onnx = argv[++i];
        else if (!strcmp(argv[i], "--fault") && v) d->fault = argv[++i];
        else if (!strcmp(argv[i], "--new") && v) bad = cli_flag_u32("demo", argv[i++], v, 1, UINT32_MAX, &d->new_tokens);
        else if (!strcmp(argv[i], "--window") && v) bad = cli_flag_u32("demo", argv[i++], v, 1, UINT32_MAX, &d->window);
        else if (!strcmp(argv[i], "--clock") && v) bad = cli_flag_u32("demo", argv[i++], v, 1, UINT32_MAX, &d->clock);
        else if (!strcmp(argv[i], "--steps-log2") && v)
            bad = cli_flag_u32("demo", argv[i++], v, 1, DEMO_MAX_STEPS_LOG2, &d->steps_log2);
        else if (!strcmp(argv[i], "--timeout") && v) bad = cli_flag_u32("demo", argv[i++], v, 1, UINT32_MAX, &d->task_s);
        else bad = 1;
        if (bad) {
            if (bad == 1)
                fprintf(stderr, "usage: opml demo [--fashion] [--dir DIR] [--repo DIR] [--model FILE] [--fault SPEC] [--new N] [--keep]\n"
                                "                 [--window S] [--clock S] [--steps-log2 N] [--timeout S]\n");
            free(d);
            return 2;
        }
    }
    if (!d->fault) d->fault = d->gen ? "token=40@2" : "node=4@2";
    if (!d->clock) d->clock = d->gen ? 120 : 60;
    if (!d->steps_log2) d->steps_log2 = d->gen ? 26 : 23;
    if (demo_paths(d, repo) || demo_up(d)) {
        free(d);
        return 1;
    }
    int rc = 1;
    cluster c;
    char err[1024];
    memset(&c, 0, sizeof c);
    if (cluster_open(&c, d->dir, "client", err, sizeof err)) {
        fprintf(stderr, "opml demo: %s\n", err);
        goto stop;
    }
    follow f = {.who = {"validator", "submitter"}, .off = {0, 0}, .c = &c};
    follow_start(&f, d->dir);
    uint64_t first_block = block_number(&c) + 1;
    snprintf(d->cmd, sizeof d->cmd,
             "'%s' register '%s' --cluster '%s' --k 16 --steps-log2 %u --window %u --clock %u >'%s/register.json'", d->exe,
             d->model, d->dir, d->steps_log2, d->window, d->clock, d->dir);
    printf("[%5.1fs] registering %s\n         (k 16, window %u s, clock %u s per side, phase 2 over 2^%u VM steps)\n",
           opml_now_s() - d->t0,
           !d->gen                  ? "fashion_cnn"
           : d->onnx != d->onnx_buf ? "the model as a generation model (its decoding step is the registered graph)"
                                    : "the fortunes LLaMA as a generation model (its decoding step's graph: 93 nodes)",
           d->window, d->clock, d->steps_log2);
    fflush(stdout);
    if (sh(d->cmd)) goto stop;
    double took[2] = {0, 0};
    for (int r = 0; r < 2; r++)
        if (demo_request(d, &f, &c, r, &took[r])) goto stop;
    demo_summary(d, &f, &c, first_block, took);
    rc = 0;
stop:
    cluster_close(&c);
    if (!keep) {
        snprintf(d->cmd, sizeof d->cmd, "'%s' down '%s' >/dev/null", d->launch, d->dir);
        if (sh(d->cmd)) rc = 1;
        else printf("stopped (SIGTERM to every process)\n");
    }
    free(d);
    return rc;
}
