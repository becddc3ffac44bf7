/* ethrpc.h: Ethereum JSON-RPC 2.0 over HTTP, one kept-alive libcurl connection per client.
 *
 * Every call either returns a result or fails with exactly one status saying which class of
 * failure it was, plus a readable message (ethrpc_errmsg):
 *   ETHRPC_E_DOWN      no connection could be made, or it broke before a reply (node down, reset)
 *   ETHRPC_E_TIMEOUT   the node accepted the request but did not answer within the time-out
 *   ETHRPC_E_HTTP      an HTTP status other than 200 (ethrpc_errcode holds it)
 *   ETHRPC_E_RPC       a well-formed JSON-RPC error object (ethrpc_errcode holds its code, ethrpc_errdata
 *                   its "data" when that is a string: revert data for eth_call/eth_estimateGas)
 *   ETHRPC_E_MALFORMED anything else: not JSON, not JSON-RPC 2.0, the wrong id, a reply larger than
 *                   the configured maximum, an error object of the wrong shape
 * Transient classes (DOWN, TIMEOUT, HTTP 429 and 5xx) are retried with exponential backoff up to
 * `retries` times; the others are answers and are returned at once. A client is not thread-safe. */
#ifndef OPML_CHAIN_ETHRPC_H
#define OPML_CHAIN_ETHRPC_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum ethrpc_status {
    ETHRPC_OK = 0,
    ETHRPC_E_DOWN,
    ETHRPC_E_TIMEOUT,
    ETHRPC_E_HTTP,
    ETHRPC_E_RPC,
    ETHRPC_E_MALFORMED,
} ethrpc_status;

typedef struct ethrpc_options {
    long timeout_ms;       /* whole request, connect included; default 10000 */
    long connect_timeout_ms; /* default 2000 */
    int retries;           /* extra attempts for transient failures; 5 when opt is NULL */
    long backoff_ms;       /* first back-off, doubled each retry; default 100 */
    long backoff_max_ms;   /* default 5000 */
    size_t max_reply;      /* bytes; default 64 MiB */
} ethrpc_options;

typedef struct ethrpc_client ethrpc_client;

/* A client for url ("http://127.0.0.1:8545"). opt may be NULL for the defaults; its zero fields
 * take their default too, except retries (0 means a single attempt). Returns NULL only when out of memory or libcurl cannot start. */
ethrpc_client *ethrpc_open(const char *url, const ethrpc_options *opt);
void ethrpc_close(ethrpc_client *c);

/* Calls method with params (a cJSON array, or NULL for []); params is consumed in every case.
 * On ETHRPC_OK *result is the detached "result" value (possibly JSON null), to be freed by the caller
 * with cJSON_Delete; on failure *result is NULL and ethrpc_errmsg says why. */
ethrpc_status ethrpc_call(ethrpc_client *c, const char *method, cJSON *params, cJSON **result);

/* The last failure: its message (never NULL), its code (HTTP status or JSON-RPC error code, else
 * 0) and the error's "data" string (or NULL). Valid until the next call. */
const char *ethrpc_errmsg(const ethrpc_client *c);
long ethrpc_errcode(const ethrpc_client *c);
const char *ethrpc_errdata(const ethrpc_client *c);

/* "ok", "node down", "timeout", "HTTP error", "JSON-RPC error", "malformed reply". */
const char *ethrpc_status_name(ethrpc_status s);

/* Counters since ethrpc_open: attempts made, and retries among them (for health and benchmarks). */
unsigned long ethrpc_attempts(const ethrpc_client *c);
unsigned long ethrpc_retries(const ethrpc_client *c);

#endif
