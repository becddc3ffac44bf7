/* test_model_publish.c: a model published to a real opml-storage once (model_file.h). A model of
 * a few QLinear layers is written to a file and loaded; then:
 *   - its file: the first model_file_publish sends every byte and writes the record, the second
 *     sends nothing and stores nothing (the storage figures do not move, no put arrives); the file
 *     comes back whole (model_file_fetch);
 *   - a record cut short or damaged (a piece it names missing; a malformed record) is not trusted:
 *     the next publish sends the file again and the record then names what is stored;
 *   - its tensors: model_tensors_publish stores every descriptor and weight and its record; again,
 *     nothing is sent; a publish cut short (some weights stored, no record) is completed by the
 *     next, which sends only the missing tensors;
 *   - storage gone: either publish fails with a clear reason, never reports success.
 * Usage: test_model_publish PATH/opml-storage */
#include "check.h"
#include "model_file.h"
#include "proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K 256
#define LAYERS 3

static void fill(uint8_t *p, size_t n, uint64_t x) {
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

/* LAYERS QLinear nodes [1, K] -> [1, K], layer k reading weight matrix k and one shared scale
 * vector (seeded by seed), written to path and loaded into *m (with its file). */
static void make_model(const char *path, uint64_t seed, opml_model *m) {
    static int8_t w[LAYERS][K * K];
    static float scale[K];
    fill((uint8_t *)w, sizeof w, seed);
    for (int i = 0; i < K; i++) scale[i] = 1.0f / K;
    kd_tensor x = {KD_F32, 2, {1, K}};
    opml_weight weights[LAYERS + 1];
    memset(weights, 0, sizeof weights);
    for (int k = 0; k < LAYERS; k++) weights[k] = (opml_weight){{KD_I8, 2, {K, K}}, (const uint8_t *)w[k], {0}};
    weights[LAYERS] = (opml_weight){{KD_F32, 1, {K}}, (const uint8_t *)scale, {0}};
    opml_node nodes[LAYERS];
    memset(nodes, 0, sizeof nodes);
    for (int k = 0; k < LAYERS; k++) {
        nodes[k].d.op = OP_QLINEAR, nodes[k].d.noperands = 3;
        nodes[k].d.out = nodes[k].d.in[0] = x;
        nodes[k].d.in[1] = weights[k].t, nodes[k].d.in[2] = weights[LAYERS].t;
        nodes[k].input_mask = 1;
        for (int j = 0; j < KD_MAX_OPERANDS; j++) nodes[k].ref[j] = OPML_REF_NONE;
        nodes[k].ref[0] = (uint32_t)k, nodes[k].ref[1] = (uint32_t)k, nodes[k].ref[2] = LAYERS;
    }
    opml_model built = {.nin = 1, .n = LAYERS, .nweights = LAYERS + 1, .output_value = LAYERS, .inputs = &x,
                        .weights = weights, .nodes = nodes};
    char err[300];
    CHECK_EQ_INT(opml_model_commit(&built, err, sizeof err), 0);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) exit(1);
    CHECK_EQ_INT(opml_model_write(&built, f), 0);
    CHECK_EQ_INT(fclose(f), 0);
    opml_model_free(&built); /* the value table commit made (the rest is this function's: built.file is NULL) */
    CHECK_EQ_INT(opml_model_load(path, m, err, sizeof err), 0);
}

/* The storage actor's figures: tensors stored, their bytes, requests served. */
static void figures(storage_client *c, uint64_t *tensors, uint64_t *bytes, uint64_t *requests) {
    Opml__StorageStatsReply *s = NULL;
    CHECK_EQ_INT(storage_client_stats(c, &s), 0);
    if (!s) exit(1);
    *tensors = s->tensors, *bytes = s->tensor_bytes, *requests = s->requests;
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void file_key(const char *prefix, const uint8_t root[32], uint8_t *key) {
    memcpy(key, prefix, strlen(prefix));
    memcpy(key + strlen(prefix), root, 32);
}

static void test_file(storage_client *c, const opml_model *m) {
    char err[400];
    uint64_t sent = 1, t0, b0, r0, t1, b1, r1;
    CHECK_EQ_INT(model_file_publish(c, m, &sent, err, sizeof err), 0);
    CHECK(sent == m->file_len);
    figures(c, &t0, &b0, &r0);
    CHECK(t0 == 1 && b0 == m->file_len); /* one piece */

    /* again: a record read and one stat per piece, nothing sent, nothing stored */
    CHECK_EQ_INT(model_file_publish(c, m, &sent, err, sizeof err), 0);
    CHECK(sent == 0);
    figures(c, &t1, &b1, &r1);
    CHECK(t1 == t0 && b1 == b0);
    CHECK_EQ_INT(r1 - r0, 2 + 1); /* the record's kv_get, one stat, then this stats call */

    uint8_t *file;
    size_t len;
    CHECK_EQ_INT(model_file_fetch(c, m->root, &file, &len, err, sizeof err), 0);
    CHECK(len == m->file_len && !memcmp(file, m->file, len));
    free(file);

    /* a record naming a piece storage does not hold, then a malformed one: published again */
    uint8_t key[sizeof MODEL_FILE_KEY_PREFIX - 1 + 32], rec[8 + 32];
    file_key(MODEL_FILE_KEY_PREFIX, m->root, key);
    for (int b = 0; b < 8; b++) rec[b] = (uint8_t)((uint64_t)m->file_len >> (56 - 8 * b));
    memset(rec + 8, 0xab, 32);
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_INT(storage_client_kv_put(c, key, sizeof key, rec, round ? 3 : sizeof rec), 0);
        CHECK_EQ_INT(model_file_fetch(c, m->root, &file, &len, err, sizeof err), OPML_E_INTERNAL);
        CHECK_EQ_INT(model_file_publish(c, m, &sent, err, sizeof err), 0);
        CHECK(sent == m->file_len);
        CHECK_EQ_INT(model_file_fetch(c, m->root, &file, &len, err, sizeof err), 0);
        CHECK(len == m->file_len && !memcmp(file, m->file, len));
        free(file);
    }
    figures(c, &t1, &b1, &r1);
    CHECK(t1 == t0 && b1 == b0); /* sent, but the piece was there: stored once */
}

/* The bytes of m's distinct descriptors and weights (a tensor root is stored once). */
static uint64_t tensor_bytes(const opml_model *m, uint32_t skip_weights) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        int dup = 0;
        for (uint32_t j = 0; j < i; j++) dup |= !memcmp(m->nodes[j].desc_root, m->nodes[i].desc_root, 32);
        if (!dup) total += KD_BYTES;
    }
    for (uint32_t i = skip_weights; i < m->nweights; i++) total += (uint64_t)kd_nbytes(&m->weights[i].t);
    return total;
}

static void check_all_stored(storage_client *c, const opml_model *m) {
    int found;
    uint64_t len;
    for (uint32_t i = 0; i < m->n; i++) {
        CHECK_EQ_INT(storage_client_stat_tensor(c, m->nodes[i].desc_root, &found, &len), 0);
        CHECK(found && len == KD_BYTES);
    }
    for (uint32_t i = 0; i < m->nweights; i++) {
        CHECK_EQ_INT(storage_client_stat_tensor(c, m->weights[i].root, &found, &len), 0);
        CHECK(found && len == (uint64_t)kd_nbytes(&m->weights[i].t));
    }
}

static void test_tensors(storage_client *c, const opml_model *m, const opml_model *m2) {
    char err[400];
    uint64_t sent = 0, t0, b0, r0, t1, b1, r1;
    CHECK_EQ_INT(model_tensors_publish(c, m, &sent, err, sizeof err), 0);
    CHECK(sent == tensor_bytes(m, 0));
    check_all_stored(c, m);
    figures(c, &t0, &b0, &r0);
    CHECK_EQ_INT(model_tensors_publish(c, m, &sent, err, sizeof err), 0);
    CHECK(sent == 0);
    figures(c, &t1, &b1, &r1);
    CHECK(t1 == t0 && b1 == b0);
    CHECK_EQ_INT(r1 - r0, 1 + 1); /* the record's kv_get, then this stats call */

    /* cut short: two weights of the other model stored, no record; the next publish sends the
     * rest only (its descriptors are the first model's: same shapes, stored already) */
    uint8_t root[32];
    for (uint32_t i = 0; i < 2; i++)
        CHECK_EQ_INT(storage_client_put_tensor(c, m2->weights[i].data, (size_t)kd_nbytes(&m2->weights[i].t),
                                               m2->weights[i].root, root), 0);
    CHECK_EQ_INT(model_tensors_publish(c, m2, &sent, err, sizeof err), 0);
    uint64_t want = 0;
    for (uint32_t i = 2; i < m2->nweights; i++)
        if (i != LAYERS) want += (uint64_t)kd_nbytes(&m2->weights[i].t); /* the scales: the first model's */
    CHECK(sent == want);
    check_all_stored(c, m2);
    CHECK_EQ_INT(model_tensors_publish(c, m2, &sent, err, sizeof err), 0);
    CHECK(sent == 0);
}

int main(int argc, char **argv) {
    storage_proc p;
    int rc = proc_main_start(&p, argc, argv);
    if (rc) return rc;
    char path[300];
    opml_model m, m2;
    snprintf(path, sizeof path, "%s/a.opml", p.h.dir);
    make_model(path, 1, &m);
    snprintf(path, sizeof path, "%s/b.opml", p.h.dir);
    make_model(path, 2, &m2);
    storage_client *c = proc_client(&p, 10000, 1);
    CHECK(c != NULL);
    if (!c) return 1;
    test_file(c, &m);
    test_tensors(c, &m, &m2);

    /* storage stopped: a clear failure */
    CHECK(proc_stop(&p, SIGTERM) == 0);
    storage_client *gone = proc_client(&p, 300, 0);
    char err[400];
    uint64_t sent;
    CHECK_EQ_INT(model_file_publish(gone, &m2, &sent, err, sizeof err), -1);
    CHECK(strstr(err, "storage") != NULL);
    CHECK_EQ_INT(model_tensors_publish(gone, &m2, &sent, err, sizeof err), -1);
    CHECK(strstr(err, "storage") != NULL);
    storage_client_free(gone);
    storage_client_free(c);
    opml_model_free(&m), opml_model_free(&m2);
    if (check_failures) proc_dump_log(&p);
    proc_teardown(&p);
    return check_summary("test_model_publish");
}
