/* test_vmjudge_stop.c: SIGTERM reaches a vmjudge whose storage actor is down while a request is
 * fetching a node's bytes from it. The storage calls would wait out their time-outs and retries
 * (about 15 s); the runtime makes them give up, so the actor must exit with status 0 within 3 s
 * and answer the request in progress with OPML_E_UNAVAILABLE "shutting down", never with anything
 * about the roots.
 *   test_vmjudge_stop OPML_VMJUDGE */
#include "harness.h"
#include "check.h"
#include "merkle.h"
#include "vm_guest.h"
#include "vm_node.h"
#include "vmjudge.pb-c.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_vmjudge_stop OPML_VMJUDGE\n");
        return 2;
    }
    harness h;
    client c;
    pid_t vp;
    char vpeer[160], *args[] = {"--log_level", "debug", NULL};
    CHECK_EQ_INT(harness_init(&h), 0);
    CHECK_EQ_INT(harness_storage_down(&h, argv[1], "vmjudge", args, &c, &vp, vpeer), 0);

    /* the pinned guest (no fetch), and a descriptor that only storage could have */
    uint8_t desc_root[32] = {7};
    ProtobufCBinaryData operands[VM_NODE_OPERANDS];
    for (unsigned k = 0; k < VM_NODE_OPERANDS; k++)
        operands[k] = (ProtobufCBinaryData){32, (uint8_t *)merkle_zero(MERKLE_SLOT_DEPTH)};
    Opml__VmNodeRun run = OPML__VM_NODE_RUN__INIT;
    run.guest_root = (ProtobufCBinaryData){32, (uint8_t *)vm_guest_root};
    run.desc_root = (ProtobufCBinaryData){32, desc_root};
    run.operand_roots = operands, run.n_operand_roots = VM_NODE_OPERANDS;
    Opml__VmFinalState fin = OPML__VM_FINAL_STATE__INIT;
    fin.run = &run;
    client_async q;
    CHECK_EQ_INT(client_call_start(&q, &c, vpeer, &fin.base, &opml__vm_final_state_reply__descriptor, 10000), 0);
    /* the actor is fetching (its storage calls then wait on nobody) */
    CHECK(harness_wait_log(&h, "vmjudge.log", "fetching its bytes from storage", 10000));
    uint64_t t0 = clock_mono_ms();
    int status = harness_stop(vp, SIGTERM, 3000); /* without giving up, the fetch alone takes ~15 s */
    uint64_t took = clock_mono_ms() - t0;
    CHECK_EQ_INT(status, 0);
    CHECK(took < 3000);
    /* the request in progress was answered, with an error that says nothing of its roots */
    CHECK_EQ_INT(client_call_join(&q), OPML_E_UNAVAILABLE);
    CHECK(strstr(q.err, "shutting down") != NULL);
    CHECK(harness_log_has(&h, "vmjudge.log", "gave up fetching a node run's bytes: shutting down"));
    fprintf(stderr, "vmjudge stopped %llu ms after SIGTERM while fetching from a storage actor that is down (%s)\n",
            (unsigned long long)took, q.err);
    if (check_failures) harness_show_log(&h, "vmjudge.log");
    client_done(&c);
    harness_done(&h);
    return check_summary("test_vmjudge_stop");
}
