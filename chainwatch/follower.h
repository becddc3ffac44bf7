/* follower.h: the event stream. Follows the logs of a set of contracts block by block, publishes
 * each as an opml.ChainEvent once the block has `confirmations` blocks on top, notices re-orgs by
 * block hash and retracts what it published from dropped blocks, and keeps its cursor and every
 * event in a durable key-value store so that a restart resumes exactly where it stopped.
 *
 * Per block n (when head - confirmations >= n):
 *   1. eth_getBlockByNumber(n): its hash, and its parent hash, which must be the hash recorded for
 *      n-1; if not, the chain re-orged: the last recorded block is retracted (below) and the
 *      follower steps back one block, until the recorded chain and the node's agree again;
 *   2. eth_getLogs({blockHash, address: the contracts}): the block's logs, exactly that block's;
 *   3. each log becomes an event with the next seq and the block's timestamp (from step 1's
 *      header: always the block the logs were read from, the canonical one after a re-org); the
 *      events and the advanced cursor are written in ONE atomic store write, and then published.
 * Blocks more than `window` below head - confirmations (catching up after a long stop, or from an
 * old from_block) are past any tracked re-org and are read with one eth_getLogs per range of up to
 * 1000 blocks (halved when the node fails the query) instead of block by block, plus one header
 * per block that has logs (its timestamp; its hash must be the one the logs name).
 * When idle, the last recorded block's hash is checked again, so that a re-org that replaces the
 * tip without growing the chain is noticed too. A retraction is an event of its own (next seq,
 * removed = true, retracts_seq = the seq it retracts), stored and published the same way.
 *
 * Exactly once: an event is published only after it is durable; the cursor records how far
 * publishing got, and a restart publishes again whatever was stored but not marked published. So
 * nothing is ever lost, and a duplicate can only follow a crash (SIGKILL) between publishing and
 * the next cursor write: it then carries the same seq and bytes, and subscribers drop it by seq.
 * A clean stop (between steps) leaves no duplicate. Re-orgs deeper than `window` blocks are not
 * detected.
 *
 * Keys in the store (prefix from the config): <prefix>cursor, <prefix>ev/<seq as 16 hex digits>. */
#ifndef OPML_CHAIN_FOLLOWER_H
#define OPML_CHAIN_FOLLOWER_H

#include "chain.pb-c.h"
#include "contract.h"
#include "ethrpc.h"

#include <stddef.h>
#include <stdint.h>

/* Durable storage: get returns 0 with *found (and when found *val malloc'd, NULL if empty); put
 * writes n pairs atomically and durably. Both return -1 with a reason in err on failure. */
typedef struct follow_store {
    int (*get)(void *user, const char *key, int *found, uint8_t **val, size_t *len, char *err, size_t errlen);
    int (*put)(void *user, size_t n, const char *const *keys, const uint8_t *const *vals, const size_t *lens, char *err,
               size_t errlen);
    void *user;
} follow_store;

typedef struct follow_contract {
    const contract *abi;
    uint8_t address[20];
} follow_contract;

typedef struct follower_config {
    const follow_contract *contracts; /* watched: at least one */
    size_t ncontracts;
    uint64_t from_block;       /* first block to read when there is no cursor yet */
    unsigned confirmations;    /* 0: publish from the head block */
    unsigned window;           /* recorded blocks for re-org detection; default 256 */
    const char *key_prefix;    /* e.g. "chainwatch/0xabc.../" */
} follower_config;

/* Publishes one event on its topic ("chain.<Contract>.<Event>"). Returns 0, or -1 if it could not
 * be queued (the follower then stops the step and publishes it again later). */
typedef int (*follow_publish_fn)(void *user, const char *topic, const Opml__ChainEvent *ev);

typedef struct follower follower;

/* Reads the cursor (if any) and the chain id. rpc, store's user and the contracts must outlive the
 * follower. Returns NULL with a reason in err. */
follower *follower_open(ethrpc_client *rpc, const follower_config *cfg, const follow_store *store, char *err,
                        size_t errlen);
void follower_close(follower *f);

/* Does one unit of work: publishes what a restart left unpublished, or retracts one re-orged
 * block, or processes one block. Returns 1 if it did something (call again), 0 when caught up
 * with head - confirmations, -1 on a failure (reason in err; nothing is lost, call again later). */
int follower_step(follower *f, follow_publish_fn publish, void *user, char *err, size_t errlen);

/* Writes the cursor if it is ahead of the store (how far publishing got). Call before a clean stop,
 * so that a restart does not publish the last block's events again. Returns 0 or -1. */
int follower_flush(follower *f, char *err, size_t errlen);

/* Loads stored event `seq` (1 <= seq <= follower_last_seq). Returns the unpacked message (free
 * with opml__chain_event__free_unpacked), or NULL with a reason in err. */
Opml__ChainEvent *follower_get_event(follower *f, uint64_t seq, char *err, size_t errlen);

uint64_t follower_last_seq(const follower *f);   /* the last seq stored */
uint64_t follower_next_block(const follower *f); /* the next block to process */
uint64_t follower_retracted(const follower *f);  /* retractions since open (health, tests) */
/* The newest timestamp (block.timestamp, seconds) of a block read since open, 0 before the first:
 * the chain's time about `confirmations` blocks ago when caught up. */
uint64_t follower_block_time(const follower *f);

/* The topic of an event: "chain.<Contract>.<Event>" into out (room for outlen). */
void follower_topic(const Opml__ChainEvent *ev, char *out, size_t outlen);

#endif
