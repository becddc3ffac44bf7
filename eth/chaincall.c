/* chaincall.c: see chaincall.h. A revert reaches us as a JSON-RPC error whose "data" is the revert
 * data as hex (geth, anvil, reth, erigon all do this for eth_call and eth_estimateGas). */
#include "chaincall.h"

#include "errmsg.h"
#include "ethjson.h"
#include "revert.h"

#include <stdlib.h>
#include <string.h>

cJSON *chain_msg_json(const chain_msg *m) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (m->from) cJSON_AddItemToObject(o, "from", ej_new_data(m->from, 20));
    if (m->to) cJSON_AddItemToObject(o, "to", ej_new_data(m->to, 20));
    if (m->value) cJSON_AddItemToObject(o, "value", ej_new_quantity256(m->value));
    cJSON_AddItemToObject(o, "input", ej_new_data(m->data, m->len));
    if (m->gas) cJSON_AddItemToObject(o, "gas", ej_new_quantity(m->gas));
    return o;
}

/* After a failed call: CHAIN_REVERTED with the reason when the node sent revert data (or said
 * "execution reverted"), else -1 with the RPC failure. */
static int failure(ethrpc_client *rpc, ethrpc_status s, const chain_known *known, char *err, size_t errlen) {
    const char *data = ethrpc_errdata(rpc);
    uint8_t *bytes;
    size_t len;
    if (s == ETHRPC_E_RPC && data && hex_to_bytes(data, &bytes, &len) == 0) {
        char why[512];
        revert_describe(bytes, len, known ? known->list : NULL, known ? known->n : 0, why, sizeof why);
        free(bytes);
        opml_errf(err, errlen, "reverted: %s", why);
        return CHAIN_REVERTED;
    }
    if (s == ETHRPC_E_RPC && strstr(ethrpc_errmsg(rpc), "revert")) {
        opml_errf(err, errlen, "reverted: %s", ethrpc_errmsg(rpc));
        return CHAIN_REVERTED;
    }
    return opml_errf(err, errlen, "%s", ethrpc_errmsg(rpc));
}

int chain_call_raw(ethrpc_client *rpc, const chain_msg *m, const char *tag, const chain_known *known, uint8_t **ret,
                   size_t *retlen, char *err, size_t errlen) {
    cJSON *params = cJSON_CreateArray(), *res;
    cJSON_AddItemToArray(params, chain_msg_json(m));
    cJSON_AddItemToArray(params, cJSON_CreateString(tag));
    ethrpc_status s = ethrpc_call(rpc, "eth_call", params, &res);
    if (s != ETHRPC_OK) return failure(rpc, s, known, err, errlen);
    int rc = ej_data(res, ret, retlen);
    cJSON_Delete(res);
    return rc ? opml_errf(err, errlen, "malformed reply: eth_call result is not hex data") : 0;
}

cJSON *chain_call(ethrpc_client *rpc, const uint8_t *from, const uint8_t to[20], const abi_function *f, const cJSON *args,
                  const chain_known *known, char *err, size_t errlen) {
    uint8_t *data, *ret;
    size_t len, retlen;
    if (contract_encode_call(f, args, &data, &len, err, errlen)) return NULL;
    chain_msg m = {.from = from, .to = to, .data = data, .len = len};
    int rc = chain_call_raw(rpc, &m, "latest", known, &ret, &retlen, err, errlen);
    free(data);
    if (rc) return NULL;
    cJSON *v = contract_decode_result(f, ret, retlen, err, errlen);
    free(ret);
    return v;
}

int chain_estimate(ethrpc_client *rpc, const chain_msg *m, const chain_known *known, uint64_t *gas, char *err,
                   size_t errlen) {
    cJSON *params = cJSON_CreateArray(), *res;
    cJSON_AddItemToArray(params, chain_msg_json(m));
    ethrpc_status s = ethrpc_call(rpc, "eth_estimateGas", params, &res);
    if (s != ETHRPC_OK) return failure(rpc, s, known, err, errlen);
    int rc = ej_quantity(res, gas);
    cJSON_Delete(res);
    return rc ? opml_errf(err, errlen, "malformed reply: eth_estimateGas result is not a quantity") : 0;
}
