/* contract.c: see contract.h. */
#include "contract.h"

#include "errmsg.h"
#include "ethjson.h"
#include "hex.h"
#include "keccak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "name" + inputs' canonical tuple: "store(bytes32,string)". */
static char *signature_of(const char *name, const abi_type *inputs) {
    size_t n = strlen(name) + strlen(inputs->canonical) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", name, inputs->canonical);
    return s;
}

void contract_free(contract *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nfunctions; i++) {
        free(c->functions[i].name);
        free(c->functions[i].signature);
        abi_type_free(c->functions[i].inputs);
        abi_type_free(c->functions[i].outputs);
    }
    for (size_t i = 0; i < c->nevents; i++) {
        free(c->events[i].name);
        free(c->events[i].signature);
        abi_type_free(c->events[i].inputs);
        abi_type_free(c->events[i].data);
        free(c->events[i].indexed);
    }
    for (size_t i = 0; i < c->nerrors; i++) {
        free(c->errors[i].name);
        free(c->errors[i].signature);
        abi_type_free(c->errors[i].inputs);
    }
    free(c->functions);
    free(c->events);
    free(c->errors);
    abi_type_free(c->ctor_inputs);
    free(c->bytecode);
    free(c->name);
    free(c);
}

/* The data tuple of an event: its non-indexed inputs, sharing no memory with e->inputs. */
static abi_type *event_data_type(const cJSON *inputs, char *err, size_t errlen) {
    cJSON *plain = cJSON_CreateArray();
    const cJSON *p;
    if (!plain) return NULL;
    cJSON_ArrayForEach(p, inputs) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "indexed")))
            cJSON_AddItemToArray(plain, cJSON_Duplicate(p, 1));
    }
    abi_type *t = abi_tuple_parse(plain, err, errlen);
    cJSON_Delete(plain);
    return t;
}

static int add_entry(contract *c, const cJSON *e, char *err, size_t errlen) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(e, "inputs");
    const cJSON *mut = cJSON_GetObjectItemCaseSensitive(e, "stateMutability");
    const char *m = cJSON_IsString(mut) ? mut->valuestring : "nonpayable";
    if (!cJSON_IsString(type)) return opml_errf(err, errlen, "ABI entry without a type");
    const char *ty = type->valuestring;
    if (!strcmp(ty, "fallback") || !strcmp(ty, "receive")) return 0;
    if (!strcmp(ty, "constructor")) {
        abi_type_free(c->ctor_inputs);
        c->ctor_inputs = abi_tuple_parse(inputs, err, errlen);
        c->ctor_payable = !strcmp(m, "payable");
        return c->ctor_inputs ? 0 : -1;
    }
    if (!cJSON_IsString(name) || !name->valuestring[0]) return opml_errf(err, errlen, "%s entry without a name", ty);
    abi_type *in = abi_tuple_parse(inputs, err, errlen);
    if (!in) return -1;
    char *sig = signature_of(name->valuestring, in);
    char *nm = strdup(name->valuestring);
    uint8_t h[32];
    if (!sig || !nm) goto oom;
    keccak256(sig, strlen(sig), h);
    if (!strcmp(ty, "function")) {
        abi_function *fs = realloc(c->functions, (c->nfunctions + 1) * sizeof *fs);
        if (!fs) goto oom;
        c->functions = fs;
        abi_function *f = &fs[c->nfunctions];
        memset(f, 0, sizeof *f);
        f->outputs = abi_tuple_parse(cJSON_GetObjectItemCaseSensitive(e, "outputs"), err, errlen);
        if (!f->outputs) goto fail;
        f->name = nm;
        f->signature = sig;
        f->inputs = in;
        memcpy(f->selector, h, 4);
        f->is_view = !strcmp(m, "view") || !strcmp(m, "pure");
        f->is_payable = !strcmp(m, "payable");
        c->nfunctions++;
        return 0;
    }
    if (!strcmp(ty, "event")) {
        abi_event *es = realloc(c->events, (c->nevents + 1) * sizeof *es);
        if (!es) goto oom;
        c->events = es;
        abi_event *ev = &es[c->nevents];
        memset(ev, 0, sizeof *ev);
        ev->indexed = calloc(in->nfields ? in->nfields : 1, sizeof *ev->indexed);
        ev->data = event_data_type(inputs, err, errlen);
        if (!ev->indexed || !ev->data) {
            free(ev->indexed);
            abi_type_free(ev->data);
            goto fail;
        }
        size_t i = 0, nidx = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, inputs) {
            ev->indexed[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "indexed"));
            nidx += (size_t)ev->indexed[i++];
        }
        ev->anonymous = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "anonymous"));
        if (nidx > (ev->anonymous ? 4u : 3u)) {
            free(ev->indexed);
            abi_type_free(ev->data);
            opml_errf(err, errlen, "event %s has too many indexed parameters", sig);
            goto fail;
        }
        ev->name = nm;
        ev->signature = sig;
        ev->inputs = in;
        memcpy(ev->topic, h, 32);
        c->nevents++;
        return 0;
    }
    if (!strcmp(ty, "error")) {
        abi_error *es = realloc(c->errors, (c->nerrors + 1) * sizeof *es);
        if (!es) goto oom;
        c->errors = es;
        abi_error *er = &es[c->nerrors++];
        er->name = nm;
        er->signature = sig;
        er->inputs = in;
        memcpy(er->selector, h, 4);
        return 0;
    }
    opml_errf(err, errlen, "unknown ABI entry type \"%s\"", ty);
    goto fail;
oom:
    opml_errf(err, errlen, "out of memory");
fail:
    free(sig);
    free(nm);
    abi_type_free(in);
    return -1;
}

contract *contract_from_abi(const char *name, const cJSON *abi, const char *bytecode_hex, char *err, size_t errlen) {
    if (!cJSON_IsArray(abi)) return opml_errf(err, errlen, "%s: \"abi\" is not an array", name), NULL;
    contract *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        free(c);
        return opml_errf(err, errlen, "out of memory"), NULL;
    }
    char inner[256];
    const cJSON *e;
    cJSON_ArrayForEach(e, abi) {
        if (add_entry(c, e, inner, sizeof inner)) {
            opml_errf(err, errlen, "%s: %s", name, inner);
            contract_free(c);
            return NULL;
        }
    }
    if (!c->ctor_inputs && !(c->ctor_inputs = abi_tuple_parse(NULL, err, errlen))) {
        contract_free(c);
        return NULL;
    }
    if (bytecode_hex && bytecode_hex[0] && strcmp(bytecode_hex, "0x")) {
        if (strchr(bytecode_hex, '$') || strstr(bytecode_hex, "__")) {
            opml_errf(err, errlen, "%s: bytecode has unlinked library references", name);
            contract_free(c);
            return NULL;
        }
        if (hex_to_bytes(bytecode_hex, &c->bytecode, &c->bytecode_len)) {
            opml_errf(err, errlen, "%s: bytecode is not hex", name);
            contract_free(c);
            return NULL;
        }
    }
    return c;
}

contract *contract_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return opml_errf(err, errlen, "cannot open artifact %s", path), NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            char *t = realloc(text, cap = cap * 2 + 65536);
            if (!t) break;
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!text || rerr) {
        free(text);
        return opml_errf(err, errlen, "cannot read artifact %s", path), NULL;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return opml_errf(err, errlen, "artifact %s is not JSON", path), NULL;
    const cJSON *bc = cJSON_GetObjectItemCaseSensitive(root, "bytecode");
    const cJSON *obj = cJSON_IsObject(bc) ? cJSON_GetObjectItemCaseSensitive(bc, "object") : bc;
    /* the contract's name is the file's base name */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
    contract *c = contract_from_abi(name, cJSON_GetObjectItemCaseSensitive(root, "abi"),
                                    cJSON_IsString(obj) ? obj->valuestring : NULL, err, errlen);
    cJSON_Delete(root);
    return c;
}

/* Looks an entry up by name (unique) or by signature, over an array of structs of `size` bytes
 * whose first two members are name and signature. */
static const void *lookup(const void *arr, size_t n, size_t size, const char *key) {
    const void *found = NULL;
    int by_sig = strchr(key, '(') != NULL;
    for (size_t i = 0; i < n; i++) {
        const char *const *entry = (const char *const *)((const char *)arr + i * size);
        if (!strcmp(entry[by_sig ? 1 : 0], key)) {
            if (found) return NULL; /* overloaded: ask by signature */
            found = entry;
        }
    }
    return found;
}

const abi_function *contract_function(const contract *c, const char *key) {
    return lookup(c->functions, c->nfunctions, sizeof *c->functions, key);
}

const abi_event *contract_event(const contract *c, const char *key) {
    return lookup(c->events, c->nevents, sizeof *c->events, key);
}

const abi_event *contract_event_by_topic(const contract *c, const uint8_t topic[32]) {
    for (size_t i = 0; i < c->nevents; i++)
        if (!c->events[i].anonymous && !memcmp(c->events[i].topic, topic, 32)) return &c->events[i];
    return NULL;
}

const abi_error *contract_error_by_selector(const contract *c, const uint8_t selector[4]) {
    for (size_t i = 0; i < c->nerrors; i++)
        if (!memcmp(c->errors[i].selector, selector, 4)) return &c->errors[i];
    return NULL;
}

/* prefix (plen bytes) || abi.encode(type, args) */
static int encode_prefixed(const uint8_t *prefix, size_t plen, const abi_type *t, const cJSON *args, uint8_t **out,
                           size_t *len, char *err, size_t errlen) {
    uint8_t *enc;
    size_t elen;
    cJSON *empty = NULL;
    if (!args) args = empty = cJSON_CreateArray();
    int rc = abi_encode(t, args, &enc, &elen, err, errlen);
    cJSON_Delete(empty);
    if (rc) return -1;
    uint8_t *o = malloc(plen + elen + 1);
    if (!o) {
        free(enc);
        return opml_errf(err, errlen, "out of memory");
    }
    if (plen) memcpy(o, prefix, plen);
    memcpy(o + plen, enc, elen);
    free(enc);
    *out = o;
    *len = plen + elen;
    return 0;
}

int contract_encode_call(const abi_function *f, const cJSON *args, uint8_t **out, size_t *len, char *err, size_t errlen) {
    char inner[300];
    if (encode_prefixed(f->selector, 4, f->inputs, args, out, len, inner, sizeof inner))
        return opml_errf(err, errlen, "%s: %s", f->signature, inner);
    return 0;
}

cJSON *contract_decode_result(const abi_function *f, const uint8_t *data, size_t len, char *err, size_t errlen) {
    char inner[300];
    cJSON *v = abi_decode(f->outputs, data, len, inner, sizeof inner);
    if (!v) opml_errf(err, errlen, "%s returned: %s", f->signature, inner);
    return v;
}

int contract_deploy_code(const contract *c, const cJSON *args, uint8_t **out, size_t *len, char *err, size_t errlen) {
    if (!c->bytecode) return opml_errf(err, errlen, "%s has no creation code (abstract or an interface)", c->name);
    char inner[300];
    if (encode_prefixed(c->bytecode, c->bytecode_len, c->ctor_inputs, args, out, len, inner, sizeof inner))
        return opml_errf(err, errlen, "%s constructor: %s", c->name, inner);
    return 0;
}

cJSON *contract_decode_log(const abi_event *e, const uint8_t (*topics)[32], size_t ntopics, const uint8_t *data,
                           size_t len, char *err, size_t errlen) {
    size_t t = e->anonymous ? 0 : 1, nidx = 0;
    for (size_t i = 0; i < e->inputs->nfields; i++) nidx += (size_t)e->indexed[i];
    if (!e->anonymous && (ntopics < 1 || memcmp(topics[0], e->topic, 32)))
        return opml_errf(err, errlen, "%s: topic 0 is not this event's", e->signature), NULL;
    if (ntopics != t + nidx)
        return opml_errf(err, errlen, "%s: %zu topics, expected %zu", e->signature, ntopics, t + nidx), NULL;
    char inner[300];
    cJSON *plain = abi_decode(e->data, data, len, inner, sizeof inner);
    if (!plain) return opml_errf(err, errlen, "%s data: %s", e->signature, inner), NULL;
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; out && i < e->inputs->nfields; i++) {
        const abi_type *ty = e->inputs->fields[i];
        cJSON *v;
        if (e->indexed[i]) {
            if (abi_is_dynamic(ty) || ty->kind == ABI_ARRAY || ty->kind == ABI_TUPLE) {
                char h[67];
                hex_encode(topics[t], 32, h);
                v = cJSON_CreateObject();
                if (v) cJSON_AddStringToObject(v, "hash", h);
            } else {
                v = abi_decode_word(ty, topics[t], inner, sizeof inner);
                if (!v) {
                    opml_errf(err, errlen, "%s topic %zu: %s", e->signature, t, inner);
                    cJSON_Delete(out);
                    out = NULL;
                    break;
                }
            }
            t++;
        } else {
            /* the data tuple decoded as an object when every name is set, else as an array */
            v = cJSON_IsArray(plain) ? cJSON_DetachItemFromArray(plain, 0)
                                     : cJSON_DetachItemViaPointer(plain, plain->child);
        }
        char name[32];
        const char *key = e->inputs->names[i];
        if (!key[0]) {
            snprintf(name, sizeof name, "arg%zu", i);
            key = name;
        }
        cJSON_AddItemToObject(out, key, v);
    }
    cJSON_Delete(plain);
    return out;
}
