/* bench_chain.c: chainwatch on a real anvil (automine: every transaction is mined on arrival).
 *   1. transactions per second, signed, sent and confirmed (receipt seen), one at a time and
 *      pipelined (all sent, then all receipts), for Probe.store calls with and without gas
 *      estimation;
 *   2. latency from a block's existence to its event being published by the follower, with the
 *      cursor and events written to RocksDB (storage's store) before publishing, as opml-chainwatch
 *      does (minus its poll interval and the bus hop).
 * usage: bench_chain [N]   (default 300 transactions) */
#include "anvil.h"
#include "contract.h"
#include "follower.h"
#include "hex.h"
#include "sender.h"
#include "rocks_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double published_at;
static int on_event(void *user, const char *topic, const Opml__ChainEvent *ev) {
    (void)user, (void)topic, (void)ev;
    published_at = now_s();
    return 0;
}

static uint8_t *store_call(const contract *probe, int i, size_t *len) {
    char args[200], err[200];
    snprintf(args, sizeof args, "[\"0x%064x\", \"bench %d\"]", i, i);
    cJSON *a = cJSON_Parse(args);
    uint8_t *data = NULL;
    contract_encode_call(contract_function(probe, "store"), a, &data, len, err, sizeof err);
    cJSON_Delete(a);
    return data;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    if (n < 10 || n > 100000) n = 300;
    char dir[] = "/tmp/bench-chain-XXXXXX", path[300], err[600];
    if (!mkdtemp(dir)) return 1;
    anvil node;
    if (anvil_start(&node, 0, NULL)) return 1;
    contract *probe = contract_load(PROBE_ARTIFACT, err, sizeof err);
    ethrpc_client *rpc = ethrpc_open(node.url, NULL);
    identity me;
    uint8_t secret[32], id[32];
    hex_decode(ANVIL_KEY0, secret, 32);
    identity_from_secret(&me, secret);
    snprintf(path, sizeof path, "%s/journal.json", dir);
    sender_config cfg = {.journal = path};
    sender *s = sender_open(rpc, &me, &cfg, err, sizeof err);
    if (!probe || !s) return 1;
    uint8_t *data;
    size_t dlen;
    chain_receipt r;
    if (anvil_tx(s, probe, NULL, NULL, "[1000000000, \"bench\"]", 0, 0, &r, err, sizeof err)) return 1;
    uint8_t addr[20];
    memcpy(addr, r.contract_address, 20);
    printf("bench_chain: anvil automine, Probe.store(bytes32,string), %d transactions per run\n", n);

    for (int estimate = 1; estimate >= 0; estimate--) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            data = store_call(probe, i, &dlen);
            if (sender_send(s, addr, NULL, data, dlen, estimate ? 0 : 120000, id, err, sizeof err) ||
                sender_wait(s, id, 10000, &r, NULL, NULL, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            free(data);
        }
        double seq = now_s() - t0;
        t0 = now_s();
        for (int i = 0; i < n; i++) {
            data = store_call(probe, i, &dlen);
            if (sender_send(s, addr, NULL, data, dlen, estimate ? 0 : 120000, id, err, sizeof err)) return 1;
            free(data);
        }
        double sent = now_s() - t0;
        int left;
        while ((left = sender_poll(s, NULL, NULL, err, sizeof err)) > 0) {}
        double all = now_s() - t0;
        printf("  %-22s one at a time: %7.1f tx/s confirmed | pipelined: %7.1f tx/s sent, %7.1f tx/s confirmed\n",
               estimate ? "gas estimated:" : "fixed gas limit:", n / seq, n / sent, n / all);
    }

    /* latency from a block to its event */
    snprintf(path, sizeof path, "%s/db", dir);
    store *db = store_open(path, err, sizeof err);
    follow_store fs = rocks_follow_store(db);
    follow_contract fc = {probe, {0}};
    memcpy(fc.address, addr, 20);
    uint64_t head;
    cJSON *res;
    ethrpc_call(rpc, "eth_blockNumber", NULL, &res);
    sscanf(res->valuestring, "%lx", &head);
    cJSON_Delete(res);
    follower_config fcfg = {.contracts = &fc, .ncontracts = 1, .from_block = head + 1, .key_prefix = "bench/"};
    follower *f = follower_open(rpc, &fcfg, &fs, err, sizeof err);
    free(anvil_rpc(&node, "evm_setAutomine", "[false]"));
    int m = n / 3 > 100 ? 100 : n / 3;
    double *lat = calloc((size_t)m, sizeof *lat);
    for (int i = 0; i < m; i++) {
        data = store_call(probe, i, &dlen);
        sender_send(s, addr, NULL, data, dlen, 120000, id, err, sizeof err);
        free(data);
        while (follower_step(f, on_event, NULL, err, sizeof err) == 1) {}
        free(anvil_rpc(&node, "evm_mine", "[]"));
        double t0 = now_s();
        published_at = 0;
        while (published_at == 0)
            if (follower_step(f, on_event, NULL, err, sizeof err) < 0) return 1;
        lat[i] = (published_at - t0) * 1e3;
        sender_poll(s, NULL, NULL, err, sizeof err);
    }
    qsort(lat, (size_t)m, sizeof *lat, cmp_double);
    printf("  block -> event published (RocksDB write included), %d blocks: median %.2f ms, p90 %.2f ms, max %.2f ms\n", m,
           lat[m / 2], lat[m * 9 / 10], lat[m - 1]);
    printf("  (opml-chainwatch adds up to poll_ms, 250 by default, and one bus hop)\n");
    free(lat);
    follower_close(f);
    store_close(db);
    sender_close(s);
    ethrpc_close(rpc);
    contract_free(probe);
    anvil_stop(&node);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    if (system(path)) {}
    return 0;
}
