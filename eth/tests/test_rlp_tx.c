/* test_rlp_tx.c: RLP against the Ethereum wiki's vectors (and its canonical-form rules), u256 text
 * conversions, and EIP-1559 transactions signed here byte-identical to `cast mktx` (RFC 6979 makes
 * ECDSA deterministic, so the whole raw transaction must match). */
#include "check.h"
#include "ethjson.h"
#include "hex.h"
#include "rlp.h"
#include "tx.h"
#include "u256.h"

#include <stdlib.h>
#include <string.h>

static void check_hex(const uint8_t *p, size_t n, const char *want) {
    char *h = malloc(2 * n + 3);
    hex_encode(p, n, h);
    CHECK(strcmp(h, want) == 0);
    if (strcmp(h, want)) fprintf(stderr, "  got  %s\n  want %s\n", h, want);
    free(h);
}

static void test_rlp_encode(void) {
    rlp_buf b = {0};
    rlp_bytes(&b, (const uint8_t *)"dog", 3);
    check_hex(b.p, b.len, "0x83646f67");
    rlp_buf_free(&b);

    size_t m = rlp_list_begin(&b);
    rlp_bytes(&b, (const uint8_t *)"cat", 3);
    rlp_bytes(&b, (const uint8_t *)"dog", 3);
    rlp_list_end(&b, m);
    check_hex(b.p, b.len, "0xc88363617483646f67");
    rlp_buf_free(&b);

    rlp_uint(&b, 0);
    rlp_uint(&b, 15);
    rlp_uint(&b, 1024);
    rlp_bytes(&b, NULL, 0);
    check_hex(b.p, b.len, "0x800f82040080");
    rlp_buf_free(&b);

    /* [ [], [[]], [ [], [[]] ] ] */
    size_t a = rlp_list_begin(&b);
    rlp_list_end(&b, rlp_list_begin(&b));
    size_t x = rlp_list_begin(&b);
    rlp_list_end(&b, rlp_list_begin(&b));
    rlp_list_end(&b, x);
    size_t y = rlp_list_begin(&b);
    rlp_list_end(&b, rlp_list_begin(&b));
    size_t z = rlp_list_begin(&b);
    rlp_list_end(&b, rlp_list_begin(&b));
    rlp_list_end(&b, z);
    rlp_list_end(&b, y);
    rlp_list_end(&b, a);
    check_hex(b.p, b.len, "0xc7c0c1c0c3c0c1c0");
    rlp_buf_free(&b);

    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    rlp_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
    CHECK_EQ_INT(b.len, 2 + 56);
    CHECK_EQ_INT(b.p[0], 0xb8);
    CHECK_EQ_INT(b.p[1], 56);
    rlp_item it;
    CHECK_EQ_INT(rlp_decode(b.p, b.len, &it), b.len);
    CHECK(!it.is_list && it.len == 56 && !memcmp(it.data, lorem, 56));
    rlp_buf_free(&b);
}

static size_t decode_hex(const char *h, rlp_item *it) {
    uint8_t *p;
    size_t n;
    static uint8_t keep[64];
    if (hex_to_bytes(h, &p, &n)) return (size_t)-1;
    memcpy(keep, p, n);
    free(p);
    return rlp_decode(keep, n, it);
}

static void test_rlp_decode_strict(void) {
    rlp_item it, e;
    CHECK_EQ_INT(decode_hex("0x83646f67", &it), 4);
    CHECK_EQ_INT(decode_hex("0x8100", &it), 0);           /* a byte < 0x80 must stand alone */
    CHECK_EQ_INT(decode_hex("0x817f", &it), 0);
    CHECK_EQ_INT(decode_hex("0x8180", &it), 2);
    CHECK_EQ_INT(decode_hex("0xb80100", &it), 0);         /* long form for a short string */
    CHECK_EQ_INT(decode_hex("0xb90001aa", &it), 0);       /* leading zero in the length */
    CHECK_EQ_INT(decode_hex("0x83646f", &it), 0);         /* truncated */
    CHECK_EQ_INT(decode_hex("0xbf0100000000000000", &it), 0); /* absurd length */
    CHECK_EQ_INT(decode_hex("0xc88363617483646f67", &it), 9);
    CHECK(it.is_list);
    CHECK_EQ_INT(rlp_next(&it, &e), 1);
    CHECK(e.len == 3 && !memcmp(e.data, "cat", 3));
    CHECK_EQ_INT(rlp_next(&it, &e), 1);
    CHECK_EQ_INT(rlp_next(&it, &e), 0);
    CHECK_EQ_INT(decode_hex("0xc4836361", &it), 0);       /* list longer than the input */
    CHECK_EQ_INT(decode_hex("0xc3836361", &it), 4);       /* item inside overruns the list */
    CHECK_EQ_INT(rlp_next(&it, &e), -1);
    uint64_t v;
    CHECK_EQ_INT(decode_hex("0x820004", &it), 3);
    CHECK_EQ_INT(rlp_to_uint(&it, &v), -1);               /* integer with a leading zero */
    CHECK_EQ_INT(decode_hex("0x820400", &it), 3);
    CHECK_EQ_INT(rlp_to_uint(&it, &v), 0);
    CHECK_EQ_INT(v, 1024);
}

static void test_u256(void) {
    u256 x;
    char dec[80], hex[67];
    const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    CHECK_EQ_INT(u256_parse(&x, max, 0), 0);
    u256_to_dec(&x, 0, 256, dec);
    CHECK(!strcmp(dec, max));
    u256_to_dec(&x, 1, 256, dec);
    CHECK(!strcmp(dec, "-1"));
    u256_to_hex(&x, hex);
    CHECK(!strcmp(hex, "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
    CHECK_EQ_INT(u256_parse(&x, "115792089237316195423570985008687907853269984665640564039457584007913129639936", 0), -1);
    CHECK_EQ_INT(u256_parse(&x, "-1", 0), -1);
    CHECK_EQ_INT(u256_parse(&x, "12a", 0), -1);
    CHECK_EQ_INT(u256_parse(&x, "", 0), -1);
    CHECK_EQ_INT(u256_parse(&x, "0x", 0), -1);
    CHECK_EQ_INT(u256_parse(&x, "-57896044618658097711785492504343953926634992332820282019728792003956564819968", 1), 0);
    u256_to_dec(&x, 1, 256, dec);
    CHECK(!strcmp(dec, "-57896044618658097711785492504343953926634992332820282019728792003956564819968"));
    CHECK_EQ_INT(u256_parse(&x, "-57896044618658097711785492504343953926634992332820282019728792003956564819969", 1), -1);
    CHECK_EQ_INT(u256_parse(&x, "0x1A", 0), 0);
    uint64_t v;
    CHECK_EQ_INT(u256_to_u64(&x, &v), 0);
    CHECK_EQ_INT(v, 26);
    u256_from_u64(&x, 0);
    u256_to_hex(&x, hex);
    CHECK(!strcmp(hex, "0x0"));
}

#define KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

static void test_tx(void) {
    identity id;
    uint8_t secret[32];
    CHECK_EQ_INT(hex_decode(KEY, secret, 32), 0);
    CHECK_EQ_INT(identity_from_secret(&id, secret), 0);

    /* cast mktx --chain 31337 --nonce 7 --gas-limit 100000 --gas-price 3000000000
     *   --priority-gas-price 1000000000 --value 12345 0x7099...79C8 "store(bytes32,string)" 0x0102...04 hello */
    uint8_t *data;
    size_t dlen;
    CHECK_EQ_INT(hex_to_bytes("0x9d105a25010203000000000000000000000000000000000000000000000000000000000400000000000000000000000000"
                              "0000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000"
                              "0568656c6c6f000000000000000000000000000000000000000000000000000000", &data, &dlen), 0);
    eth_tx tx = {.chain_id = 31337, .nonce = 7, .max_priority_fee = 1000000000, .max_fee = 3000000000, .gas = 100000,
                 .has_to = 1, .data = data, .data_len = dlen};
    hex_decode("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", tx.to, 20);
    u256_from_u64(&tx.value, 12345);
    uint8_t *raw, hash[32];
    size_t rlen;
    CHECK_EQ_INT(tx_sign(&tx, &id, &raw, &rlen, hash), 0);
    check_hex(raw, rlen,
              "0x02f8f4827a6907843b9aca0084b2d05e00830186a09470997970c51812dc3a010c7d01b50e0d17dc79c8823039b8849d105a25"
              "01020300000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000"
              "000000000000000000000040000000000000000000000000000000000000000000000000000000000000000568656c6c6f000000"
              "000000000000000000000000000000000000000000000000c001a086ac78a8251491a887f16f683e99b558a5b5551de200e299b6"
              "ab126e647d6246a03362504bb69d4203bfc630f35870830d84c87265ec3c27060b6af19d778f8732");

    eth_tx back;
    uint8_t from[20];
    char err[128];
    CHECK_EQ_INT(tx_decode(raw, rlen, &back, from, err, sizeof err), 0);
    CHECK_MEM(from, id.address, 20);
    CHECK(back.nonce == 7 && back.gas == 100000 && back.has_to && back.data_len == dlen);
    CHECK(!memcmp(back.data, data, dlen));
    /* a flipped byte in the signature's s recovers another address or fails; a flipped nonce too */
    raw[rlen - 1] ^= 1;
    CHECK(tx_decode(raw, rlen, &back, from, err, sizeof err) != 0 || memcmp(from, id.address, 20) != 0);
    raw[rlen - 1] ^= 1;
    CHECK_EQ_INT(tx_decode(raw, rlen - 1, &back, from, err, sizeof err), -1);
    raw[0] = 1;
    CHECK_EQ_INT(tx_decode(raw, rlen, &back, from, err, sizeof err), -1);
    free(raw);
    free(data);

    /* contract creation: cast mktx --create --nonce 0 --gas-limit 21000 --gas-price 1 --priority-gas-price 0 */
    uint8_t code[] = {0x60, 0x01, 0x60, 0x00, 0x55};
    eth_tx c = {.chain_id = 31337, .max_fee = 1, .gas = 21000, .data = code, .data_len = sizeof code};
    CHECK_EQ_INT(tx_sign(&c, &id, &raw, &rlen, hash), 0);
    check_hex(raw, rlen,
              "0x02f855827a698080018252088080856001600055c001a0e939164bda67a26d87796831d99c1f84f92b812f055ae3d84a6696db4"
              "f93bee4a04ab4175788416fb317428168ffc859d396012504ef999473dc68b626f78b731e");
    CHECK_EQ_INT(tx_decode(raw, rlen, &back, from, err, sizeof err), 0);
    CHECK(!back.has_to);
    free(raw);
}

int main(void) {
    test_rlp_encode();
    test_rlp_decode_strict();
    test_u256();
    test_tx();
    return check_summary("test_rlp_tx");
}
