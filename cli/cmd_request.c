/* cmd_request.c: `opml request`, an inference asked on-chain (InferenceOracle.request, the input
 * in calldata), and with --wait its life followed until it is finalized (or the time-out).
 *
 *   opml request --model-id ID --model MODEL.opml (--idx PATH#N | --input FILE) [--fee WEI]
 *                [--wait] [--timeout SECONDS] [--cluster DIR] [--key NAME] [--via ARTIFACT@0xADDRESS]
 *
 * --via sends the request through a requester contract instead: its function
 * `ask(uint256 modelId, bytes[] inputs)` (payable) must call the oracle's `request`, and the
 * contract receives the result by IOpmlReceiver.opmlResult (docs/contract-authors.md).
 * The model file gives the input's size and the IDX pixel divisor; `--input` is the raw
 * little-endian bytes of the one input. Prints the task id (and with --wait each status change,
 * the final status and the time it took).
 *
 *   opml request --model-id ID --model MODEL.opml (--prompt TEXT | --tokens ID,ID,..) [--max-new N]
 *                [--stop ID|eos|none] [--temperature F] [--top-k K] [--top-p F] [--seed S] [--fee WEI] [--wait] ...
 *
 * asks a generation model for a continuation (InferenceOracle.requestGeneration, docs/generation.md;
 * request_gen.c): the prompt as text, tokenized with the model's tokenizer, or as ids; by default 32
 * new tokens, greedy, no stop token. With --wait the finalized result's text is printed. */
#include "clock.h"
#include "cli_num.h"
#include "cluster.h"
#include "commands.h"
#include "hex.h"
#include "idx.h"
#include "model.h"
#include "request_gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void) {
    fprintf(stderr, "usage: opml request --model-id ID --model MODEL.opml (--idx PATH#N | --input FILE) [--fee WEI]\n"
                    "       [--wait] [--timeout SECONDS] [--cluster DIR] [--key NAME] [--via ARTIFACT@0xADDRESS]\n"
                    "   or: opml request --model-id ID --model MODEL.opml (--prompt TEXT | --tokens ID,ID,..) [--max-new N]\n"
                    "       [--stop ID|eos|none] [--temperature F] [--top-k K] [--top-p F] [--seed S] [--fee WEI] [--wait] ...\n");
    return 2;
}

static const char *status_name(long long s) {
    static const char *names[] = {"none", "open", "submitted", "finalized", "cancelled"};
    return s >= 0 && s <= 4 ? names[s] : "?";
}


/* The model input's bytes from --idx PATH#N or --input FILE; malloc'd into *out. */
static int input_bytes(const opml_model *m, const char *idx_spec, const char *file, uint8_t **out, size_t *len,
                       char *err, size_t errlen) {
    size_t need = (size_t)kd_nbytes(&m->inputs[0]);
    if (file) {
        *out = opml_read_file(file, len);
        if (!*out) return opml_errf(err, errlen, "%s: cannot read", file);
        if (*len != need) {
            free(*out);
            return opml_errf(err, errlen, "%s has %zu bytes; the model's input has %zu", file, *len, need);
        }
        return 0;
    }
    const char *hash = strrchr(idx_spec, '#');
    uint64_t n;
    if (!hash || cli_parse_u64(hash + 1, 0, UINT32_MAX, &n))
        return opml_errf(err, errlen, "--idx wants PATH#N (N a whole number), not %s", idx_spec);
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)(hash - idx_spec), idx_spec);
    opml_idx x;
    if (opml_idx_load(path, &x, err, errlen)) return -1;
    int rc = -1;
    if (m->inputs[0].dtype != KD_F32 || kd_numel(&m->inputs[0]) != x.item_bytes) {
        opml_errf(err, errlen, "%s: items of %zu bytes do not make the model's input", path, x.item_bytes);
    } else if (n >= x.count) {
        opml_errf(err, errlen, "%s has %u items; %" PRIu64 " is out of range", path, x.count, n);
    } else if (!(*out = malloc(need))) {
        opml_errf(err, errlen, "out of memory");
    } else {
        opml_idx_floats(&x, (uint32_t)n, 1, m->input_divisor != 0 ? m->input_divisor : 1.0f, (float *)*out);
        *len = need;
        rc = 0;
    }
    opml_idx_free(&x);
    return rc;
}

/* Sends the request: to the oracle's `request`, or with --via ARTIFACT@0xADDRESS to a requester
 * contract's ask(uint256,bytes[]). Returns 0 with the receipt in *r, or -1 with a reason in err. */
static int send_request(cluster *c, const char *via, const cJSON *args, const char *fee, chain_receipt *r, char *err,
                        size_t errlen) {
    if (!via) return cluster_send(c, c->oracle_c, c->oracle, "request", args, fee, 120000, r, err, errlen);
    char art[4096];
    uint8_t to[20];
    const char *at = strrchr(via, '@');
    if (!at || (size_t)(at - via) >= sizeof art || hex_decode(at + 1, to, 20)) {
        snprintf(err, errlen, "--via wants ARTIFACT@0xADDRESS, not %s", via);
        return -1;
    }
    snprintf(art, sizeof art, "%.*s", (int)(at - via), via);
    contract *k = contract_load(art, err, errlen);
    int sent = k ? cluster_send(c, k, to, "ask", args, fee, 120000, r, err, errlen) : -1;
    contract_free(k);
    return sent;
}

/* --wait: prints each status change of the task until it is finalized (returns 0), cancelled or
 * not finalized within timeout seconds of t0 (returns 1). */
static int wait_final(cluster *c, long long task, double t0, long long timeout) {
    char err[1024], task_text[24];
    long long last = -1;
    snprintf(task_text, sizeof task_text, "%lld", task);
    while (opml_now_s() - t0 < (double)timeout) {
        cJSON *targs = cJSON_CreateArray();
        cJSON_AddItemToArray(targs, cJSON_CreateString(task_text));
        cJSON *t = cluster_call(c, c->oracle_c, c->oracle, "task", targs, err, sizeof err);
        cJSON_Delete(targs);
        const cJSON *tt = t ? cJSON_GetArrayItem(t, 0) : NULL;
        if (tt && cJSON_IsArray(t) && cJSON_GetArraySize(t) == 1 && cJSON_IsObject(tt)) {
            long long st = cluster_uint(tt, "status", 0), sub = cluster_uint(tt, "subId", 0);
            if (st != last) {
                const cJSON *who = cJSON_GetObjectItemCaseSensitive(tt, "submitter");
                printf("{\"task_id\":%lld,\"status\":\"%s\",\"submission\":%lld,\"submitter\":\"%s\",\"after_s\":%.1f}\n", task,
                       status_name(st), sub, cJSON_IsString(who) ? who->valuestring : "", opml_now_s() - t0);
                fflush(stdout);
                last = st;
            }
            if (st == 3 || st == 4) {
                cJSON_Delete(t);
                return st == 3 ? 0 : 1;
            }
        } else if (!t) {
            fprintf(stderr, "opml request: task %lld: %s (retrying)\n", task, err);
        }
        cJSON_Delete(t);
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "opml request: task %lld not finalized within %lld s\n", task, timeout);
    return 1;
}

/* The task id the oracle gave the last request (taskCount), or -1 with a line on stderr. */
static long long last_task(cluster *c) {
    char err[1024];
    cJSON *count = cluster_call(c, c->oracle_c, c->oracle, "taskCount", NULL, err, sizeof err);
    long long task = count ? cluster_uint(count, NULL, 0) : -1;
    cJSON_Delete(count);
    if (task < 1) fprintf(stderr, "opml request: sent, but taskCount could not be read: %s\n", err);
    return task;
}

/* A generation request (request_gen.h); with --wait, the finalized ids' text. */
static int request_generation(const char *dir, const char *key, const char *model_path, long long model_id,
                              const request_gen_opts *go, const char *fee, int wait, long long timeout) {
    char err[1024];
    cJSON *args = NULL;
    cluster c;
    memset(&c, 0, sizeof c);
    if (request_gen_args(model_path, model_id, go, &args, err, sizeof err) || cluster_open(&c, dir, key, err, sizeof err)) {
        fprintf(stderr, "opml request: %s\n", err);
        cJSON_Delete(args);
        return 1;
    }
    chain_receipt r;
    double t0 = opml_now_s();
    int rc = 1;
    if (cluster_send(&c, c.oracle_c, c.oracle, "requestGeneration", args, fee, 120000, &r, err, sizeof err)) {
        fprintf(stderr, "opml request: %s\n", err);
        goto out;
    }
    long long task = last_task(&c);
    if (task < 1) goto out;
    printf("{\"task_id\":%lld,\"gas\":%llu,\"prompt_ids\":%s}\n", task, (unsigned long long)r.gas_used,
           cJSON_GetStringValue(cJSON_GetArrayItem(args, 1)));
    fflush(stdout);
    rc = wait ? wait_final(&c, task, t0, timeout) : 0;
out:
    cJSON_Delete(args);
    cluster_close(&c);
    return rc;
}

int cmd_request(int argc, char **argv) {
    const char *dir = NULL, *key = "client", *model_path = NULL, *idx = NULL, *file = NULL, *fee = "0", *via = NULL;
    long long model_id = -1, timeout = 300;
    int wait = 0;
    request_gen_opts go = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (!strcmp(a, "--wait")) {
            wait = 1;
            continue;
        }
        if (!v) return usage();
        if (!strcmp(a, "--cluster")) dir = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--idx")) idx = v;
        else if (!strcmp(a, "--input")) file = v;
        else if (!strcmp(a, "--fee")) fee = v;
        else if (!strcmp(a, "--via")) via = v;
        else if (!strcmp(a, "--prompt")) go.prompt = v;
        else if (!strcmp(a, "--tokens")) go.tokens = v;
        else if (!strcmp(a, "--max-new")) go.max_new = v;
        else if (!strcmp(a, "--stop")) go.stop = v;
        else if (!strcmp(a, "--temperature")) go.temperature = v;
        else if (!strcmp(a, "--top-k")) go.top_k = v;
        else if (!strcmp(a, "--top-p")) go.top_p = v;
        else if (!strcmp(a, "--seed")) go.seed = v;
        else if (!strcmp(a, "--model-id")) {
            if (cli_flag_u64("request", a, v, 1, INT64_MAX, &n)) return 2;
            model_id = (long long)n;
        } else if (!strcmp(a, "--timeout")) {
            if (cli_flag_u64("request", a, v, 1, UINT32_MAX, &n)) return 2;
            timeout = (long long)n;
        } else return usage();
        i++;
    }
    char err[1024];
    if (go.prompt || go.tokens) {
        if (model_id < 1 || !model_path || idx || file || via || (go.prompt && go.tokens) || timeout < 1) return usage();
        return request_generation(dir, key, model_path, model_id, &go, fee, wait, timeout);
    }
    if (model_id < 1 || !model_path || !idx == !file || timeout < 1) return usage();
    opml_model m;
    if (opml_model_load(model_path, &m, err, sizeof err)) {
        fprintf(stderr, "opml request: %s\n", err);
        return 1;
    }
    int rc = 1;
    uint8_t *in = NULL;
    size_t len = 0;
    char *hexin = NULL;
    cluster c;
    memset(&c, 0, sizeof c);
    if (m.nin != 1) {
        fprintf(stderr, "opml request: the model has %u inputs; this command sends exactly one\n", m.nin);
        goto out;
    }
    if (input_bytes(&m, idx, file, &in, &len, err, sizeof err) || cluster_open(&c, dir, key, err, sizeof err)) {
        fprintf(stderr, "opml request: %s\n", err);
        goto out;
    }
    hexin = malloc(2 * len + 3);
    if (!hexin) goto out;
    hex_encode(in, len, hexin);
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", model_id);
    cJSON *args = cJSON_CreateArray(), *inputs = cJSON_CreateArray();
    cJSON_AddItemToArray(inputs, cJSON_CreateString(hexin));
    cJSON_AddItemToArray(args, cJSON_CreateString(id_text));
    cJSON_AddItemToArray(args, inputs);
    chain_receipt r;
    double t0 = opml_now_s();
    int sent = send_request(&c, via, args, fee, &r, err, sizeof err);
    cJSON_Delete(args);
    if (sent) {
        fprintf(stderr, "opml request: %s\n", err);
        goto out;
    }
    long long task = last_task(&c);
    if (task < 1) goto out;
    printf("{\"task_id\":%lld,\"gas\":%llu}\n", task, (unsigned long long)r.gas_used);
    fflush(stdout);
    rc = 0;
    if (wait) rc = wait_final(&c, task, t0, timeout);
out:
    free(hexin);
    free(in);
    cluster_close(&c);
    opml_model_free(&m);
    return rc;
}
