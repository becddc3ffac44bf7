/* engine.c: the graph runner and its commitments (engine.h). */
#include "engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

/* ---- commitments ----
 * The plan: every value is cut into items of at most OPML_CHUNK_BYTES (a value of one item is
 * hashed at its own height, the items of a larger one are subtrees of height CHUNK_HEIGHT); a
 * Reshape of a value keeps its operand's root and has no items. During a run, `published` counts
 * the items whose bytes are final; the helper thread and, after the last node, the caller's thread
 * claim items by incrementing `next` and count them in `done`. Once all are done the caller folds
 * the item roots into value roots and computes every State_s. */
#define CHUNK_HEIGHT 8 /* 2^8 leaves of 32 bytes = OPML_CHUNK_BYTES */

typedef struct commit_item {
    uint32_t v;
    unsigned height;
    size_t off, len;
} commit_item;

typedef struct opml_commit {
    const opml_run *r;
    commit_item *items;
    size_t nitems;
    size_t *first;          /* per value: its first item; first[nv] = nitems */
    int *alias;             /* per value: the value whose root it takes (a Reshape), else -1 */
    uint8_t (*node)[32];    /* item roots: value v's at node[first[v] + v ..], one spare for the fold */
    uint8_t (*path)[32];    /* path[s * (D + 1) + h]: State_s's node at height h on its newest leaf's path */
    uint8_t (*inner)[32];   /* inner[h * nin + c]: a complete subtree of the inputs alone */
    const uint8_t **pl, **pr;
    uint8_t **po;
    _Atomic size_t published, next, done;
    _Atomic int active, busy, sleeping;
    int failed; /* an item's root could not be computed (only on a broken precondition) */
    pthread_t helper;
    int has_helper, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} opml_commit;

/* Claim and hash items until none is published; returns whether one was hashed. */
static int hash_some(opml_commit *c) {
    int any = 0;
    for (;;) {
        size_t i = atomic_load(&c->next);
        if (i >= atomic_load(&c->published)) return any;
        if (!atomic_compare_exchange_weak(&c->next, &i, i + 1)) continue;
        const commit_item *it = &c->items[i];
        if (opml_chunk_root(c->r->values[it->v] + it->off, it->len, it->height, c->node[i + it->v])) c->failed = 1;
        atomic_fetch_add(&c->done, 1);
        any = 1;
    }
}

/* The helper thread: hashes published items and sleeps when there are none (never spins: on a
 * busy machine a spinning helper would take the core the inference needs). */
static void *helper_main(void *arg) {
    opml_commit *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        /* sleeping is raised before the last look at the counters: a publisher that stores
         * `published` and then reads sleeping == 0 knows this look will see its items */
        atomic_store(&c->sleeping, 1);
        if (c->quit) break;
        if (atomic_load(&c->active) && atomic_load(&c->next) < atomic_load(&c->published)) {
            atomic_store(&c->sleeping, 0);
            atomic_store(&c->busy, 1); /* the caller resets the counters of a run only when 0 */
            pthread_mutex_unlock(&c->mu);
            hash_some(c);
            atomic_store(&c->busy, 0);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Wake the helper if it sleeps (after new items were published or a run started). */
static void wake_helper(opml_commit *c) {
    if (!c->has_helper || !atomic_load(&c->sleeping)) return;
    pthread_mutex_lock(&c->mu);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void commit_free(opml_commit *c) {
    if (!c) return;
    if (c->has_helper) {
        pthread_mutex_lock(&c->mu);
        c->quit = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->helper, NULL);
        pthread_mutex_destroy(&c->mu), pthread_cond_destroy(&c->cv);
    }
    free(c->items), free(c->first), free(c->alias), free(c->node), free(c->path), free(c->inner);
    free(c->pl), free(c->pr), free(c->po), free(c);
}

static opml_commit *commit_new(const opml_run *r) {
    const opml_model *m = r->m;
    size_t nv = (size_t)m->nin + m->n, states = (size_t)m->n + 1, d = m->state_depth;
    opml_commit *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->first = calloc(nv + 1, sizeof *c->first);
    c->alias = calloc(nv, sizeof *c->alias);
    if (!c->first || !c->alias) goto oom;
    for (size_t v = 0; v < nv; v++) {
        const opml_node *nd = v >= m->nin ? &m->nodes[v - m->nin] : NULL;
        /* a tensor root ignores the shape: a Reshape's output has its operand's root */
        c->alias[v] = nd && nd->d.op == OP_RESHAPE && (nd->input_mask & 1) ? (int)nd->ref[0] : -1;
        size_t bytes = c->alias[v] >= 0 || r->given[v] ? 0 : (size_t)kd_nbytes(&m->values[v]);
        c->first[v + 1] = c->first[v] + (bytes + OPML_CHUNK_BYTES - 1) / OPML_CHUNK_BYTES;
    }
    c->nitems = c->first[nv];
    c->items = calloc(c->nitems + 1, sizeof *c->items);
    c->node = calloc(c->nitems + nv, 32);
    c->path = calloc(states * (d + 1), 32);
    c->inner = calloc((d + 1) * m->nin, 32);
    c->pl = calloc(states, sizeof *c->pl), c->pr = calloc(states, sizeof *c->pr), c->po = calloc(states, sizeof *c->po);
    if (!c->items || !c->node || !c->path || !c->inner || !c->pl || !c->pr || !c->po) goto oom;
    for (size_t v = 0; v < nv; v++) {
        size_t bytes = (size_t)kd_nbytes(&m->values[v]), n = c->first[v + 1] - c->first[v];
        if (r->given[v]) continue;
        unsigned own = 0; /* the height of the smallest subtree holding the value */
        while (((size_t)32 << own) < bytes) own++;
        for (size_t j = 0; j < n; j++) {
            commit_item *it = &c->items[c->first[v] + j];
            it->v = (uint32_t)v, it->off = j * OPML_CHUNK_BYTES, it->height = n == 1 ? own : CHUNK_HEIGHT;
            it->len = bytes - it->off < OPML_CHUNK_BYTES ? bytes - it->off : OPML_CHUNK_BYTES;
        }
    }
    if (pthread_mutex_init(&c->mu, NULL)) goto oom;
    if (pthread_cond_init(&c->cv, NULL)) {
        pthread_mutex_destroy(&c->mu);
        goto oom;
    }
    /* without a helper the caller hashes everything after the last node */
    c->has_helper = pthread_create(&c->helper, NULL, helper_main, c) == 0;
    if (!c->has_helper) pthread_mutex_destroy(&c->mu), pthread_cond_destroy(&c->cv);
    return c;
oom:
    commit_free(c);
    return NULL;
}

static void commit_start(opml_commit *c, const opml_run *r) {
    while (atomic_load(&c->busy)) __builtin_ia32_pause(); /* the helper has left the last run */
    atomic_store(&c->published, 0);
    atomic_store(&c->next, 0);
    atomic_store(&c->done, 0);
    c->failed = 0;
    c->r = r; /* the run may have been moved since the last one */
    atomic_store(&c->active, 1);
}

/* Values below v are final: their items may be hashed. */
static void commit_publish(opml_commit *c, size_t v) {
    if (c->first[v] == atomic_load(&c->published)) return;
    atomic_store(&c->published, c->first[v]);
    wake_helper(c);
}

/* The node of State_s's tree at height h, index i (s's newest leaf is nin - 1 + s); a subtree
 * complete in State_s is final: the path node of the state that completed it, or of the inputs. */
static const uint8_t *state_node(const opml_run *r, size_t s, unsigned h, size_t i) {
    const opml_commit *c = r->commit;
    size_t nin = r->m->nin, last = nin - 1 + s, lo = i << h, hi = ((i + 1) << h) - 1;
    if (lo > last) return merkle_zero(h);
    if (h == 0) return r->roots[i];
    if (hi < nin) return c->inner[h * nin + i];
    if (hi <= last) return c->path[(hi - (nin - 1)) * (r->m->state_depth + 1) + h];
    return c->path[s * (r->m->state_depth + 1) + h];
}

/* Every value root from its item roots, then State_0 .. State_n, each level of all states
 * hashed together. Returns 0 or -1 (out of memory). */
static int commit_finish(opml_run *r) {
    opml_commit *c = r->commit;
    const opml_model *m = r->m;
    size_t nv = (size_t)m->nin + m->n, nt = 0, nin = m->nin, d = m->state_depth;
    uint8_t **nodes = malloc(nv * sizeof *nodes);
    size_t *count = malloc(nv * sizeof *count), *which = malloc(nv * sizeof *which);
    unsigned *height = malloc(nv * sizeof *height);
    uint8_t(*roots)[32] = malloc(nv * 32);
    int rc = -1;
    if (!nodes || !count || !which || !height || !roots) goto out;
    for (size_t v = 0; v < nv; v++) {
        if (c->alias[v] >= 0 || r->given[v]) continue; /* given roots are in r->roots already */
        size_t f = c->first[v];
        nodes[nt] = c->node[f + v], count[nt] = c->first[v + 1] - f;
        height[nt] = count[nt] ? c->items[f].height : 0, which[nt++] = v;
    }
    if (opml_fold_roots(nt, nodes, count, height, roots)) goto out;
    for (size_t t = 0; t < nt; t++) memcpy(r->roots[which[t]], roots[t], 32);
    for (size_t v = 0; v < nv; v++)
        if (c->alias[v] >= 0) memcpy(r->roots[v], r->roots[c->alias[v]], 32);
    /* complete subtrees of the inputs alone (few: models have few inputs) */
    for (unsigned h = 1; h <= d; h++)
        for (size_t i = 0; ((i + 1) << h) <= nin; i++)
            keccak256_pair(h == 1 ? r->roots[2 * i] : c->inner[(h - 1) * nin + 2 * i],
                           h == 1 ? r->roots[2 * i + 1] : c->inner[(h - 1) * nin + 2 * i + 1], c->inner[h * nin + i]);
    for (unsigned h = 1; h <= d; h++) {
        for (size_t s = 0; s <= m->n; s++) {
            size_t i = (nin - 1 + s) >> h;
            c->pl[s] = state_node(r, s, h - 1, 2 * i), c->pr[s] = state_node(r, s, h - 1, 2 * i + 1);
            c->po[s] = c->path[s * (d + 1) + h];
        }
        opml_hash_pairs((size_t)m->n + 1, c->pl, c->pr, c->po);
    }
    for (size_t s = 0; s <= m->n; s++) memcpy(r->states[s], d ? c->path[s * (d + 1) + d] : r->roots[0], 32);
    rc = 0;
out:
    free(nodes), free(count), free(which), free(height), free(roots);
    return rc;
}

/* After the last node: hash what is left, wait for the helper's last item, finish. */
static int commit_end(opml_run *r, int ok) {
    opml_commit *c = r->commit;
    commit_publish(c, (size_t)r->m->nin + r->m->n);
    if (!ok) atomic_store(&c->next, c->nitems), atomic_store(&c->done, c->nitems); /* nothing more to claim */
    while (atomic_load(&c->done) < c->nitems)
        if (!hash_some(c)) __builtin_ia32_pause();
    atomic_store(&c->active, 0);
    if (ok && r->fill) r->fill(r->fill_user, r);
    return ok && !c->failed ? commit_finish(r) : -1;
}

int opml_run_init(opml_run *r, const opml_model *m, opml_backend *b, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->backend = b;
    size_t nv = (size_t)m->nin + m->n;
    r->values = calloc(nv, sizeof *r->values);
    r->roots = calloc(nv, 32);
    r->states = calloc((size_t)m->n + 1, 32);
    r->cache = calloc(m->n, sizeof *r->cache);
    r->bound = calloc(nv, 1), r->given = calloc(nv, 1);
    if (!r->values || !r->roots || !r->states || !r->cache || !r->bound || !r->given) goto oom;
    for (size_t v = 0; v < nv; v++) {
        size_t nb = (size_t)kd_nbytes(&m->values[v]);
        r->values[v] = aligned_alloc(64, (nb + 63) & ~(size_t)63 ? (nb + 63) & ~(size_t)63 : 64);
        if (!r->values[v]) goto oom;
    }
    for (uint32_t k = 0; k < m->n; k++) {
        size_t s = kernel_scratch_size(&m->nodes[k].d);
        if (s > r->scratch_len) r->scratch_len = s;
    }
    r->scratch = malloc(r->scratch_len ? r->scratch_len : 1);
    if (!r->scratch) goto oom;
    return 0;
oom:
    opml_run_free(r);
    return opml_errf(err, errlen, "engine: out of memory for model buffers");
}

int opml_run_bind(opml_run *r, uint32_t v, void *buf) {
    if (v >= r->m->nin + r->m->n) return -1;
    if (!r->bound[v]) free(r->values[v]);
    r->values[v] = buf, r->bound[v] = 1;
    return 0;
}

int opml_run_given(opml_run *r, const uint32_t *values, size_t count, opml_roots_fn fill, void *user) {
    if (r->commit) return -1; /* the hashing plan is made on the first committed run */
    for (size_t i = 0; i < count; i++)
        if (values[i] >= r->m->nin + r->m->n) return -1;
    for (size_t i = 0; i < count; i++) r->given[values[i]] = 1;
    r->fill = fill, r->fill_user = user;
    return 0;
}

void opml_run_free(opml_run *r) {
    commit_free(r->commit);
    if (r->values)
        for (size_t v = 0; v < (size_t)r->m->nin + r->m->n; v++)
            if (!r->bound || !r->bound[v]) free(r->values[v]);
    if (r->cache && r->backend->ops->release)
        for (uint32_t k = 0; k < r->m->n; k++)
            if (r->cache[k]) r->backend->ops->release(r->backend, r->cache[k]);
    free(r->values), free(r->roots), free(r->states), free(r->cache), free(r->scratch), free(r->bound), free(r->given);
    memset(r, 0, sizeof *r);
}

int opml_run_exec(opml_run *r, const void *const *inputs, const size_t *input_len, int commit, char *err,
                  size_t errlen) {
    const opml_model *m = r->m;
    for (uint32_t i = 0; i < m->nin; i++) {
        size_t want = (size_t)kd_nbytes(&m->inputs[i]);
        if (input_len[i] != want)
            return opml_errf(err, errlen, "input %u: %zu bytes given, the model expects %zu (%llu values)", i, input_len[i],
                        want, (unsigned long long)kd_numel(&m->inputs[i]));
        if (inputs[i] != r->values[i]) memcpy(r->values[i], inputs[i], want);
    }
    if (commit) {
        if (!r->commit && !(r->commit = commit_new(r))) return opml_errf(err, errlen, "engine: out of memory for commitments");
        commit_start(r->commit, r);
        commit_publish(r->commit, m->nin);
    }
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        const void *in[KD_MAX_OPERANDS] = {0};
        for (unsigned j = 0; j < nd->d.noperands; j++)
            in[j] = nd->input_mask >> j & 1 ? (const void *)r->values[nd->ref[j]] : (const void *)m->weights[nd->ref[j]].data;
        uint32_t v = m->nin + k;
        int rc = r->backend->ops->run(r->backend, &nd->d, in, r->values[v], r->scratch, r->scratch_len, &r->cache[k]);
        if (rc) {
            if (commit) commit_end(r, 0);
            return opml_errf(err, errlen, "node %u (%s) failed on backend %s (error %d)", k, kernel_op_name(nd->d.op),
                        r->backend->ops->name, rc);
        }
        if (commit) commit_publish(r->commit, (size_t)v + 1);
    }
    if (commit && commit_end(r, 1)) return opml_errf(err, errlen, "engine: commitments failed (out of memory)");
    return 0;
}

const float *opml_run_output(const opml_run *r, size_t *nbytes) {
    *nbytes = (size_t)kd_nbytes(&r->m->values[r->m->output_value]);
    return (const float *)r->values[r->m->output_value];
}
