/* echo.c: opml-echo, the runtime's test and benchmark actor. It serves opml.EchoRequest (on its
 * `listen` socket and/or as a bus worker): waits sleep_ms, then answers the data back with its own
 * address and how many requests it has served. The bus tests run several as workers and kill some. */
#include "actor.h"
#include "echo.pb-c.h"

#include <time.h>

struct echo {
    uint64_t served;
};

static int on_echo(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__EchoRequest *r = (const Opml__EchoRequest *)msg;
    struct echo *e = user;
    (void)req;
    if (r->sleep_ms) {
        struct timespec ts = {r->sleep_ms / 1000, (long)(r->sleep_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && !actor_stopping(a)) {
        }
    }
    e->served++;
    if (r->fail_code) return actor_reply_error(reply, r->fail_code, "asked to fail with %u", r->fail_code);
    Opml__EchoReply out = OPML__ECHO_REPLY__INIT;
    out.data = r->data;
    out.worker.data = (uint8_t *)actor_identity(a)->address;
    out.worker.len = 20;
    out.served = e->served;
    return actor_reply_msg(reply, &out.base);
}

static void on_health(actor *a, void *user) {
    actor_health_stat(a, "served", (int64_t)((struct echo *)user)->served);
}

int main(int argc, char **argv) {
    struct echo e = {0};
    actor *a = actor_new("echo", NULL, argc, argv);
    if (!a) return 2;
    actor_on(a, &opml__echo_request__descriptor, on_echo, &e);
    actor_on_health(a, on_health, &e);
    int rc = actor_run(a);
    actor_free(a);
    return rc;
}
