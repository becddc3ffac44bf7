/* rocks_store.h: the follower's durable store (follow_store) over storage's RocksDB store
 * (storage/store.h), for tests and the benchmark; the actor uses the storage actor instead. */
#ifndef OPML_CHAIN_TEST_ROCKS_STORE_H
#define OPML_CHAIN_TEST_ROCKS_STORE_H

#include "follower.h"
#include "store.h"

/* A follow_store writing to db (which must outlive it). */
follow_store rocks_follow_store(store *db);

#endif
