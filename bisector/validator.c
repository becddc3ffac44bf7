/* validator.c: the validator's job (`validate` = 1). Every other identity's live submission on a
 * model this identity serves is re-computed (submitter.c's infer_task, honestly, nothing committed) within its window;
 * an output other than ours (the submission's only claim: docs/game.md) is challenged with the
 * bond, which starts a game (play.c). A validator with a `fault` setting challenges every
 * submission (the dishonest challenger of the tests).
 *
 * The challenge is written ahead: a marker under "bisector/<our address>/challenge/<task id, 16
 * hex digits>/<submission id, 8 hex digits>" is stored before it is sent, so a restart does not
 * challenge the same submission twice (its game may not be on-chain yet); a refused challenge
 * removes its marker and is tried again. */
#include "bisector.h"
#include "hex.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void try_check(bisector *b, task *t) {
    model_entry *me = fold_model(&b->s, t->model_id);
    if (!me || t->status != TASK_SUBMITTED || t->checked || !memcmp(t->submitter, b->s.me, 20) || now_s(b) >= t->deadline) return;
    if (infer_task(b, t, me, 0)) return;
    /* a challenge recorded before a crash is not sent again (its game may not be on-chain yet) */
    char key[200], a[43];
    hex_encode(b->s.me, 20, a);
    snprintf(key, sizeof key, "bisector/%s/challenge/%016" PRIx64 "/%08x", a, t->id, t->sub_id);
    int found = 0;
    uint8_t *val = NULL;
    size_t vlen = 0;
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &vlen)) return;
    free(val);
    if (found) {
        t->checked = 1;
        return;
    }
    /* infer_task ran honestly here (lying_nth 0): the claimed output is the honest one */
    int wrong = !t->output || t->output_len != t->claimed_out_len || memcmp(t->output, t->claimed_out, t->output_len) != 0;
    int dishonest = b->f.kind != FAULT_NONE; /* a validator with a fault challenges everything */
    t->checked = 1;
    if (!wrong && !dishonest) {
        log_info("task %" PRIu64 ": submission %u checked: the output agrees", t->id, t->sub_id);
        return;
    }
    log_warn("task %" PRIu64 ": submission %u %s: challenging", t->id, t->sub_id,
             wrong ? "is WRONG (the output differs)" : "is right, but this validator lies (fault injection)");
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, t->id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    uint8_t tx[32], one = 1;
    if (storage_client_kv_put(b->st, key, strlen(key), &one, 1)) { /* write-ahead, or not at all */
        t->checked = 0;
        cJSON_Delete(args);
        return;
    }
    if (send_tx(b, C_GAME, "challenge", args, me->cbond, tx)) {
        t->checked = 0; /* refused: try again (the marker is removed first) */
        storage_client_kv_delete(b->st, key, strlen(key));
    }
    cJSON_Delete(args);
}
