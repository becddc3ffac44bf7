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
 *   opml register MODEL.opml [--cluster DIR] [--key NAME] [--k 16] [--steps-log2 23] [--window 3600]
 *                 [--clock 21600] [--submitter-bond WEI] [--challenger-bond WEI] [--uri URI] [--no-publish]
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
#include "cluster.h"
#include "commands.h"
#include "hex.h"
#include "llama.h"
#include "model.h"
#include "model_file.h"
#include "vm_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr, "usage: opml register MODEL.opml [--cluster DIR] [--key NAME] [--k K] [--steps-log2 N]\n"
                    "       [--window SECONDS] [--clock SECONDS] [--submitter-bond WEI] [--challenger-bond WEI] [--uri URI]\n"
                    "       [--no-publish]\n");
    return 2;
}

/* A whole decimal number in [lo, hi]. */
static int num(const char *s, long long lo, long long hi, long long *out) {
    char *e;
    long long v = strtoll(s, &e, 10);
    if (e == s || *e || v < lo || v > hi) return -1;
    *out = v;
    return 0;
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

int cmd_register(int argc, char **argv) {
    const char *path = NULL, *dir = NULL, *key = "client", *uri = NULL;
    const char *sbond = "1000000000000000000", *cbond = "1000000000000000000";
    long long k = 16, steps_log2 = 23, window = 3600, clock = 21600;
    int publishing = 1;
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
        if (!v) return usage();
        if (!strcmp(a, "--cluster")) dir = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--uri")) uri = v;
        else if (!strcmp(a, "--submitter-bond")) sbond = v;
        else if (!strcmp(a, "--challenger-bond")) cbond = v;
        else if (!strcmp(a, "--k")) bad = num(v, 2, 64, &k);
        else if (!strcmp(a, "--steps-log2")) bad = num(v, 1, 62, &steps_log2);
        else if (!strcmp(a, "--window")) bad = num(v, 1, 4294967295LL, &window);
        else if (!strcmp(a, "--clock")) bad = num(v, 1, 4294967295LL, &clock);
        else return usage();
        if (bad) {
            fprintf(stderr, "opml register: %s %s is out of range\n", a, v);
            return 2;
        }
        i++;
    }
    if (!path) return usage();
    char err[1024];
    opml_model m;
    if (opml_model_load(path, &m, err, sizeof err)) {
        fprintf(stderr, "opml register: %s\n", err);
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
    char nr[67], gr[67], mr[67], num_buf[8][24];
    hex_encode(nodes_root, 32, nr);
    hex_encode(vm_guest_root, 32, gr);
    hex_encode(m.root, 32, mr);
    cJSON *spec = cJSON_CreateArray();
    cJSON_AddItemToArray(spec, cJSON_CreateString(nr));
    long long fields[] = {m.nin, m.n, m.output_value, m.state_depth};
    for (int i = 0; i < 4; i++) {
        snprintf(num_buf[i], sizeof num_buf[i], "%lld", fields[i]);
        cJSON_AddItemToArray(spec, cJSON_CreateString(num_buf[i]));
    }
    /* the byte lengths the model root commits to (opml_model_commit checked they fit a slot) */
    cJSON *input_bytes = cJSON_CreateArray();
    for (uint32_t i = 0; i < m.nin; i++) cJSON_AddItemToArray(input_bytes, cJSON_CreateNumber((double)kd_nbytes(&m.inputs[i])));
    cJSON_AddItemToArray(spec, input_bytes);
    unsigned long long output_bytes = (unsigned long long)kd_nbytes(&m.values[m.output_value]);
    cJSON_AddItemToArray(spec, cJSON_CreateNumber((double)output_bytes));
    cJSON_AddItemToArray(spec, cJSON_CreateString(gr));
    long long params[] = {k, steps_log2, window, clock};
    for (int i = 0; i < 4; i++) {
        snprintf(num_buf[4 + i], sizeof num_buf[4 + i], "%lld", params[i]);
        cJSON_AddItemToArray(spec, cJSON_CreateString(num_buf[4 + i]));
    }
    cJSON_AddItemToArray(spec, cJSON_CreateString(sbond));
    cJSON_AddItemToArray(spec, cJSON_CreateString(cbond));
    char default_uri[700];
    snprintf(default_uri, sizeof default_uri, "opml-storage:%s", mr);
    cJSON_AddItemToArray(spec, cJSON_CreateString(uri ? uri : default_uri));
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
    char tx[67];
    hex_encode(r.tx_hash, 32, tx);
    printf("{\"model_id\":%lld,\"model_root\":\"%s\",\"nodes\":%u,\"output_bytes\":%llu,\"guest_root\":\"%s\",\"k\":%lld,"
           "\"steps_log2\":%lld,\"window\":%lld,\"clock\":%lld,\"published\":%s,\"generation\":%s,\"tx\":\"%s\",\"gas\":%llu}\n",
           id, mr, m.n, output_bytes, gr, k, steps_log2, window, clock, publishing ? "true" : "false",
           strcmp(fn, "register") ? "true" : "false", tx,
           (unsigned long long)r.gas_used);
    rc = 0;
out:
    cluster_close(&c);
    free(leaves);
    opml_model_free(&m);
    return rc;
}
