/* cluster.h: what the `opml register`, `request`, `status` and `demo` subcommands share: a
 * cluster as compose/launch.sh describes it in DIR/cluster.env (the chain's RPC URL and id, the
 * contract addresses, the artifacts, the keys directory), and a session on its chain as one of
 * its identities: contracts loaded from forge's artifacts (no selector copied by hand), calls
 * (eth_call) and transactions (opml_eth's sender, its nonce journal beside the key). */
#ifndef OPML_CLI_CLUSTER_H
#define OPML_CLI_CLUSTER_H

#include "chaincall.h"
#include "contract.h"
#include "ethrpc.h"
#include "identity.h"
#include "sender.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cluster {
    char dir[512];
    char rpc_url[256];
    char keys[512];
    char artifacts[512];
    uint64_t chain_id;
    uint8_t registry[20], oracle[20], game[20];
    contract *registry_c, *oracle_c, *game_c;
    const contract *known[3]; /* the three, for the sender's revert decoding: it keeps this pointer */
    ethrpc_client *rpc;
    identity id;
    sender *snd;            /* NULL until cluster_open with a key */
    uint64_t gas_total;     /* gas of every transaction sent through this session */
    unsigned txs;
} cluster;

/* Reads DIR/cluster.env (dir NULL: $OPML_CLUSTER, else "opml-cluster"), loads the three contracts
 * and opens the RPC client. With key_name (a key in the keys directory, "client" by default for
 * the CLI), also the sender of that identity (journal DIR/data/<key_name>.journal.json, which
 * launch.sh up clears with the chain). Returns 0 or
 * -1 with the reason in err. */
int cluster_open(cluster *c, const char *dir, const char *key_name, char *err, size_t errlen);
void cluster_close(cluster *c);

/* One value from DIR/cluster.env by name (NULL if absent); the pointer is into a static buffer,
 * valid until the next call. */
const char *cluster_env(const cluster *c, const char *name);

/* f(args) of contract k at `to`, decoded (a cJSON the caller frees), or NULL with the reason. */
cJSON *cluster_call(cluster *c, const contract *k, const uint8_t to[20], const char *fn, const cJSON *args, char *err,
                    size_t errlen);

/* Sends f(args) with value_wei (decimal text, NULL: 0) and waits for the receipt (timeout_ms).
 * Returns 0 with *r when mined successfully; -1 with the reason (refused before sending because it
 * would revert, reverted, no receipt in time) in err. */
int cluster_send(cluster *c, const contract *k, const uint8_t to[20], const char *fn, const cJSON *args,
                 const char *value_wei, uint64_t timeout_ms, chain_receipt *r, char *err, size_t errlen);

/* The decimal value of a uint field of a decoded result (object member, or array element i when
 * name is NULL); -1 on anything else. */
long long cluster_uint(const cJSON *v, const char *name, int i);

/* The output bytes of task id's last submission, from its ResultSubmitted log (the contract keeps
 * only their hash): malloc'd, *len of them; NULL when there is none or the log does not decode. */
uint8_t *cluster_task_output(cluster *c, long long id, size_t *len);

#endif
