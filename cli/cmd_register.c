/* cmd_register.c: `opml register`, a model on-chain (ModelRegistry.register). The commitment is
 * computed from the model file (docs/commitments.md: the nodes root over the node leaves, nin, n,
 * the output value, the state depth, the byte lengths of the inputs and the output), the guest
 * root is the pinned guest program's (vmjudge), and the game parameters come from the flags.
 * Prints the model id, the model root, whether the file was published and the gas.
 *
 * A LLaMA model (converted from GGUF: its file is the one decoding step's graph) is registered as a
 * generation model (ModelRegistry.registerGeneration, docs/generation.md): the step graph's spec with
 * the generation facts (vocab, ctx, layers, kvValue) the engine reads from the file; its model
 * root is then the generation root.
 *
 *   opml register MODEL.opml [--cluster DIR] [--key NAME] [--k 16] [--steps-log2 N [--no-steps-check]]
 *                 [--window 3600] [--clock 21600] [--submitter-bond WEI] [--challenger-bond WEI] [--uri URI]
 *                 [--no-publish]
 *
 * The step bound 2^stepsLog2 of phase 2 must cover the longest run of any node of the model in the
 * guest, or a game reaching that node could never be played honestly. Before anything else, the
 * model's nodes are run in the VM (vm_steps.h: a classifier on a synthetic input, a generation
 * model at the last position of its context; milliseconds for a classifier, minutes for a 7B
 * model, whose long runs are shown as they end) and the longest run is printed. Without
 * --steps-log2 the bound is the least that covers it with a margin of 1/8 (VM_STEPS_MARGIN_DIV:
 * runs on other data take other step counts); a given --steps-log2 below the measured need is
 * refused (exit 1, nothing published or sent), one inside the margin is taken with a warning.
 * --no-steps-check registers the given --steps-log2 unmeasured: for an operator who measured the
 * model otherwise (test_vm_llama --largest), or a test that wants a bound the model cannot meet.
 *
 * The defaults are production values the registry's production bounds accept (docs/game.md, "Model
 * parameters"): a one-hour challenge window, six hours of clock per side (enough for every move of
 * a game on any model with k = 16, at the five minutes per move the bounds ask), 1 ETH bonds. A
 * test chain's registry (compose/deploy.sh on a development chain) accepts the short windows and
 * clocks the system tests pass; the registry refuses what its bounds do not allow, with the reason.
 *
 * Before anything is sent on-chain, the model file is published to the cluster's storage actor
 * (OPML_STORAGE of cluster.env) the way an executor started with --model publishes it
 * (model_file_publish, docs/executor.md), so that every executor can load the model by its root: a
 * model that storage did not take is not registered. --no-publish skips this, for an operator who
 * puts the file into storage otherwise. */
#include "clock.h"
#include "cli_num.h"
#include "cluster.h"
#include "commands.h"
#include "hex.h"
#include "llama.h"
#include "model.h"
#include "model_file.h"
#include "vm_guest.h"
#include "vm_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr, "usage: opml register MODEL.opml [--cluster DIR] [--key NAME] [--k K] [--steps-log2 N [--no-steps-check]]\n"
                    "       [--window SECONDS] [--clock SECONDS] [--submitter-bond WEI] [--challenger-bond WEI] [--uri URI]\n"
                    "       [--no-publish]\n");
    return 2;
}

/* The model file into the cluster's storage actor, as the session's identity. Returns 0 or -1 with
 * the reason in err. */
static int publish(cluster *c, const opml_model *m, char *err, size_t errlen) {
    const char *peer = cluster_env(c, "OPML_STORAGE"); /* valid until the next cluster_env */
    if (!peer) {
        snprintf(err, errlen, "%s/cluster.env has no OPML_STORAGE (--no-publish if the model is stored otherwise)", c->dir);
        return -1;
    }
    char why[600];
    signer s;
    signer_init(&s, &c->id);
    net *n = net_new(&c->id, NULL, why, sizeof why);
    storage_client *st = n ? storage_client_new(n, &s, peer, 10000, 1, why, sizeof why) : NULL;
    int rc = st ? model_file_publish(st, m, NULL, why, sizeof why) : -1;
    storage_client_free(st);
    net_free(n);
    if (rc) snprintf(err, errlen, "storage %s did not take the model file, so it was not registered: %s", peer, why);
    return rc;
}

/* The registry's function for model m: `register`, or for a LLaMA step graph `registerGeneration`
 * with its generation facts appended to args and mr (the printed model root, hex) made the
 * generation root. */
static const char *generation_args(const opml_model *m, cJSON *args, char mr[67]) {
    opml_llama *llama = NULL;
    char err[300];
    if (opml_llama_wrap(m, &llama, err, sizeof err)) return "register"; /* not a LLaMA step graph: a classifier */
    opml_gen_facts f;
    opml_llama_gen_facts(llama, &f);
    opml_llama_close(llama);
    uint8_t groot[32];
    opml_gen_root(m->root, &f, groot);
    hex_encode(groot, 32, mr);
    cJSON *gen = cJSON_CreateArray();
    uint32_t gv[] = {f.vocab, f.ctx, f.layers, f.kv_value};
    for (int i = 0; i < 4; i++) cJSON_AddItemToArray(gen, cJSON_CreateNumber(gv[i]));
    cJSON_AddItemToArray(args, gen);
    return "registerGeneration";
}

/* A node run of the measure taking at least this long is shown when it ends. */
#define REGISTER_SHOW_RUN_S 1.0

/* Called after each node run of the measure: runs that take a while are shown as they end. */
static void show_run(void *user, uint32_t node, uint64_t steps, double seconds) {
    const opml_model *m = user;
    if (seconds >= REGISTER_SHOW_RUN_S)
        fprintf(stderr, "opml register: node %u (%s): %llu VM steps, %.1f s\n", node,
                kernel_op_name(m->nodes[node].d.op), (unsigned long long)steps, seconds);
}

/* The step bound: without --steps-log2 (*steps_log2 == 0) the least that covers the longest node
 * run measured in the VM (vm_steps.h) with the margin; a given one is refused below the measured
 * need. --no-steps-check: the given one, unmeasured. The measure goes into *l (zero when none).
 * 0, or -1 after saying why on stderr. */
static int step_bound(const opml_model *m, int no_check, uint32_t *steps_log2, vm_steps_longest_result *l) {
    memset(l, 0, sizeof *l);
    if (no_check) return 0;
    char err[1024];
    opml_llama *lm;
    if (opml_llama_wrap(m, &lm, err, sizeof err) == 0) {
        fprintf(stderr, "opml register: measuring the longest node run in the VM at the context's last position, "
                        "%u: the positions before it run natively first (minutes for a large model)\n",
                opml_llama_hparams_of(lm)->ctx - 1);
        opml_llama_close(lm);
    }
    vm_steps_run s;
    double t0 = opml_now_s();
    int rc = vm_steps_prepare(&s, m, UINT32_MAX, err, sizeof err);
    if (rc == 0) rc = vm_steps_longest(&s, show_run, (void *)m, l, err, sizeof err);
    vm_steps_free(&s);
    if (rc) {
        fprintf(stderr, "opml register: the model's node runs could not be measured in the VM, so it was not "
                        "registered: %s\n", err);
        return -1;
    }
    unsigned need = vm_steps_log2_need(l->steps), chosen = vm_steps_log2_choose(l->steps);
    fprintf(stderr, "opml register: the longest node run is node %u (%s), %llu VM steps (%u nodes run, %.1f s): "
                    "stepsLog2 >= %u, %u with the margin of 1/%u\n", l->node, kernel_op_name(m->nodes[l->node].d.op),
            (unsigned long long)l->steps, l->runs, opml_now_s() - t0, need, chosen, VM_STEPS_MARGIN_DIV);
    if (!*steps_log2) {
        if (need > VM_STEPS_LOG2_MAX) {
            fprintf(stderr, "opml register: no step bound of the registry (at most 2^%u) covers it\n", VM_STEPS_LOG2_MAX);
            return -1;
        }
        *steps_log2 = chosen <= VM_STEPS_LOG2_MAX ? chosen : VM_STEPS_LOG2_MAX; /* the margin, where the registry allows it */
        if (*steps_log2 < chosen)
            fprintf(stderr, "opml register: warning: %u, the registry's largest, leaves less than the margin\n", *steps_log2);
    } else if (*steps_log2 < need) {
        fprintf(stderr, "opml register: --steps-log2 %u is below what the model needs: node %u (%s) takes %llu VM steps, "
                        "more than 2^%u, so phase 2 of a game over it could never be played honestly; use --steps-log2 "
                        "%u (or leave it out), or --no-steps-check to register it unchecked\n",
                *steps_log2, l->node, kernel_op_name(m->nodes[l->node].d.op), (unsigned long long)l->steps,
                *steps_log2, chosen);
        return -1;
    } else if (*steps_log2 < chosen) {
        fprintf(stderr, "opml register: warning: --steps-log2 %u covers the measured run with less than the margin "
                        "of 1/%u that runs on other data may need (%u has it)\n", *steps_log2, VM_STEPS_MARGIN_DIV,
                chosen);
    }
    return 0;
}

/* The game parameters of a spec: k, stepsLog2, window, clock. */
#define REGISTER_PARAMS 4

/* The registry's ModelSpec tuple of model m as cast-style JSON: its roots and shape, the byte
 * lengths the model root commits to (opml_model_commit checked they fit a slot), the game
 * parameters (k, stepsLog2, window, clock), the bonds and the URI (default: the model root in the
 * cluster's storage). */
static cJSON *spec_json(const opml_model *m, const uint8_t nodes_root[32], const uint32_t params[REGISTER_PARAMS],
                        const char *sbond, const char *cbond, const char *uri) {
    char hex[67], num_buf[24];
    cJSON *spec = cJSON_CreateArray();
    hex_encode(nodes_root, 32, hex);
    cJSON_AddItemToArray(spec, cJSON_CreateString(hex));
    long long fields[] = {m->nin, m->n, m->output_value, m->state_depth};
    for (int i = 0; i < 4; i++) {
        snprintf(num_buf, sizeof num_buf, "%lld", fields[i]);
        cJSON_AddItemToArray(spec, cJSON_CreateString(num_buf));
    }
    cJSON *input_bytes = cJSON_CreateArray();
    for (uint32_t i = 0; i < m->nin; i++)
        cJSON_AddItemToArray(input_bytes, cJSON_CreateNumber((double)kd_nbytes(&m->inputs[i])));
    cJSON_AddItemToArray(spec, input_bytes);
    cJSON_AddItemToArray(spec, cJSON_CreateNumber((double)kd_nbytes(&m->values[m->output_value])));
    hex_encode(vm_guest_root, 32, hex);
    cJSON_AddItemToArray(spec, cJSON_CreateString(hex));
    for (int i = 0; i < REGISTER_PARAMS; i++) {
        snprintf(num_buf, sizeof num_buf, "%u", params[i]);
        cJSON_AddItemToArray(spec, cJSON_CreateString(num_buf));
    }
    cJSON_AddItemToArray(spec, cJSON_CreateString(sbond));
    cJSON_AddItemToArray(spec, cJSON_CreateString(cbond));
    char default_uri[700];
    hex_encode(m->root, 32, hex);
    snprintf(default_uri, sizeof default_uri, "opml-storage:%s", hex);
    cJSON_AddItemToArray(spec, cJSON_CreateString(uri ? uri : default_uri));
    return spec;
}

int cmd_register(int argc, char **argv) {
    const char *path = NULL, *dir = NULL, *key = "client", *uri = NULL;
    const char *sbond = "1000000000000000000", *cbond = "1000000000000000000";
    uint32_t k = 16, window = 3600, clock = 21600;
    uint32_t steps_log2 = 0; /* 0: measured */
    int publishing = 1, no_steps_check = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (a[0] != '-') {
            if (path) return usage();
            path = a;
            continue;
        }
        if (!strcmp(a, "--no-publish")) {
            publishing = 0;
            continue;
        }
        if (!strcmp(a, "--no-steps-check")) {
            no_steps_check = 1;
            continue;
        }
        if (!v) return usage();
        if (!strcmp(a, "--cluster")) dir = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--uri")) uri = v;
        else if (!strcmp(a, "--submitter-bond")) sbond = v;
        else if (!strcmp(a, "--challenger-bond")) cbond = v;
        else if (!strcmp(a, "--k")) bad = cli_flag_u32("register", a, v, 2, 64, &k);
        else if (!strcmp(a, "--steps-log2"))
            bad = cli_flag_u32("register", a, v, VM_STEPS_LOG2_MIN, VM_STEPS_LOG2_MAX, &steps_log2);
        else if (!strcmp(a, "--window")) bad = cli_flag_u32("register", a, v, 1, UINT32_MAX, &window);
        else if (!strcmp(a, "--clock")) bad = cli_flag_u32("register", a, v, 1, UINT32_MAX, &clock);
        else return usage();
        if (bad) return 2;
        i++;
    }
    if (!path || (no_steps_check && !steps_log2)) return usage();
    char err[1024];
    opml_model m;
    if (opml_model_load(path, &m, err, sizeof err)) {
        fprintf(stderr, "opml register: %s\n", err);
        return 1;
    }
    vm_steps_longest_result measured;
    if (step_bound(&m, no_steps_check, &steps_log2, &measured)) {
        opml_model_free(&m);
        return 1;
    }
    /* nodesRoot: the node leaves at depth ceil(log2 n) (docs/commitments.md) */
    uint8_t(*leaves)[32] = malloc((size_t)m.n * 32);
    unsigned depth = 0;
    while ((1ull << depth) < m.n) depth++;
    uint8_t nodes_root[32];
    int rc = 1;
    cluster c;
    memset(&c, 0, sizeof c);
    if (!leaves) goto out;
    for (uint32_t i = 0; i < m.n; i++) memcpy(leaves[i], m.nodes[i].leaf, 32);
    if (opml_graph_state(leaves, m.n, depth, nodes_root)) {
        fprintf(stderr, "opml register: cannot compute the nodes root\n");
        goto out;
    }
    if (cluster_open(&c, dir, key, err, sizeof err) || (publishing && publish(&c, &m, err, sizeof err))) {
        fprintf(stderr, "opml register: %s\n", err);
        goto out;
    }
    char gr[67], mr[67];
    hex_encode(vm_guest_root, 32, gr);
    hex_encode(m.root, 32, mr);
    const uint32_t params[REGISTER_PARAMS] = {k, steps_log2, window, clock};
    cJSON *spec = spec_json(&m, nodes_root, params, sbond, cbond, uri);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, spec);
    const char *fn = generation_args(&m, args, mr);
    chain_receipt r;
    if (cluster_send(&c, c.registry_c, c.registry, fn, args, NULL, 120000, &r, err, sizeof err)) {
        fprintf(stderr, "opml register: %s\n", err);
        cJSON_Delete(args);
        goto out;
    }
    cJSON_Delete(args);
    /* the new id: the registry counts models 1, 2, ... */
    cJSON *count = cluster_call(&c, c.registry_c, c.registry, "modelCount", NULL, err, sizeof err);
    long long id = count ? cluster_uint(count, NULL, 0) : -1;
    cJSON_Delete(count);
    if (id < 1) {
        fprintf(stderr, "opml register: registered, but modelCount could not be read: %s\n", err);
        goto out;
    }
    char tx[67], longest[80] = "";
    hex_encode(r.tx_hash, 32, tx);
    if (measured.runs)
        snprintf(longest, sizeof longest, "\"longest_run_steps\":%llu,\"longest_run_node\":%u,",
                 (unsigned long long)measured.steps, measured.node);
    printf("{\"model_id\":%lld,\"model_root\":\"%s\",\"nodes\":%u,\"output_bytes\":%llu,\"guest_root\":\"%s\",\"k\":%u,"
           "\"steps_log2\":%u,\"steps_checked\":%s,%s\"window\":%u,\"clock\":%u,"
           "\"published\":%s,\"generation\":%s,\"tx\":\"%s\",\"gas\":%llu}\n",
           id, mr, m.n, (unsigned long long)kd_nbytes(&m.values[m.output_value]), gr, k, steps_log2, measured.runs ? "true" : "false", longest, window, clock,
           publishing ? "true" : "false",
           strcmp(fn, "register") ? "true" : "false", tx,
           (unsigned long long)r.gas_used);
    rc = 0;
out:
    cluster_close(&c);
    free(leaves);
    opml_model_free(&m);
    return rc;
}
