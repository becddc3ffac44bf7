/* record.h: what the bisector stores about each game so that a `kill -9` at any point resumes
 * correctly. Everything else (the range, the hashes, the clocks, whose move it is) is read back
 * from the chain (DisputeGame.game) and the executor's and vmjudge's recorded runs; what only we
 * know is kept here:
 *
 *   - which game, task and submission this is, our role, and what names our honest computation:
 *     the model root and State_0 (the executor's run), and in phase 2 the node run's roots (the
 *     descriptor and the 12 operand roots, vmjudge's VmNodeRun);
 *   - the lie the submitter is playing (fault.h), so that a restarted liar tells the same lie;
 *   - the last move decided, write-ahead: recorded INTENDED before it is sent, SENT with the
 *     transaction id once chainwatch accepted it, then MINED or FAILED (game.h, game_next decides
 *     from it without ever sending a move twice on purpose);
 *   - the last chain event applied (chainwatch's seq), to ask chainwatch for what was missed.
 *
 * Stored under the key "bisector/<our address, 0x hex>/game/<game id, 16 hex digits>" as a fixed
 * binary layout (big-endian integers), versioned and closed by the first 8 bytes of its keccak256:
 * a record that does not decode is refused with a reason, never half-used.
 *
 * The withdrawal of our credit from a contract (payout.h) is recorded the same way, write-ahead,
 * under "bisector/<our address>/withdraw/<contract address, 0x hex>": version u8, state u8,
 * seq u64, sent_at u64, tx_id 32, then the first 8 bytes of their keccak256. */
#ifndef OPML_GAME_RECORD_H
#define OPML_GAME_RECORD_H

#include "fault.h"
#include "game.h"
#include "payout.h"

#include <stddef.h>
#include <stdint.h>

#define GAME_RECORD_VERSION 1
#define GAME_RECORD_BYTES 609 /* the encoding's exact size (asserted when encoding) */

typedef struct game_record {
    uint64_t game_id;
    uint64_t task_id;
    uint32_t sub_id;
    game_role role;
    uint8_t model_id_set;      /* 1 once model_id is known */
    uint64_t model_id;
    uint8_t model_root[32];
    uint8_t input_state[32];   /* State_0: the executor run's name */
    uint32_t node;             /* phase 2: the node opened (0-based), as NodeOpened says */
    uint8_t vm_run_set;        /* 1 once the VM node run below is known */
    uint8_t desc_root[32];
    uint8_t operand_roots[12][32];
    fault_plan lie;            /* the submitter's lie for this task (inactive for honest play) */
    game_move pending;         /* the last move decided */
    uint64_t last_seq;         /* the last chainwatch event applied to this game */
    uint8_t finished;          /* 1 when the game is over (resolved or abandoned: decided is not over) */
    uint8_t won;               /* when finished: 1 if we won */
} game_record;

/* The storage key for a game of `address` (20 bytes). Returns the key's length (< cap) or -1. */
int game_record_key(const uint8_t address[20], uint64_t game_id, char *key, size_t cap);

/* Encodes r into out (GAME_RECORD_BYTES bytes). */
void game_record_encode(const game_record *r, uint8_t out[GAME_RECORD_BYTES]);

/* Decodes and checks a stored record: size, version, checksum, enum ranges. Returns 0 or -1 with
 * the reason in err. */
int game_record_decode(const uint8_t *buf, size_t len, game_record *r, char *err, size_t errlen);

#define PAYOUT_RECORD_VERSION 1
#define PAYOUT_RECORD_BYTES 58

/* The storage key for `address`'s withdrawal from `contract` (20 bytes each). Returns the key's
 * length (< cap) or -1. */
int payout_record_key(const uint8_t address[20], const uint8_t contract[20], char *key, size_t cap);

/* Encodes p's stored part (state, seq, sent_at, tx_id) into out. */
void payout_record_encode(const payout *p, uint8_t out[PAYOUT_RECORD_BYTES]);

/* Decodes a stored withdrawal record into p's stored part (p->owed is left as it is): size,
 * version, checksum, state range. Returns 0, or -1 with the reason in err and p unchanged. */
int payout_record_decode(const uint8_t *buf, size_t len, payout *p, char *err, size_t errlen);

#endif
