/* anvil.h: a real local chain for chainwatch's system tests and benchmarks. Starts foundry's anvil
 * on a free loopback port, waits until it answers eth_chainId, stops it with SIGTERM (anvil then
 * writes its --state file, so a restart with the same state resumes the same chain). */
#ifndef OPML_CHAIN_TEST_ANVIL_H
#define OPML_CHAIN_TEST_ANVIL_H

#include "contract.h"
#include "sender.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct anvil {
    pid_t pid;
    int port;
    char url[64];
} anvil;

/* The first of anvil's well-known development keys (funded with 10000 ETH) and the second. */
#define ANVIL_KEY0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL_KEY1 "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

/* Starts anvil with extra arguments (NULL-terminated list, may be NULL). port 0 picks a free one;
 * otherwise that port is used (to restart a node where clients expect it). Returns 0 or -1. */
int anvil_start(anvil *a, int port, const char *const *extra);
/* SIGTERM, wait. Safe to call on a stopped anvil. */
void anvil_stop(anvil *a);
/* Raw JSON-RPC convenience for test set-up (evm_mine, evm_snapshot...): result as text, caller
 * frees; NULL on any failure. params_json is a JSON array text. */
char *anvil_rpc(const anvil *a, const char *method, const char *params_json);
/* The timestamp (block.timestamp) of block `number` of the node's chain, as `cast block N -f
 * timestamp` prints it; 0 on any failure. */
uint64_t anvil_block_time(const anvil *a, uint64_t number);

/* Sends c's function fn(args_json) to `to` -- or deploys c with constructor args_json when to is
 * NULL -- with value wei and gas (0: estimated), and waits for its receipt (20 s at most). Returns
 * 0, or -1 with the reason in err: refused before sending, no receipt, or (with *r filled) the
 * decoded revert of a transaction mined as failed. */
int anvil_tx(sender *s, const contract *c, const uint8_t *to, const char *fn, const char *args_json, uint64_t value,
             uint64_t gas, chain_receipt *r, char *err, size_t errlen);

#endif
