/* test_sender_anvil.c: transactions on a real anvil with chainwatch's own Probe contract, loaded from
 * its forge artifact: deployment with constructor arguments and value, calls of every function,
 * events decoded from eth_getLogs, reverts explained (custom error, Error(string), Panic) both
 * before sending (estimate) and after mining (receipt), the chain id check, nonces surviving a
 * restart of the sender, a stuck transaction replaced with a higher fee, and the node stopped and
 * started again with a transaction in flight: no crash, nothing lost. */
#include "anvil.h"
#include "chaincall.h"
#include "check.h"
#include "contract.h"
#include "ethjson.h"
#include "hex.h"
#include "keccak.h"
#include "sender.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/chainwatch-test-XXXXXX";
static char journal[256];

static identity key(const char *hex) {
    identity id;
    uint8_t secret[32];
    hex_decode(hex, secret, 32);
    identity_from_secret(&id, secret);
    return id;
}

static int send_call(sender *s, const uint8_t to[20], const contract *c, const char *fn, const char *args_json,
                     uint64_t gas, chain_receipt *r, char *err, size_t errlen) {
    return anvil_tx(s, c, to, fn, args_json, 0, gas, r, err, errlen);
}

static char *call_text(ethrpc_client *rpc, const uint8_t *from, const uint8_t to[20], const contract *c, const char *fn,
                       const char *args_json, char *err, size_t errlen) {
    const chain_known known = {&c, 1};
    cJSON *args = cJSON_Parse(args_json);
    cJSON *res = chain_call(rpc, from, to, contract_function(c, fn), args, &known, err, errlen);
    cJSON_Delete(args);
    char *t = res ? cJSON_PrintUnformatted(res) : NULL;
    cJSON_Delete(res);
    return t;
}

static void check_call(ethrpc_client *rpc, const uint8_t to[20], const contract *c, const char *fn, const char *args,
                       const char *want) {
    char err[512];
    char *got = call_text(rpc, NULL, to, c, fn, args, err, sizeof err);
    CHECK(got && !strcmp(got, want));
    if (!got || strcmp(got, want)) fprintf(stderr, "  %s: got %s (%s), want %s\n", fn, got ? got : "NULL", err, want);
    free(got);
}

/* Every log of the contract, decoded, as one JSON text: [{"event":..., "args":...}, ...]. */
static char *logs_text(ethrpc_client *rpc, const uint8_t addr[20], const contract *c) {
    char q[200], a[43];
    hex_encode(addr, 20, a);
    snprintf(q, sizeof q, "[{\"fromBlock\":\"0x0\",\"toBlock\":\"latest\",\"address\":\"%s\"}]", a);
    cJSON *res, *out = cJSON_CreateArray();
    if (ethrpc_call(rpc, "eth_getLogs", cJSON_Parse(q), &res) != ETHRPC_OK) return NULL;
    const cJSON *log;
    cJSON_ArrayForEach(log, res) {
        const cJSON *topics = ej_get(log, "topics"), *t;
        uint8_t tp[4][32], *data;
        size_t nt = 0, len;
        cJSON_ArrayForEach(t, topics) if (nt < 4) ej_data_fixed(t, tp[nt++], 32);
        ej_data(ej_get(log, "data"), &data, &len);
        const abi_event *e = contract_event_by_topic(c, tp[0]);
        char err[256];
        cJSON *args = e ? contract_decode_log(e, (const uint8_t(*)[32])tp, nt, data, len, err, sizeof err) : NULL;
        free(data);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", e ? e->name : "?");
        cJSON_AddItemToObject(o, "args", args ? args : cJSON_CreateString(err));
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(res);
    char *txt = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return txt;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(journal, sizeof journal, "%s/nonces.json", dir);
    char state[256];
    snprintf(state, sizeof state, "%s/anvil-state.json", dir);
    anvil node;
    const char *args[] = {"--state", state, NULL};
    if (anvil_start(&node, 0, args)) {
        fprintf(stderr, "cannot start anvil\n");
        return 1;
    }
    char err[600];
    contract *probe = contract_load(PROBE_ARTIFACT, err, sizeof err);
    CHECK(probe != NULL);
    if (!probe) {
        fprintf(stderr, "%s\n", err);
        anvil_stop(&node);
        return 1;
    }
    identity me = key(ANVIL_KEY0), other = key(ANVIL_KEY1);
    ethrpc_options ropt = {.timeout_ms = 3000, .retries = 2, .backoff_ms = 50};
    ethrpc_client *rpc = ethrpc_open(node.url, &ropt);
    const contract *known_list[] = {probe};
    sender_config cfg = {.journal = journal, .chain_id = 31337, .known = {known_list, 1}};

    /* the chain id is checked */
    sender_config wrong = cfg;
    wrong.chain_id = 1;
    CHECK(sender_open(rpc, &me, &wrong, err, sizeof err) == NULL);
    CHECK(strstr(err, "chain 31337") && strstr(err, "chain 1"));

    sender *s = sender_open(rpc, &me, &cfg, err, sizeof err);
    CHECK(s != NULL);
    if (!s) fprintf(stderr, "%s\n", err);

    /* deploy from the artifact: constructor (limit 3, name) and 5 wei */
    cJSON *ctor = cJSON_Parse("[3, \"probe one\"]");
    uint8_t *code, id[32];
    size_t code_len;
    CHECK_EQ_INT(contract_deploy_code(probe, ctor, &code, &code_len, err, sizeof err), 0);
    cJSON_Delete(ctor);
    u256 five;
    u256_from_u64(&five, 5);
    CHECK_EQ_INT(sender_send(s, NULL, &five, code, code_len, 0, id, err, sizeof err), 0);
    free(code);
    chain_receipt r;
    CHECK_EQ_INT(sender_wait(s, id, 20000, &r, NULL, NULL, err, sizeof err), 0);
    CHECK(r.success && r.has_contract && !memcmp(r.id, id, 32) && r.nonce == 0);
    uint8_t addr[20];
    memcpy(addr, r.contract_address, 20);

    /* views */
    char mine[43];
    hex_encode(me.address, 20, mine);
    char want[128];
    snprintf(want, sizeof want, "[\"%s\"]", mine);
    check_call(rpc, addr, probe, "owner", "[]", want);
    check_call(rpc, addr, probe, "limit", "[]", "[\"3\"]");
    check_call(rpc, addr, probe, "name", "[]", "[\"probe one\"]");
    check_call(rpc, addr, probe, "sum", "[[1, 2, \"0x10\"]]", "{\"s\":\"19\"}");
    check_call(rpc, addr, probe, "echo",
               "[\"-5\", true, \"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\", \"0xdeadbeef\", [1, 2, 65535],"
               " [[7, \"0x0000000000000000000000000000000000000000000000000000000000000001\"],"
               "  [8, \"0x0000000000000000000000000000000000000000000000000000000000000002\"]], [\"a\", \"\", \"b\"]]",
               "[\"-5\",true,\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"0xdeadbeef\",[\"1\",\"2\",\"65535\"],"
               "[{\"a\":\"7\",\"b\":\"0x0000000000000000000000000000000000000000000000000000000000000001\"},"
               "{\"a\":\"8\",\"b\":\"0x0000000000000000000000000000000000000000000000000000000000000002\"}],[\"a\",\"\",\"b\"]]");

    /* transactions and their events */
    const char *root = "\"0x00000000000000000000000000000000000000000000000000000000000000aa\"";
    char a1[200];
    snprintf(a1, sizeof a1, "[%s, \"first\"]", root);
    CHECK_EQ_INT(send_call(s, addr, probe, "store", a1, 0, &r, err, sizeof err), 0);
    CHECK(r.success);
    CHECK_EQ_INT(send_call(s, addr, probe, "claim",
                           "[{\"who\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"values\":[1,2],\"note\":\"n\","
                           "\"pair\":{\"a\":9,\"b\":\"0x0000000000000000000000000000000000000000000000000000000000000003\"}}, -7]",
                           0, &r, err, sizeof err), 0);
    CHECK(r.success);
    CHECK_EQ_INT(send_call(s, addr, probe, "tag", "[\"t\", \"0x0102\", [1, 2, 3]]", 0, &r, err, sizeof err), 0);
    uint8_t pay_sel[4];
    memcpy(pay_sel, contract_function(probe, "pay")->selector, 4);
    CHECK_EQ_INT(sender_send(s, addr, &five, pay_sel, 4, 0, id, err, sizeof err), 0);
    CHECK_EQ_INT(sender_wait(s, id, 20000, &r, NULL, NULL, err, sizeof err), 0);
    char *logs = logs_text(rpc, addr, probe);
    snprintf(want, sizeof want, "%s", mine);
    char expect_logs[2048];
    snprintf(expect_logs, sizeof expect_logs,
             "[{\"event\":\"Stored\",\"args\":{\"id\":\"1\",\"by\":\"%s\",\"root\":"
             "\"0x00000000000000000000000000000000000000000000000000000000000000aa\",\"note\":\"first\"}},"
             "{\"event\":\"Claimed\",\"args\":{\"id\":\"2\",\"claim\":{\"who\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\","
             "\"values\":[\"1\",\"2\"],\"note\":\"n\",\"pair\":{\"a\":\"9\",\"b\":"
             "\"0x0000000000000000000000000000000000000000000000000000000000000003\"}},\"delta\":\"-7\"}},"
             "{\"event\":\"Tagged\",\"args\":{\"tag\":{\"hash\":\"0xe0e5cf6ecdf7e7e2e9b6e0b6ba1d1fb8e0e1f0e6e0b8e7b4e0e0e0e0e0e0e0e0\"},"
             "\"payload\":\"0x0102\",\"small\":[\"1\",\"2\",\"3\"]}},"
             "{\"event\":\"Paid\",\"args\":{\"from\":\"%s\",\"amount\":\"5\"}}]",
             mine, mine);
    /* the indexed string's topic is keccak256("t"): compute rather than trust the line above */
    uint8_t kt[32];
    keccak256("t", 1, kt);
    char kth[67];
    hex_encode(kt, 32, kth);
    char *slot = strstr(expect_logs, "0xe0e5cf6e");
    memcpy(slot, kth, 66);
    CHECK(logs && !strcmp(logs, expect_logs));
    if (!logs || strcmp(logs, expect_logs)) fprintf(stderr, "  logs %s\n  want %s\n", logs ? logs : "NULL", expect_logs);
    free(logs);

    /* reverts, explained before sending... */
    CHECK_EQ_INT(send_call(s, addr, probe, "store", a1, 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(send_call(s, addr, probe, "store", a1, 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "would revert: TooLarge(given=\"4\", limit=\"3\")") != NULL);
    if (!strstr(err, "TooLarge")) fprintf(stderr, "  %s\n", err);
    char *t = call_text(rpc, NULL, addr, probe, "fail", "[\"no way\"]", err, sizeof err);
    CHECK(!t && !strcmp(err, "reverted: Error(\"no way\")"));
    t = call_text(rpc, NULL, addr, probe, "divide", "[1, 0]", err, sizeof err);
    CHECK(!t && !strcmp(err, "reverted: Panic(0x12: division or modulo by zero)"));
    t = call_text(rpc, other.address, addr, probe, "onlyOwner", "[]", err, sizeof err);
    char oth[43];
    hex_encode(other.address, 20, oth);
    char want_err[128];
    snprintf(want_err, sizeof want_err, "reverted: NotOwner(caller=\"%s\")", oth);
    CHECK(!t && !strcmp(err, want_err));
    /* ...and after mining, when sent anyway with a fixed gas limit */
    uint64_t nonce_before = sender_next_nonce(s);
    CHECK_EQ_INT(send_call(s, addr, probe, "store", a1, 200000, &r, err, sizeof err), -1);
    CHECK(!r.success && !strcmp(r.revert, "reverted: TooLarge(given=\"4\", limit=\"3\")"));
    if (r.success || strcmp(r.revert, "reverted: TooLarge(given=\"4\", limit=\"3\")")) fprintf(stderr, "  %s\n", r.revert);
    CHECK_EQ_INT(sender_next_nonce(s), nonce_before + 1);

    /* a key without funds: the node refuses the transaction; the reason is given, no nonce is used */
    identity poor;
    identity_generate(&poor);
    char poor_journal[300];
    snprintf(poor_journal, sizeof poor_journal, "%s/poor.json", dir);
    sender_config pcfg = {.journal = poor_journal};
    sender *ps = sender_open(rpc, &poor, &pcfg, err, sizeof err);
    CHECK(ps != NULL);
    if (ps) {
        CHECK_EQ_INT(sender_send(ps, addr, NULL, pay_sel, 4, 50000, id, err, sizeof err), -1);
        CHECK(strstr(err, "node refused the transaction") && strstr(err, "funds"));
        if (!strstr(err, "funds")) fprintf(stderr, "  %s\n", err);
        CHECK(sender_next_nonce(ps) == 0 && sender_pending(ps) == 0);
        sender_close(ps);
    }
    unlink(poor_journal);

    /* nonces survive a restart of the sender (and are checked against the node) */
    uint64_t next = sender_next_nonce(s);
    sender_close(s);
    s = sender_open(rpc, &me, &cfg, err, sizeof err);
    CHECK(s && sender_next_nonce(s) == next && sender_pending(s) == 0);

    /* a stuck transaction is replaced with a higher fee; the replacement is mined */
    free(anvil_rpc(&node, "evm_setAutomine", "[false]"));
    sender_close(s);
    cfg.stuck_ms = 300;
    s = sender_open(rpc, &me, &cfg, err, sizeof err);
    CHECK_EQ_INT(sender_send(s, addr, &five, pay_sel, 4, 60000, id, err, sizeof err), 0);
    CHECK_EQ_INT(sender_poll(s, NULL, NULL, err, sizeof err), 1);
    usleep(400 * 1000);
    CHECK_EQ_INT(sender_poll(s, NULL, NULL, err, sizeof err), 1);
    CHECK_EQ_INT(sender_replaced(s), 1);
    free(anvil_rpc(&node, "evm_mine", "[]"));
    CHECK_EQ_INT(sender_wait(s, id, 5000, &r, NULL, NULL, err, sizeof err), 0);
    CHECK(r.success && !memcmp(r.id, id, 32) && memcmp(r.tx_hash, id, 32) != 0);
    char *pool = anvil_rpc(&node, "txpool_content", "[]");
    CHECK(pool && !strstr(pool, "0x")); /* the replaced version is gone from the pool */
    free(pool);

    /* the node stops with a transaction in flight, and comes back (same chain, empty mempool) */
    cfg.stuck_ms = 60000;
    sender_close(s);
    s = sender_open(rpc, &me, &cfg, err, sizeof err);
    CHECK_EQ_INT(sender_send(s, addr, &five, pay_sel, 4, 60000, id, err, sizeof err), 0);
    int port = node.port;
    anvil_stop(&node);
    CHECK_EQ_INT(sender_poll(s, NULL, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "node down") != NULL);
    uint8_t id2[32];
    CHECK_EQ_INT(sender_send(s, addr, &five, pay_sel, 4, 60000, id2, err, sizeof err), -1); /* fees need the node */
    CHECK(strstr(err, "node down") != NULL);
    CHECK_EQ_INT(sender_pending(s), 1);
    /* a restart of the sender while the node is down: refused clearly, journal intact */
    sender_close(s);
    CHECK(sender_open(rpc, &me, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "node down") != NULL);
    CHECK_EQ_INT(anvil_start(&node, port, args), 0);
    s = sender_open(rpc, &me, &cfg, err, sizeof err);
    CHECK(s && sender_pending(s) == 1);
    CHECK_EQ_INT(sender_wait(s, id, 10000, &r, NULL, NULL, err, sizeof err), 0); /* automine is back on */
    CHECK(r.success && !memcmp(r.tx_hash, id, 32));

    sender_close(s);
    ethrpc_close(rpc);
    contract_free(probe);
    anvil_stop(&node);
    unlink(journal);
    unlink(state);
    rmdir(dir);
    return check_summary("test_sender_anvil");
}
