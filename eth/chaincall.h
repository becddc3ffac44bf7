/* chaincall.h: read-only contract calls (eth_call) and gas estimates, with reverts reported in
 * words (revert.h). `known` lists the contracts whose custom errors may appear (NULL, 0: none). */
#ifndef OPML_CHAIN_CHAINCALL_H
#define OPML_CHAIN_CHAINCALL_H

#include "contract.h"
#include "ethrpc.h"
#include "u256.h"

#include <stddef.h>
#include <stdint.h>

typedef struct chain_known {
    const contract *const *list;
    size_t n;
} chain_known;

/* A call's parameters; from, to and value may be NULL (no sender, contract creation, zero). */
typedef struct chain_msg {
    const uint8_t *from;
    const uint8_t *to;
    const u256 *value;
    const uint8_t *data;
    size_t len;
    uint64_t gas; /* 0: the node's default */
} chain_msg;

/* Outcome of chain_call_raw / chain_estimate beyond success. */
enum { CHAIN_REVERTED = 1 };

/* eth_call at block `tag` ("latest", or a 0x-quantity). Returns 0 with the return data in *ret
 * (malloc'd), CHAIN_REVERTED with the decoded reason in err, or -1 with the RPC failure in err. */
int chain_call_raw(ethrpc_client *rpc, const chain_msg *m, const char *tag, const chain_known *known, uint8_t **ret,
                   size_t *retlen, char *err, size_t errlen);

/* f(args) on `to` at "latest", decoded. Returns the result (cJSON, caller frees), or NULL with the
 * reason ("reverted: TooLarge(given=3, limit=2)", or the RPC failure) in err. */
cJSON *chain_call(ethrpc_client *rpc, const uint8_t *from, const uint8_t to[20], const abi_function *f, const cJSON *args,
                  const chain_known *known, char *err, size_t errlen);

/* eth_estimateGas. Returns 0 with *gas, CHAIN_REVERTED with the reason, or -1. */
int chain_estimate(ethrpc_client *rpc, const chain_msg *m, const chain_known *known, uint64_t *gas, char *err,
                   size_t errlen);

/* The JSON call object {from, to, value, data, gas} of m (NULL when out of memory). */
cJSON *chain_msg_json(const chain_msg *m);

#endif
