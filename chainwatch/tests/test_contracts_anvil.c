/* test_contracts_anvil.c: the project's real contracts (contracts/src, built by forge from their
 * artifacts) on anvil, driven through chainwatch's library: deployed from their artifacts with
 * constructor arguments, then a game's life between a requester, a submitter and a challenger --
 * register, request, submit, challenge, the binding of State_n (with a real Merkle proof), dissect, select, a clock
 * time-out that decides the game, the resolve that pays it out (a third party's), cancel, finalize,
 * withdraw and withdrawTo, all from the oracle (the one bank: the game holds no money) -- and a generation's (registerGeneration,
 * requestGeneration, submit of token ids, challenge, bindTokens with the tokens root C computes) while
 * the follower decodes every event of the three contracts, each also as its typed message; views
 * decoded; custom errors decoded by selector from the ABIs. */
#include "anvil.h"
#include "chaincall.h"
#include "errmsg.h"
#include "check.h"
#include "contract.h"
#include "follower.h"
#include "generation.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "proto_registry.h"
#include "sender.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANVIL_KEY2 "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"

static ethrpc_client *rpc;
static contract *registry_c, *oracle_c, *game_c, *riscv_c;
static const contract *all[4];
static chain_known known = {all, 4};
static char dir[] = "/tmp/chainwatch-contracts-XXXXXX";

static sender *party(const char *key, const char *name, identity *id) {
    uint8_t secret[32];
    char path[300], err[300];
    hex_decode(key, secret, 32);
    identity_from_secret(id, secret);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    sender_config cfg = {.journal = path, .chain_id = 31337, .known = known};
    sender *s = sender_open(rpc, id, &cfg, err, sizeof err);
    if (!s) fprintf(stderr, "%s: %s\n", name, err);
    return s;
}

static contract *load(const char *name) {
    char path[600], err[300];
    snprintf(path, sizeof path, "%s/%s.sol/%s.json", CONTRACTS_OUT, name, name);
    contract *c = contract_load(path, err, sizeof err);
    if (!c) fprintf(stderr, "%s\n", err);
    return c;
}

/* fn(args) with value, gas estimated */
static int tx(sender *s, const contract *c, const uint8_t *to, const char *fn, const char *args_json, uint64_t value,
              chain_receipt *r, char *err, size_t errlen) {
    return anvil_tx(s, c, to, fn, args_json, value, 0, r, err, errlen);
}

static cJSON *view(const contract *c, const uint8_t to[20], const char *fn, const char *args_json, char *err, size_t errlen) {
    cJSON *args = cJSON_Parse(args_json);
    cJSON *res = chain_call(rpc, NULL, to, contract_function(c, fn), args, &known, err, errlen);
    cJSON_Delete(args);
    return res;
}

static void hex32(const uint8_t h[32], char out[67]) { hex_encode(h, 32, out); }

/* the follower's events, kept as "Name args_json" lines */
static char events[64][1024];
static int nevents;

static int typed_ok;

static int collect(void *user, const char *topic, const Opml__ChainEvent *ev) {
    (void)user, (void)topic;
    if (nevents < 64) snprintf(events[nevents++], sizeof events[0], "%s.%s %s", ev->contract, ev->event, ev->args_json);
    /* every game event also comes as its typed message */
    const ProtobufCMessageDescriptor *d = proto_lookup(ev->payload_type);
    ProtobufCMessage *m = d ? protobuf_c_message_unpack(d, NULL, ev->payload.len, ev->payload.data) : NULL;
    CHECK(m != NULL);
    if (!m) fprintf(stderr, "  no typed message for %s.%s (%s)\n", ev->contract, ev->event, ev->args_json);
    if (m && d == &opml__chain_task_requested__descriptor) {
        const Opml__ChainTaskRequested *t = (const Opml__ChainTaskRequested *)m;
        CHECK(t->model_id == 1 && t->requester.len == 20 && t->state0.len == 32 && t->n_inputs == 1);
        typed_ok++;
    }
    if (m && d == &opml__chain_generation_registered__descriptor) {
        const Opml__ChainGenerationRegistered *t = (const Opml__ChainGenerationRegistered *)m;
        CHECK(t->model_id == 2 && t->step_root.len == 32 && t->vocab == 1000 && t->ctx == 64 && t->layers == 1 &&
              t->kv_value == 8);
        typed_ok++;
    }
    if (m && d == &opml__chain_generation_requested__descriptor) {
        const Opml__ChainGenerationRequested *t = (const Opml__ChainGenerationRequested *)m;
        CHECK(t->model_id == 2 && t->prompt.len == 12 && t->prompt.data[0] == 5 && t->max_new == 4 &&
              t->stop_token == OPML_GEN_NO_STOP && t->top_p == 0x3f800000 && t->seed == 9 && t->g0.len == 32);
        typed_ok++;
    }
    if (m && d == &opml__chain_end_bound__descriptor) {
        const Opml__ChainEndBound *t = (const Opml__ChainEndBound *)m;
        CHECK(t->end_state.len == 32 && (t->phase == 0 || t->phase == 1));
        typed_ok++;
    }
    if (m && d == &opml__chain_model_registered__descriptor && ((const Opml__ChainModelRegistered *)m)->model_id == 1) {
        const Opml__ChainModelRegistered *t = (const Opml__ChainModelRegistered *)m;
        CHECK(t->model_id == 1 && t->spec && t->spec->k == 2 && !strcmp(t->spec->challenger_bond, "500") &&
              !strcmp(t->spec->uri, "file:///models/m.opml") && t->spec->n_input_bytes == 1 && t->spec->input_bytes[0] == 4 &&
              t->spec->output_bytes == 2);
        typed_ok++;
    }
    if (m && d == &opml__chain_dissected__descriptor) {
        const Opml__ChainDissected *t = (const Opml__ChainDissected *)m;
        CHECK(t->game_id == 1 && t->n_roots == 1 && t->roots[0].len == 32 && t->roots[0].data[0] == 0x33);
        typed_ok++;
    }
    if (m) protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int has_event(const char *prefix, const char *part) {
    for (int i = 0; i < nevents; i++)
        if (!strncmp(events[i], prefix, strlen(prefix)) && (!part || strstr(events[i], part))) return 1;
    fprintf(stderr, "  no event %s with %s\n", prefix, part ? part : "(any)");
    return 0;
}

/* ---- an in-memory follow_store (the durable one is tested in test_follower_anvil) ---- */

static struct {
    char key[128];
    uint8_t *val;
    size_t len;
} mem[512];
static int nmem;

static int mem_get(void *user, const char *key, int *found, uint8_t **val, size_t *len, char *err, size_t errlen) {
    (void)user, (void)err, (void)errlen;
    *found = 0;
    for (int i = 0; i < nmem; i++)
        if (!strcmp(mem[i].key, key)) {
            *found = 1;
            *val = malloc(mem[i].len + 1);
            memcpy(*val, mem[i].val, mem[i].len);
            *len = mem[i].len;
        }
    return 0;
}

static int mem_put(void *user, size_t n, const char *const *keys, const uint8_t *const *vals, const size_t *lens, char *err,
            size_t errlen) {
    (void)user;
    for (size_t k = 0; k < n; k++) {
        int i = 0;
        while (i < nmem && strcmp(mem[i].key, keys[k])) i++;
        if (i == nmem) {
            if (nmem == 512) return opml_errf(err, errlen, "memory store full");
            nmem++;
        }
        snprintf(mem[i].key, sizeof mem[i].key, "%s", keys[k]);
        free(mem[i].val);
        mem[i].val = malloc(lens[k] + 1);
        memcpy(mem[i].val, vals[k], lens[k]);
        mem[i].len = lens[k];
    }
    return 0;
}

static void mem_free(void) {
    for (int i = 0; i < nmem; i++) free(mem[i].val);
}

int main(void) {
    char err[800];
    if (!mkdtemp(dir)) return 1;
    anvil node;
    if (anvil_start(&node, 0, NULL)) return 1;
    rpc = ethrpc_open(node.url, NULL);
    registry_c = load("ModelRegistry"), oracle_c = load("InferenceOracle"), game_c = load("DisputeGame");
    riscv_c = load("RiscvStep");
    if (!registry_c || !oracle_c || !game_c || !riscv_c) return 1;
    all[0] = registry_c, all[1] = oracle_c, all[2] = game_c, all[3] = riscv_c;
    identity req_id, sub_id, ch_id;
    sender *requester = party(ANVIL_KEY0, "requester", &req_id);
    sender *submitter = party(ANVIL_KEY1, "submitter", &sub_id);
    sender *challenger = party(ANVIL_KEY2, "challenger", &ch_id);

    /* deploy from the artifacts */
    chain_receipt r;
    uint8_t riscv[20], registry[20], oracle[20], game[20];
    char a_riscv[43], a_registry[43], a_oracle[43], a_game[43], args[2048];
    CHECK_EQ_INT(tx(requester, riscv_c, NULL, NULL, "[]", 0, &r, err, sizeof err), 0);
    memcpy(riscv, r.contract_address, 20);
    /* the registry's bounds (ModelRegistry.Bounds): a test deployment's, short windows and clocks */
    CHECK_EQ_INT(tx(requester, registry_c, NULL, NULL, "[[1, 2592000, 1, 2592000, 1, 1, 1048576, 131072]]", 0, &r, err, sizeof err),
                 0);
    memcpy(registry, r.contract_address, 20);
    hex_encode(riscv, 20, a_riscv);
    hex_encode(registry, 20, a_registry);
    snprintf(args, sizeof args, "[\"%s\"]", a_registry);
    CHECK_EQ_INT(tx(requester, oracle_c, NULL, NULL, args, 0, &r, err, sizeof err), 0);
    memcpy(oracle, r.contract_address, 20);
    hex_encode(oracle, 20, a_oracle);
    snprintf(args, sizeof args, "[\"%s\", \"%s\", \"%s\"]", a_registry, a_oracle, a_riscv);
    CHECK_EQ_INT(tx(requester, game_c, NULL, NULL, args, 0, &r, err, sizeof err), 0);
    memcpy(game, r.contract_address, 20);
    hex_encode(game, 20, a_game);
    snprintf(args, sizeof args, "[\"%s\"]", a_game);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "bindGame", args, 0, &r, err, sizeof err), 0);

    /* the follower over all three game contracts, from the start */
    follow_contract fcs[3] = {{registry_c, {0}}, {oracle_c, {0}}, {game_c, {0}}};
    memcpy(fcs[0].address, registry, 20);
    memcpy(fcs[1].address, oracle, 20);
    memcpy(fcs[2].address, game, 20);

    /* a model: 1 input, 3 nodes, output value 3, state depth 2, k = 2 */
    const char *spec = "[{\"nodesRoot\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
                       "\"nin\":1,\"n\":3,\"outputValue\":3,\"stateDepth\":2,\"inputBytes\":[4],\"outputBytes\":2,"
                       "\"guestRoot\":\"0x2222222222222222222222222222222222222222222222222222222222222222\","
                       "\"k\":2,\"stepsLog2\":10,\"challengeWindow\":3600,\"clock\":3600,\"submitterBond\":1000,"
                       "\"challengerBond\":500,\"uri\":\"file:///models/m.opml\"}]";
    CHECK_EQ_INT(tx(requester, registry_c, registry, "register", spec, 0, &r, err, sizeof err), 0);
    cJSON *v = view(registry_c, registry, "modelCount", "[]", err, sizeof err);
    char *t = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(t && !strcmp(t, "[\"1\"]"));
    free(t);
    cJSON_Delete(v);
    /* a bad spec is refused before sending, with the custom error decoded */
    char bad_spec[2048];
    snprintf(bad_spec, sizeof bad_spec, "%s", spec);
    memcpy(strstr(bad_spec, "\"k\":2"), "\"k\":1", 5);
    CHECK_EQ_INT(tx(requester, registry_c, registry, "register", bad_spec, 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "BadArity(k=\"1\")") != NULL);

    /* task 1: request, submit, challenge, the binding with a real proof, dissect, select */
    const uint8_t input[] = {1, 2, 3, 4}, output[] = {0xaa, 0xbb};
    uint8_t leaves[4][32] = {{0}}, n01[32], n23[32], stateN[32];
    merkle_tensor_root(input, sizeof input, leaves[0]);
    leaves[1][31] = 1;
    leaves[2][31] = 2;
    merkle_tensor_root(output, sizeof output, leaves[3]);
    keccak256_pair(leaves[0], leaves[1], n01);
    keccak256_pair(leaves[2], leaves[3], n23);
    keccak256_pair(n01, n23, stateN);
    char h_state[67], h_l2[67], h_n01[67], h_mid[67];
    hex32(stateN, h_state), hex32(leaves[2], h_l2), hex32(n01, h_n01);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "request", "[1, [\"0x01020304\"]]", 77, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(submitter, oracle_c, oracle, "submit", "[1, \"0xaabb\"]", 1000, &r, err, sizeof err), 0);
    /* a wrong bond: WrongBond(expected, given) */
    CHECK_EQ_INT(tx(challenger, game_c, game, "challenge", "[1]", 499, &r, err, sizeof err), -1);
    CHECK(strstr(err, "WrongBond(expected=\"500\", given=\"499\")") != NULL);
    CHECK_EQ_INT(tx(challenger, game_c, game, "challenge", "[1]", 500, &r, err, sizeof err), 0);
    char bind_args[600];
    snprintf(bind_args, sizeof bind_args, "[1, \"%s\", \"0xaabc\", [\"%s\", \"%s\"]]", h_state, h_l2, h_n01);
    CHECK_EQ_INT(tx(submitter, game_c, game, "bindEnd", bind_args, 0, &r, err, sizeof err), -1); /* not the output */
    CHECK(strstr(err, "WrongOutput()") != NULL);
    snprintf(bind_args, sizeof bind_args, "[1, \"%s\", \"0xaabb\", [\"%s\", \"%s\"]]", h_state, h_l2, h_n01);
    CHECK_EQ_INT(tx(submitter, game_c, game, "bindEnd", bind_args, 0, &r, err, sizeof err), 0);
    uint8_t mid[32];
    memset(mid, 0x33, 32);
    hex32(mid, h_mid);
    snprintf(args, sizeof args, "[1, [\"%s\"]]", h_mid);
    CHECK_EQ_INT(tx(challenger, game_c, game, "dissect", args, 0, &r, err, sizeof err), -1); /* not its move */
    CHECK(strstr(err, "NotYourMove(expected=") != NULL);
    CHECK_EQ_INT(tx(submitter, game_c, game, "dissect", args, 0, &r, err, sizeof err), 0);
    snprintf(args, sizeof args, "[1, [\"%s\"], 0]", h_mid);
    CHECK_EQ_INT(tx(challenger, game_c, game, "select", args, 0, &r, err, sizeof err), 0);
    /* a second game on the same submission, by the requester: open when the first rejects it */
    CHECK_EQ_INT(tx(requester, game_c, game, "challenge", "[1]", 500, &r, err, sizeof err), 0);
    v = view(game_c, game, "gameCount", "[]", err, sizeof err);
    t = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(t && !strcmp(t, "[\"2\"]"));
    free(t);
    cJSON_Delete(v);

    /* task 2: submitted and, after the window, finalized; task 3: cancelled */
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "request", "[1, [\"0x01020304\"]]", 88, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(submitter, oracle_c, oracle, "submit", "[2, \"0xaabb\"]", 1000, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "request", "[1, [\"0x05\"]]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "WrongInputLength(input=\"0\", expected=\"4\", given=\"1\")") != NULL);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "request", "[1, [\"0x05060708\"]]", 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "cancel", "[3]", 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "cancel", "[999]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "UnknownTask(taskId=\"999\")") != NULL);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "finalize", "[2, \"0xaabb\"]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "WindowOpen(deadline=") != NULL);
    free(anvil_rpc(&node, "evm_increaseTime", "[7300]"));
    free(anvil_rpc(&node, "evm_mine", "[]"));
    /* nothing to resolve before a decision; the timeout decides (the submitter was to open) and
     * pays nothing; a second timeout finds no clock running; anyone's resolve pays it out, once */
    CHECK_EQ_INT(tx(requester, game_c, game, "resolve", "[1]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "WrongTurn(") != NULL);
    CHECK_EQ_INT(tx(requester, game_c, game, "timeout", "[1]", 0, &r, err, sizeof err), 0);
    v = view(game_c, game, "game", "[1]", err, sizeof err);
    t = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(t && strstr(t, "\"turn\":\"8\"") && strstr(t, "\"challengerWon\":true"));
    if (t) printf("game(1) decided = %s\n", t);
    free(t);
    cJSON_Delete(v);
    CHECK_EQ_INT(tx(requester, game_c, game, "timeout", "[1]", 0, &r, err, sizeof err), -1);
    CHECK_EQ_INT(tx(requester, game_c, game, "resolve", "[1]", 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, game_c, game, "resolve", "[1]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "WrongTurn(") != NULL);
    /* the second game ends with its bond back and its share of the rejected bond */
    CHECK_EQ_INT(tx(requester, game_c, game, "abandon", "[2]", 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "finalize", "[2, \"0xaabb\"]", 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(submitter, oracle_c, oracle, "withdraw", "[]", 0, &r, err, sizeof err), 0);
    /* the challenger's credit at the oracle (its bond back and its share of the rejected bond),
     * paid to another address; then nothing is left, and the game has no withdraw at all */
    char to_req[80], req_hex[43];
    hex_encode(req_id.address, 20, req_hex);
    snprintf(to_req, sizeof to_req, "[\"%s\"]", req_hex);
    CHECK_EQ_INT(tx(challenger, oracle_c, oracle, "withdrawTo", to_req, 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(challenger, oracle_c, oracle, "withdraw", "[]", 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "NothingToWithdraw()") != NULL);
    CHECK(contract_function(game_c, "withdraw") == NULL && contract_function(game_c, "credit") == NULL);

    /* a generation: a one-layer step graph (inputs K, V, token, pos, sampler; 5 nodes, the caches
     * out at values 8 and 9, the sampled token value 7), three prompt ids, four new ones */
    const char *gspec = "[{\"nodesRoot\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
                        "\"nin\":5,\"n\":5,\"outputValue\":7,\"stateDepth\":4,\"inputBytes\":[64,64,4,4,20],\"outputBytes\":4,"
                        "\"guestRoot\":\"0x2222222222222222222222222222222222222222222222222222222222222222\","
                        "\"k\":2,\"stepsLog2\":10,\"challengeWindow\":3600,\"clock\":3600,\"submitterBond\":1000,"
                        "\"challengerBond\":500,\"uri\":\"file:///models/g.opml\"}, "
                        "{\"vocab\":1000,\"ctx\":64,\"layers\":1,\"kvValue\":8}]";
    CHECK_EQ_INT(tx(requester, registry_c, registry, "registerGeneration", gspec, 0, &r, err, sizeof err), 0);
    const char *greq = "[2, \"0x050000000600000007000000\", 4, 4294967295, [1065353216, 40, 1065353216, 9]]";
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "requestGeneration", greq, 5, &r, err, sizeof err), 0);
    CHECK_EQ_INT(tx(requester, oracle_c, oracle, "requestGeneration", "[2, \"0x05000000e8030000\", 4, 4294967295, [0, 0, 0, 0]]",
                    5, &r, err, sizeof err), -1);
    CHECK(strstr(err, "BadTokenId(index=\"1\", id=\"1000\", vocab=\"1000\")") != NULL);
    const uint32_t gen_ids[7] = {5, 6, 7, 10, 11, 12, 13}; /* the prompt, then the new ids */
    CHECK_EQ_INT(tx(submitter, oracle_c, oracle, "submit", "[4, \"0x0a0000000b0000000c0000000d000000\"]", 1000, &r, err,
                    sizeof err), 0);
    CHECK_EQ_INT(tx(challenger, game_c, game, "challenge", "[4]", 500, &r, err, sizeof err), 0);
    uint8_t g_tokens[32], g_kv[32], g0[32];
    char h_tok[67], h_kv[67], h_g0[67];
    CHECK_EQ_INT(opml_gen_tokens_root(gen_ids, 7, g_tokens), 0);
    memset(g_kv, 0x44, 32);
    hex32(g_tokens, h_tok), hex32(g_kv, h_kv);
    snprintf(args, sizeof args, "[3, \"%s\", \"%s\", \"0x050000000600000007000000\", \"0x0a0000000b0000000c0000000d000000\"]",
             h_kv, h_kv);
    CHECK_EQ_INT(tx(submitter, game_c, game, "bindTokens", args, 0, &r, err, sizeof err), -1); /* not prompt ++ output */
    CHECK(strstr(err, "BadTokensRoot()") != NULL);
    snprintf(args, sizeof args, "[3, \"%s\", \"%s\", \"0x050000000600000007000000\", \"0x0a0000000b0000000c0000000d000000\"]",
             h_tok, h_kv);
    CHECK_EQ_INT(tx(submitter, game_c, game, "bindTokens", args, 0, &r, err, sizeof err), 0);
    opml_gen_state0(5, 1, g0);
    hex32(g0, h_g0);

    /* views, decoded by their ABI */
    v = view(oracle_c, oracle, "task", "[2]", err, sizeof err);
    t = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(t != NULL);
    if (t) printf("task(2) = %s\n", t);
    free(t);
    cJSON_Delete(v);
    v = view(registry_c, registry, "spec", "[1]", err, sizeof err);
    t = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(t && strstr(t, "\"uri\":\"file:///models/m.opml\"") && strstr(t, "\"challengerBond\":\"500\""));
    free(t);
    cJSON_Delete(v);
    CHECK(view(registry_c, registry, "spec", "[9]", err, sizeof err) == NULL);
    CHECK(strstr(err, "UnknownModel(modelId=\"9\")") != NULL);

    /* every event, decoded by the follower */
    follower_config fc = {.contracts = fcs, .ncontracts = 3, .key_prefix = "cw/contracts/"};
    follow_store fs = {mem_get, mem_put, NULL};
    follower *f = follower_open(rpc, &fc, &fs, err, sizeof err);
    int rc;
    while ((rc = follower_step(f, collect, NULL, err, sizeof err)) == 1) {}
    CHECK_EQ_INT(rc, 0);
    char sub_addr[43], ch_addr[43], req_addr[43];
    hex_encode(sub_id.address, 20, sub_addr);
    hex_encode(ch_id.address, 20, ch_addr);
    hex_encode(req_id.address, 20, req_addr);
    char want[400];
    CHECK(has_event("InferenceOracle.GameBound", a_game));
    CHECK(has_event("ModelRegistry.ModelRegistered", "\"uri\":\"file:///models/m.opml\""));
    snprintf(want, sizeof want, "\"requester\":\"%s\",\"fee\":\"77\"", req_addr);
    CHECK(has_event("InferenceOracle.TaskRequested", want));
    CHECK(has_event("InferenceOracle.TaskRequested", "\"inputs\":[\"0x01020304\"]"));
    CHECK(has_event("InferenceOracle.ResultSubmitted", "\"output\":\"0xaabb\""));
    snprintf(want, sizeof want, "\"challenger\":\"%s\"", ch_addr);
    CHECK(has_event("DisputeGame.GameStarted", want));
    CHECK(has_event("DisputeGame.GameStarted", "\"n\":\"3\",\"phase\":\"1\""));
    snprintf(want, sizeof want, "\"endState\":\"%s\"", h_state);
    CHECK(has_event("DisputeGame.EndBound", want));
    snprintf(want, sizeof want, "\"roots\":[\"%s\"]", h_mid);
    CHECK(has_event("DisputeGame.Dissected", want));
    CHECK(has_event("DisputeGame.Selected", "\"part\":\"0\""));
    CHECK(has_event("DisputeGame.TimedOut", sub_addr));
    CHECK(has_event("DisputeGame.GameResolved", "\"challengerWon\":true"));
    CHECK(has_event("InferenceOracle.SubmissionRejected", ch_addr));
    CHECK(has_event("InferenceOracle.SubmissionRejected", "\"bond\":\"1000\",\"burned\":\"500\",\"share\":\"250\",\"games\":\"2\""));
    snprintf(want, sizeof want, "\"challenger\":\"%s\",\"share\":\"250\"", req_addr);
    CHECK(has_event("InferenceOracle.ShareCredited", want));
    CHECK(has_event("DisputeGame.GameAbandoned", "\"refund\":\"500\""));
    CHECK(has_event("InferenceOracle.TaskCancelled", "\"taskId\":\"3\""));
    CHECK(has_event("InferenceOracle.TaskFinalized", "\"taskId\":\"2\""));
    CHECK(has_event("InferenceOracle.CallbackDone", "\"taskId\":\"2\""));
    CHECK(has_event("InferenceOracle.Withdrawn", sub_addr));
    snprintf(want, sizeof want, "\"who\":\"%s\",\"to\":\"%s\",\"amount\":\"750\"", ch_addr, req_addr);
    CHECK(has_event("InferenceOracle.Withdrawn", want));
    for (int i = 0; i < nevents; i++) CHECK(strncmp(events[i], "DisputeGame.Withdrawn", 21) != 0); /* the game pays nobody */
    CHECK(has_event("ModelRegistry.GenerationRegistered", "\"modelId\":\"2\""));
    snprintf(want, sizeof want, "\"g0\":\"%s\"", h_g0); /* G_0 as C computes it */
    CHECK(has_event("InferenceOracle.GenerationRequested", want));
    CHECK(has_event("InferenceOracle.ResultSubmitted", "\"output\":\"0x0a0000000b0000000c0000000d000000\""));
    CHECK(has_event("DisputeGame.GameStarted", "\"n\":\"6\",\"phase\":\"0\"")); /* T = P + M - 1 */
    uint8_t g_t[32];
    char h_gt[67];
    opml_gen_state(g_tokens, g_kv, g_t);
    hex32(g_t, h_gt);
    snprintf(want, sizeof want, "\"phase\":\"0\",\"endState\":\"%s\"", h_gt);
    CHECK(has_event("DisputeGame.EndBound", want));
    for (int i = 0; i < nevents; i++) {
        CHECK(!strstr(events[i], "decode_error"));
        if (strstr(events[i], "decode_error")) fprintf(stderr, "  %s\n", events[i]);
    }
    CHECK_EQ_INT(typed_ok, 9); /* three TaskRequested, ModelRegistered, Dissected, GenerationRegistered,
                                * GenerationRequested and two EndBound checked field by field */
    for (int i = 0; i < nevents; i++) CHECK(!strstr(events[i], "typed_error"));
    printf("%d events decoded, each also as its typed message\n", nevents);

    follower_close(f);
    mem_free();
    sender_close(requester);
    sender_close(submitter);
    sender_close(challenger);
    contract_free(registry_c);
    contract_free(oracle_c);
    contract_free(game_c);
    contract_free(riscv_c);
    ethrpc_close(rpc);
    anvil_stop(&node);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return check_summary("test_contracts_anvil");
}

