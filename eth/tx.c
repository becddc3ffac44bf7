/* tx.c: see tx.h. */
#include "tx.h"

#include "errmsg.h"
#include "keccak.h"
#include "rlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The nine unsigned fields, appended inside an already opened list. */
static void fields(rlp_buf *b, const eth_tx *tx) {
    rlp_uint(b, tx->chain_id);
    rlp_uint(b, tx->nonce);
    rlp_uint(b, tx->max_priority_fee);
    rlp_uint(b, tx->max_fee);
    rlp_uint(b, tx->gas);
    rlp_bytes(b, tx->to, tx->has_to ? 20 : 0);
    rlp_u256(b, &tx->value);
    rlp_bytes(b, tx->data, tx->data_len);
    size_t al = rlp_list_begin(b);
    rlp_list_end(b, al);
}

int tx_digest(const eth_tx *tx, uint8_t digest[32]) {
    rlp_buf b = {0};
    uint8_t type = 2;
    rlp_raw(&b, &type, 1);
    size_t m = rlp_list_begin(&b);
    fields(&b, tx);
    rlp_list_end(&b, m);
    if (b.oom) {
        rlp_buf_free(&b);
        return -1;
    }
    keccak256(b.p, b.len, digest);
    rlp_buf_free(&b);
    return 0;
}

int tx_sign(const eth_tx *tx, const identity *id, uint8_t **raw, size_t *raw_len, uint8_t hash[32]) {
    uint8_t digest[32], sig[65];
    if (tx_digest(tx, digest) || identity_sign_digest(id, digest, sig)) return -1;
    rlp_buf b = {0};
    uint8_t type = 2;
    u256 r, s;
    memcpy(r.b, sig, 32);
    memcpy(s.b, sig + 32, 32);
    rlp_raw(&b, &type, 1);
    size_t m = rlp_list_begin(&b);
    fields(&b, tx);
    rlp_uint(&b, sig[64]);
    rlp_u256(&b, &r);
    rlp_u256(&b, &s);
    rlp_list_end(&b, m);
    if (b.oom) {
        rlp_buf_free(&b);
        return -1;
    }
    keccak256(b.p, b.len, hash);
    *raw = b.p;
    *raw_len = b.len;
    return 0;
}

int tx_decode(const uint8_t *raw, size_t raw_len, eth_tx *tx, uint8_t from[20], char *err, size_t errlen) {
    rlp_item list, it[12];
    memset(tx, 0, sizeof *tx);
    if (raw_len < 1 || raw[0] != 2) return opml_errf(err, errlen, "not a type-2 (EIP-1559) transaction");
    if (rlp_decode(raw + 1, raw_len - 1, &list) != raw_len - 1 || !list.is_list)
        return opml_errf(err, errlen, "transaction is not one canonical RLP list");
    int n = 0, r;
    rlp_item tmp;
    while ((r = rlp_next(&list, &tmp)) == 1) {
        if (n == 12) return opml_errf(err, errlen, "transaction has more than 12 fields");
        it[n++] = tmp;
    }
    if (r < 0 || n != 12) return opml_errf(err, errlen, "transaction has %d well-formed fields, not 12", n);
    uint64_t v;
    u256 rr, ss;
    if (rlp_to_uint(&it[0], &tx->chain_id) || rlp_to_uint(&it[1], &tx->nonce) ||
        rlp_to_uint(&it[2], &tx->max_priority_fee) || rlp_to_uint(&it[3], &tx->max_fee) ||
        rlp_to_uint(&it[4], &tx->gas) || rlp_to_u256(&it[6], &tx->value) || rlp_to_uint(&it[9], &v) ||
        rlp_to_u256(&it[10], &rr) || rlp_to_u256(&it[11], &ss))
        return opml_errf(err, errlen, "a numeric transaction field is not a canonical integer");
    if (it[5].is_list || (it[5].len != 0 && it[5].len != 20)) return opml_errf(err, errlen, "`to` is not 0 or 20 bytes");
    if (it[7].is_list) return opml_errf(err, errlen, "`data` is a list");
    if (!it[8].is_list || it[8].len != 0) return opml_errf(err, errlen, "only empty access lists are supported");
    if (v > 1) return opml_errf(err, errlen, "y parity %llu is not 0 or 1", (unsigned long long)v);
    tx->has_to = it[5].len == 20;
    if (tx->has_to) memcpy(tx->to, it[5].data, 20);
    tx->data = it[7].len ? it[7].data : NULL;
    tx->data_len = it[7].len;
    uint8_t digest[32], sig[65];
    memcpy(sig, rr.b, 32);
    memcpy(sig + 32, ss.b, 32);
    sig[64] = (uint8_t)v;
    if (tx_digest(tx, digest)) return opml_errf(err, errlen, "out of memory");
    if (identity_recover(digest, sig, from)) return opml_errf(err, errlen, "signature is invalid or has a high s");
    return 0;
}
