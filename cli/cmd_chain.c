/* cmd_chain.c: `opml chain`, contracts from the shell through the Ethereum library (opml_eth):
 *   opml chain deploy --artifact A.json [--args JSON] [--value WEI]      -> the contract's address
 *   opml chain call   --artifact A.json --to 0x.. --fn NAME [--args JSON] -> the decoded result
 *   opml chain send   --artifact A.json --to 0x.. --fn NAME [--args JSON] [--value WEI] -> the receipt
 * common: --rpc URL (http://127.0.0.1:8545), --key FILE (deploy/send: the signing key, 0600),
 *         --journal FILE (<key>.journal.json: its nonces), --chain-id N (0: the node's).
 * Do not send with the key of a running chainwatch: each keeps its own nonce journal. */
#include "chaincall.h"
#include "cli_num.h"
#include "commands.h"
#include "contract.h"
#include "ethrpc.h"
#include "hex.h"
#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chain_args {
    const char *rpc, *key, *journal, *artifact, *to, *fn, *args, *value;
    unsigned long long chain_id;
};

static int usage(void) {
    fprintf(stderr, "usage: opml chain deploy|call|send --artifact FILE [--to 0xADDR] [--fn NAME] [--args JSON]\n"
                    "       [--value WEI] [--rpc URL] [--key FILE] [--journal FILE] [--chain-id N]\n");
    return 2;
}

static int parse(int argc, char **argv, struct chain_args *a) {
    memset(a, 0, sizeof *a);
    a->rpc = "http://127.0.0.1:8545";
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "--rpc")) slot = &a->rpc;
        else if (!strcmp(argv[i], "--key")) slot = &a->key;
        else if (!strcmp(argv[i], "--journal")) slot = &a->journal;
        else if (!strcmp(argv[i], "--artifact")) slot = &a->artifact;
        else if (!strcmp(argv[i], "--to")) slot = &a->to;
        else if (!strcmp(argv[i], "--fn")) slot = &a->fn;
        else if (!strcmp(argv[i], "--args")) slot = &a->args;
        else if (!strcmp(argv[i], "--value")) slot = &a->value;
        else if (!strcmp(argv[i], "--chain-id") && i + 1 < argc) {
            uint64_t id;
            if (cli_flag_u64("chain", "--chain-id", argv[++i], 1, UINT64_MAX, &id)) return -1;
            a->chain_id = id;
            continue;
        }
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "opml chain: unknown or incomplete option %s\n", argv[i]);
            return -1;
        }
        *slot = argv[++i];
    }
    if (!a->artifact) {
        fprintf(stderr, "opml chain: --artifact is required\n");
        return -1;
    }
    return 0;
}

static void print_receipt(const chain_receipt *r) {
    char id[67], h[67], bh[67], ca[43] = "";
    hex_encode(r->id, 32, id);
    hex_encode(r->tx_hash, 32, h);
    hex_encode(r->block_hash, 32, bh);
    if (r->has_contract) hex_encode(r->contract_address, 20, ca);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "tx_hash", h);
    cJSON_AddNumberToObject(o, "nonce", (double)r->nonce);
    cJSON_AddNumberToObject(o, "block", (double)r->block_number);
    cJSON_AddStringToObject(o, "block_hash", bh);
    cJSON_AddNumberToObject(o, "gas_used", (double)r->gas_used);
    cJSON_AddBoolToObject(o, "success", r->success);
    if (r->has_contract) cJSON_AddStringToObject(o, "contract", ca);
    if (!r->success) cJSON_AddStringToObject(o, "revert", r->revert);
    char *t = cJSON_PrintUnformatted(o);
    printf("%s\n", t);
    free(t);
    cJSON_Delete(o);
}

int cmd_chain(int argc, char **argv) {
    struct chain_args a;
    if (argc < 2 || parse(argc, argv, &a)) return usage();
    const char *verb = argv[1];
    int deploy = !strcmp(verb, "deploy"), call = !strcmp(verb, "call"), send = !strcmp(verb, "send");
    if (!deploy && !call && !send) return usage();
    char err[800];
    contract *c = contract_load(a.artifact, err, sizeof err);
    if (!c) {
        fprintf(stderr, "opml chain: %s\n", err);
        return 1;
    }
    int rc = 1;
    uint8_t to[20], *data = NULL;
    size_t len = 0;
    cJSON *args = a.args ? cJSON_Parse(a.args) : cJSON_CreateArray();
    const abi_function *f = a.fn ? contract_function(c, a.fn) : NULL;
    ethrpc_client *rpc = ethrpc_open(a.rpc, NULL);
    identity id;
    sender *s = NULL;
    u256 value;
    u256_from_u64(&value, 0);
    if (!args) {
        fprintf(stderr, "opml chain: --args is not JSON\n");
        goto out;
    }
    if (!deploy && (!a.to || strncmp(a.to, "0x", 2) || hex_decode(a.to, to, 20))) {
        fprintf(stderr, "opml chain: --to must be a 0x address\n");
        goto out;
    }
    if (!deploy && !f) {
        fprintf(stderr, "opml chain: %s has no function %s (or it is overloaded: give the signature)\n", c->name,
                a.fn ? a.fn : "(none given)");
        goto out;
    }
    if (a.value && u256_parse(&value, a.value, 0)) {
        fprintf(stderr, "opml chain: --value is not a number of wei\n");
        goto out;
    }
    if (deploy ? contract_deploy_code(c, args, &data, &len, err, sizeof err)
               : contract_encode_call(f, args, &data, &len, err, sizeof err)) {
        fprintf(stderr, "opml chain: %s\n", err);
        goto out;
    }
    if (call) {
        const contract *known[] = {c};
        chain_known k = {known, 1};
        cJSON *res = chain_call(rpc, NULL, to, f, args, &k, err, sizeof err);
        if (!res) {
            fprintf(stderr, "opml chain: %s\n", err);
            goto out;
        }
        char *t = cJSON_PrintUnformatted(res);
        printf("%s\n", t);
        free(t);
        cJSON_Delete(res);
        rc = 0;
        goto out;
    }
    if (!a.key) {
        fprintf(stderr, "opml chain: --key is required to %s\n", verb);
        goto out;
    }
    if (identity_load(&id, a.key, err, sizeof err)) {
        fprintf(stderr, "opml chain: %s\n", err);
        goto out;
    }
    char journal[600];
    snprintf(journal, sizeof journal, "%s", a.journal ? a.journal : a.key);
    if (!a.journal) strncat(journal, ".journal.json", sizeof journal - strlen(journal) - 1);
    const contract *known[] = {c};
    sender_config cfg = {.journal = journal, .chain_id = a.chain_id, .known = {known, 1}};
    s = sender_open(rpc, &id, &cfg, err, sizeof err);
    uint8_t txid[32];
    chain_receipt r;
    if (!s || sender_send(s, deploy ? NULL : to, &value, data, len, 0, txid, err, sizeof err) ||
        sender_wait(s, txid, 120000, &r, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "opml chain: %s\n", err);
        goto out;
    }
    print_receipt(&r);
    rc = r.success ? 0 : 1;
out:
    sender_close(s);
    ethrpc_close(rpc);
    free(data);
    cJSON_Delete(args);
    contract_free(c);
    return rc;
}
