/* typed.c: see typed.h. Byte buffers are rlp_buf (rlp_raw is a plain append). */
#include "typed.h"

#include "errmsg.h"
#include "ethjson.h"
#include "proto_registry.h"
#include "rlp.h"
#include "u256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 8

static void put_varint(rlp_buf *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    rlp_raw(b, tmp, n);
}

static void put_key(rlp_buf *b, uint32_t number, unsigned wire) { put_varint(b, (uint64_t)number << 3 | wire); }

static void put_bytes(rlp_buf *b, uint32_t number, const uint8_t *p, size_t n) {
    put_key(b, number, 2);
    put_varint(b, n);
    rlp_raw(b, p, n);
}

/* "task_id" -> "taskId" */
static void camel(const char *snake, char *out, size_t outlen) {
    size_t o = 0;
    for (int up = 0; *snake && o + 1 < outlen; snake++) {
        if (*snake == '_') {
            up = 1;
            continue;
        }
        out[o++] = up && *snake >= 'a' && *snake <= 'z' ? (char)(*snake - 32) : *snake;
        up = 0;
    }
    out[o] = 0;
}

static int encode_msg(const ProtobufCMessageDescriptor *d, const cJSON *obj, rlp_buf *b, int depth, char *err,
                      size_t errlen);

static int encode_field(const ProtobufCFieldDescriptor *f, const cJSON *v, rlp_buf *b, int depth, char *err,
                        size_t errlen) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_UINT32: {
        u256 x;
        uint64_t n;
        char txt[32];
        if (cJSON_IsNumber(v)) snprintf(txt, sizeof txt, "%.0f", v->valuedouble);
        const char *s = cJSON_IsString(v) ? v->valuestring : cJSON_IsNumber(v) ? txt : NULL;
        if (!s || u256_parse(&x, s, 0) || u256_to_u64(&x, &n) || (f->type == PROTOBUF_C_TYPE_UINT32 && n > UINT32_MAX))
            return opml_errf(err, errlen, "%s: not an unsigned integer that fits", f->name);
        put_key(b, f->id, 0);
        put_varint(b, n);
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(v)) return opml_errf(err, errlen, "%s: not a bool", f->name);
        put_key(b, f->id, 0);
        put_varint(b, cJSON_IsTrue(v) ? 1 : 0);
        return 0;
    case PROTOBUF_C_TYPE_STRING:
        if (!cJSON_IsString(v)) return opml_errf(err, errlen, "%s: not text", f->name);
        put_bytes(b, f->id, (const uint8_t *)v->valuestring, strlen(v->valuestring));
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        const cJSON *h = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "hash") : v; /* indexed dynamic */
        uint8_t *p;
        size_t n;
        if (ej_data(h, &p, &n)) return opml_errf(err, errlen, "%s: not 0x hex", f->name);
        put_bytes(b, f->id, p, n);
        free(p);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        rlp_buf inner = {0};
        if (encode_msg(f->descriptor, v, &inner, depth + 1, err, errlen)) {
            rlp_buf_free(&inner);
            return -1;
        }
        put_bytes(b, f->id, inner.p, inner.len);
        rlp_buf_free(&inner);
        return 0;
    }
    default: return opml_errf(err, errlen, "%s: field type not supported for events", f->name);
    }
}

static int encode_msg(const ProtobufCMessageDescriptor *d, const cJSON *obj, rlp_buf *b, int depth, char *err,
                      size_t errlen) {
    if (depth > MAX_DEPTH) return opml_errf(err, errlen, "%s nested too deep", d->name);
    if (!cJSON_IsObject(obj)) return opml_errf(err, errlen, "%s: parameters are not an object by name", d->name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char name[128];
        camel(f->name, name, sizeof name);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name), *e;
        if (!v) return opml_errf(err, errlen, "%s.%s: the event has no parameter %s", d->name, f->name, name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!cJSON_IsArray(v)) return opml_errf(err, errlen, "%s.%s: not an array", d->name, f->name);
            cJSON_ArrayForEach(e, v) if (encode_field(f, e, b, depth, err, errlen)) return -1;
        } else if (encode_field(f, v, b, depth, err, errlen)) {
            return -1;
        }
    }
    return 0;
}

int typed_event(const char *event, const cJSON *args, char type[128], uint8_t **payload, size_t *len, char *err,
                size_t errlen) {
    snprintf(type, 128, "opml.Chain%s", event);
    const ProtobufCMessageDescriptor *d = proto_lookup(type);
    if (!d) return 0;
    rlp_buf b = {0};
    if (encode_msg(d, args, &b, 0, err, errlen) || b.oom) {
        if (b.oom) opml_errf(err, errlen, "out of memory");
        rlp_buf_free(&b);
        return -1;
    }
    ProtobufCMessage *check = protobuf_c_message_unpack(d, NULL, b.len, b.p ? b.p : (const uint8_t *)"");
    if (!check) {
        rlp_buf_free(&b);
        return opml_errf(err, errlen, "%s: the encoding does not unpack", type);
    }
    protobuf_c_message_free_unpacked(check, NULL);
    if (!b.p && !(b.p = malloc(1))) return opml_errf(err, errlen, "out of memory");
    *payload = b.p;
    *len = b.len;
    return 1;
}
