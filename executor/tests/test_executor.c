/* The executor actor with real processes on loopback: opml-bus, opml-storage and opml-executor.
 *   match  two executors behind the bus, one loading the converted fashion_mlp from its file, the
 *          other from storage: runs of real Fashion-MNIST images give exactly the output, model
 *          root, State_n and node output roots of `opml infer --json`; State_i and value queries
 *          agree with roots recomputed here from the stored tensors;
 *   bad    unknown model, wrong input count and size, short roots, a payload that does not parse,
 *          an unknown run, a step or value past the end: each a clear opml.Error, both processes
 *          stay up and still serve;
 *   storage  storage stopped: a run is answered OPML_E_UNAVAILABLE naming storage, the executor
 *          stays up; storage restarted on its database: runs work again, earlier runs still answer;
 *   llama  a LLaMA-shaped prompt graph and its one-token decoding graph, each executor loading one
 *          from its file and the other from storage: the prompt runs from bytes, the decoding step
 *          from the roots of stored tensors (the prompt's key/value caches, the new token, its
 *          position), with the bits of the engine run here and the next token of a longer prompt;
 *   kill   a long job (a synthetic model with 4096-wide layers on the ref backend) on one executor,
 *          which is SIGKILLed mid-job: the job completes on a second executor (blas backend, the
 *          model loaded from storage) with the bits `opml infer` gives;
 *   gen    generation tasks and the happy path (test_executor_gen.c).
 * usage: test_executor BUS STORAGE EXECUTOR OPML MODELS_DIR FASHION_MNIST_DIR match|bad|storage|llama|kill
 *        test_executor BUS STORAGE EXECUTOR OPML MODELS_DIR FASHION_MNIST_DIR gen VMJUDGE */
#include "check.h"
#include "client.h"
#include "engine.h"
#include "executor.pb-c.h"
#include "executor_cluster.h"
#include "harness.h"
#include "hex.h"
#include "idx.h"
#include "llama_graph.h"
#include "merkle.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

const char *bus_bin, *storage_bin, *exec_bin, *opml_bin, *models_dir, *fmnist_dir, *vmjudge_bin;
static const char *storage_timeout_ms = "10000"; /* the executors' */

void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A step the rest of the test cannot do without failed: stop every process, keep the directory. */
void cluster_abort(struct cluster *cl, const char *why) {
    fprintf(stderr, "giving up: %s (logs in %s)\n", why, cl->h.dir);
    for (int i = 0; i < NE; i++)
        if (cl->e[i] > 0) harness_stop(cl->e[i], SIGKILL, 2000);
    if (cl->st > 0) harness_stop(cl->st, SIGKILL, 2000);
    if (cl->bus > 0) harness_stop(cl->bus, SIGKILL, 2000);
    exit(1);
}

/* opml-storage on the cluster's database (again after a stop: the same database). */
static void start_storage(struct cluster *cl) {
    char *argv[] = {(char *)storage_bin, "--key_file", cl->st_key, "--allow_file", cl->h.allow, "--listen",
                    cl->st_listen, "--db", cl->db, NULL};
    cl->st = harness_spawn(&cl->h, "storage.log", argv);
}

void cluster_start(struct cluster *cl) {
    char curve[65], bus_curve[65], st_curve[65];
    memset(cl, 0, sizeof *cl);
    if (harness_init(&cl->h) != 0) exit(1);
    harness_key(&cl->h, "bus", 1, cl->bus_key, NULL, bus_curve);
    harness_key(&cl->h, "storage", 1, cl->st_key, NULL, st_curve);
    harness_key(&cl->h, "client", 1, cl->client_key, NULL, curve);
    harness_key(&cl->h, "client2", 1, cl->client2_key, NULL, cl->client2_curve);
    for (int i = 0; i < NE; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", i);
        harness_key(&cl->h, name, 1, cl->ekey[i], &cl->eid[i], curve);
        snprintf(cl->elisten[i], sizeof cl->elisten[i], "tcp://127.0.0.1:%d", harness_port());
        snprintf(cl->epeer[i], sizeof cl->epeer[i], "%s@%s", curve, cl->elisten[i]);
    }
    char e_in[64], e_out[64], e_work[64], e_workers[64];
    snprintf(e_in, sizeof e_in, "tcp://127.0.0.1:%d", harness_port());
    snprintf(e_out, sizeof e_out, "tcp://127.0.0.1:%d", harness_port());
    snprintf(e_work, sizeof e_work, "tcp://127.0.0.1:%d", harness_port());
    snprintf(e_workers, sizeof e_workers, "tcp://127.0.0.1:%d", harness_port());
    snprintf(cl->st_listen, sizeof cl->st_listen, "tcp://127.0.0.1:%d", harness_port());
    snprintf(cl->ev_in, sizeof cl->ev_in, "%s@%s", bus_curve, e_in);
    snprintf(cl->work, sizeof cl->work, "%s@%s", bus_curve, e_work);
    snprintf(cl->workers, sizeof cl->workers, "%s@%s", bus_curve, e_workers);
    snprintf(cl->storage, sizeof cl->storage, "%s@%s", st_curve, cl->st_listen);
    snprintf(cl->db, sizeof cl->db, "%s/db", cl->h.dir);
    char *bargv[] = {(char *)bus_bin, "--key_file", cl->bus_key, "--allow_file", cl->h.allow, "--events_in", e_in,
                     "--events_out", e_out, "--work", e_work, "--workers", e_workers, "--heartbeat_ms", "100",
                     "--heartbeat_timeout_ms", "800", NULL};
    cl->bus = harness_spawn(&cl->h, "bus.log", bargv);
    start_storage(cl);
    if (client_init(&cl->c, cl->client_key) != 0 || client_wait_up(&cl->c, cl->work, 10000) != 0 ||
        client_wait_up(&cl->c, cl->storage, 10000) != 0)
        cluster_abort(cl, "the bus or storage did not come up");
}

/* `opml convert` of a shared model into the cluster's directory. */
void convert(struct cluster *cl, const char *onnx, const char *out) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' convert '%s/%s' -o '%s' >/dev/null", opml_bin, models_dir, onnx, out);
    if (system(cmd) != 0) cluster_abort(cl, "opml convert failed");
}

/* Executor i with the given backend and, if not NULL, a model file to load. */
void start_executor(struct cluster *cl, int i, const char *backend, const char *model) {
    char *argv[24] = {(char *)exec_bin, "--key_file", cl->ekey[i], "--allow_file", cl->h.allow, "--listen",
                      cl->elisten[i], "--bus_work", cl->workers, "--bus_pub", cl->ev_in, "--storage", cl->storage,
                      "--backend", (char *)backend, "--heartbeat_ms", "100", "--heartbeat_timeout_ms", "800",
                      "--storage_timeout_ms", (char *)storage_timeout_ms, NULL};
    int n = 21;
    if (model) argv[n++] = "--model", argv[n++] = (char *)model;
    argv[n] = NULL;
    char log[16];
    snprintf(log, sizeof log, "e%d.log", i);
    cl->e[i] = harness_spawn(&cl->h, log, argv);
    if (client_wait_up(&cl->c, cl->epeer[i], 20000) != 0) cluster_abort(cl, "an executor did not come up");
}

void wait_workers(struct cluster *cl, long n) {
    for (int i = 0; i < 400 && client_stat(&cl->c, cl->work, "workers") != n; i++) msleep(50);
    CHECK_EQ_INT(client_stat(&cl->c, cl->work, "workers"), n);
}

void cluster_stop(struct cluster *cl) {
    for (int i = 0; i < NE; i++)
        if (cl->e[i] > 0) CHECK_EQ_INT(harness_stop(cl->e[i], SIGTERM, 10000), 0);
    CHECK_EQ_INT(harness_stop(cl->st, SIGTERM, 10000), 0);
    CHECK_EQ_INT(harness_stop(cl->bus, SIGTERM, 10000), 0);
    client_done(&cl->c);
    if (check_failures) setenv("OPML_KEEP_TEST_DIR", "1", 1);
    harness_done(&cl->h);
}

/* One call through rpc r; returns 0 or the error code, with the message in err. */
int call(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d, ProtobufCMessage **rep,
                char *err, size_t errlen) {
    return rpc_call_max(r, req, d, ENVELOPE_MAX_BYTES, rep, 60000, 0, err, errlen);
}

static int run_model(rpc *r, const uint8_t root[32], const void *input, size_t len, Opml__ExecutorRunReply **rep,
                     char *err, size_t errlen) {
    Opml__ExecutorRun q = OPML__EXECUTOR_RUN__INIT;
    ProtobufCBinaryData in = {len, (uint8_t *)input};
    q.model_root.data = (uint8_t *)root, q.model_root.len = 32;
    q.inputs = &in, q.n_inputs = 1;
    return call(r, &q.base, &opml__executor_run_reply__descriptor, (ProtobufCMessage **)rep, err, errlen);
}

/* `opml infer MODEL SPEC --json --backend blas`: the parsed lines (cJSON array), NULL on failure. */
static cJSON *opml_infer(const char *model, const char *spec) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' infer '%s' '%s' --backend blas --json", opml_bin, model, spec);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    cJSON *all = cJSON_CreateArray();
    size_t cap = 1 << 20, len = 0;
    char *line = malloc(cap);
    int c;
    while ((c = fgetc(p)) != EOF) {
        if (len + 1 >= cap) line = realloc(line, cap *= 2);
        if (c != '\n') {
            line[len++] = (char)c;
            continue;
        }
        line[len] = 0, len = 0;
        cJSON *o = cJSON_Parse(line);
        if (o) cJSON_AddItemToArray(all, o);
    }
    free(line);
    if (pclose(p) != 0) {
        fprintf(stderr, "%s failed\n", cmd);
        cJSON_Delete(all);
        return NULL;
    }
    return all;
}

static int hex_is(const cJSON *o, const char *field, const uint8_t bytes[32]) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, field);
    char hex[67];
    hex_encode(bytes, 32, hex);
    if (cJSON_IsString(s) && !strcmp(s->valuestring, hex)) return 1;
    fprintf(stderr, "%s: %s != %s\n", field, cJSON_IsString(s) ? s->valuestring : "(none)", hex);
    return 0;
}

static int root_of(const cJSON *o, const char *field, uint8_t out[32]) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!cJSON_IsString(s)) return -1;
    const char *h = s->valuestring;
    if (h[0] == '0' && h[1] == 'x') h += 2;
    return hex_decode(h, out, 32);
}

/* The executor's reply equals the CLI's line, bit for bit. */
static void check_same(const Opml__ExecutorRunReply *rep, const cJSON *line) {
    CHECK(rep->model_root.len == 32 && hex_is(line, "model_root", rep->model_root.data));
    CHECK(rep->state_root.len == 32 && hex_is(line, "state_root", rep->state_root.data));
    const cJSON *roots = cJSON_GetObjectItemCaseSensitive(line, "node_output_roots");
    CHECK_EQ_INT(cJSON_GetArraySize(roots), rep->n_node_output_roots);
    for (size_t k = 0; k < rep->n_node_output_roots && k < (size_t)cJSON_GetArraySize(roots); k++) {
        char hex[67];
        hex_encode(rep->node_output_roots[k].data, 32, hex);
        const char *s = cJSON_GetArrayItem(roots, (int)k)->valuestring;
        CHECK(s && !strcmp(s, hex));
    }
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(line, "output");
    CHECK_EQ_INT((size_t)cJSON_GetArraySize(out) * 4, rep->output.len);
    const float *y = (const float *)rep->output.data;
    int i = 0, bad = 0;
    for (const cJSON *v = out ? out->child : NULL; v && (size_t)i * 4 < rep->output.len; v = v->next, i++) {
        /* %.9g round-trips a float; JSON's null stands for NaN and the infinities */
        float want = (float)v->valuedouble;
        if (cJSON_IsNull(v) ? isfinite(y[i]) : memcmp(&want, &y[i], 4) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- match ---- */

static void test_match(void) {
    struct cluster cl;
    char model[256], err[512], spec[600], path[512];
    cluster_start(&cl);
    snprintf(model, sizeof model, "%s/mlp.opml", cl.h.dir);
    convert(&cl, "fashion_mlp.onnx", model);
    start_executor(&cl, 0, "blas", model);
    start_executor(&cl, 1, "ref", NULL);
    wait_workers(&cl, 2);

    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", fmnist_dir);
    if (access(path, R_OK)) snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", fmnist_dir);
    snprintf(spec, sizeof spec, "idx:%s#0-5", path);
    cJSON *lines = opml_infer(model, spec);
    CHECK(lines && cJSON_GetArraySize(lines) == 6);
    opml_idx idx;
    CHECK_EQ_INT(opml_idx_load(path, &idx, err, sizeof err), 0);
    uint8_t root[32];
    CHECK(lines && root_of(cJSON_GetArrayItem(lines, 0), "model_root", root) == 0);

    rpc *bus = rpc_connect(cl.c.net, &cl.c.sg, cl.work, 0, err, sizeof err);
    rpc *direct1 = rpc_connect(cl.c.net, &cl.c.sg, cl.epeer[1], 0, err, sizeof err);
    float img[784];
    Opml__ExecutorRunReply *last = NULL;
    for (int i = 0; i < 6 && lines; i++) {
        opml_idx_floats(&idx, (uint32_t)i, 1, 255.0f, img);
        Opml__ExecutorRunReply *rep;
        /* half through the bus (either executor), half straight to executor 1, which has no model
         * file and so loads the model from storage */
        int rc = run_model(i % 2 ? direct1 : bus, root, img, sizeof img, &rep, err, sizeof err);
        CHECK_EQ_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "run %d: %s\n", i, err);
            continue;
        }
        check_same(rep, cJSON_GetArrayItem(lines, i));
        if (last) protobuf_c_message_free_unpacked(&last->base, NULL);
        last = rep;
    }
    if (last) { /* the same input named by its root (stored as value 0 of the runs above) */
        Opml__ExecutorRun q = OPML__EXECUTOR_RUN__INIT;
        uint8_t in_root[32];
        merkle_tensor_root(img, sizeof img, in_root);
        ProtobufCBinaryData r = {32, in_root};
        q.model_root.data = root, q.model_root.len = 32, q.input_roots = &r, q.n_input_roots = 1;
        Opml__ExecutorRunReply *rep;
        CHECK_EQ_INT(call(bus, &q.base, &opml__executor_run_reply__descriptor, (ProtobufCMessage **)&rep, err,
                          sizeof err), 0);
        check_same(rep, cJSON_GetArrayItem(lines, 5));
        protobuf_c_message_free_unpacked(&rep->base, NULL);
    }
    CHECK(client_stat(&cl.c, cl.epeer[1], "model_loads_storage") == 1);
    CHECK(client_stat(&cl.c, cl.epeer[0], "model_loads_file") == 1);

    /* the last run's states and values, asked through the bus */
    if (last) {
        size_t n = last->n_node_output_roots, nv = n + 1;
        uint8_t(*roots)[32] = malloc(nv * 32);
        merkle_tensor_root(img, sizeof img, roots[0]);
        for (size_t k = 0; k < n; k++) memcpy(roots[k + 1], last->node_output_roots[k].data, 32);
        Opml__ExecutorGetStates q = OPML__EXECUTOR_GET_STATES__INIT;
        uint32_t steps[64];
        for (size_t s = 0; s <= n && s < 64; s++) steps[s] = (uint32_t)(n - s); /* any order */
        q.model_root = last->model_root, q.input_state = last->input_state;
        q.steps = steps, q.n_steps = n + 1;
        Opml__ExecutorGetStatesReply *sr;
        CHECK_EQ_INT(call(bus, &q.base, &opml__executor_get_states_reply__descriptor, (ProtobufCMessage **)&sr, err,
                          sizeof err), 0);
        CHECK_EQ_INT(sr->n_states, n + 1);
        unsigned depth = opml_state_depth(1, (uint32_t)n);
        for (size_t s = 0; s <= n && s < sr->n_states; s++) {
            uint8_t want[32];
            opml_graph_state((const uint8_t(*)[32])roots, 1 + steps[s], depth, want);
            CHECK(sr->states[s].len == 32 && !memcmp(sr->states[s].data, want, 32));
        }
        CHECK(!memcmp(sr->states[0].data, last->state_root.data, 32));
        CHECK(!memcmp(sr->states[n].data, last->input_state.data, 32));
        protobuf_c_message_free_unpacked(&sr->base, NULL);
        for (uint32_t v = 0; v < nv; v++) {
            Opml__ExecutorGetValue g = OPML__EXECUTOR_GET_VALUE__INIT;
            g.model_root = last->model_root, g.input_state = last->input_state, g.value = v;
            Opml__ExecutorGetValueReply *vr;
            CHECK_EQ_INT(call(v % 2 ? direct1 : bus, &g.base, &opml__executor_get_value_reply__descriptor,
                              (ProtobufCMessage **)&vr, err, sizeof err), 0);
            uint8_t r[32];
            merkle_tensor_root(vr->data.data, vr->data.len, r);
            CHECK(vr->root.len == 32 && !memcmp(vr->root.data, roots[v], 32) && !memcmp(r, roots[v], 32));
            CHECK_EQ_INT(vr->total_length, vr->data.len);
            if (v == 0) CHECK(vr->data.len == sizeof img && !memcmp(vr->data.data, img, sizeof img));
            if (v == nv - 1) CHECK(vr->data.len == last->output.len && !memcmp(vr->data.data, last->output.data, vr->data.len));
            protobuf_c_message_free_unpacked(&vr->base, NULL);
        }
        /* a part of a value */
        Opml__ExecutorGetValue g = OPML__EXECUTOR_GET_VALUE__INIT;
        g.model_root = last->model_root, g.input_state = last->input_state, g.value = 0, g.offset = 400, g.length = 8;
        Opml__ExecutorGetValueReply *vr;
        CHECK_EQ_INT(call(bus, &g.base, &opml__executor_get_value_reply__descriptor, (ProtobufCMessage **)&vr, err,
                          sizeof err), 0);
        CHECK(vr->data.len == 8 && !memcmp(vr->data.data, (uint8_t *)img + 400, 8) && vr->total_length == sizeof img);
        protobuf_c_message_free_unpacked(&vr->base, NULL);
        free(roots);
        protobuf_c_message_free_unpacked(&last->base, NULL);
    }
    rpc_close(bus), rpc_close(direct1);
    opml_idx_free(&idx);
    cJSON_Delete(lines);
    cluster_stop(&cl);
}

/* ---- bad ---- */

void expect_error(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d, int code,
                         const char *text) {
    char err[512] = "";
    ProtobufCMessage *rep = NULL;
    int rc = call(r, req, d, &rep, err, sizeof err);
    CHECK_EQ_INT(rc, code);
    if (!strstr(err, text)) {
        fprintf(stderr, "error '%s' does not say '%s'\n", err, text);
        CHECK(0);
    }
    if (rep) protobuf_c_message_free_unpacked(rep, NULL);
}

static void test_bad(void) {
    struct cluster cl;
    char model[256], err[512];
    cluster_start(&cl);
    snprintf(model, sizeof model, "%s/mlp.opml", cl.h.dir);
    convert(&cl, "fashion_mlp.onnx", model);
    opml_model m;
    CHECK_EQ_INT(opml_model_load(model, &m, err, sizeof err), 0);
    start_executor(&cl, 0, "blas", model);
    start_executor(&cl, 1, "blas", NULL);
    wait_workers(&cl, 2);
    rpc *bus = rpc_connect(cl.c.net, &cl.c.sg, cl.work, 0, err, sizeof err);
    const ProtobufCMessageDescriptor *runrep = &opml__executor_run_reply__descriptor;
    static float img[785];
    uint8_t unknown[32] = {1, 2, 3};

    for (int round = 0; round < 2; round++) { /* twice: every executor meets each of them */
        Opml__ExecutorRun q = OPML__EXECUTOR_RUN__INIT;
        ProtobufCBinaryData in[2] = {{784 * 4, (uint8_t *)img}, {4, (uint8_t *)img}};
        q.model_root.data = unknown, q.model_root.len = 32, q.inputs = in, q.n_inputs = 1;
        expect_error(bus, &q.base, runrep, OPML_E_NOT_FOUND, "unknown model 0x0102030000");
        q.model_root.data = m.root, q.model_root.len = 31;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "model_root must be 32 bytes");
        q.model_root.len = 32, in[0].len = 785 * 4;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "input 0 has 3140 bytes, the model expects 3136");
        in[0].len = 3;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "input 0 has 3 bytes");
        in[0].len = 784 * 4, q.n_inputs = 2;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "the model takes 1 inputs, the request has 2");
        q.n_inputs = 0;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "the request has 0");
        ProtobufCBinaryData r = {31, unknown};
        q.input_roots = &r, q.n_input_roots = 1;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "input_roots[0] must be 32 bytes");
        r.len = 32;
        expect_error(bus, &q.base, runrep, OPML_E_NOT_FOUND, "input 0: storage");
        q.n_inputs = 1;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "not both");
        q.n_inputs = 0;
        static float big[785] = {[784] = 1.0f}; /* one value too many, and not zero */
        storage_client *st = storage_client_new(cl.c.net, &cl.c.sg, cl.storage, 10000, 1, err, sizeof err);
        uint8_t big_root[32];
        CHECK(st && storage_client_put_tensor(st, big, sizeof big, NULL, big_root) == 0);
        storage_client_free(st);
        r.data = big_root;
        expect_error(bus, &q.base, runrep, OPML_E_BAD_REQUEST, "has 3140 bytes, more than the 3136 expected");
        q.n_input_roots = 0, q.n_inputs = 1;

        Opml__ExecutorGetStates s = OPML__EXECUTOR_GET_STATES__INIT;
        s.model_root.data = m.root, s.model_root.len = 32, s.input_state.data = unknown, s.input_state.len = 32;
        expect_error(bus, &s.base, &opml__executor_get_states_reply__descriptor, OPML_E_NOT_FOUND, "no recorded run");
        s.input_state.len = 5;
        expect_error(bus, &s.base, &opml__executor_get_states_reply__descriptor, OPML_E_BAD_REQUEST, "32 bytes");
        Opml__ExecutorGetValue g = OPML__EXECUTOR_GET_VALUE__INIT;
        g.model_root.data = m.root, g.model_root.len = 32, g.input_state.data = unknown, g.input_state.len = 32;
        expect_error(bus, &g.base, &opml__executor_get_value_reply__descriptor, OPML_E_NOT_FOUND, "no recorded run");

        /* a payload of type opml.ExecutorRun that does not parse, sent raw */
        void *d = net_connect(cl.c.net, ZMQ_DEALER, cl.work, err, sizeof err);
        uint8_t junk[7] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}, *env;
        size_t len;
        uint64_t id = signer_next(&cl.c.sg);
        CHECK(envelope_seal(&cl.c.sg, "opml.ExecutorRun", junk, sizeof junk, id, &env, &len) == 0);
        struct iovec f = {env, len};
        CHECK(net_sendv(d, &f, 1) == 0);
        free(env);
        zmq_pollitem_t p = {d, 0, ZMQ_POLLIN, 0};
        CHECK(zmq_poll(&p, 1, 10000) == 1);
        zmq_msg_t fr[NET_MAX_FRAMES];
        int nf;
        envelope e;
        if (net_recv(d, fr, NET_MAX_FRAMES, &nf, 0) == 0) {
            CHECK(nf == 1 && envelope_open(zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]), 0, 0, &e, err, sizeof err) == 0);
            CHECK(!strcmp(e.type, "opml.Error") && e.call_id == id);
            Opml__Error *er = opml__error__unpack(NULL, e.payload_len, e.payload);
            CHECK(er && er->code == OPML_E_BAD_REQUEST);
            if (er) opml__error__free_unpacked(er, NULL);
            envelope_free(&e);
            net_msgs_close(fr, nf);
        }
        net_close(d);
    }
    /* a good run afterwards, and both executors still up */
    Opml__ExecutorRunReply *rep;
    memset(img, 0, sizeof img);
    CHECK_EQ_INT(run_model(bus, m.root, img, 784 * 4, &rep, err, sizeof err), 0);
    if (rep) {
        CHECK(!memcmp(rep->model_root.data, m.root, 32));
        Opml__ExecutorGetStates s = OPML__EXECUTOR_GET_STATES__INIT;
        uint32_t past = (uint32_t)rep->n_node_output_roots + 1;
        s.model_root = rep->model_root, s.input_state = rep->input_state, s.steps = &past, s.n_steps = 1;
        expect_error(bus, &s.base, &opml__executor_get_states_reply__descriptor, OPML_E_BAD_REQUEST, "past the last step");
        Opml__ExecutorGetValue g = OPML__EXECUTOR_GET_VALUE__INIT;
        g.model_root = rep->model_root, g.input_state = rep->input_state, g.value = past + 1;
        expect_error(bus, &g.base, &opml__executor_get_value_reply__descriptor, OPML_E_BAD_REQUEST, "does not exist");
        g.value = 0, g.offset = 3137;
        expect_error(bus, &g.base, &opml__executor_get_value_reply__descriptor, OPML_E_BAD_REQUEST, "outside value 0");
        protobuf_c_message_free_unpacked(&rep->base, NULL);
    }
    long refused = 0;
    for (int i = 0; i < NE; i++) {
        CHECK(client_health(&cl.c, cl.epeer[i], 5000) == 0);
        refused += client_stat(&cl.c, cl.epeer[i], "refused");
    }
    CHECK_EQ_INT(refused, 2 * 13 + 3); /* the unparsable payloads are refused by the runtime */
    rpc_close(bus);
    opml_model_free(&m);
    cluster_stop(&cl);
}

/* ---- storage ---- */

static void test_storage(void) {
    struct cluster cl;
    char model[256], err[512];
    storage_timeout_ms = "700";
    cluster_start(&cl);
    snprintf(model, sizeof model, "%s/mlp.opml", cl.h.dir);
    convert(&cl, "fashion_mlp.onnx", model);
    opml_model m;
    CHECK_EQ_INT(opml_model_load(model, &m, err, sizeof err), 0);
    start_executor(&cl, 0, "blas", model);
    wait_workers(&cl, 1);
    rpc *bus = rpc_connect(cl.c.net, &cl.c.sg, cl.work, 0, err, sizeof err);
    static float img[784];
    for (int i = 0; i < 784; i++) img[i] = (float)(i % 17) / 16.0f;
    Opml__ExecutorRunReply *before = NULL, *after = NULL;
    CHECK_EQ_INT(run_model(bus, m.root, img, sizeof img, &before, err, sizeof err), 0);

    /* storage stops: a run cannot store its values, and says so; the executor stays up */
    CHECK_EQ_INT(harness_stop(cl.st, SIGTERM, 10000), 0);
    img[0] = 0.5f;
    Opml__ExecutorRunReply *rep = NULL;
    int rc = run_model(bus, m.root, img, sizeof img, &rep, err, sizeof err);
    CHECK_EQ_INT(rc, OPML_E_UNAVAILABLE);
    if (!strstr(err, "storage")) fprintf(stderr, "error without storage: %s\n", err);
    CHECK(strstr(err, "storage") != NULL);
    if (rep) protobuf_c_message_free_unpacked(&rep->base, NULL);
    CHECK(client_health(&cl.c, cl.epeer[0], 5000) == 0);

    /* storage back on the same database: runs work again and the earlier run is still answered */
    start_storage(&cl);
    CHECK(client_wait_up(&cl.c, cl.storage, 10000) == 0);
    CHECK_EQ_INT(run_model(bus, m.root, img, sizeof img, &after, err, sizeof err), 0);
    if (before && after) {
        Opml__ExecutorGetStates q = OPML__EXECUTOR_GET_STATES__INIT;
        uint32_t last = (uint32_t)before->n_node_output_roots;
        q.model_root = before->model_root, q.input_state = before->input_state, q.steps = &last, q.n_steps = 1;
        Opml__ExecutorGetStatesReply *sr = NULL;
        CHECK_EQ_INT(call(bus, &q.base, &opml__executor_get_states_reply__descriptor, (ProtobufCMessage **)&sr, err,
                          sizeof err), 0);
        CHECK(sr && sr->n_states == 1 && !memcmp(sr->states[0].data, before->state_root.data, 32));
        if (sr) protobuf_c_message_free_unpacked(&sr->base, NULL);
        CHECK(memcmp(before->state_root.data, after->state_root.data, 32) != 0); /* another input */
    }
    if (before) protobuf_c_message_free_unpacked(&before->base, NULL);
    if (after) protobuf_c_message_free_unpacked(&after->base, NULL);
    rpc_close(bus);
    opml_model_free(&m);
    cluster_stop(&cl);
}

/* ---- llama ---- */

static int write_model(const opml_model *m, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = opml_model_write(m, f);
    return fclose(f) || rc ? -1 : 0;
}

static void test_llama(void) {
    struct cluster cl;
    char p4[256], p1[256], err[512];
    cluster_start(&cl);
    llama_cfg c = {.vocab = 61, .dim = 64, .heads = 4, .kv_heads = 2, .head_dim = 16, .ffn = 96, .layers = 2,
                   .max_seq = 12, .with_head = 1, .seed = 11};
    llama_graph g4, g1, g5;
    c.tokens = 4;
    CHECK_EQ_INT(llama_build(&c, &g4, err, sizeof err), 0);
    c.tokens = 1;
    CHECK_EQ_INT(llama_build(&c, &g1, err, sizeof err), 0);
    c.tokens = 5;
    CHECK_EQ_INT(llama_build(&c, &g5, err, sizeof err), 0);
    snprintf(p4, sizeof p4, "%s/prompt.opml", cl.h.dir);
    snprintf(p1, sizeof p1, "%s/decode.opml", cl.h.dir);
    CHECK(write_model(&g4.m, p4) == 0 && write_model(&g1.m, p1) == 0);
    start_executor(&cl, 0, "blas", p4);
    start_executor(&cl, 1, "ref", p1);
    wait_workers(&cl, 2);
    rpc *bus = rpc_connect(cl.c.net, &cl.c.sg, cl.work, 0, err, sizeof err);

    /* the prompt, from bytes */
    int32_t ids[5] = {7, 60, 0, 33, 12}, pos0 = 0, pos4 = 4;
    size_t cb = (size_t)kd_nbytes(&g4.m.inputs[2]), nin = g4.m.nin;
    float *zeros = calloc(1, cb);
    ProtobufCBinaryData *in = calloc(nin, sizeof *in);
    in[0] = (ProtobufCBinaryData){16, (uint8_t *)ids}, in[1] = (ProtobufCBinaryData){4, (uint8_t *)&pos0};
    for (size_t i = 2; i < nin; i++) in[i] = (ProtobufCBinaryData){cb, (uint8_t *)zeros};
    Opml__ExecutorRun q = OPML__EXECUTOR_RUN__INIT;
    q.model_root.data = g4.m.root, q.model_root.len = 32, q.inputs = in, q.n_inputs = nin;
    Opml__ExecutorRunReply *prompt = NULL, *step = NULL;
    CHECK_EQ_INT(call(bus, &q.base, &opml__executor_run_reply__descriptor, (ProtobufCMessage **)&prompt, err, sizeof err), 0);

    /* one token: the new id and position stored by us, the caches named by the prompt's roots */
    storage_client *st = storage_client_new(cl.c.net, &cl.c.sg, cl.storage, 10000, 1, err, sizeof err);
    uint8_t (*roots)[32] = calloc(nin, 32);
    CHECK(st && storage_client_put_tensor(st, ids + 4, 4, NULL, roots[0]) == 0 &&
          storage_client_put_tensor(st, &pos4, 4, NULL, roots[1]) == 0);
    if (prompt)
        for (size_t i = 2; i < nin; i++) memcpy(roots[i], prompt->node_output_roots[g4.kv_out[i - 2] - nin].data, 32);
    for (size_t i = 0; i < nin; i++) in[i] = (ProtobufCBinaryData){32, roots[i]};
    Opml__ExecutorRun d = OPML__EXECUTOR_RUN__INIT;
    d.model_root.data = g1.m.root, d.model_root.len = 32, d.input_roots = in, d.n_input_roots = nin;
    CHECK_EQ_INT(call(bus, &d.base, &opml__executor_run_reply__descriptor, (ProtobufCMessage **)&step, err, sizeof err), 0);
    if (!step) fprintf(stderr, "decoding step: %s\n", err);

    /* the same step in this process, from the prompt run's caches */
    opml_backend *b = opml_backend_new("ref");
    opml_run r4, r1, r5;
    const void **v = calloc(nin, sizeof *v);
    size_t *len = calloc(nin, sizeof *len);
    v[0] = ids, len[0] = 16, v[1] = &pos0, len[1] = 4;
    for (size_t i = 2; i < nin; i++) v[i] = zeros, len[i] = cb;
    CHECK(opml_run_init(&r4, &g4.m, b, err, sizeof err) == 0 && opml_run_exec(&r4, v, len, 1, err, sizeof err) == 0);
    v[0] = ids + 4, len[0] = 4, v[1] = &pos4;
    for (size_t i = 2; i < nin; i++) v[i] = r4.values[g4.kv_out[i - 2]];
    CHECK(opml_run_init(&r1, &g1.m, b, err, sizeof err) == 0 && opml_run_exec(&r1, v, len, 1, err, sizeof err) == 0);
    v[0] = ids, len[0] = 20, v[1] = &pos0;
    for (size_t i = 2; i < nin; i++) v[i] = zeros;
    CHECK(opml_run_init(&r5, &g5.m, b, err, sizeof err) == 0 && opml_run_exec(&r5, v, len, 1, err, sizeof err) == 0);
    if (prompt && step) {
        CHECK(!memcmp(prompt->state_root.data, r4.states[g4.m.n], 32));
        CHECK(!memcmp(step->state_root.data, r1.states[g1.m.n], 32));
        CHECK(!memcmp(step->input_state.data, r1.states[0], 32));
        CHECK(step->output.len == 4 && !memcmp(step->output.data, (int32_t *)r5.values[g5.m.output_value] + 4, 4));
        printf("llama: prompt -> next tokens of the 5-token run, decoding step -> %d (both executors served)\n",
               *(const int32_t *)step->output.data);
    }
    CHECK(client_stat(&cl.c, cl.epeer[0], "model_loads_file") == 1 && client_stat(&cl.c, cl.epeer[1], "model_loads_file") == 1);
    opml_run_free(&r4), opml_run_free(&r1), opml_run_free(&r5);
    opml_backend_free(b);
    if (prompt) protobuf_c_message_free_unpacked(&prompt->base, NULL);
    if (step) protobuf_c_message_free_unpacked(&step->base, NULL);
    storage_client_free(st);
    rpc_close(bus);
    free(v), free(len), free(in), free(roots), free(zeros);
    llama_free(&g4), llama_free(&g1), llama_free(&g5);
    cluster_stop(&cl);
}

/* ---- kill ---- */

#define SLOW_K 4096
#define SLOW_ROWS 64
#define SLOW_LAYERS 24

/* A model of SLOW_LAYERS QLinear nodes [SLOW_ROWS, 4096] -> [SLOW_ROWS, 4096], all reading one
 * seeded random weight matrix: seconds of work on the ref backend. */
static int write_slow_model(const char *path) {
    static int8_t w[SLOW_K * SLOW_K];
    static float scale[SLOW_K];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof w; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        w[i] = (int8_t)((int)(s % 255) - 127);
    }
    for (int i = 0; i < SLOW_K; i++) scale[i] = 1.0f / 4096.0f;
    kd_tensor x = {KD_F32, 2, {SLOW_ROWS, SLOW_K}};
    opml_weight weights[2] = {{{KD_I8, 2, {SLOW_K, SLOW_K}}, (const uint8_t *)w, {0}},
                              {{KD_F32, 1, {SLOW_K}}, (const uint8_t *)scale, {0}}};
    opml_node nodes[SLOW_LAYERS];
    memset(nodes, 0, sizeof nodes);
    for (int k = 0; k < SLOW_LAYERS; k++) {
        nodes[k].d.op = OP_QLINEAR, nodes[k].d.noperands = 3;
        nodes[k].d.out = nodes[k].d.in[0] = x;
        nodes[k].d.in[1] = weights[0].t, nodes[k].d.in[2] = weights[1].t;
        nodes[k].input_mask = 1;
        for (int j = 0; j < KD_MAX_OPERANDS; j++) nodes[k].ref[j] = OPML_REF_NONE;
        nodes[k].ref[0] = (uint32_t)k, nodes[k].ref[1] = 0, nodes[k].ref[2] = 1;
    }
    opml_model m = {.nin = 1, .n = SLOW_LAYERS, .nweights = 2, .output_value = SLOW_LAYERS, .inputs = &x,
                    .weights = weights, .nodes = nodes};
    char err[256];
    FILE *f = fopen(path, "wb");
    int rc = !f || opml_model_commit(&m, err, sizeof err) || opml_model_write(&m, f);
    if (f && fclose(f)) rc = 1;
    opml_model_free(&m); /* the value table commit made (the rest is this function's: m.file is NULL) */
    return rc ? -1 : 0;
}

struct job {
    struct cluster *cl;
    const uint8_t *root;
    const float *input;
    int rc;
    Opml__ExecutorRunReply *reply;
    char err[256];
};

static void *slow_call(void *arg) {
    struct job *j = arg;
    client c2;
    client_init(&c2, j->cl->client2_key); /* its own identity: its own sequence numbers */
    rpc *r = rpc_connect(c2.net, &c2.sg, j->cl->work, 0, j->err, sizeof j->err);
    j->rc = run_model(r, j->root, j->input, SLOW_ROWS * SLOW_K * 4, &j->reply, j->err, sizeof j->err);
    rpc_close(r);
    client_done(&c2);
    return NULL;
}

static void test_kill(void) {
    struct cluster cl;
    char model[256], input[256], err[512];
    cluster_start(&cl);
    snprintf(model, sizeof model, "%s/slow.opml", cl.h.dir);
    snprintf(input, sizeof input, "%s/slow.f32", cl.h.dir);
    CHECK_EQ_INT(write_slow_model(model), 0);
    static float x[SLOW_ROWS * SLOW_K];
    for (size_t i = 0; i < SLOW_ROWS * SLOW_K; i++) x[i] = (float)((int)(i * 7919 % 2001) - 1000) / 1000.0f;
    FILE *f = fopen(input, "wb");
    CHECK(f && fwrite(x, sizeof x, 1, f) == 1 && fclose(f) == 0);
    opml_model m;
    CHECK_EQ_INT(opml_model_load(model, &m, err, sizeof err), 0);

    start_executor(&cl, 0, "ref", model);
    wait_workers(&cl, 1);
    struct job j = {.cl = &cl, .root = m.root, .input = x};
    pthread_t t;
    pthread_create(&t, NULL, slow_call, &j);
    for (int i = 0; i < 200 && client_stat(&cl.c, cl.work, "in_flight") != 1; i++) msleep(20);
    CHECK_EQ_INT(client_stat(&cl.c, cl.work, "in_flight"), 1); /* executor 0 holds the job */
    start_executor(&cl, 1, "blas", NULL);
    wait_workers(&cl, 2);
    CHECK_EQ_INT(client_stat(&cl.c, cl.work, "completed"), 0); /* still mid-job */
    CHECK_EQ_INT(harness_stop(cl.e[0], SIGKILL, 5000), 128 + SIGKILL);
    cl.e[0] = 0;
    pthread_join(t, NULL);
    CHECK_EQ_INT(j.rc, 0);
    if (j.rc == 0) {
        cJSON *lines = opml_infer(model, input);
        CHECK(lines && cJSON_GetArraySize(lines) == 1);
        if (lines) check_same(j.reply, cJSON_GetArrayItem(lines, 0));
        CHECK(!strcmp(j.reply->backend, "blas"));
        cJSON_Delete(lines);
        protobuf_c_message_free_unpacked(&j.reply->base, NULL);
    } else {
        fprintf(stderr, "slow job failed: %s\n", j.err);
    }
    CHECK(client_stat(&cl.c, cl.work, "redispatched") >= 1);
    CHECK_EQ_INT(client_stat(&cl.c, cl.epeer[1], "model_loads_storage"), 1);
    opml_model_free(&m);
    cluster_stop(&cl);
}

int main(int argc, char **argv) {
    if (argc != 8 && !(argc == 9 && !strcmp(argv[7], "gen"))) {
        fprintf(stderr, "usage: test_executor BUS STORAGE EXECUTOR OPML MODELS_DIR FASHION_MNIST_DIR match|bad|storage|llama|kill\n"
                        "       test_executor BUS STORAGE EXECUTOR OPML MODELS_DIR FASHION_MNIST_DIR gen VMJUDGE\n");
        return 2;
    }
    bus_bin = argv[1], storage_bin = argv[2], exec_bin = argv[3], opml_bin = argv[4], models_dir = argv[5];
    fmnist_dir = argv[6], vmjudge_bin = argc == 9 ? argv[8] : NULL;
    int other_failed = 0;
    if (!strcmp(argv[7], "match")) test_match();
    else if (!strcmp(argv[7], "bad")) test_bad();
    else if (!strcmp(argv[7], "kill")) test_kill();
    else if (!strcmp(argv[7], "llama")) test_llama();
    else if (!strcmp(argv[7], "storage")) test_storage();
    else if (!strcmp(argv[7], "gen")) other_failed = test_gen();
    else return 2;
    return check_summary(argv[7]) || other_failed;
}
