/* chaintime.c: see chaintime.h. */
#include "chaintime.h"

uint64_t chain_time_now(const chain_time *c, uint64_t mono_ms, uint64_t wall_s) {
    if (!c->block_time) return wall_s;
    return c->block_time + (mono_ms > c->seen_ms ? (mono_ms - c->seen_ms) / 1000 : 0);
}

void chain_time_saw(chain_time *c, uint64_t block_time, uint64_t mono_ms) {
    if (!block_time || (c->block_time && block_time <= chain_time_now(c, mono_ms, 0))) return;
    c->block_time = block_time;
    c->seen_ms = mono_ms;
}
