/* abi.c: see abi.h. Encoding follows the spec's head/tail layout recursively: a sequence of values
 * (tuple fields or array elements) is written as heads, where a static value sits inline and a
 * dynamic one is replaced by its offset from the start of the sequence, followed by the tails of
 * the dynamic values in order. Byte buffers reuse rlp_buf (rlp_raw is a plain append). */
#include "abi.h"

#include "errmsg.h"
#include "ethjson.h"
#include "hex.h"
#include "rlp.h"
#include "u256.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32 /* nesting of arrays and tuples: deeper types are refused, not recursed into */

void abi_type_free(abi_type *t) {
    if (!t) return;
    abi_type_free(t->elem);
    for (size_t i = 0; i < t->nfields; i++) {
        abi_type_free(t->fields[i]);
        free(t->names[i]);
    }
    free(t->fields);
    free(t->names);
    free(t->canonical);
    free(t);
}

int abi_is_dynamic(const abi_type *t) {
    switch (t->kind) {
    case ABI_BYTES:
    case ABI_STRING: return 1;
    case ABI_ARRAY: return t->length < 0 || abi_is_dynamic(t->elem);
    case ABI_TUPLE:
        for (size_t i = 0; i < t->nfields; i++)
            if (abi_is_dynamic(t->fields[i])) return 1;
        return 0;
    default: return 0;
    }
}

/* Bytes a value takes in its sequence's head: 32 for dynamic values, its full size for static. */
static size_t head_size(const abi_type *t) {
    if (abi_is_dynamic(t)) return 32;
    if (t->kind == ABI_ARRAY) return (size_t)t->length * head_size(t->elem);
    if (t->kind == ABI_TUPLE) {
        size_t s = 0;
        for (size_t i = 0; i < t->nfields; i++) s += head_size(t->fields[i]);
        return s;
    }
    return 32;
}

/* ---- parsing types ---- */

static abi_type *new_type(abi_kind k) {
    abi_type *t = calloc(1, sizeof *t);
    if (t) t->kind = k;
    return t;
}

static abi_type *parse_param(const cJSON *param, int depth, char *err, size_t errlen);

static abi_type *parse_tuple(const cJSON *params, int depth, char *err, size_t errlen) {
    if (depth > MAX_DEPTH) return opml_errf(err, errlen, "type nested deeper than %d", MAX_DEPTH), NULL;
    if (params && !cJSON_IsArray(params)) return opml_errf(err, errlen, "components/inputs is not an array"), NULL;
    abi_type *t = new_type(ABI_TUPLE);
    size_t n = params ? (size_t)cJSON_GetArraySize(params) : 0;
    if (!t) return NULL;
    t->fields = calloc(n ? n : 1, sizeof *t->fields);
    t->names = calloc(n ? n : 1, sizeof *t->names);
    size_t canon_len = 3;
    if (!t->fields || !t->names) goto fail;
    const cJSON *p;
    cJSON_ArrayForEach(p, params) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        abi_type *f = parse_param(p, depth + 1, err, errlen);
        if (!f) goto fail;
        t->fields[t->nfields] = f;
        t->names[t->nfields] = strdup(cJSON_IsString(name) ? name->valuestring : "");
        t->nfields++;
        if (!t->names[t->nfields - 1]) goto fail;
        canon_len += strlen(f->canonical) + 1;
    }
    t->canonical = malloc(canon_len);
    if (!t->canonical) goto fail;
    strcpy(t->canonical, "(");
    for (size_t i = 0; i < t->nfields; i++) {
        if (i) strcat(t->canonical, ",");
        strcat(t->canonical, t->fields[i]->canonical);
    }
    strcat(t->canonical, ")");
    return t;
fail:
    abi_type_free(t);
    return NULL;
}

static int parse_uint(const char *s, size_t n, unsigned long *out) {
    if (n == 0 || n > 9 || (n > 1 && s[0] == '0')) return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static abi_type *parse_param(const cJSON *param, int depth, char *err, size_t errlen) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(param, "type");
    if (!cJSON_IsObject(param) || !cJSON_IsString(type))
        return opml_errf(err, errlen, "ABI parameter without a \"type\" string"), NULL;
    const char *s = type->valuestring;
    size_t base_len = strcspn(s, "[");
    abi_type *t = NULL;
    char canon[32];
    unsigned long n;
    if (base_len == 5 && !strncmp(s, "tuple", 5)) {
        t = parse_tuple(cJSON_GetObjectItemCaseSensitive(param, "components"), depth, err, errlen);
        if (!t) return NULL;
        canon[0] = 0;
    } else if (base_len >= 4 && !strncmp(s, "uint", 4)) {
        n = 256;
        if (base_len > 4 && (parse_uint(s + 4, base_len - 4, &n) || n % 8 || n < 8 || n > 256)) goto badtype;
        t = new_type(ABI_UINT);
        if (t) t->size = (unsigned)n;
        snprintf(canon, sizeof canon, "uint%lu", n);
    } else if (base_len >= 3 && !strncmp(s, "int", 3)) {
        n = 256;
        if (base_len > 3 && (parse_uint(s + 3, base_len - 3, &n) || n % 8 || n < 8 || n > 256)) goto badtype;
        t = new_type(ABI_INT);
        if (t) t->size = (unsigned)n;
        snprintf(canon, sizeof canon, "int%lu", n);
    } else if (base_len == 7 && !strncmp(s, "address", 7)) {
        t = new_type(ABI_ADDRESS);
        strcpy(canon, "address");
    } else if (base_len == 4 && !strncmp(s, "bool", 4)) {
        t = new_type(ABI_BOOL);
        strcpy(canon, "bool");
    } else if (base_len == 6 && !strncmp(s, "string", 6)) {
        t = new_type(ABI_STRING);
        strcpy(canon, "string");
    } else if (base_len == 5 && !strncmp(s, "bytes", 5)) {
        t = new_type(ABI_BYTES);
        strcpy(canon, "bytes");
    } else if (base_len > 5 && !strncmp(s, "bytes", 5)) {
        if (parse_uint(s + 5, base_len - 5, &n) || n < 1 || n > 32) goto badtype;
        t = new_type(ABI_BYTESN);
        if (t) t->size = (unsigned)n;
        snprintf(canon, sizeof canon, "bytes%lu", n);
    } else {
        goto badtype;
    }
    if (!t) return opml_errf(err, errlen, "out of memory"), NULL;
    if (canon[0] && !(t->canonical = strdup(canon))) goto oom;
    /* array dimensions, innermost first */
    for (const char *d = s + base_len; *d;) {
        const char *close = strchr(d, ']');
        if (*d != '[' || !close) goto badtype_free;
        if (++depth > MAX_DEPTH) {
            abi_type_free(t);
            return opml_errf(err, errlen, "type %s nested deeper than %d", s, MAX_DEPTH), NULL;
        }
        abi_type *a = new_type(ABI_ARRAY);
        if (!a) goto oom;
        a->elem = t;
        t = a;
        a->length = -1;
        if (close > d + 1) {
            if (parse_uint(d + 1, (size_t)(close - d - 1), &n) || n == 0) goto badtype_free;
            a->length = (long)n;
            /* keep static sizes small enough that head_size cannot overflow */
            if (!abi_is_dynamic(a->elem) && head_size(a->elem) > (1ul << 32) / n) goto badtype_free;
        }
        size_t cl = strlen(a->elem->canonical) + (size_t)(close - d) + 2;
        if (!(a->canonical = malloc(cl))) goto oom;
        snprintf(a->canonical, cl, "%s%.*s", a->elem->canonical, (int)(close - d + 1), d);
        d = close + 1;
    }
    return t;
badtype_free:
    abi_type_free(t);
badtype:
    return opml_errf(err, errlen, "unsupported or malformed ABI type \"%s\"", s), NULL;
oom:
    abi_type_free(t);
    return opml_errf(err, errlen, "out of memory"), NULL;
}

abi_type *abi_type_parse(const cJSON *param, char *err, size_t errlen) { return parse_param(param, 0, err, errlen); }

abi_type *abi_tuple_parse(const cJSON *params, char *err, size_t errlen) { return parse_tuple(params, 0, err, errlen); }

/* ---- encoding ---- */

static void word(rlp_buf *b, const uint8_t w[32]) { rlp_raw(b, w, 32); }

static void word_u64(rlp_buf *b, uint64_t v) {
    u256 x;
    u256_from_u64(&x, v);
    word(b, x.b);
}

/* Reads an integer value of type t from JSON into a 32-byte word, range-checked. */
static int encode_int(const abi_type *t, const cJSON *v, u256 *x, char *err, size_t errlen) {
    int is_signed = t->kind == ABI_INT;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != (double)(long long)d || d > 9007199254740991.0 || d < -9007199254740991.0)
            return opml_errf(err, errlen, "%s: number %g is not an exact integer (pass big values as strings)", t->canonical, d);
        char txt[32];
        snprintf(txt, sizeof txt, "%lld", (long long)d);
        if (u256_parse(x, txt, is_signed)) return opml_errf(err, errlen, "%s: negative value for an unsigned type", t->canonical);
    } else if (!cJSON_IsString(v) || u256_parse(x, v->valuestring, is_signed)) {
        return opml_errf(err, errlen, "%s: expected an integer (decimal or 0x hex string, or a number)", t->canonical);
    }
    /* range: the bytes above the type's width must be the sign extension (or zero) */
    unsigned top = 32 - t->size / 8;
    uint8_t fill = (is_signed && top < 32 && (x->b[top] & 0x80)) ? 0xff : 0;
    if (is_signed && t->size == 256) return 0;
    for (unsigned i = 0; i < top; i++)
        if (x->b[i] != fill) return opml_errf(err, errlen, "%s: value out of range", t->canonical);
    if (is_signed && cJSON_IsString(v) && v->valuestring[0] != '-' && fill)
        return opml_errf(err, errlen, "%s: value out of range", t->canonical);
    return 0;
}

static int encode_value(const abi_type *t, const cJSON *v, rlp_buf *b, int depth, char *err, size_t errlen);

/* Encodes the sequence of n values of types ts[i] (or all of type one) as heads then tails. */
static int encode_seq(abi_type *const *ts, const abi_type *one, const cJSON *const *vs, size_t n, rlp_buf *b, int depth,
                      char *err, size_t errlen) {
    size_t heads = 0;
    for (size_t i = 0; i < n; i++) heads += head_size(ts ? ts[i] : one);
    rlp_buf tail = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const abi_type *t = ts ? ts[i] : one;
        if (abi_is_dynamic(t)) {
            word_u64(b, heads + tail.len);
            rc = encode_value(t, vs[i], &tail, depth + 1, err, errlen);
        } else {
            rc = encode_value(t, vs[i], b, depth + 1, err, errlen);
        }
    }
    if (rc == 0) rlp_raw(b, tail.p, tail.len);
    rlp_buf_free(&tail);
    return rc;
}

static int encode_value(const abi_type *t, const cJSON *v, rlp_buf *b, int depth, char *err, size_t errlen) {
    uint8_t w[32] = {0};
    if (depth > MAX_DEPTH) return opml_errf(err, errlen, "value nested deeper than %d", MAX_DEPTH);
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT: {
        u256 x;
        if (encode_int(t, v, &x, err, errlen)) return -1;
        word(b, x.b);
        return 0;
    }
    case ABI_ADDRESS:
        if (!cJSON_IsString(v) || hex_decode(v->valuestring, w + 12, 20) || strncmp(v->valuestring, "0x", 2))
            return opml_errf(err, errlen, "address: expected \"0x\" and 40 hex digits");
        word(b, w);
        return 0;
    case ABI_BOOL:
        if (!cJSON_IsBool(v)) return opml_errf(err, errlen, "bool: expected true or false");
        w[31] = cJSON_IsTrue(v) ? 1 : 0;
        word(b, w);
        return 0;
    case ABI_BYTESN:
        if (!cJSON_IsString(v) || strncmp(v->valuestring, "0x", 2) || hex_decode(v->valuestring, w, t->size))
            return opml_errf(err, errlen, "%s: expected \"0x\" and %u hex digits", t->canonical, 2 * t->size);
        word(b, w);
        return 0;
    case ABI_BYTES:
    case ABI_STRING: {
        uint8_t *data = NULL;
        size_t len;
        if (t->kind == ABI_STRING) {
            if (!cJSON_IsString(v)) return opml_errf(err, errlen, "string: expected a JSON string");
            len = strlen(v->valuestring);
        } else {
            if (!cJSON_IsString(v) || strncmp(v->valuestring, "0x", 2) || hex_to_bytes(v->valuestring, &data, &len))
                return opml_errf(err, errlen, "bytes: expected \"0x\" and an even number of hex digits");
        }
        word_u64(b, len);
        rlp_raw(b, data ? data : (const uint8_t *)v->valuestring, len);
        free(data);
        if (len % 32) rlp_raw(b, w, 32 - len % 32);
        return 0;
    }
    case ABI_ARRAY: {
        if (!cJSON_IsArray(v)) return opml_errf(err, errlen, "%s: expected a JSON array", t->canonical);
        size_t n = (size_t)cJSON_GetArraySize(v);
        if (t->length >= 0 && n != (size_t)t->length)
            return opml_errf(err, errlen, "%s: expected %ld elements, got %zu", t->canonical, t->length, n);
        const cJSON **vs = malloc((n ? n : 1) * sizeof *vs);
        if (!vs) return opml_errf(err, errlen, "out of memory");
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) vs[i++] = e;
        if (t->length < 0) word_u64(b, n);
        int rc = encode_seq(NULL, t->elem, vs, n, b, depth, err, errlen);
        free(vs);
        return rc;
    }
    case ABI_TUPLE: {
        const cJSON **vs = malloc((t->nfields ? t->nfields : 1) * sizeof *vs);
        if (!vs) return opml_errf(err, errlen, "out of memory");
        int rc = 0;
        if (cJSON_IsArray(v)) {
            if ((size_t)cJSON_GetArraySize(v) != t->nfields)
                rc = opml_errf(err, errlen, "%s: expected %zu values, got %d", t->canonical, t->nfields, cJSON_GetArraySize(v));
            size_t i = 0;
            const cJSON *e;
            if (!rc) cJSON_ArrayForEach(e, v) vs[i++] = e;
        } else if (cJSON_IsObject(v)) {
            for (size_t i = 0; i < t->nfields && !rc; i++) {
                vs[i] = cJSON_GetObjectItemCaseSensitive(v, t->names[i]);
                if (!t->names[i][0] || !vs[i]) rc = opml_errf(err, errlen, "%s: no value for component \"%s\"", t->canonical, t->names[i]);
            }
            if (!rc && (size_t)cJSON_GetArraySize(v) != t->nfields)
                rc = opml_errf(err, errlen, "%s: object has members that are not components", t->canonical);
        } else {
            rc = opml_errf(err, errlen, "%s: expected a JSON array or object", t->canonical);
        }
        if (!rc) rc = encode_seq(t->fields, NULL, vs, t->nfields, b, depth, err, errlen);
        free((void *)vs);
        return rc;
    }
    }
    return opml_errf(err, errlen, "unknown ABI type");
}

int abi_encode(const abi_type *t, const cJSON *value, uint8_t **out, size_t *len, char *err, size_t errlen) {
    rlp_buf b = {0};
    char inner[256] = "";
    if (encode_value(t, value, &b, 0, inner, sizeof inner) || b.oom) {
        rlp_buf_free(&b);
        return opml_errf(err, errlen, "cannot encode %s: %s", t->canonical, b.oom ? "out of memory" : inner);
    }
    if (!b.p && !(b.p = malloc(1))) return opml_errf(err, errlen, "out of memory");
    *out = b.p;
    *len = b.len;
    return 0;
}

/* ---- decoding ---- */

static uint64_t read_len(const uint8_t w[32], int *ok) {
    for (int i = 0; i < 24; i++)
        if (w[i]) *ok = 0;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | w[i];
    if (v > (1ull << 40)) *ok = 0; /* no real value is this large; keeps arithmetic below from overflowing */
    return v;
}

static cJSON *decode_static_word(const abi_type *t, const uint8_t w[32], char *err, size_t errlen) {
    char txt[80];
    switch (t->kind) {
    case ABI_UINT:
    case ABI_INT: {
        unsigned top = 32 - t->size / 8;
        uint8_t fill = (t->kind == ABI_INT && (w[top] & 0x80)) ? 0xff : 0;
        for (unsigned i = 0; i < top; i++)
            if (w[i] != fill) return opml_errf(err, errlen, "%s: value out of range (dirty high bytes)", t->canonical), NULL;
        u256 x;
        memcpy(x.b, w, 32);
        u256_to_dec(&x, t->kind == ABI_INT, t->size, txt);
        return cJSON_CreateString(txt);
    }
    case ABI_ADDRESS:
        for (int i = 0; i < 12; i++)
            if (w[i]) return opml_errf(err, errlen, "address: high 12 bytes are not zero"), NULL;
        hex_encode(w + 12, 20, txt);
        return cJSON_CreateString(txt);
    case ABI_BOOL:
        for (int i = 0; i < 31; i++)
            if (w[i]) return opml_errf(err, errlen, "bool: not 0 or 1"), NULL;
        if (w[31] > 1) return opml_errf(err, errlen, "bool: not 0 or 1"), NULL;
        return cJSON_CreateBool(w[31]);
    case ABI_BYTESN:
        for (unsigned i = t->size; i < 32; i++)
            if (w[i]) return opml_errf(err, errlen, "%s: padding is not zero", t->canonical), NULL;
        hex_encode(w, t->size, txt);
        return cJSON_CreateString(txt);
    default: return opml_errf(err, errlen, "%s is not a one-word type", t->canonical), NULL;
    }
}

cJSON *abi_decode_word(const abi_type *t, const uint8_t word_[32], char *err, size_t errlen) {
    return decode_static_word(t, word_, err, errlen);
}

static cJSON *decode_value(const abi_type *t, const uint8_t *base, size_t len, int depth, char *err, size_t errlen);

/* Decodes n values laid out as a head/tail sequence at base[0..len). Fills arr (array or object). */
static int decode_seq(abi_type *const *ts, const abi_type *one, char *const *names, size_t n, const uint8_t *base,
                      size_t len, cJSON *out, int depth, char *err, size_t errlen) {
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const abi_type *t = ts ? ts[i] : one;
        size_t hs = head_size(t);
        if (pos + hs > len) return opml_errf(err, errlen, "%s: data too short (%zu bytes)", t->canonical, len);
        cJSON *v;
        if (abi_is_dynamic(t)) {
            int ok = 1;
            uint64_t off = read_len(base + pos, &ok);
            if (!ok || off > len) return opml_errf(err, errlen, "%s: offset beyond the data", t->canonical);
            v = decode_value(t, base + off, len - (size_t)off, depth + 1, err, errlen);
        } else {
            v = decode_value(t, base + pos, hs, depth + 1, err, errlen);
        }
        if (!v) return -1;
        if (names) cJSON_AddItemToObject(out, names[i], v);
        else cJSON_AddItemToArray(out, v);
        pos += hs;
    }
    return 0;
}

static int all_named(const abi_type *t) {
    if (t->nfields == 0) return 0;
    for (size_t i = 0; i < t->nfields; i++) {
        if (!t->names[i][0]) return 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->names[i], t->names[j])) return 0;
    }
    return 1;
}

static cJSON *decode_value(const abi_type *t, const uint8_t *base, size_t len, int depth, char *err, size_t errlen) {
    if (depth > MAX_DEPTH) return opml_errf(err, errlen, "value nested deeper than %d", MAX_DEPTH), NULL;
    switch (t->kind) {
    case ABI_BYTES:
    case ABI_STRING: {
        int ok = 1;
        if (len < 32) return opml_errf(err, errlen, "%s: data too short for its length", t->canonical), NULL;
        uint64_t n = read_len(base, &ok);
        if (!ok || (n + 31) / 32 * 32 > len - 32)
            return opml_errf(err, errlen, "%s: length %llu (padded) beyond the data", t->canonical, (unsigned long long)n), NULL;
        if (t->kind == ABI_STRING) {
            char *s = malloc(n + 1);
            if (!s) return NULL;
            memcpy(s, base + 32, n);
            s[n] = 0;
            if (strlen(s) != n) {
                free(s);
                return opml_errf(err, errlen, "string: contains a NUL byte"), NULL;
            }
            cJSON *j = cJSON_CreateString(s);
            free(s);
            return j;
        }
        char *s = malloc(2 * n + 3);
        if (!s) return NULL;
        hex_encode(base + 32, n, s);
        cJSON *j = cJSON_CreateString(s);
        free(s);
        return j;
    }
    case ABI_ARRAY: {
        uint64_t n = (uint64_t)t->length;
        if (t->length < 0) {
            int ok = 1;
            if (len < 32) return opml_errf(err, errlen, "%s: data too short for its length", t->canonical), NULL;
            n = read_len(base, &ok);
            base += 32;
            len -= 32;
            /* every element needs at least one word of head, so n is bounded by the data */
            if (!ok || n > len / 32) return opml_errf(err, errlen, "%s: %llu elements cannot fit in %zu bytes", t->canonical,
                                                (unsigned long long)n, len), NULL;
        }
        cJSON *arr = cJSON_CreateArray();
        if (!arr) return NULL;
        if (decode_seq(NULL, t->elem, NULL, (size_t)n, base, len, arr, depth, err, errlen)) {
            cJSON_Delete(arr);
            return NULL;
        }
        return arr;
    }
    case ABI_TUPLE: {
        int named = all_named(t);
        cJSON *o = named ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!o) return NULL;
        if (decode_seq(t->fields, NULL, named ? t->names : NULL, t->nfields, base, len, o, depth, err, errlen)) {
            cJSON_Delete(o);
            return NULL;
        }
        return o;
    }
    default:
        if (len < 32) return opml_errf(err, errlen, "%s: data too short", t->canonical), NULL;
        return decode_static_word(t, base, err, errlen);
    }
}

cJSON *abi_decode(const abi_type *t, const uint8_t *data, size_t len, char *err, size_t errlen) {
    char inner[256] = "";
    cJSON *v = decode_value(t, data, len, 0, inner, sizeof inner);
    if (!v) opml_errf(err, errlen, "cannot decode %s: %s", t->canonical, inner[0] ? inner : "out of memory");
    return v;
}
