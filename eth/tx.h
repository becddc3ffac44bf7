/* tx.h: EIP-1559 (type 2) Ethereum transactions: the RLP payload, its signing digest, the signed
 * raw bytes that eth_sendRawTransaction takes, and the transaction hash.
 *
 *   digest = keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas,
 *                                   to, value, data, accessList]))
 *   raw    = 0x02 || rlp([... the same nine fields ..., yParity, r, s])
 *   hash   = keccak256(raw)
 *
 * The access list is always empty here. A contract creation has no `to` (encoded as ""). */
#ifndef OPML_CHAIN_TX_H
#define OPML_CHAIN_TX_H

#include "identity.h"
#include "u256.h"

#include <stddef.h>
#include <stdint.h>

typedef struct eth_tx {
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t max_priority_fee; /* wei per gas */
    uint64_t max_fee;          /* wei per gas */
    uint64_t gas;
    int has_to;                /* 0: contract creation */
    uint8_t to[20];
    u256 value;                /* wei */
    const uint8_t *data;       /* calldata or init code; may be NULL when data_len is 0 */
    size_t data_len;
} eth_tx;

/* The digest the sender signs. Returns 0, or -1 when out of memory. */
int tx_digest(const eth_tx *tx, uint8_t digest[32]);

/* Signs tx with id: *raw (malloc'd, caller frees) and its length, and the transaction hash.
 * Returns 0 or -1 (out of memory, signing failure). */
int tx_sign(const eth_tx *tx, const identity *id, uint8_t **raw, size_t *raw_len, uint8_t hash[32]);

/* Parses a signed type-2 transaction and recovers its sender. tx->data points into raw, which
 * must outlive tx. Returns 0, or -1 with a reason in err if raw is not exactly one canonical
 * signed EIP-1559 transaction with an empty access list and a valid low-s signature. */
int tx_decode(const uint8_t *raw, size_t raw_len, eth_tx *tx, uint8_t from[20], char *err, size_t errlen);

#endif
