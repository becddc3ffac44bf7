/* test_typed.c: contract events into chainwatch's typed messages (typed.h, proto/chain.proto):
 * fields filled and range-checked, a missing parameter named, an event without a message skipped. */
#include "check.h"
#include "chain.pb-c.h"
#include "typed.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* decoded event parameters into their typed messages: filled, range-checked, missing ones named */
static void test_typed(void) {
    char type[128], err[256];
    uint8_t *p;
    size_t n;
    cJSON *a = cJSON_Parse("{\"taskId\":\"3\",\"subId\":\"1\",\"submitter\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\","
                           "\"paid\":\"100000000000000000000\"}");
    CHECK_EQ_INT(typed_event("TaskFinalized", a, type, &p, &n, err, sizeof err), 1);
    CHECK(!strcmp(type, "opml.ChainTaskFinalized"));
    Opml__ChainTaskFinalized *m = opml__chain_task_finalized__unpack(NULL, n, p);
    CHECK(m && m->task_id == 3 && m->sub_id == 1 && m->submitter.len == 20 && m->submitter.data[0] == 0x70 &&
          !strcmp(m->paid, "100000000000000000000"));
    if (m) opml__chain_task_finalized__free_unpacked(m, NULL);
    free(p);
    cJSON_ReplaceItemInObject(a, "taskId", cJSON_CreateString("18446744073709551616")); /* 2^64 */
    CHECK_EQ_INT(typed_event("TaskFinalized", a, type, &p, &n, err, sizeof err), -1);
    CHECK(strstr(err, "task_id") != NULL);
    cJSON_ReplaceItemInObject(a, "taskId", cJSON_CreateString("3"));
    cJSON_ReplaceItemInObject(a, "subId", cJSON_CreateString("4294967296")); /* uint32 overflow */
    CHECK_EQ_INT(typed_event("TaskFinalized", a, type, &p, &n, err, sizeof err), -1);
    cJSON_ReplaceItemInObject(a, "subId", cJSON_CreateString("1"));
    cJSON_DeleteItemFromObject(a, "paid");
    CHECK_EQ_INT(typed_event("TaskFinalized", a, type, &p, &n, err, sizeof err), -1);
    CHECK(strstr(err, "no parameter paid") != NULL);
    CHECK_EQ_INT(typed_event("Stored", a, type, &p, &n, err, sizeof err), 0); /* no message for it */
    cJSON_Delete(a);
    a = cJSON_Parse("{\"gameId\":\"1\",\"phase\":\"1\",\"lo\":\"0\",\"hi\":\"8\",\"roots\":[\"0x01\",\"0xzz\"]}");
    CHECK_EQ_INT(typed_event("Dissected", a, type, &p, &n, err, sizeof err), -1);
    CHECK(strstr(err, "roots: not 0x hex") != NULL);
    cJSON_Delete(a);
}

int main(void) {
    test_typed();
    return check_summary("test_typed");
}
