/* ethjson.c: see ethjson.h. */
#include "ethjson.h"

#include "hex.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ej_quantity(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsString(v)) return -1;
    const char *s = v->valuestring;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
    s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 16) return -1;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hexval(s[i]);
        if (d < 0) return -1;
        r = r << 4 | (uint64_t)d;
    }
    *out = r;
    return 0;
}

int hex_to_bytes(const char *text, uint8_t **out, size_t *len) {
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text += 2;
    size_t n = strlen(text);
    if (n % 2) return -1;
    uint8_t *b = malloc(n / 2 + 1);
    if (!b) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    *len = n / 2;
    return 0;
}

int ej_data(const cJSON *v, uint8_t **out, size_t *len) {
    if (!cJSON_IsString(v)) return -1;
    const char *s = v->valuestring;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
    return hex_to_bytes(s, out, len);
}

int ej_data_fixed(const cJSON *v, uint8_t *out, size_t len) {
    if (!cJSON_IsString(v)) return -1;
    const char *s = v->valuestring;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
    return hex_decode(s, out, len);
}

const cJSON *ej_get(const cJSON *o, const char *key) {
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

cJSON *ej_new_quantity(uint64_t v) {
    u256 x;
    u256_from_u64(&x, v);
    return ej_new_quantity256(&x);
}

cJSON *ej_new_quantity256(const u256 *v) {
    char s[67];
    u256_to_hex(v, s);
    return cJSON_CreateString(s);
}

cJSON *ej_new_data(const uint8_t *data, size_t len) {
    char *s = malloc(2 * len + 3);
    if (!s) return NULL;
    hex_encode(data, len, s);
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}
