/* cmd_status.c: `opml status`, the tasks and games of a cluster's chain as JSON lines, read from
 * the contracts' views (InferenceOracle.task, DisputeGame.game): what a task's status is, who
 * submitted, when its window ends; for each game its phase, range, whose move it is and the
 * clocks.
 *
 *   opml status [--cluster DIR] [--task ID [--model MODEL.opml]] [--game ID]
 *
 * Without --task/--game: every task and every game. With --model, a generation task's line also
 * has the live (or last) submission's new ids (`ids`, from its ResultSubmitted log: only their hash
 * is kept in the contract) and their text by the model's tokenizer (`text`). */
#include "cli_num.h"
#include "cluster.h"
#include "commands.h"
#include "generation.h"
#include "hex.h"
#include "request_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *task_status[] = {"none", "open", "submitted", "finalized", "cancelled"};
static const char *turns[] = {"none", "dissect", "select", "open", "step", "done", "bind", "open-step", "resolve"};

/* A generation task's ids and their text (the model's tokenizer) added to line. */
static void add_generation(cluster *c, long long id, const char *model, cJSON *line) {
    size_t len = 0;
    uint8_t *out = cluster_task_output(c, id, &len);
    char err[300];
    if (!out || len % 4) {
        free(out);
        return;
    }
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < len / 4; i++) {
        uint32_t id;
        opml_gen_ids_from_bytes(out + 4 * i, 1, &id);
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)id));
    }
    cJSON_AddItemToObject(line, "ids", ids);
    char *text = request_gen_text(model, out, len, err, sizeof err);
    if (text) cJSON_AddStringToObject(line, "text", text);
    else fprintf(stderr, "opml status: task %lld: no text: %s\n", id, err);
    free(text);
    free(out);
}

/* Prints one view as a JSON line: {"kind":..,"id":..,<the view's fields>} (a task with a model:
 * its generation's ids and text). Returns 0 or -1. */
static int show(cluster *c, const contract *k, const uint8_t to[20], const char *fn, long long id, const char *kind,
                const char *model) {
    char arg[24], err[600];
    snprintf(arg, sizeof arg, "%lld", id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(arg));
    cJSON *r = cluster_call(c, k, to, fn, args, err, sizeof err);
    cJSON_Delete(args);
    cJSON *v = r ? cJSON_DetachItemFromArray(r, 0) : NULL;
    cJSON_Delete(r);
    if (!cJSON_IsObject(v)) {
        fprintf(stderr, "opml status: %s %lld: %s\n", kind, id, r ? "unexpected reply" : err);
        cJSON_Delete(v);
        return -1;
    }
    /* names for the enums */
    const char *field = !strcmp(kind, "task") ? "status" : "turn";
    long long e = cluster_uint(v, field, 0);
    const char **names = !strcmp(kind, "task") ? task_status : turns;
    long long last = !strcmp(kind, "task") ? (long long)(sizeof task_status / sizeof *task_status) - 1
                                           : (long long)(sizeof turns / sizeof *turns) - 1;
    if (e >= 0 && e <= last) cJSON_ReplaceItemInObject(v, field, cJSON_CreateString(names[e]));
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "kind", kind);
    cJSON_AddNumberToObject(line, "id", (double)id);
    for (cJSON *it = v->child; it; it = it->next) cJSON_AddItemReferenceToObject(line, it->string, it);
    if (model) add_generation(c, id, model, line);
    char *text = cJSON_PrintUnformatted(line);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(line);
    cJSON_Delete(v);
    return 0;
}

static long long count(cluster *c, const contract *k, const uint8_t to[20], const char *fn) {
    char err[400];
    cJSON *r = cluster_call(c, k, to, fn, NULL, err, sizeof err);
    long long n = r ? cluster_uint(r, NULL, 0) : -1;
    if (!r) fprintf(stderr, "opml status: %s: %s\n", fn, err);
    cJSON_Delete(r);
    return n;
}

int cmd_status(int argc, char **argv) {
    const char *dir = NULL, *model = NULL;
    long long task = 0, game = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t id = 0;
        if (!strcmp(argv[i], "--cluster") && v) dir = v;
        else if ((!strcmp(argv[i], "--task") || !strcmp(argv[i], "--game")) && v) {
            if (cli_flag_u64("status", argv[i], v, 1, INT64_MAX, &id)) return 2;
            if (argv[i][2] == 't') task = (long long)id;
            else game = (long long)id;
        } else if (!strcmp(argv[i], "--model") && v) model = v;
        else {
            fprintf(stderr, "usage: opml status [--cluster DIR] [--task ID [--model MODEL.opml]] [--game ID]\n");
            return 2;
        }
        i++;
    }
    char err[1024];
    cluster c;
    if (cluster_open(&c, dir, NULL, err, sizeof err)) {
        fprintf(stderr, "opml status: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (task || game) {
        if (task && show(&c, c.oracle_c, c.oracle, "task", task, "task", model)) rc = 1;
        if (game && show(&c, c.game_c, c.game, "game", game, "game", NULL)) rc = 1;
    } else {
        long long nt = count(&c, c.oracle_c, c.oracle, "taskCount"), ng = count(&c, c.game_c, c.game, "gameCount");
        if (nt < 0 || ng < 0) rc = 1;
        for (long long i = 1; i <= nt; i++) rc |= show(&c, c.oracle_c, c.oracle, "task", i, "task", model) ? 1 : 0;
        for (long long i = 1; i <= ng; i++) rc |= show(&c, c.game_c, c.game, "game", i, "game", NULL) ? 1 : 0;
    }
    cluster_close(&c);
    return rc;
}
