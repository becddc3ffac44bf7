/* revert.c: see revert.h. The two built-in errors are parsed from their own one-line ABI so that
 * their selectors are computed like every other (keccak256("Error(string)")[0..4) = 08c379a0). */
#include "revert.h"

#include "hex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *panic_reason(unsigned long code) {
    switch (code) {
    case 0x00: return "generic compiler panic";
    case 0x01: return "assert failed";
    case 0x11: return "arithmetic overflow or underflow";
    case 0x12: return "division or modulo by zero";
    case 0x21: return "invalid enum value";
    case 0x22: return "corrupt storage byte array";
    case 0x31: return "pop on an empty array";
    case 0x32: return "array index out of bounds";
    case 0x41: return "out of memory";
    case 0x51: return "call to a zero-initialised function";
    default: return "unknown panic code";
    }
}

static contract *builtins;
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

static void builtins_load(void) {
    cJSON *abi = cJSON_Parse("[{\"type\":\"error\",\"name\":\"Error\",\"inputs\":[{\"name\":\"\",\"type\":\"string\"}]},"
                             "{\"type\":\"error\",\"name\":\"Panic\",\"inputs\":[{\"name\":\"\",\"type\":\"uint256\"}]}]");
    builtins = contract_from_abi("builtin", abi, NULL, NULL, 0);
    cJSON_Delete(abi);
}

static const contract *builtin(void) {
    pthread_once(&builtins_once, builtins_load);
    return builtins;
}

/* name(a=1, b="x") from decoded arguments (an array, or an object when all are named). */
static void render(const abi_error *e, const cJSON *args, char *out, size_t outlen) {
    size_t o = (size_t)snprintf(out, outlen, "%s(", e->name);
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        char *v = cJSON_PrintUnformatted(a);
        if (o < outlen) {
            if (a->string) o += (size_t)snprintf(out + o, outlen - o, "%s%s=%s", i ? ", " : "", a->string, v ? v : "?");
            else o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", v ? v : "?");
        }
        free(v);
        i++;
    }
    if (o < outlen) snprintf(out + o, outlen - o, ")");
}

void revert_describe(const uint8_t *data, size_t len, const contract *const *contracts, size_t ncontracts, char *out,
                     size_t outlen) {
    if (!outlen) return;
    if (len == 0) {
        snprintf(out, outlen, "no revert data");
        return;
    }
    const abi_error *e = NULL;
    const contract *b = builtin();
    if (len >= 4) {
        if (b) e = contract_error_by_selector(b, data);
        for (size_t i = 0; !e && i < ncontracts; i++) e = contract_error_by_selector(contracts[i], data);
    }
    cJSON *args = e ? abi_decode(e->inputs, data + 4, len - 4, NULL, 0) : NULL;
    if (args && e->name[0] == 'P' && !strcmp(e->signature, "Panic(uint256)")) {
        unsigned long code = strtoul(cJSON_GetArrayItem(args, 0)->valuestring, NULL, 10);
        snprintf(out, outlen, "Panic(0x%02lx: %s)", code, panic_reason(code));
    } else if (args) {
        render(e, args, out, outlen);
    } else {
        char hex[2 * 64 + 3];
        hex_encode(data, len < 64 ? len : 64, hex);
        snprintf(out, outlen, "unknown revert data %s%s (%zu bytes)", hex, len > 64 ? "..." : "", len);
    }
    cJSON_Delete(args);
}
