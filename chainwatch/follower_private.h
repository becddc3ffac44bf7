/* follower_private.h: the follower's state, shared by its three files (follower.h is the API):
 *   follower.c        the journal (cursor and events in the store), block-by-block processing,
 *                     re-org retraction, publishing, follower_step
 *   follower_node.c   what it reads from the node: block headers, logs, and a log made into an
 *                     opml.ChainEvent
 *   follower_range.c  catching up below the re-org window, a range of blocks per eth_getLogs
 * The in-memory state (next block, seq, published, recorded blocks) is always either what the
 * store holds or ahead of it only by blocks without events; after any failed store write or
 * publish it is reloaded from the store before the next step. */
#ifndef OPML_CHAIN_FOLLOWER_PRIVATE_H
#define OPML_CHAIN_FOLLOWER_PRIVATE_H

#include "follower.h"

#include <cjson/cJSON.h>

typedef struct rec_block {
    uint64_t number;
    uint8_t hash[32];
    uint64_t *seqs; /* events published from this block, in order */
    size_t nseqs;
} rec_block;

struct follower {
    ethrpc_client *rpc;
    follower_config cfg;
    char *prefix;
    follow_store store;
    uint64_t chain_id;
    uint64_t next;       /* next block to process */
    uint64_t seq;        /* last seq stored */
    uint64_t published;  /* last seq published */
    rec_block *blocks;   /* oldest first */
    size_t nblocks;
    int dirty;           /* state ahead of the store (blocks without events) */
    unsigned since_commit;
    int reload;          /* state may be ahead of the store after a failure: reload it */
    uint64_t range;      /* blocks per eth_getLogs below the re-org window (halved on failure) */
    uint64_t retracted;
    uint64_t block_time; /* the newest timestamp of a block read since open (0: none yet) */
};


/* follower.c: the events and the cursor written in one atomic put (-1: state reloaded before the
 * next step), and events already durable published in order. */
int follower_commit(follower *f, Opml__ChainEvent *const *evs, size_t n, char *err, size_t errlen);
int follower_publish_new(follower *f, Opml__ChainEvent *const *evs, size_t n, follow_publish_fn publish, void *user,
                         char *err, size_t errlen);

/* follower_node.c */
int follower_block_at(follower *f, uint64_t n, uint8_t hash[32], uint8_t parent[32], uint64_t *time, char *err,
                      size_t errlen);
int follower_get_logs(follower *f, cJSON *filter, cJSON **logs, int *node_failed, char *err, size_t errlen);
Opml__ChainEvent *follower_event_of_log(follower *f, const cJSON *log, uint64_t number, const uint8_t hash[32],
                                        uint64_t time, char *err, size_t errlen);
void follower_event_free(Opml__ChainEvent *ev);

/* follower_range.c: blocks next..to (all below the window) in one eth_getLogs; 0 or -1. */
int follower_process_range(follower *f, uint64_t to, follow_publish_fn publish, void *user, char *err, size_t errlen);

#endif
