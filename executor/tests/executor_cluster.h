/* executor_cluster.h: the cluster of test_executor (test_executor.c): opml-bus, opml-storage and
 * up to NE executors on loopback, and the calls its modes share (test_executor_gen.c's too). */
#ifndef OPML_EXECUTOR_CLUSTER_H
#define OPML_EXECUTOR_CLUSTER_H

#include "client.h"
#include "harness.h"

#define NE 2

extern const char *bus_bin, *storage_bin, *exec_bin, *opml_bin, *models_dir, *fmnist_dir, *vmjudge_bin;

struct cluster {
    harness h;
    char bus_key[256], st_key[256], client_key[256], client2_key[256], ekey[NE][256];
    char work[200], workers[200], ev_in[200], storage[200], elisten[NE][128], epeer[NE][200];
    char st_listen[64], db[128], client2_curve[65];
    identity eid[NE];
    pid_t bus, st, e[NE];
    client c;
};

void msleep(int ms);
/* A step the rest of the test cannot do without failed: stop every process, keep the directory. */
void cluster_abort(struct cluster *cl, const char *why);
void cluster_start(struct cluster *cl);
void cluster_stop(struct cluster *cl);
/* `opml convert` of a shared model file into out. */
void convert(struct cluster *cl, const char *onnx, const char *out);
/* Executor i with the given backend and, if not NULL, a model file to load. */
void start_executor(struct cluster *cl, int i, const char *backend, const char *model);
void wait_workers(struct cluster *cl, long n);
/* One call through rpc r; returns 0 or the error code, with the message in err. */
int call(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d, ProtobufCMessage **rep, char *err,
         size_t errlen);
/* The call is refused with this code and a message containing text. */
void expect_error(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d, int code, const char *text);
int test_gen(void); /* test_executor_gen.c: its failed checks (check.h counts per file) */

#endif
