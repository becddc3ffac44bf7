/* record.c: the game record's binary encoding (record.h). Layout, in this order, integers
 * big-endian: version u8, game_id u64, task_id u64, sub_id u32, role u8, model_id_set u8,
 * model_id u64, model_root 32, input_state 32, node u32, vm_run_set u8, desc_root 32,
 * operand_roots 12 x 32, lie {active u8, node u32, output_bytes u8, in_vm u8, vm_step u64},
 * pending {action u8, phase u8, turn u8, lo u64, hi u64, state u8, sent_at u64, tx_id 32},
 * last_seq u64, finished u8, won u8, then keccak256(all of the above)[0..8). And the withdrawal
 * record (payout.h) with the same cursor and checksum. */
#include "record.h"

#include "errmsg.h"
#include "hex.h"
#include "keccak.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct cursor {
    uint8_t *p;
    const uint8_t *q;
    size_t at;
} cursor;

static void put(cursor *c, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) c->p[c->at + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    c->at += bytes;
}
static void put_bytes(cursor *c, const uint8_t *b, size_t n) {
    memcpy(c->p + c->at, b, n);
    c->at += n;
}
/* Closes an encoding of `total` bytes: the first 8 bytes of keccak256 of what was written. */
static void seal(cursor *c, size_t total) {
    assert(c->at == total - 8);
    (void)total; /* asserted only */
    uint8_t h[32];
    keccak256(c->p, c->at, h);
    put_bytes(c, h, 8);
}
static uint64_t get(cursor *c, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) v = v << 8 | c->q[c->at + i];
    c->at += bytes;
    return v;
}
static void get_bytes(cursor *c, uint8_t *b, size_t n) {
    memcpy(b, c->q + c->at, n);
    c->at += n;
}

int game_record_key(const uint8_t address[20], uint64_t game_id, char *key, size_t cap) {
    char hex[2 + 40 + 1]; /* hex_encode writes "0x", the digits and a NUL */
    hex_encode(address, 20, hex);
    int n = snprintf(key, cap, "bisector/%s/game/%016" PRIx64, hex, game_id);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

void game_record_encode(const game_record *r, uint8_t out[GAME_RECORD_BYTES]) {
    cursor c = {out, NULL, 0};
    put(&c, GAME_RECORD_VERSION, 1);
    put(&c, r->game_id, 8);
    put(&c, r->task_id, 8);
    put(&c, r->sub_id, 4);
    put(&c, (uint64_t)r->role, 1);
    put(&c, r->model_id_set, 1);
    put(&c, r->model_id, 8);
    put_bytes(&c, r->model_root, 32);
    put_bytes(&c, r->input_state, 32);
    put(&c, r->node, 4);
    put(&c, r->vm_run_set, 1);
    put_bytes(&c, r->desc_root, 32);
    put_bytes(&c, &r->operand_roots[0][0], 12 * 32);
    put(&c, (uint64_t)r->lie.active, 1);
    put(&c, r->lie.node, 4);
    put(&c, (uint64_t)r->lie.output_bytes, 1);
    put(&c, (uint64_t)r->lie.in_vm, 1);
    put(&c, r->lie.vm_step, 8);
    put(&c, (uint64_t)r->pending.action, 1);
    put(&c, r->pending.phase, 1);
    put(&c, (uint64_t)r->pending.turn, 1);
    put(&c, r->pending.lo, 8);
    put(&c, r->pending.hi, 8);
    put(&c, (uint64_t)r->pending.state, 1);
    put(&c, r->pending.sent_at, 8);
    put_bytes(&c, r->pending.tx_id, 32);
    put(&c, r->last_seq, 8);
    put(&c, r->finished, 1);
    put(&c, r->won, 1);
    seal(&c, GAME_RECORD_BYTES);
}

/* The checksum closing an encoding of `len` bytes: the first 8 bytes of keccak256 of the rest. */
static int checksum_ok(const uint8_t *buf, size_t len) {
    uint8_t h[32];
    keccak256(buf, len - 8, h);
    return memcmp(h, buf + len - 8, 8) == 0;
}

int game_record_decode(const uint8_t *buf, size_t len, game_record *r, char *err, size_t errlen) {
    if (!buf || len != GAME_RECORD_BYTES) return opml_errf(err, errlen, "game record: wrong size");
    if (!checksum_ok(buf, len)) return opml_errf(err, errlen, "game record: checksum mismatch (corrupt)");
    if (buf[0] != GAME_RECORD_VERSION) return opml_errf(err, errlen, "game record: unknown version");
    cursor c = {NULL, buf, 1};
    memset(r, 0, sizeof *r);
    r->game_id = get(&c, 8);
    r->task_id = get(&c, 8);
    r->sub_id = (uint32_t)get(&c, 4);
    uint64_t role = get(&c, 1);
    if (role != GAME_SUBMITTER && role != GAME_CHALLENGER) return opml_errf(err, errlen, "game record: bad role");
    r->role = (game_role)role;
    r->model_id_set = (uint8_t)get(&c, 1);
    r->model_id = get(&c, 8);
    get_bytes(&c, r->model_root, 32);
    get_bytes(&c, r->input_state, 32);
    r->node = (uint32_t)get(&c, 4);
    r->vm_run_set = (uint8_t)get(&c, 1);
    get_bytes(&c, r->desc_root, 32);
    get_bytes(&c, &r->operand_roots[0][0], 12 * 32);
    r->lie.active = (int)get(&c, 1);
    r->lie.node = (uint32_t)get(&c, 4);
    r->lie.output_bytes = (int)get(&c, 1);
    r->lie.in_vm = (int)get(&c, 1);
    r->lie.vm_step = get(&c, 8);
    uint64_t action = get(&c, 1);
    if (action > GAME_ACT_RESOLVE) return opml_errf(err, errlen, "game record: bad pending action");
    r->pending.action = (game_action)action;
    r->pending.phase = (uint8_t)get(&c, 1);
    uint64_t turn = get(&c, 1);
    if (turn > GAME_TURN_RESOLVE) return opml_errf(err, errlen, "game record: bad pending turn");
    r->pending.turn = (game_turn)turn;
    r->pending.lo = get(&c, 8);
    r->pending.hi = get(&c, 8);
    uint64_t state = get(&c, 1);
    if (state > GAME_MOVE_FAILED) return opml_errf(err, errlen, "game record: bad pending state");
    r->pending.state = (game_move_state)state;
    r->pending.sent_at = get(&c, 8);
    get_bytes(&c, r->pending.tx_id, 32);
    r->last_seq = get(&c, 8);
    r->finished = (uint8_t)get(&c, 1);
    r->won = (uint8_t)get(&c, 1);
    if (r->model_id_set > 1 || r->vm_run_set > 1 || r->finished > 1 || r->won > 1 || r->lie.active > 1 ||
        r->lie.output_bytes > 1 || r->lie.in_vm > 1)
        return opml_errf(err, errlen, "game record: bad flag");
    return 0;
}

int payout_record_key(const uint8_t address[20], const uint8_t contract[20], char *key, size_t cap) {
    char a[2 + 40 + 1], k[2 + 40 + 1];
    hex_encode(address, 20, a);
    hex_encode(contract, 20, k);
    int n = snprintf(key, cap, "bisector/%s/withdraw/%s", a, k);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

void payout_record_encode(const payout *p, uint8_t out[PAYOUT_RECORD_BYTES]) {
    cursor c = {out, NULL, 0};
    put(&c, PAYOUT_RECORD_VERSION, 1);
    put(&c, (uint64_t)p->state, 1);
    put(&c, p->seq, 8);
    put(&c, p->sent_at, 8);
    put_bytes(&c, p->tx_id, 32);
    seal(&c, PAYOUT_RECORD_BYTES);
}

int payout_record_decode(const uint8_t *buf, size_t len, payout *p, char *err, size_t errlen) {
    if (!buf || len != PAYOUT_RECORD_BYTES) return opml_errf(err, errlen, "withdrawal record: wrong size");
    if (!checksum_ok(buf, len)) return opml_errf(err, errlen, "withdrawal record: checksum mismatch (corrupt)");
    if (buf[0] != PAYOUT_RECORD_VERSION) return opml_errf(err, errlen, "withdrawal record: unknown version");
    if (buf[1] > GAME_MOVE_FAILED) return opml_errf(err, errlen, "withdrawal record: bad state");
    cursor c = {NULL, buf, 2};
    p->state = (game_move_state)buf[1];
    p->seq = get(&c, 8);
    p->sent_at = get(&c, 8);
    get_bytes(&c, p->tx_id, 32);
    return 0;
}
