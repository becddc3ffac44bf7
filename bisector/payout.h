/* payout.h: this identity's credit at the oracle, the one contract that pays (pull payments,
 * contracts/src/lib/Credits.sol, docs/game.md "Money": the game holds no money), and its
 * withdrawal, as pure functions.
 *
 * Whether we are owed anything is read from the chain's events, as everything else is: every
 * credit has an event naming its beneficiary (the oracle's TaskFinalized, SubmissionRejected,
 * ShareCredited and TaskCancelled, the game's GameResolved and GameAbandoned, whose bond the
 * oracle credits) and the oracle's withdraw() takes the whole credit (Withdrawn), so after the
 * last of these events we are owed exactly when a credit came after our last Withdrawn. A replayed history therefore rebuilds it, and nothing is sent for a credit the
 * chain already shows withdrawn.
 *
 * The withdrawal is a write-ahead move like a game's (record.h): recorded INTENDED before it is
 * sent, SENT with the transaction id, then MINED or FAILED from its receipt; a Withdrawn event
 * after the decision ends it (state NONE). So a restart never sends a second withdraw for one
 * already on its way. Stored as record.h's payout record. */
#ifndef OPML_PAYOUT_H
#define OPML_PAYOUT_H

#include "game.h"

#include <stddef.h>
#include <stdint.h>

#define PAYOUT_RETRY_S 5 /* a refused or failed withdrawal is tried again after this (chain seconds) */

typedef struct payout {
    int owed;              /* a credit event came after our last Withdrawn (not stored: from the events) */
    game_move_state state; /* the withdrawal: NONE, INTENDED, SENT, MINED or FAILED */
    uint64_t seq;          /* the last chain event seen when it was decided */
    uint64_t sent_at;      /* the chain's time when it was decided */
    uint8_t tx_id[32];     /* when SENT, MINED or FAILED: chainwatch's transaction id */
} payout;

typedef enum payout_action {
    PAYOUT_IDLE = 0, /* nothing is owed */
    PAYOUT_WAIT,     /* a withdrawal is on its way (or was refused a moment ago) */
    PAYOUT_SEND,     /* send withdraw() now */
} payout_action;

/* A chain event credited us. */
void payout_credited(payout *p);

/* Our Withdrawn event, chain event `seq`: nothing is owed; a withdrawal decided before it is over. */
void payout_withdrawn(payout *p, uint64_t seq);

/* What to do at chain time `now`: IDLE when nothing is owed; SEND when owed and no withdrawal is
 * recorded, or one is only INTENDED (it may or may not have gone out: chainwatch refuses a repeat
 * that would revert), or one FAILED at least PAYOUT_RETRY_S ago; WAIT otherwise (SENT: its receipt
 * or Withdrawn will come; MINED: its Withdrawn will come). */
payout_action payout_next(const payout *p, uint64_t now);

/* Records the decision to withdraw, seeing chain event `seq` at chain time `now`: INTENDED. */
void payout_decide(payout *p, uint64_t seq, uint64_t now);

/* The receipt of transaction `id`: a SENT withdrawal with that id becomes MINED (success) or
 * FAILED. Returns 1 if it was ours, else 0 (p unchanged). */
int payout_receipt(payout *p, const uint8_t id[32], int success);

#endif
