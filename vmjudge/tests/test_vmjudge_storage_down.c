/* test_vmjudge_storage_down.c: a vmjudge whose storage actor is down, not stopping, asked about a
 * node run whose bytes it must fetch. Its storage calls wait out their time-outs and retries
 * (3 x 5 s: nothing cuts them short when the actor is not stopping), and the request is then
 * answered OPML_E_UNAVAILABLE, naming storage: a fetch that got no answer says nothing of whether
 * the roots exist (OPML_E_NOT_FOUND is for a storage actor that answered so, test_vmjudge_actor).
 * The actor keeps serving afterwards and stops cleanly.
 *   test_vmjudge_storage_down OPML_VMJUDGE */
#include "harness.h"
#include "check.h"
#include "vm_guest.h"
#include "vm_node.h"
#include "vmjudge.pb-c.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_vmjudge_storage_down OPML_VMJUDGE\n");
        return 2;
    }
    harness h;
    client c;
    pid_t vp;
    char vpeer[160], *args[] = {NULL};
    CHECK_EQ_INT(harness_init(&h), 0);
    CHECK_EQ_INT(harness_storage_down(&h, argv[1], "vmjudge", args, &c, &vp, vpeer), 0);

    /* the pinned guest (no fetch), and a descriptor and operands that only storage could have */
    uint8_t unknown[32] = {0xd0, 0x3e};
    ProtobufCBinaryData root = {32, unknown}, operands[VM_NODE_OPERANDS];
    for (unsigned k = 0; k < VM_NODE_OPERANDS; k++) operands[k] = root;
    Opml__VmNodeRun run = OPML__VM_NODE_RUN__INIT;
    run.guest_root = (ProtobufCBinaryData){32, (uint8_t *)vm_guest_root};
    run.desc_root = root;
    run.operand_roots = operands, run.n_operand_roots = VM_NODE_OPERANDS;
    Opml__VmFinalState fin = OPML__VM_FINAL_STATE__INIT;
    fin.run = &run;
    char err[512];
    uint64_t t0 = clock_mono_ms();
    int rc = client_call(&c, vpeer, &fin.base, &opml__vm_final_state_reply__descriptor, 60000, err, sizeof err);
    uint64_t took = clock_mono_ms() - t0;
    CHECK_EQ_INT(rc, OPML_E_UNAVAILABLE);
    CHECK(strstr(err, "descriptor") != NULL && strstr(err, "storage") != NULL);
    CHECK(took >= 14000); /* the time-outs were waited out, not cut short */
    fprintf(stderr, "answered after %llu ms: %s\n", (unsigned long long)took, err);
    CHECK_EQ_INT(client_health(&c, vpeer, 2000), 0);
    CHECK_EQ_INT(harness_stop(vp, SIGTERM, 3000), 0);
    if (check_failures) harness_show_log(&h, "vmjudge.log");
    client_done(&c);
    harness_done(&h);
    return check_summary("test_vmjudge_storage_down");
}
