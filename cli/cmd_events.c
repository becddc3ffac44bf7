/* cmd_events.c: `opml events`, the integrator's view of a cluster: subscribes to the bus's event
 * stream and prints every event as one JSON line on stdout:
 *   {"topic":"actor.started","sender":"0x..","seq":"..","time_ms":"..","type":"opml.ActorStarted",
 *    "payload":{...}}
 * The payload is decoded by its type name with the descriptors of every compiled .proto (an
 * unknown type is printed as "payload_hex"). Envelopes whose signature, time or sequence do not
 * check are not printed; a line on stderr says why.
 *   opml events --bus KEYHEX@tcp://127.0.0.1:7102 [--topic PREFIX] [--count N] [--key_file K] [--json] */
#include "actor.h"
#include "commands.h"
#include "hex.h"
#include "pbjson.h"
#include "proto_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const config_opt options[] = {
    {"bus", "", "the bus's event output (events_out): KEYHEX@tcp://host:port"},
    {"topic", "", "print only events whose topic starts with this"},
    {"count", "0", "exit after this many events (0: run until SIGINT/SIGTERM)"},
    {"json", "0", "accepted for clarity: the output is always JSON lines"},
    {NULL, NULL, NULL},
};

static void print_event(const char *topic, size_t topic_len, const envelope *e) {
    char sender[43], num[32];
    cJSON *o = cJSON_CreateObject();
    char *t = strndup(topic, topic_len);
    cJSON_AddStringToObject(o, "topic", t ? t : "");
    free(t);
    identity_address_text(e->sender, sender);
    cJSON_AddStringToObject(o, "sender", sender);
    snprintf(num, sizeof num, "%llu", (unsigned long long)e->seq);
    cJSON_AddStringToObject(o, "seq", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)e->time_ms);
    cJSON_AddStringToObject(o, "time_ms", num);
    cJSON_AddStringToObject(o, "type", e->type);
    const ProtobufCMessageDescriptor *d = proto_lookup(e->type);
    ProtobufCMessage *m = d ? envelope_payload(e, d) : NULL;
    if (m) {
        cJSON_AddItemToObject(o, "payload", pbjson_from_message(m));
        protobuf_c_message_free_unpacked(m, NULL);
    } else {
        char *hex = malloc(2 * e->payload_len + 3);
        if (hex) {
            hex_encode(e->payload, e->payload_len, hex);
            cJSON_AddStringToObject(o, "payload_hex", hex);
            free(hex);
        }
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text) printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

int cmd_events(int argc, char **argv) {
    char err[512];
    long count;
    /* `--json` alone is a switch; the configuration wants --name=value. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) return 1;
    for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "--json") ? "--json=1" : argv[i];
    actor *a = actor_new("events", options, argc, args);
    free(args);
    if (!a) return 2;
    const config *c = actor_config(a);
    if (config_get_long(c, "count", 0, 1L << 40, &count, err, sizeof err) != 0 || !*config_get(c, "bus")) {
        log_error("%s", *config_get(c, "bus") ? err : "--bus KEYHEX@tcp://host:port is required");
        actor_free(a);
        return 2;
    }
    long max_skew;
    config_get_long(c, "max_skew_ms", 0, 86400000, &max_skew, err, sizeof err);
    void *sub = net_connect(actor_net(a), ZMQ_SUB, config_get(c, "bus"), err, sizeof err);
    replay_guard *g = replay_guard_new(4096);
    if (!sub || !g) {
        log_error("%s", sub ? "out of memory" : err);
        net_close(sub);
        replay_guard_free(g);
        actor_free(a);
        return 1;
    }
    const char *topic = config_get(c, "topic");
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    long printed = 0;
    static log_limiter lim;
    while (!actor_stopping(a) && (count == 0 || printed < count)) {
        zmq_pollitem_t p = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&p, 1, 200) <= 0) continue;
        zmq_msg_t f[NET_MAX_FRAMES];
        int n;
        envelope e;
        if (net_recv(sub, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) continue;
        if (n != 2) {
            log_limited(&lim, LOGL_WARN, "dropped a message of %d frames (want [topic][envelope])", n);
        } else if (envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), clock_unix_ms(), (uint64_t)max_skew, &e, err,
                                 sizeof err) != 0 ||
                   replay_guard_check(g, &e, err, sizeof err) != 0) {
            log_limited(&lim, LOGL_WARN, "%s", err);
            envelope_free(&e);
        } else {
            print_event(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &e);
            printed++;
            envelope_free(&e);
        }
        net_msgs_close(f, n);
    }
    net_close(sub);
    replay_guard_free(g);
    actor_free(a);
    return 0;
}
