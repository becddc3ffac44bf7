/* model.c: reading, checking, committing and writing opml model files (model.h). The parser
 * trusts nothing in the file: every count, offset, shape and reference is checked before use, and
 * each node's descriptor must pass its operator's own rules (kernel_check), so a model that loads
 * runs without shape surprises. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_file.h"

#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

#define HEADER_BYTES 32
#define WEIGHT_REC 36
#define NODE_REC (KD_BYTES + 4 + 4 * KD_MAX_OPERANDS)

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}
static void wr32be(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i);
}

unsigned opml_state_depth(uint32_t nin, uint32_t n) {
    uint64_t total = (uint64_t)nin + n;
    unsigned d = 0;
    while (((uint64_t)1 << d) < total) d++;
    return d;
}

void opml_node_leaf(const uint8_t desc_root[32], uint16_t input_mask, const uint8_t refs[KD_MAX_OPERANDS][32],
                    uint8_t out[32]) {
    keccak256_ctx c;
    uint8_t mask[2] = {(uint8_t)(input_mask >> 8), (uint8_t)input_mask};
    keccak256_init(&c);
    keccak256_update(&c, desc_root, 32);
    keccak256_update(&c, mask, 2);
    for (int j = 0; j < KD_MAX_OPERANDS; j++) keccak256_update(&c, refs[j], 32);
    keccak256_final(&c, out);
}

void opml_model_root(const uint8_t nodes_root[32], uint32_t nin, uint32_t n, uint32_t output_value, uint8_t depth,
                     uint32_t output_bytes, const uint32_t *input_bytes, uint8_t out[32]) {
    uint8_t head[49];
    memcpy(head, nodes_root, 32);
    wr32be(head + 32, nin);
    wr32be(head + 36, n);
    wr32be(head + 40, output_value);
    head[44] = depth;
    wr32be(head + 45, output_bytes);
    keccak256_ctx c;
    keccak256_init(&c);
    keccak256_update(&c, head, sizeof head);
    for (uint32_t i = 0; i < nin; i++) {
        uint8_t b[4];
        wr32be(b, input_bytes[i]);
        keccak256_update(&c, b, 4);
    }
    keccak256_final(&c, out);
}

int opml_graph_state(const uint8_t (*value_roots)[32], size_t count, unsigned depth, uint8_t out[32]) {
    return merkle_root(value_roots, count * 32, depth, out);
}

/* The model root over the committed nodes root and the byte lengths of the inputs and the output,
 * each of which must fit a VM slot (docs/vm.md). Returns 0 or -1 + err. */
static int commit_root(opml_model *m, const uint8_t nodes_root[32], char *err, size_t errlen) {
    uint32_t *input_bytes = malloc((size_t)m->nin * sizeof *input_bytes);
    if (!input_bytes) return opml_errf(err, errlen, "model: out of memory");
    for (uint32_t i = 0; i <= m->nin; i++) {
        const kd_tensor *t = i < m->nin ? &m->inputs[i] : &m->values[m->output_value];
        if (kd_nbytes(t) > MERKLE_SLOT_BYTES) {
            free(input_bytes);
            return opml_errf(err, errlen, "model: %s %u has %llu bytes, more than a VM slot holds",
                             i < m->nin ? "input" : "output value", i < m->nin ? i : m->output_value,
                             (unsigned long long)kd_nbytes(t));
        }
        if (i < m->nin) input_bytes[i] = (uint32_t)kd_nbytes(t);
    }
    opml_model_root(nodes_root, m->nin, m->n, m->output_value, (uint8_t)m->state_depth,
                    (uint32_t)kd_nbytes(&m->values[m->output_value]), input_bytes, m->root);
    free(input_bytes);
    return 0;
}

/* The checks shared by parse and commit: references, operand shapes, operator rules; then the
 * value shapes and, with roots, every root and the model root. Descriptors in node->desc must
 * already be set. */
static int commit(opml_model *m, int roots, char *err, size_t errlen) {
    if (m->nin < 1 || m->n < 1 || m->n > OPML_MAX_NODES || m->nweights > OPML_MAX_WEIGHTS)
        return opml_errf(err, errlen, "model: bad counts (inputs %u, nodes %u, weights %u)", m->nin, m->n, m->nweights);
    if (m->output_value >= m->nin + m->n)
        return opml_errf(err, errlen, "model: output value %u does not exist", m->output_value);
    free(m->values);
    m->values = calloc((size_t)m->nin + m->n, sizeof *m->values);
    uint8_t(*leaves)[32] = malloc((size_t)m->n * 32);
    if (!m->values || !leaves) {
        free(leaves);
        return opml_errf(err, errlen, "model: out of memory");
    }
    memcpy(m->values, m->inputs, m->nin * sizeof *m->inputs);
    m->has_roots = roots;
    for (uint32_t i = 0; roots && i < m->nweights; i++)
        merkle_tensor_root(m->weights[i].data, kd_nbytes(&m->weights[i].t), m->weights[i].root);
    for (uint32_t k = 0; k < m->n; k++) {
        opml_node *nd = &m->nodes[k];
        if (kd_decode(nd->desc, KD_BYTES, &nd->d)) goto bad_desc;
        const char *op = kernel_op_name(nd->d.op);
        if (!op) {
            free(leaves);
            return opml_errf(err, errlen, "model: node %u: unknown operator id %u", k, nd->d.op);
        }
        int r = kernel_check(&nd->d);
        if (r) {
            free(leaves);
            return opml_errf(err, errlen, "model: node %u (%s): %s (error %d)", k, op,
                             r == KD_EATTR ? "an attribute out of range, or an unused attribute slot not zero"
                                           : "operands or output inconsistent with the operator", r);
        }
        if (nd->input_mask >> KD_MAX_OPERANDS) goto bad_ref;
        uint8_t refs[KD_MAX_OPERANDS][32];
        for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) {
            uint32_t ref = nd->ref[j];
            int is_value = nd->input_mask >> j & 1;
            memset(refs[j], 0, 32);
            if (j >= nd->d.noperands) {
                if (is_value || ref != OPML_REF_NONE) goto bad_ref;
                memcpy(refs[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
            } else if (is_value) {
                if (ref >= m->nin + k) goto bad_ref;
                if (!kd_same(&m->values[ref], &nd->d.in[j])) {
                    free(leaves);
                    return opml_errf(err, errlen, "model: node %u (%s): operand %u does not match the shape of value %u", k, op, j, ref);
                }
                for (int b = 0; b < 4; b++) refs[j][28 + b] = (uint8_t)(ref >> (24 - 8 * b));
            } else {
                if (ref >= m->nweights) goto bad_ref;
                if (!kd_same(&m->weights[ref].t, &nd->d.in[j])) {
                    free(leaves);
                    return opml_errf(err, errlen, "model: node %u (%s): operand %u does not match weight %u", k, op, j, ref);
                }
                memcpy(refs[j], m->weights[ref].root, 32);
            }
        }
        m->values[m->nin + k] = nd->d.out;
        if (!roots) continue;
        merkle_tensor_root(nd->desc, KD_BYTES, nd->desc_root);
        opml_node_leaf(nd->desc_root, nd->input_mask, (const uint8_t(*)[32])refs, nd->leaf);
        memcpy(leaves[k], nd->leaf, 32);
        continue;
    bad_ref:
        free(leaves);
        return opml_errf(err, errlen, "model: node %u: bad operand reference", k);
    bad_desc:
        free(leaves);
        return opml_errf(err, errlen, "model: node %u: malformed descriptor", k);
    }
    m->state_depth = opml_state_depth(m->nin, m->n);
    memset(m->root, 0, 32);
    if (!roots) {
        free(leaves);
        return 0;
    }
    unsigned nd_depth = 0;
    while ((1ull << nd_depth) < m->n) nd_depth++;
    uint8_t nodes_root[32];
    merkle_root(leaves, (size_t)m->n * 32, nd_depth, nodes_root);
    free(leaves);
    return commit_root(m, nodes_root, err, errlen);
}

uint32_t opml_model_add_node(opml_model *m, unsigned op, kd_tensor out, unsigned nops, const uint32_t *ops) {
    opml_node *nd = &m->nodes[m->n];
    memset(nd, 0, sizeof *nd);
    nd->d.op = (uint16_t)op, nd->d.noperands = (uint8_t)nops, nd->d.out = out;
    for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) nd->ref[j] = OPML_REF_NONE;
    for (unsigned j = 0; j < nops; j++) {
        if (ops[j] & OPML_OPERAND_WEIGHT(0)) {
            nd->ref[j] = ops[j] & ~OPML_OPERAND_WEIGHT(0);
            nd->d.in[j] = m->weights[nd->ref[j]].t;
        } else {
            nd->ref[j] = ops[j];
            nd->input_mask |= (uint16_t)(1u << j);
            nd->d.in[j] = ops[j] < m->nin ? m->inputs[ops[j]] : m->nodes[ops[j] - m->nin].d.out;
        }
    }
    return m->nin + m->n++;
}

int opml_model_commit(opml_model *m, char *err, size_t errlen) {
    for (uint32_t k = 0; k < m->n; k++) kd_encode(&m->nodes[k].d, m->nodes[k].desc);
    return commit(m, 1, err, errlen);
}

int opml_model_check(opml_model *m, char *err, size_t errlen) {
    for (uint32_t k = 0; k < m->n; k++) kd_encode(&m->nodes[k].d, m->nodes[k].desc);
    return commit(m, 0, err, errlen);
}

static size_t tables_end(uint32_t nin, uint32_t nweights, uint32_t n) {
    size_t t = HEADER_BYTES + (size_t)nin * 28 + (size_t)nweights * WEIGHT_REC + (size_t)n * NODE_REC;
    return (t + 63) & ~(size_t)63;
}

/* The metadata section after the weights (docs/model-format.md): zero padding to a multiple of
 * 64, "OPMLMETA", u64 length L, then L bytes of a GGUF file without tensors; the file ends there. */
static int parse_meta(opml_model *m, size_t end, char *err, size_t errlen) {
    const uint8_t *buf = m->file;
    size_t len = m->file_len, at = (end + 63) & ~(size_t)63;
    if (end == len) return 0;
    for (size_t i = end; i < at && i < len; i++)
        if (buf[i]) return opml_errf(err, errlen, "model: %zu trailing bytes after the last weight", len - end);
    if (at > len || len - at < OPML_META_HEADER || memcmp(buf + at, OPML_META_MAGIC, 8))
        return opml_errf(err, errlen, "model: %zu trailing bytes after the last weight", len - end);
    uint64_t ml = rd64(buf + at + 8);
    if (ml != len - at - OPML_META_HEADER)
        return opml_errf(err, errlen, "model: metadata section of %llu bytes where the file has %zu",
                         (unsigned long long)ml, len - at - OPML_META_HEADER);
    gguf_file g;
    char why[300];
    if (gguf_parse(buf + at + OPML_META_HEADER, (size_t)ml, &g, why, sizeof why))
        return opml_errf(err, errlen, "model: metadata section: %s", why);
    uint64_t nt = g.n_tensors;
    gguf_close(&g);
    if (nt) return opml_errf(err, errlen, "model: metadata section holds %llu tensors (none allowed)", (unsigned long long)nt);
    m->meta = buf + at + OPML_META_HEADER, m->meta_len = (size_t)ml;
    return 0;
}

int opml_input_divisor_ok(float d) {
    uint32_t u;
    memcpy(&u, &d, 4);
    if (u == 0) return 1; /* +0: no IDX scaling */
    return d > 0 && d <= FLT_MAX && 255.0f / d <= FLT_MAX; /* NaN, -0, negatives, Inf and tiny ones fail */
}

/* Every byte before `end` (where the last weight ends) that no table and no weight covers is zero:
 * the padding after the tables and between weights (the weights lie in order, parse_bytes; the
 * padding before a metadata section is parse_meta's). */
static int zero_padding(const opml_model *m, size_t end) {
    size_t at = HEADER_BYTES + (size_t)m->nin * 28 + (size_t)m->nweights * WEIGHT_REC + (size_t)m->n * NODE_REC;
    for (uint32_t i = 0; i <= m->nweights; i++) {
        size_t next = i < m->nweights ? (size_t)(m->weights[i].data - m->file) : end;
        for (; at < next; at++)
            if (m->file[at]) return 0;
        if (i < m->nweights) at = next + kd_nbytes(&m->weights[i].t);
    }
    return 1;
}

/* Parse the len bytes at buf, which the model refers to (m->file) from then on; on failure
 * m->file is NULL again and the caller still owns buf. */
static int parse_bytes(uint8_t *buf, size_t len, opml_model *m, unsigned flags, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    if (len < HEADER_BYTES || memcmp(buf, OPML_MODEL_MAGIC, 8))
        return opml_errf(err, errlen, "model: not an opml model file (bad magic)");
    m->nin = rd32(buf + 8), m->n = rd32(buf + 12), m->nweights = rd32(buf + 16), m->output_value = rd32(buf + 20);
    uint32_t u = rd32(buf + 24);
    memcpy(&m->input_divisor, &u, 4);
    if (rd32(buf + 28) || m->nin > 4096 || m->n > OPML_MAX_NODES || m->nweights > OPML_MAX_WEIGHTS)
        return opml_errf(err, errlen, "model: bad header");
    if (!opml_input_divisor_ok(m->input_divisor))
        return opml_errf(err, errlen, "model: bad input divisor %g (0, or positive with 255 / divisor finite)",
                         (double)m->input_divisor);
    size_t blob = tables_end(m->nin, m->nweights, m->n);
    if (blob > len) return opml_errf(err, errlen, "model: file truncated (%zu bytes, tables need %zu)", len, blob);
    m->file = buf;
    m->file_len = len;
    m->inputs = calloc(m->nin + 1, sizeof *m->inputs);
    m->weights = calloc(m->nweights + 1, sizeof *m->weights);
    m->nodes = calloc(m->n + 1, sizeof *m->nodes);
    if (!m->inputs || !m->weights || !m->nodes) {
        opml_errf(err, errlen, "model: out of memory");
        goto fail;
    }
    const uint8_t *p = m->file + HEADER_BYTES;
    for (uint32_t i = 0; i < m->nin; i++, p += 28)
        if (kd_decode_tensor(p, &m->inputs[i]) || m->inputs[i].dtype == KD_NONE) {
            opml_errf(err, errlen, "model: input %u: bad tensor record", i);
            goto fail;
        }
    /* weights in order, each at the first multiple of 64 after the previous one's bytes: the one
     * layout the writer produces, so no weight overlaps another */
    size_t end = blob;
    uint64_t want_off = 0;
    for (uint32_t i = 0; i < m->nweights; i++, p += WEIGHT_REC) {
        opml_weight *w = &m->weights[i];
        uint64_t off = rd64(p + 28);
        if (kd_decode_tensor(p, &w->t) || w->t.dtype == KD_NONE || off > len - blob ||
            kd_nbytes(&w->t) > len - blob - off) {
            opml_errf(err, errlen, "model: weight %u: bad record or data outside the file", i);
            goto fail;
        }
        if (off != want_off) {
            opml_errf(err, errlen, "model: weight %u: offset %llu, the layout puts it at %llu", i,
                      (unsigned long long)off, (unsigned long long)want_off);
            goto fail;
        }
        w->data = m->file + blob + off;
        end = blob + off + kd_nbytes(&w->t);
        want_off = (off + kd_nbytes(&w->t) + 63) & ~(uint64_t)63;
    }
    for (uint32_t k = 0; k < m->n; k++, p += NODE_REC) {
        opml_node *nd = &m->nodes[k];
        memcpy(nd->desc, p, KD_BYTES);
        nd->input_mask = (uint16_t)(p[KD_BYTES] | p[KD_BYTES + 1] << 8);
        if (p[KD_BYTES + 2] || p[KD_BYTES + 3]) nd->input_mask = 0xFFFF; /* rejected by commit */
        for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) nd->ref[j] = rd32(p + KD_BYTES + 4 + 4 * j);
    }
    if (!zero_padding(m, end)) {
        opml_errf(err, errlen, "model: non-zero padding bytes");
        goto fail;
    }
    if (parse_meta(m, end, err, errlen) || commit(m, !(flags & OPML_MODEL_NO_ROOTS), err, errlen)) goto fail;
    return 0;
fail:
    m->file = NULL; /* the caller's */
    free(m->inputs), free(m->weights), free(m->nodes), free(m->values);
    memset(m, 0, sizeof *m);
    return -1;
}

uint8_t *opml_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, got;
    int bad = 0;
    *len = 0;
    do {
        if (*len == cap) {
            uint8_t *nb = realloc(buf, cap = cap ? 2 * cap : 1 << 16);
            if (!nb) {
                bad = 1;
                break;
            }
            buf = nb;
        }
        got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
    } while (got > 0);
    int e = bad ? ENOMEM : ferror(f) ? errno : 0; /* reading a directory fails here: EISDIR */
    fclose(f);
    if (e) {
        free(buf);
        errno = e;
        return NULL;
    }
    return buf;
}

int opml_model_parse(const uint8_t *buf, size_t len, opml_model *m, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return opml_errf(err, errlen, "model: out of memory");
    memcpy(copy, buf, len);
    if (parse_bytes(copy, len, m, 0, err, errlen)) {
        free(copy);
        return -1;
    }
    return 0;
}

int opml_model_load(const char *path, opml_model *m, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    size_t len;
    uint8_t *buf = opml_read_file(path, &len);
    if (!buf) return opml_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    char inner[400];
    if (parse_bytes(buf, len, m, 0, inner, sizeof inner)) {
        free(buf);
        return opml_errf(err, errlen, "%s: %s", path, inner);
    }
    return 0;
}

int opml_model_map(const char *path, unsigned flags, opml_model *m, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int failed = fd < 0 || fstat(fd, &st);
    if (failed || st.st_size <= 0) {
        const char *why = failed ? strerror(errno) : "the file is empty";
        if (fd >= 0) close(fd);
        return opml_errf(err, errlen, "%s: cannot read: %s", path, why);
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0); /* pages mapped now, not at first use */
    close(fd);
    if (map == MAP_FAILED) return opml_errf(err, errlen, "%s: cannot map %zu bytes", path, len);
    char inner[400];
    if (parse_bytes(map, len, m, flags, inner, sizeof inner)) {
        munmap(map, len);
        return opml_errf(err, errlen, "%s: %s", path, inner);
    }
    m->mapped = 1;
    return 0;
}

void opml_model_free(opml_model *m) {
    if (m->file) { /* parsed: everything is ours */
        free(m->inputs);
        free(m->weights);
        free(m->nodes);
        if (m->mapped) munmap(m->file, m->file_len);
        else free(m->file);
    }
    free(m->values);
    memset(m, 0, sizeof *m);
}

int opml_model_meta(const opml_model *m, gguf_file *g, char *err, size_t errlen) {
    if (!m->meta) {
        memset(g, 0, sizeof *g);
        return opml_errf(err, errlen, "model: no metadata section");
    }
    return gguf_parse(m->meta, m->meta_len, g, err, errlen);
}

int opml_model_write(const opml_model *m, FILE *f) { return opml_model_write_with(m, f, NULL, NULL); }

int opml_model_write_with(const opml_model *m, FILE *f, opml_fill_fn fill, void *user) {
    uint8_t hdr[HEADER_BYTES] = {0}, rec[NODE_REC];
    memcpy(hdr, OPML_MODEL_MAGIC, 8);
    wr32(hdr + 8, m->nin), wr32(hdr + 12, m->n), wr32(hdr + 16, m->nweights), wr32(hdr + 20, m->output_value);
    uint32_t u;
    memcpy(&u, &m->input_divisor, 4);
    wr32(hdr + 24, u);
    if (fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr) return -1;
    for (uint32_t i = 0; i < m->nin; i++) {
        kd_encode_tensor(rec, &m->inputs[i]);
        if (fwrite(rec, 1, 28, f) != 28) return -1;
    }
    uint64_t off = 0;
    for (uint32_t i = 0; i < m->nweights; i++) {
        kd_encode_tensor(rec, &m->weights[i].t);
        wr64(rec + 28, off);
        if (fwrite(rec, 1, WEIGHT_REC, f) != WEIGHT_REC) return -1;
        off = (off + kd_nbytes(&m->weights[i].t) + 63) & ~(uint64_t)63;
    }
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        memcpy(rec, nd->desc, KD_BYTES);
        rec[KD_BYTES] = (uint8_t)nd->input_mask, rec[KD_BYTES + 1] = (uint8_t)(nd->input_mask >> 8);
        rec[KD_BYTES + 2] = rec[KD_BYTES + 3] = 0;
        for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) wr32(rec + KD_BYTES + 4 + 4 * j, nd->ref[j]);
        if (fwrite(rec, 1, NODE_REC, f) != NODE_REC) return -1;
    }
    static const uint8_t zeros[64];
    size_t at = HEADER_BYTES + (size_t)m->nin * 28 + (size_t)m->nweights * WEIGHT_REC + (size_t)m->n * NODE_REC;
    size_t blob = tables_end(m->nin, m->nweights, m->n);
    if (fwrite(zeros, 1, blob - at, f) != blob - at) return -1;
    for (uint32_t i = 0; i < m->nweights; i++) {
        size_t nb = kd_nbytes(&m->weights[i].t);
        const uint8_t *data = m->weights[i].data;
        uint8_t *made = NULL;
        if (!data && nb) { /* made now by the caller */
            if (!fill || !(made = malloc(nb)) || fill(user, i, made)) {
                free(made);
                return -1;
            }
            data = made;
        }
        size_t put = nb ? fwrite(data, 1, nb, f) : 0;
        free(made);
        if (put != nb) return -1;
        size_t pad = i + 1 < m->nweights || m->meta ? ((nb + 63) & ~(size_t)63) - nb : 0;
        if (pad && fwrite(zeros, 1, pad, f) != pad) return -1;
    }
    if (m->meta) {
        uint8_t mh[OPML_META_HEADER];
        memcpy(mh, OPML_META_MAGIC, 8);
        wr64(mh + 8, m->meta_len);
        if (fwrite(mh, 1, sizeof mh, f) != sizeof mh || fwrite(m->meta, 1, m->meta_len, f) != m->meta_len) return -1;
    }
    return fflush(f) ? -1 : 0;
}

const char *opml_dtype_name(unsigned dtype) {
    switch (dtype) {
    case KD_F32: return "float32";
    case KD_I8: return "int8";
    case KD_I32: return "int32";
    case KD_Q8_0: return "Q8_0";
    case KD_I64: return "int64";
    case KD_BOOL: return "bool";
    default: return "an unknown type";
    }
}

double opml_value_at(const void *bytes, unsigned dtype, size_t i) {
    const uint8_t *b = bytes;
    switch (dtype) {
    case KD_F32: {
        float f;
        memcpy(&f, b + 4 * i, 4);
        return f;
    }
    case KD_I32: {
        int32_t v;
        memcpy(&v, b + 4 * i, 4);
        return v;
    }
    case KD_I64: {
        int64_t v;
        memcpy(&v, b + 8 * i, 8);
        return (double)v;
    }
    case KD_I8: return (int8_t)b[i];
    default: return b[i] != 0; /* KD_BOOL */
    }
}
