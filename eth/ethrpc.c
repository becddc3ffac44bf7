/* ethrpc.c: see ethrpc.h. The curl easy handle lives as long as the client so that its connection is
 * kept alive between calls; the reply is collected into a buffer capped at max_reply. */
#include "ethrpc.h"
#include "errmsg.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ethrpc_client {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    ethrpc_options opt;
    unsigned long next_id;
    unsigned long attempts, retries;
    /* the reply being received */
    char *buf;
    size_t len, cap;
    int overflow;
    /* the last failure */
    char errmsg[512];
    long errcode;
    char *errdata;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void) { global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

static ethrpc_status fail(ethrpc_client *c, ethrpc_status s, long code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ethrpc_status fail(ethrpc_client *c, ethrpc_status s, long code, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(c->errmsg, sizeof c->errmsg, "%s: ", ethrpc_status_name(s));
    va_start(ap, fmt);
    opml_verrc(c->errmsg + n, sizeof c->errmsg - (size_t)n, 0, fmt, ap);
    va_end(ap);
    c->errcode = code;
    return s;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
    ethrpc_client *c = userdata;
    size_t n = size * nmemb;
    if (c->len + n > c->opt.max_reply) {
        c->overflow = 1;
        return 0; /* makes curl abort the transfer with CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1) cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) {
            c->overflow = 1;
            return 0;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, ptr, n);
    c->len += n;
    c->buf[c->len] = 0;
    return n;
}

ethrpc_client *ethrpc_open(const char *url, const ethrpc_options *opt) {
    pthread_once(&global_once, global_init);
    if (!global_ok) return NULL;
    ethrpc_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (opt) c->opt = *opt;
    if (c->opt.timeout_ms <= 0) c->opt.timeout_ms = 10000;
    if (c->opt.connect_timeout_ms <= 0) c->opt.connect_timeout_ms = 2000;
    if (c->opt.retries < 0) c->opt.retries = 0;
    else if (!opt) c->opt.retries = 5;
    if (c->opt.backoff_ms <= 0) c->opt.backoff_ms = 100;
    if (c->opt.backoff_max_ms <= 0) c->opt.backoff_max_ms = 5000;
    if (c->opt.max_reply == 0) c->opt.max_reply = 64u << 20;
    c->url = strdup(url);
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c->url || !c->curl || !c->headers) {
        ethrpc_close(c);
        return NULL;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    c->next_id = 1;
    strcpy(c->errmsg, "no error");
    return c;
}

void ethrpc_close(ethrpc_client *c) {
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->buf);
    free(c->errdata);
    free(c);
}

const char *ethrpc_status_name(ethrpc_status s) {
    switch (s) {
    case ETHRPC_OK: return "ok";
    case ETHRPC_E_DOWN: return "node down";
    case ETHRPC_E_TIMEOUT: return "timeout";
    case ETHRPC_E_HTTP: return "HTTP error";
    case ETHRPC_E_RPC: return "JSON-RPC error";
    case ETHRPC_E_MALFORMED: return "malformed reply";
    }
    return "unknown";
}

const char *ethrpc_errmsg(const ethrpc_client *c) { return c->errmsg; }
long ethrpc_errcode(const ethrpc_client *c) { return c->errcode; }
const char *ethrpc_errdata(const ethrpc_client *c) { return c->errdata; }
unsigned long ethrpc_attempts(const ethrpc_client *c) { return c->attempts; }
unsigned long ethrpc_retries(const ethrpc_client *c) { return c->retries; }

/* One HTTP exchange: classifies transport failures, leaves the body in c->buf on ETHRPC_OK. */
static ethrpc_status post(ethrpc_client *c, const char *body) {
    c->len = 0;
    c->overflow = 0;
    if (c->buf) c->buf[0] = 0;
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c->curl);
    c->attempts++;
    if (c->overflow) return fail(c, ETHRPC_E_MALFORMED, 0, "reply larger than %zu bytes", c->opt.max_reply);
    switch (rc) {
    case CURLE_OK: break;
    case CURLE_OPERATION_TIMEDOUT:
        return fail(c, ETHRPC_E_TIMEOUT, 0, "no reply from %s within %ld ms", c->url, c->opt.timeout_ms);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return fail(c, ETHRPC_E_DOWN, 0, "%s: %s", c->url, curl_easy_strerror(rc));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return fail(c, ETHRPC_E_MALFORMED, 0, "%s: %s", c->url, curl_easy_strerror(rc));
    default:
        return fail(c, ETHRPC_E_DOWN, 0, "%s: %s", c->url, curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        char snippet[81];
        size_t n = c->len < 80 ? c->len : 80;
        for (size_t i = 0; i < n; i++) snippet[i] = (c->buf[i] >= 32 && c->buf[i] < 127) ? c->buf[i] : '.';
        snippet[n] = 0;
        return fail(c, ETHRPC_E_HTTP, status, "%s answered HTTP %ld: %s", c->url, status, snippet);
    }
    return ETHRPC_OK;
}

static int transient(const ethrpc_client *c, ethrpc_status s) {
    if (s == ETHRPC_E_DOWN || s == ETHRPC_E_TIMEOUT) return 1;
    return s == ETHRPC_E_HTTP && (c->errcode == 429 || c->errcode >= 500);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Checks the JSON-RPC 2.0 envelope of the reply in c->buf and extracts the result. */
static ethrpc_status parse_reply(ethrpc_client *c, const char *method, unsigned long id, cJSON **result) {
    cJSON *root = cJSON_ParseWithLength(c->buf ? c->buf : "", c->len);
    if (!root) return fail(c, ETHRPC_E_MALFORMED, 0, "%s: reply is not JSON (%zu bytes)", method, c->len);
    ethrpc_status s = ETHRPC_OK;
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    cJSON *rid = cJSON_GetObjectItemCaseSensitive(root, "id");
    cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
    cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsObject(root) || !cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
        s = fail(c, ETHRPC_E_MALFORMED, 0, "%s: reply is not a JSON-RPC 2.0 object", method);
    } else if (!cJSON_IsNumber(rid) || rid->valuedouble != (double)id) {
        s = fail(c, ETHRPC_E_MALFORMED, 0, "%s: reply id does not match request id %lu", method, id);
    } else if ((res != NULL) == (err != NULL)) {
        s = fail(c, ETHRPC_E_MALFORMED, 0, "%s: reply must hold exactly one of result and error", method);
    } else if (err) {
        cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        cJSON *data = cJSON_GetObjectItemCaseSensitive(err, "data");
        if (!cJSON_IsObject(err) || !cJSON_IsNumber(code) || !cJSON_IsString(msg)) {
            s = fail(c, ETHRPC_E_MALFORMED, 0, "%s: error object without a numeric code and a message", method);
        } else {
            s = fail(c, ETHRPC_E_RPC, (long)code->valuedouble, "%s: %s (code %ld)", method, msg->valuestring,
                     (long)code->valuedouble);
            if (cJSON_IsString(data)) c->errdata = strdup(data->valuestring);
        }
    } else {
        *result = cJSON_DetachItemViaPointer(root, res);
    }
    cJSON_Delete(root);
    return s;
}

ethrpc_status ethrpc_call(ethrpc_client *c, const char *method, cJSON *params, cJSON **result) {
    *result = NULL;
    free(c->errdata);
    c->errdata = NULL;
    c->errcode = 0;
    if (!params) params = cJSON_CreateArray();
    unsigned long id = c->next_id++;
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;
    if (req && params) {
        cJSON_AddStringToObject(req, "jsonrpc", "2.0");
        cJSON_AddNumberToObject(req, "id", (double)id);
        cJSON_AddStringToObject(req, "method", method);
        cJSON_AddItemToObject(req, "params", params);
        params = NULL;
        body = cJSON_PrintUnformatted(req);
    }
    cJSON_Delete(req);
    cJSON_Delete(params);
    if (!body) return fail(c, ETHRPC_E_MALFORMED, 0, "%s: out of memory building the request", method);

    ethrpc_status s;
    long backoff = c->opt.backoff_ms;
    for (int attempt = 0;; attempt++) {
        s = post(c, body);
        if (s == ETHRPC_OK || !transient(c, s) || attempt >= c->opt.retries) break;
        c->retries++;
        sleep_ms(backoff);
        backoff = backoff * 2 > c->opt.backoff_max_ms ? c->opt.backoff_max_ms : backoff * 2;
    }
    free(body);
    if (s != ETHRPC_OK) return s;
    return parse_reply(c, method, id, result);
}
