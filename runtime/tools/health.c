/* health.c: opml-health, asks one actor (or the bus) for its health and prints the reply as one
 * JSON line. Exit status 0 when it answered "ok", 1 otherwise: what scripts/demo.sh checks.
 *   opml-health --peer KEYHEX@tcp://127.0.0.1:7100 --key_file me.key [--timeout_ms 2000] */
#include "actor.h"
#include "pbjson.h"
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const config_opt options[] = {
    {"peer", "", "the actor to ask: KEYHEX@tcp://host:port"},
    {"timeout_ms", "2000", "how long to wait for each attempt"},
    {"retries", "2", "attempts after the first"},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    char err[512];
    long timeout, retries;
    actor *a = actor_new("opml-health", options, argc, argv);
    if (!a) return 2;
    const config *c = actor_config(a);
    if (config_get_long(c, "timeout_ms", 1, 3600000, &timeout, err, sizeof err) != 0 ||
        config_get_long(c, "retries", 0, 100, &retries, err, sizeof err) != 0) {
        log_error("%s", err);
        actor_free(a);
        return 2;
    }
    rpc *r = rpc_connect(actor_net(a), actor_signer(a), config_get(c, "peer"), 0, err, sizeof err);
    if (!r) {
        log_error("%s", err);
        actor_free(a);
        return 2;
    }
    Opml__HealthRequest req = OPML__HEALTH_REQUEST__INIT;
    ProtobufCMessage *reply;
    int rc = rpc_call(r, &req.base, &opml__health_reply__descriptor, &reply, (int)timeout, (int)retries, err, sizeof err);
    int status = 1;
    if (rc == 0) {
        cJSON *j = pbjson_from_message(reply);
        char *text = j ? cJSON_PrintUnformatted(j) : NULL;
        if (text) printf("%s\n", text);
        status = strcmp(((Opml__HealthReply *)reply)->status, "ok") != 0;
        free(text);
        cJSON_Delete(j);
        protobuf_c_message_free_unpacked(reply, NULL);
    } else {
        log_error("health of %s: %s", config_get(c, "peer"), err);
    }
    rpc_close(r);
    actor_free(a);
    return status;
}
