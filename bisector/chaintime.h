/* chaintime.h: the chain's time as the bisector knows it. The contracts' deadlines and chess clocks
 * run on block.timestamp, which is not the local wall clock: a node's clock drifts, a restart
 * replays old events, and a test chain jumps (anvil's evm_increaseTime). chainwatch stamps every
 * event with its block's timestamp (ChainEvent.block_time) and its ChainGetEvents reply with the
 * newest block's it read; the bisector's time is the newest such timestamp seen, advanced by the
 * local monotonic time elapsed since it was seen.
 *
 * A timestamp older than the current estimate (an event that waited for its confirmations, a
 * replayed one) does not move it back, and a newer one is adopted at once. So the estimate never
 * goes back, follows every jump of the chain's time, and lags the chain by at most how old the
 * newest timestamp was when seen (about `confirmations` blocks): a time-out is called late rather
 * than early. Before any timestamp is seen (events stored by a chainwatch that did not stamp
 * them) it is the wall clock. */
#ifndef OPML_CHAIN_TIME_H
#define OPML_CHAIN_TIME_H

#include <stdint.h>

typedef struct chain_time {
    uint64_t block_time; /* the timestamp the estimate counts from, seconds (0: none seen yet) */
    uint64_t seen_ms;    /* the local monotonic time (ms) when it was adopted */
} chain_time;

/* A block timestamp seen at local monotonic time mono_ms (non-decreasing from call to call):
 * adopted if it is ahead of the estimate at mono_ms. 0 (no timestamp) is ignored. */
void chain_time_saw(chain_time *c, uint64_t block_time, uint64_t mono_ms);

/* The chain's time (seconds) at local monotonic time mono_ms (not before the last adoption):
 * block_time + whole seconds elapsed since seen_ms, or wall_s when no timestamp was seen. */
uint64_t chain_time_now(const chain_time *c, uint64_t mono_ms, uint64_t wall_s);

#endif
