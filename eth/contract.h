/* contract.h: a contract's interface and code as its build artifact describes them. Loaded from
 * forge's output (contracts/out/<File>.sol/<Name>.json: {"abi": [...], "bytecode": {"object"}})
 * so that no selector, topic or type is ever copied by hand: function selectors and error
 * selectors are keccak256(signature)[0..4), event topics keccak256(signature), computed here. */
#ifndef OPML_CHAIN_CONTRACT_H
#define OPML_CHAIN_CONTRACT_H

#include "abi.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct abi_function {
    char *name;
    char *signature;        /* "store(bytes32,string)" */
    uint8_t selector[4];
    abi_type *inputs;       /* tuple */
    abi_type *outputs;      /* tuple */
    int is_view;            /* view or pure: call, never send */
    int is_payable;
} abi_function;

typedef struct abi_event {
    char *name;
    char *signature;
    uint8_t topic[32];
    int anonymous;
    abi_type *inputs;       /* tuple of every parameter, indexed or not */
    int *indexed;           /* per input */
    abi_type *data;         /* tuple of the non-indexed inputs: the log's data */
} abi_event;

typedef struct abi_error {
    char *name;
    char *signature;
    uint8_t selector[4];
    abi_type *inputs;
} abi_error;

typedef struct contract {
    char *name;
    abi_function *functions;
    size_t nfunctions;
    abi_event *events;
    size_t nevents;
    abi_error *errors;
    size_t nerrors;
    abi_type *ctor_inputs;  /* tuple, empty when there is no constructor */
    int ctor_payable;
    uint8_t *bytecode;      /* creation code; NULL if the artifact has none (an interface) */
    size_t bytecode_len;
} contract;

/* Loads a forge artifact file; name is the file's base name without ".json". Returns NULL with a
 * reason in err (unreadable file, not JSON, an unsupported ABI entry, unlinked library references
 * in the bytecode). */
contract *contract_load(const char *path, char *err, size_t errlen);

/* The same from an ABI array and the creation code's hex (NULL or "" for none). */
contract *contract_from_abi(const char *name, const cJSON *abi, const char *bytecode_hex, char *err, size_t errlen);

void contract_free(contract *c);

/* A function by name, or by full signature when the name is overloaded. NULL if none or ambiguous. */
const abi_function *contract_function(const contract *c, const char *name_or_signature);
const abi_event *contract_event(const contract *c, const char *name_or_signature);
const abi_event *contract_event_by_topic(const contract *c, const uint8_t topic[32]);
const abi_error *contract_error_by_selector(const contract *c, const uint8_t selector[4]);

/* Calldata for f(args): selector || abi.encode(args). args is a JSON array (or object by input
 * name). *out is malloc'd. Returns 0 or -1 with a reason in err. */
int contract_encode_call(const abi_function *f, const cJSON *args, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Decodes a call's return data as f's outputs: a JSON array, or object when all are named. */
cJSON *contract_decode_result(const abi_function *f, const uint8_t *data, size_t len, char *err, size_t errlen);

/* Creation code with constructor arguments: bytecode || abi.encode(args); args NULL means none. */
int contract_deploy_code(const contract *c, const cJSON *args, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Decodes a log of event e: topics[0] must be e's topic (unless anonymous). Returns a JSON object
 * {name: value} of every parameter in declaration order (unnamed ones as "arg<i>"); an indexed
 * parameter of a dynamic type is only its keccak256 hash, shown as {"hash": "0x..."}. */
cJSON *contract_decode_log(const abi_event *e, const uint8_t (*topics)[32], size_t ntopics, const uint8_t *data,
                           size_t len, char *err, size_t errlen);

#endif
