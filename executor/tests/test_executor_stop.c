/* test_executor_stop.c: SIGTERM reaches an executor whose storage actor is down while a run is
 * waiting on storage (its model is not loaded, so the executor asks storage for it). The storage
 * calls would wait out their time-outs and retries (3 x 10 s); the runtime makes them give up, so
 * the actor must exit with status 0 within 3 s and answer the run in progress with
 * OPML_E_UNAVAILABLE, the storage call having given up because the process is stopping.
 *   test_executor_stop OPML_EXECUTOR */
#include "harness.h"
#include "check.h"
#include "executor.pb-c.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_executor_stop OPML_EXECUTOR\n");
        return 2;
    }
    harness h;
    client c;
    pid_t xp;
    char xpeer[160], *args[] = {"--backend", "ref", "--log_level", "debug", NULL};
    CHECK_EQ_INT(harness_init(&h), 0);
    CHECK_EQ_INT(harness_storage_down(&h, argv[1], "executor", args, &c, &xp, xpeer), 0);

    uint8_t model_root[32] = {0x5e, 0x70}, input[4] = {0};
    Opml__ExecutorRun run = OPML__EXECUTOR_RUN__INIT;
    ProtobufCBinaryData in = {sizeof input, input};
    run.model_root = (ProtobufCBinaryData){32, model_root};
    run.inputs = &in, run.n_inputs = 1;
    client_async q;
    CHECK_EQ_INT(client_call_start(&q, &c, xpeer, &run.base, &opml__executor_run_reply__descriptor, 10000), 0);
    /* the run has reached its handler, which then asks storage for the model (and waits on nobody) */
    CHECK(harness_wait_log(&h, "executor.log", "request: opml.ExecutorRun", 10000));
    uint64_t t0 = clock_mono_ms();
    int status = harness_stop(xp, SIGTERM, 3000);
    uint64_t took = clock_mono_ms() - t0;
    CHECK_EQ_INT(status, 0);
    CHECK(took < 3000);
    /* the run was in progress when the stop came, and was answered: storage is not there */
    CHECK_EQ_INT(client_call_join(&q), OPML_E_UNAVAILABLE);
    CHECK(strstr(q.err, "storage") != NULL);
    CHECK(strstr(q.err, "the process is stopping") != NULL);
    CHECK(harness_log_has(&h, "executor.log", "stopping: waiting for the request in progress"));
    fprintf(stderr, "executor stopped %llu ms after SIGTERM while a run waited on a storage actor that is down (%s)\n",
            (unsigned long long)took, q.err);
    if (check_failures) harness_show_log(&h, "executor.log");
    client_done(&c);
    harness_done(&h);
    return check_summary("test_executor_stop");
}
