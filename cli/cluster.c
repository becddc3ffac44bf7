/* cluster.c: a CLI session on a launcher cluster's chain (cluster.h). */
#include "cluster.h"

#include "cli_num.h"
#include "ethjson.h"
#include "hex.h"
#include "u256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failf(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    snprintf(err, errlen, fmt, a, b);
    return -1;
}

const char *cluster_env(const cluster *c, const char *name) {
    static char value[1024];
    char path[600], line[1200];
    snprintf(path, sizeof path, "%s/cluster.env", c->dir);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = strlen(name);
    const char *found = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) || line[n] != '=') continue;
        char *v = line + n + 1;
        v[strcspn(v, "\r\n")] = 0;
        if (*v == '"') { /* a quoted value */
            v++;
            char *q = strrchr(v, '"');
            if (q) *q = 0;
        }
        snprintf(value, sizeof value, "%s", v);
        found = value;
    }
    fclose(f);
    return found;
}

static int env_copy(const cluster *c, const char *name, char *out, size_t cap, char *err, size_t errlen) {
    const char *v = cluster_env(c, name);
    if (!v) return failf(err, errlen, "%s/cluster.env has no %s (is the cluster up? compose/launch.sh up DIR)", c->dir, name);
    snprintf(out, cap, "%s", v);
    return 0;
}

static int env_address(const cluster *c, const char *name, uint8_t out[20], char *err, size_t errlen) {
    char text[128];
    if (env_copy(c, name, text, sizeof text, err, errlen)) return -1;
    if (hex_decode(text, out, 20)) return failf(err, errlen, "cluster.env: %s is not an address: %s", name, text);
    return 0;
}

static contract *load(const cluster *c, const char *name, char *err, size_t errlen) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s.sol/%s.json", c->artifacts, name, name);
    return contract_load(path, err, errlen);
}

int cluster_open(cluster *c, const char *dir, const char *key_name, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    if (!dir) dir = getenv("OPML_CLUSTER");
    snprintf(c->dir, sizeof c->dir, "%s", dir ? dir : "opml-cluster");
    char chain_id[32];
    if (env_copy(c, "OPML_RPC_URL", c->rpc_url, sizeof c->rpc_url, err, errlen) ||
        env_copy(c, "OPML_KEYS", c->keys, sizeof c->keys, err, errlen) ||
        env_copy(c, "OPML_ARTIFACTS", c->artifacts, sizeof c->artifacts, err, errlen) ||
        env_copy(c, "OPML_CHAIN_ID", chain_id, sizeof chain_id, err, errlen) ||
        env_address(c, "OPML_REGISTRY", c->registry, err, errlen) ||
        env_address(c, "OPML_ORACLE", c->oracle, err, errlen) || env_address(c, "OPML_GAME", c->game, err, errlen))
        return -1;
    uint64_t id;
    if (cli_flag_check("cluster.env's OPML_CHAIN_ID", chain_id, 1, UINT64_MAX, &id, err, errlen)) return -1;
    c->chain_id = id;
    if (!(c->registry_c = load(c, "ModelRegistry", err, errlen)) || !(c->oracle_c = load(c, "InferenceOracle", err, errlen)) ||
        !(c->game_c = load(c, "DisputeGame", err, errlen))) {
        cluster_close(c);
        return -1;
    }
    c->rpc = ethrpc_open(c->rpc_url, NULL);
    if (!c->rpc) {
        cluster_close(c);
        return failf(err, errlen, "cannot open the RPC client for %s%s", c->rpc_url, "");
    }
    if (key_name) {
        char key[700], journal[700];
        snprintf(key, sizeof key, "%s/%s.key", c->keys, key_name);
        snprintf(journal, sizeof journal, "%s/data/%s.journal.json", c->dir, key_name);
        if (identity_load(&c->id, key, err, errlen)) {
            cluster_close(c);
            return -1;
        }
        c->known[0] = c->registry_c, c->known[1] = c->oracle_c, c->known[2] = c->game_c;
        sender_config cfg = {.journal = journal, .chain_id = c->chain_id, .known = {c->known, 3}};
        c->snd = sender_open(c->rpc, &c->id, &cfg, err, errlen);
        if (!c->snd) {
            cluster_close(c);
            return -1;
        }
    }
    return 0;
}

void cluster_close(cluster *c) {
    sender_close(c->snd);
    ethrpc_close(c->rpc);
    contract_free(c->registry_c);
    contract_free(c->oracle_c);
    contract_free(c->game_c);
    memset(&c->id, 0, sizeof c->id);
    c->snd = NULL;
    c->rpc = NULL;
    c->registry_c = c->oracle_c = c->game_c = NULL;
}

cJSON *cluster_call(cluster *c, const contract *k, const uint8_t to[20], const char *fn, const cJSON *args, char *err,
                    size_t errlen) {
    const abi_function *f = contract_function(k, fn);
    if (!f) {
        failf(err, errlen, "%s has no function %s", k->name, fn);
        return NULL;
    }
    const contract *known[] = {c->registry_c, c->oracle_c, c->game_c};
    chain_known kn = {known, 3};
    cJSON *empty = args ? NULL : cJSON_CreateArray();
    cJSON *r = chain_call(c->rpc, NULL, to, f, args ? args : empty, &kn, err, errlen);
    cJSON_Delete(empty);
    return r;
}

int cluster_send(cluster *c, const contract *k, const uint8_t to[20], const char *fn, const cJSON *args,
                 const char *value_wei, uint64_t timeout_ms, chain_receipt *r, char *err, size_t errlen) {
    if (!c->snd) return failf(err, errlen, "no key to send %s with%s", fn, "");
    const abi_function *f = contract_function(k, fn);
    if (!f) return failf(err, errlen, "%s has no function %s", k->name, fn);
    u256 value;
    u256_from_u64(&value, 0);
    if (value_wei && u256_parse(&value, value_wei, 0)) return failf(err, errlen, "%s: not a number of wei: %s", fn, value_wei);
    uint8_t *data = NULL, id[32];
    size_t len = 0;
    if (contract_encode_call(f, args, &data, &len, err, errlen)) return -1;
    int rc = sender_send(c->snd, to, &value, data, len, 0, id, err, errlen);
    free(data);
    if (rc) return -1;
    if (sender_wait(c->snd, id, timeout_ms, r, NULL, NULL, err, errlen)) return -1;
    c->gas_total += r->gas_used;
    c->txs++;
    if (!r->success) return failf(err, errlen, "%s reverted: %s", fn, r->revert);
    return 0;
}

long long cluster_uint(const cJSON *v, const char *name, int i) {
    const cJSON *x = name ? cJSON_GetObjectItemCaseSensitive(v, name) : cJSON_GetArrayItem(v, i);
    if (cJSON_IsNumber(x)) return (long long)x->valuedouble;
    if (!cJSON_IsString(x)) return -1;
    char *end;
    long long n = strtoll(x->valuestring, &end, 0);
    return *end || n < 0 ? -1 : n;
}

uint8_t *cluster_task_output(cluster *c, long long id, size_t *len) {
    const abi_event *e = contract_event(c->oracle_c, "ResultSubmitted");
    if (!e) return NULL;
    char q[400], a[43], topic[67];
    hex_encode(c->oracle, 20, a);
    hex_encode(e->topic, 32, topic);
    snprintf(q, sizeof q, "[{\"fromBlock\":\"0x0\",\"toBlock\":\"latest\",\"address\":\"%s\",\"topics\":[\"%s\",\"0x%064llx\"]}]", a,
             topic, id);
    cJSON *res = NULL;
    if (ethrpc_call(c->rpc, "eth_getLogs", cJSON_Parse(q), &res) != ETHRPC_OK || !cJSON_IsArray(res) || !cJSON_GetArraySize(res)) {
        cJSON_Delete(res);
        return NULL;
    }
    const cJSON *log = cJSON_GetArrayItem(res, cJSON_GetArraySize(res) - 1), *t;
    uint8_t tp[4][32], *data = NULL, *out = NULL;
    size_t nt = 0, dlen = 0;
    char err[200];
    cJSON_ArrayForEach(t, ej_get(log, "topics")) if (nt < 4) ej_data_fixed(t, tp[nt++], 32);
    cJSON *args = NULL;
    if (ej_data(ej_get(log, "data"), &data, &dlen) == 0)
        args = contract_decode_log(e, (const uint8_t (*)[32])tp, nt, data, dlen, err, sizeof err);
    const char *hx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "output"));
    size_t n = hx && strlen(hx) >= 2 ? (strlen(hx) - 2) / 2 : 0; /* "0x" and two digits a byte */
    if (hx && strlen(hx) >= 2 && (out = malloc(n + 1)) && hex_decode(hx, out, n)) free(out), out = NULL;
    if (out) *len = n;
    free(data);
    cJSON_Delete(args);
    cJSON_Delete(res);
    return out;
}
