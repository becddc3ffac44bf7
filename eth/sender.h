/* sender.h: sends this identity's transactions and sees each one through to its receipt.
 *
 * Nonces. The sender owns its key's nonces: the next nonce and every transaction not yet mined
 * are kept in a journal file, written atomically (temporary file, fsync, rename) BEFORE a
 * transaction is broadcast. On open, the next nonce is the larger of the journal's and the node's
 * pending count, so a restart neither reuses a nonce nor leaves a gap, and the journal's pending
 * transactions are broadcast again (a node that restarted may have lost its mempool).
 *
 * Fees. EIP-1559: tip = eth_maxPriorityFeePerGas, max fee = 2 * base fee + tip. A transaction not
 * mined `stuck_ms` after it was sent is replaced: same nonce, tip and max fee each raised by
 * `bump_percent` (nodes require at least 10%); all its hashes are remembered, since any one may be
 * the one mined. A transaction keeps the hash sender_send returned as its id.
 *
 * Receipts. sender_poll reports each transaction once, when mined: status, block, gas, created
 * contract, and for a revert the reason in words (replayed with eth_call on the parent block, so
 * Error(string), Panic(uint256) and the known contracts' custom errors come out decoded).
 *
 * The chain id is checked against the node's eth_chainId on open and recorded in the journal; a
 * journal from another chain or key is refused. Not thread-safe. */
#ifndef OPML_CHAIN_SENDER_H
#define OPML_CHAIN_SENDER_H

#include "chaincall.h"
#include "ethrpc.h"
#include "identity.h"
#include "u256.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sender_config {
    const char *journal;     /* path of the journal file (created if missing); required */
    uint64_t chain_id;       /* expected chain; 0 accepts the node's */
    uint64_t stuck_ms;       /* replace after this long unmined; default 30000 */
    unsigned bump_percent;   /* default 15 */
    unsigned gas_margin_percent; /* added to gas estimates; default 25 */
    uint64_t max_fee_cap;    /* never offer more wei per gas than this; 0: no cap */
    chain_known known;       /* contracts whose custom errors to decode */
} sender_config;

typedef struct chain_receipt {
    uint8_t id[32];          /* the hash sender_send returned */
    uint8_t tx_hash[32];     /* the hash mined (differs from id after a replacement) */
    uint64_t nonce;
    uint64_t block_number;
    uint8_t block_hash[32];
    uint64_t gas_used;
    uint64_t effective_gas_price;
    int success;             /* receipt status 1 */
    int has_contract;
    uint8_t contract_address[20];
    char revert[512];        /* why it failed, when !success */
} chain_receipt;

typedef struct sender sender;

/* Opens the sender of id through rpc (both must outlive it). Checks the chain id, loads or creates
 * the journal, re-broadcasts pending transactions. Returns NULL with a reason in err. */
sender *sender_open(ethrpc_client *rpc, const identity *id, const sender_config *cfg, char *err, size_t errlen);
void sender_close(sender *s);

/* Signs and broadcasts a transaction to `to` (NULL: create a contract) with value (NULL: 0) and
 * data. gas 0: estimated (a transaction that would revert is refused, the reason in err, and no
 * nonce is used). On 0, id is the transaction's hash; it is journaled and will be mined, replaced
 * or re-broadcast as needed, even if the node went down right after. Returns 0 or -1. */
int sender_send(sender *s, const uint8_t *to, const u256 *value, const uint8_t *data, size_t len, uint64_t gas,
                uint8_t id[32], char *err, size_t errlen);

/* Checks every pending transaction once: reports the mined ones through cb (then forgets them),
 * replaces the stuck ones, re-broadcasts those the node lost. Returns the number still pending, or
 * -1 with a reason in err if the node could not be asked (nothing is lost: poll again later). */
typedef void (*sender_receipt_fn)(const chain_receipt *r, void *user);
int sender_poll(sender *s, sender_receipt_fn cb, void *user, char *err, size_t errlen);

/* Polls until the transaction `id` has its receipt or timeout_ms passes (node failures in between
 * are retried). Receipts of other transactions seen meanwhile go to cb (may be NULL: dropped).
 * Returns 0 with *out, or -1. */
int sender_wait(sender *s, const uint8_t id[32], uint64_t timeout_ms, chain_receipt *out, sender_receipt_fn cb,
                void *user, char *err, size_t errlen);

uint64_t sender_next_nonce(const sender *s);
size_t sender_pending(const sender *s);
uint64_t sender_chain_id(const sender *s);
/* Counter: transactions replaced since open. */
uint64_t sender_replaced(const sender *s);

#endif
