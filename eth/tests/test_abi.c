/* test_abi.c: ABI encoding and decoding against `cast calldata` vectors over every shape the spec
 * has (signed ints, bool, address, bytes, dynamic and fixed arrays, nested tuples, string arrays),
 * selectors and topics computed from the ABI JSON, event logs, and refusals of hostile data. */
#include "check.h"
#include "contract.h"
#include "ethjson.h"
#include "hex.h"
#include "keccak.h"

#include <stdlib.h>
#include <string.h>

/* From Probe.sol's ABI (internalType dropped) and `cast calldata`. */
static const char probe_abi[] =
    "[{\"type\":\"function\",\"name\":\"claim\",\"inputs\":[{\"name\":\"c\",\"type\":\"tuple\",\"components\":[{\"name\":\"who\","
    "\"type\":\"address\"},{\"name\":\"values\",\"type\":\"uint256[]\"},{\"name\":\"note\",\"type\":\"string\"},{\"name\":\"pair"
    "\",\"type\":\"tuple\",\"components\":[{\"name\":\"a\",\"type\":\"uint64\"},{\"name\":\"b\",\"type\":\"bytes32\"}]}]},{\"name"
    "\":\"delta\",\"type\":\"int32\"}],\"outputs\":[{\"name\":\"id\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\""
    "},{\"type\":\"function\",\"name\":\"echo\",\"inputs\":[{\"name\":\"x\",\"type\":\"int256\"},{\"name\":\"f\",\"type\":\"bool\"}"
    ",{\"name\":\"a\",\"type\":\"address\"},{\"name\":\"b\",\"type\":\"bytes\"},{\"name\":\"xs\",\"type\":\"uint16[]\"},{\"name\":\""
    "ps\",\"type\":\"tuple[2]\",\"components\":[{\"name\":\"a\",\"type\":\"uint64\"},{\"name\":\"b\",\"type\":\"bytes32\"}]},{\"n"
    "ame\":\"ss\",\"type\":\"string[]\"}],\"outputs\":[{\"name\":\"\",\"type\":\"int256\"},{\"name\":\"\",\"type\":\"bool\"},{\"nam"
    "e\":\"\",\"type\":\"address\"},{\"name\":\"\",\"type\":\"bytes\"},{\"name\":\"\",\"type\":\"uint16[]\"},{\"name\":\"\",\"type\":\""
    "tuple[2]\",\"components\":[{\"name\":\"a\",\"type\":\"uint64\"},{\"name\":\"b\",\"type\":\"bytes32\"}]},{\"name\":\"\",\"typ"
    "e\":\"string[]\"}],\"stateMutability\":\"pure\"},{\"type\":\"event\",\"name\":\"Claimed\",\"inputs\":[{\"name\":\"id\",\"t"
    "ype\":\"uint256\",\"indexed\":true},{\"name\":\"claim\",\"type\":\"tuple\",\"indexed\":false,\"components\":[{\"name\":"
    "\"who\",\"type\":\"address\"},{\"name\":\"values\",\"type\":\"uint256[]\"},{\"name\":\"note\",\"type\":\"string\"},{\"name\""
    ":\"pair\",\"type\":\"tuple\",\"components\":[{\"name\":\"a\",\"type\":\"uint64\"},{\"name\":\"b\",\"type\":\"bytes32\"}]}]},"
    "{\"name\":\"delta\",\"type\":\"int32\",\"indexed\":false}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"Stored\","
    "\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"indexed\":true},{\"name\":\"by\",\"type\":\"address\",\"indexed\":true"
    "},{\"name\":\"root\",\"type\":\"bytes32\",\"indexed\":false},{\"name\":\"note\",\"type\":\"string\",\"indexed\":false}],"
    "\"anonymous\":false},{\"type\":\"event\",\"name\":\"Tagged\",\"inputs\":[{\"name\":\"tag\",\"type\":\"string\",\"indexed\""
    ":true},{\"name\":\"payload\",\"type\":\"bytes\",\"indexed\":false},{\"name\":\"small\",\"type\":\"uint8[3]\",\"indexed\""
    ":false}],\"anonymous\":false},{\"type\":\"error\",\"name\":\"TooLarge\",\"inputs\":[{\"name\":\"given\",\"type\":\"uint"
    "256\"},{\"name\":\"limit\",\"type\":\"uint256\"}]}]";

/* cast calldata "echo(int256,bool,address,bytes,uint16[],(uint64,bytes32)[2],string[])" -- -5 true
 *   0x7099...79C8 0xdeadbeef [1,2,65535] [(7,0x..01),(2^64-1,0xff..)] ["a","","hello world, ..."] */
static const char echo_calldata[] =
    "0x7089218cfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb00000000000000000000000000"
    "0000000000000000000000000000000000000100000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79"
    "c800000000000000000000000000000000000000000000000000000000000001400000000000000000000000000000000000"
    "0000000000000000000000000001800000000000000000000000000000000000000000000000000000000000000007000000"
    "0000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000"
    "000000ffffffffffffffffff0000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000"
    "00000000000004deadbeef000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000"
    "0000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000"
    "000000000000000000000000000000ffff000000000000000000000000000000000000000000000000000000000000000300"
    "0000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000"
    "000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000c00000000000"
    "0000000000000000000000000000000000000000000000000000016100000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000003368656c6c6f20776f726c642c206120737472696e67206c6f6e6765"
    "72207468616e207468697274792d74776f2062797465732100000000000000000000000000";

/* cast calldata "claim((address,uint256[],string,(uint64,bytes32)),int32)" --
 *   (0x7099...79C8,[1,2^256-1],note,(3,0x..02)) -2147483648 */
static const char claim_calldata[] =
    "0xf45e3ea40000000000000000000000000000000000000000000000000000000000000040ffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffff8000000000000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79"
    "c800000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000"
    "0000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000003000000"
    "0000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000"
    "00000000000000000000020000000000000000000000000000000000000000000000000000000000000001ffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffffff00000000000000000000000000000000000000000000000000"
    "000000000000046e6f746500000000000000000000000000000000000000000000000000000000";

static contract *probe(void) {
    char err[256];
    cJSON *abi = cJSON_Parse(probe_abi);
    contract *c = contract_from_abi("Probe", abi, "0x6001", err, sizeof err);
    cJSON_Delete(abi);
    if (!c) fprintf(stderr, "%s\n", err);
    return c;
}

static void check_bytes_hex(const uint8_t *p, size_t n, const char *want) {
    char *h = malloc(2 * n + 3);
    hex_encode(p, n, h);
    CHECK(!strcmp(h, want));
    if (strcmp(h, want)) fprintf(stderr, "  got  %s\n  want %s\n", h, want);
    free(h);
}

static void test_selectors(const contract *c) {
    const abi_function *echo = contract_function(c, "echo");
    CHECK(echo != NULL);
    CHECK(!strcmp(echo->signature, "echo(int256,bool,address,bytes,uint16[],(uint64,bytes32)[2],string[])"));
    CHECK(echo->is_view);
    const abi_function *claim = contract_function(c, "claim((address,uint256[],string,(uint64,bytes32)),int32)");
    CHECK(claim != NULL);
    uint8_t sel[4] = {0xf4, 0x5e, 0x3e, 0xa4};
    CHECK_MEM(claim->selector, sel, 4);
    const abi_event *st = contract_event(c, "Stored");
    uint8_t topic[32];
    CHECK_EQ_INT(hex_decode("0x0fd8927b1cf0411631f3541baf3c96873b075ab5c4c3a9316269508c13a0812c", topic, 32), 0);
    CHECK_MEM(st->topic, topic, 32);
    CHECK(contract_event_by_topic(c, topic) == st);
    CHECK(contract_function(c, "nope") == NULL);
}

static void test_echo(const contract *c) {
    const abi_function *echo = contract_function(c, "echo");
    cJSON *args = cJSON_Parse(
        "[\"-5\", true, \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", \"0xdeadbeef\", [1, 2, 65535],"
        " [{\"a\": 7, \"b\": \"0x0000000000000000000000000000000000000000000000000000000000000001\"},"
        "  [\"18446744073709551615\", \"0xff00000000000000000000000000000000000000000000000000000000000000\"]],"
        " [\"a\", \"\", \"hello world, a string longer than thirty-two bytes!\"]]");
    uint8_t *data;
    size_t len;
    char err[256];
    CHECK_EQ_INT(contract_encode_call(echo, args, &data, &len, err, sizeof err), 0);
    check_bytes_hex(data, len, echo_calldata);

    /* decode the arguments back (outputs have the same types) and re-encode: the same bytes */
    cJSON *back = contract_decode_result(echo, data + 4, len - 4, err, sizeof err);
    CHECK(back != NULL);
    char *txt = cJSON_PrintUnformatted(back);
    CHECK(!strcmp(txt, "[\"-5\",true,\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"0xdeadbeef\",[\"1\",\"2\",\"65535\"],"
                       "[{\"a\":\"7\",\"b\":\"0x0000000000000000000000000000000000000000000000000000000000000001\"},"
                       "{\"a\":\"18446744073709551615\",\"b\":\"0xff00000000000000000000000000000000000000000000000000000000000000\"}],"
                       "[\"a\",\"\",\"hello world, a string longer than thirty-two bytes!\"]]"));
    uint8_t *again;
    size_t alen;
    CHECK_EQ_INT(contract_encode_call(echo, back, &again, &alen, err, sizeof err), 0);
    CHECK(alen == len && !memcmp(again, data, len));
    free(again);
    free(txt);
    cJSON_Delete(back);

    /* hostile return data: every truncation fails cleanly, as do pointers past the end */
    for (size_t cut = 5; cut < len; cut += 7) {
        cJSON *v = contract_decode_result(echo, data + 4, len - cut, err, sizeof err);
        CHECK(v == NULL);
        cJSON_Delete(v);
    }
    uint8_t *evil = malloc(len);
    memcpy(evil, data, len);
    evil[4 + 3 * 32 + 24] = 0x10; /* the offset of `bytes b` far beyond the data */
    CHECK(contract_decode_result(echo, evil + 4, len - 4, err, sizeof err) == NULL);
    CHECK(strstr(err, "offset") != NULL);
    memcpy(evil, data, len);
    evil[4 + 10 * 32 + 20] = 0x7f; /* the length of `bytes b` huge */
    CHECK(contract_decode_result(echo, evil + 4, len - 4, err, sizeof err) == NULL);
    memcpy(evil, data, len);
    evil[4 + 32 + 31] = 2; /* bool 2 */
    CHECK(contract_decode_result(echo, evil + 4, len - 4, err, sizeof err) == NULL);
    CHECK(strstr(err, "bool") != NULL);
    memcpy(evil, data, len);
    evil[4 + 2 * 32] = 1; /* address with a high byte set */
    CHECK(contract_decode_result(echo, evil + 4, len - 4, err, sizeof err) == NULL);
    free(evil);
    free(data);
    cJSON_Delete(args);

    /* bad arguments get a reason naming the value */
    const char *bad_args[] = {
        "[\"-5\", true, \"0x123\", \"0x\", [], [[1,\"0x00\"],[1,\"0x00\"]], []]",   /* short address */
        "[\"-5\", 1, \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", \"0x\", [], [], []]", /* bool as number */
        "[\"-5\", true, \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", \"0x\", [65536], [], []]",
        "[0.5, true, \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", \"0x\", [], [], []]",
        "[1, true]",
    };
    for (size_t i = 0; i < sizeof bad_args / sizeof *bad_args; i++) {
        cJSON *a = cJSON_Parse(bad_args[i]);
        CHECK_EQ_INT(contract_encode_call(echo, a, &data, &len, err, sizeof err), -1);
        CHECK(strstr(err, "echo(") == err);
        cJSON_Delete(a);
    }
}

static void test_claim(const contract *c) {
    const abi_function *claim = contract_function(c, "claim");
    cJSON *args = cJSON_Parse("[[\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", [1, "
                              "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"],"
                              " \"note\", [3, \"0x0000000000000000000000000000000000000000000000000000000000000002\"]],"
                              " \"-2147483648\"]");
    uint8_t *data;
    size_t len;
    char err[256];
    CHECK_EQ_INT(contract_encode_call(claim, args, &data, &len, err, sizeof err), 0);
    check_bytes_hex(data, len, claim_calldata);
    free(data);
    /* int32 out of range */
    cJSON_ReplaceItemInArray(args, 1, cJSON_CreateString("-2147483649"));
    CHECK_EQ_INT(contract_encode_call(claim, args, &data, &len, err, sizeof err), -1);
    cJSON_ReplaceItemInArray(args, 1, cJSON_CreateString("2147483648"));
    CHECK_EQ_INT(contract_encode_call(claim, args, &data, &len, err, sizeof err), -1);
    cJSON_Delete(args);

    /* the event Claimed(uint256 indexed id, Claim claim, int32 delta): data = the claim's encoding */
    const abi_event *ev = contract_event(c, "Claimed");
    uint8_t topics[2][32] = {{0}};
    memcpy(topics[0], ev->topic, 32);
    topics[1][31] = 9;
    uint8_t *cd;
    size_t cl;
    CHECK_EQ_INT(hex_to_bytes(claim_calldata, &cd, &cl), 0);
    cJSON *log = contract_decode_log(ev, (const uint8_t(*)[32])topics, 2, cd + 4, cl - 4, err, sizeof err);
    CHECK(log != NULL);
    char *txt = cJSON_PrintUnformatted(log);
    CHECK(!strcmp(txt, "{\"id\":\"9\",\"claim\":{\"who\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"values\":[\"1\","
                       "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"],"
                       "\"note\":\"note\",\"pair\":{\"a\":\"3\",\"b\":"
                       "\"0x0000000000000000000000000000000000000000000000000000000000000002\"}},\"delta\":\"-2147483648\"}"));
    free(txt);
    cJSON_Delete(log);
    /* wrong topic count, wrong topic 0 */
    CHECK(contract_decode_log(ev, (const uint8_t(*)[32])topics, 1, cd + 4, cl - 4, err, sizeof err) == NULL);
    topics[0][0] ^= 1;
    CHECK(contract_decode_log(ev, (const uint8_t(*)[32])topics, 2, cd + 4, cl - 4, err, sizeof err) == NULL);
    free(cd);
}

static void test_types(void) {
    const char *bad[] = {"uint7", "uint264", "int0", "bytes33", "bytes0", "ufixed128x18", "uint256[", "uint256[0]",
                         "uint256[01]", "function", "uint256[4294967296]", "uint256[65536][65536][65536]", ""};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", bad[i]);
        abi_type *t = abi_type_parse(p, err, sizeof err);
        CHECK(t == NULL);
        if (t) fprintf(stderr, "  accepted %s\n", bad[i]);
        abi_type_free(t);
        cJSON_Delete(p);
    }
    cJSON *p = cJSON_Parse("{\"type\":\"tuple[][3]\",\"components\":[{\"type\":\"uint\"},{\"type\":\"bytes\"}]}");
    abi_type *t = abi_type_parse(p, err, sizeof err);
    CHECK(t && !strcmp(t->canonical, "(uint256,bytes)[][3]") && t->kind == ABI_ARRAY && t->length == 3);
    CHECK(t && t->elem->length == -1 && abi_is_dynamic(t));
    abi_type_free(t);
    cJSON_Delete(p);
    /* a type nested 40 deep is refused, not recursed into */
    char deep[200] = "uint8";
    for (int i = 0; i < 40; i++) strcat(deep, "[]");
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", deep);
    CHECK(abi_type_parse(p, err, sizeof err) == NULL);
    cJSON_Delete(p);
}

int main(void) {
    contract *c = probe();
    CHECK(c != NULL);
    if (c) {
        test_selectors(c);
        test_echo(c);
        test_claim(c);
    }
    test_types();
    contract_free(c);
    return check_summary("test_abi");
}
