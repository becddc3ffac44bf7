/* The model file and its commitments: a two-node model written and parsed back gives the same
 * model root, which equals the root recomputed here by hand from docs/commitments.md (418-byte
 * node leaves, a 53-byte model root preimage: 49 + 4 per input); every truncation of the file and
 * corrupt tables are rejected with a message, never a crash; graph states fill leaf by leaf; the
 * metadata section (a GGUF of key/values after the weights) round-trips, is not covered by the
 * model root, and every malformed section is refused; a mapped file parses in place, with or
 * without roots. */
#include "check.h"
#include "gguf_build.h"
#include "gguf_file.h"
#include "keccak.h"
#include "merkle.h"
#include "model.h"

#include <stdlib.h>
#include <unistd.h>

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, 0, 0, 0, 0}};
    return t;
}

/* m with a metadata section written and parsed back (mapped from a file) */
static void test_meta(opml_model *m) {
    gb g = {0};
    gb_header(&g, 3, 0, 2);
    gb_kv_str(&g, "general.architecture", "llama");
    gb_kv_u32(&g, "llama.block_count", 2);
    m->meta = g.p, m->meta_len = g.n;
    char *buf = NULL, err[300], path[] = "/tmp/opml-test-model-XXXXXX";
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ_INT(opml_model_write(m, f), 0);
    fclose(f);
    m->meta = NULL, m->meta_len = 0;
    opml_model p;
    CHECK_EQ_INT(opml_model_parse((uint8_t *)buf, len, &p, err, sizeof err), 0);
    CHECK_MEM(p.root, m->root, 32); /* not covered by the root */
    CHECK_EQ_INT(p.meta_len, g.n);
    gguf_file gf;
    uint64_t blocks = 0;
    CHECK_EQ_INT(opml_model_meta(&p, &gf, err, sizeof err), 0);
    CHECK_EQ_INT(gguf_get_uint(&gf, "llama.block_count", 100, &blocks, err, sizeof err), 0);
    CHECK_EQ_INT(blocks, 2);
    gguf_close(&gf);
    opml_model_free(&p);
    /* mapped in place, with and without roots */
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
    close(fd);
    CHECK_EQ_INT(opml_model_map(path, 0, &p, err, sizeof err), 0);
    CHECK_MEM(p.root, m->root, 32);
    CHECK(p.mapped && p.has_roots && p.meta != NULL);
    opml_model_free(&p);
    CHECK_EQ_INT(opml_model_map(path, OPML_MODEL_NO_ROOTS, &p, err, sizeof err), 0);
    CHECK(!p.has_roots && p.values && p.values[p.output_value].rank == 2);
    CHECK_MEM(p.weights[0].data, m->weights[0].data, 8);
    opml_model_free(&p);
    unlink(path);
    CHECK(opml_model_map(path, 0, &p, err, sizeof err) == -1 && strstr(err, "cannot read: No such file"));
    FILE *empty = fopen(path, "wb"); /* a file being written by another process can still be empty */
    CHECK(empty && fclose(empty) == 0);
    CHECK(opml_model_map(path, 0, &p, err, sizeof err) == -1 && strstr(err, "cannot read: the file is empty"));
    unlink(path);
    /* malformed sections: each refused with a message naming the section or the trailing bytes */
    size_t at = len - g.n - OPML_META_HEADER;
    struct { size_t off; uint8_t xor; const char *why; } bad[] = {
        {at, 1, "trailing"}, {at + 8, 1, "metadata section of"}, {at + 8 + 7, 0x80, "metadata section of"},
        {at + OPML_META_HEADER, 1, "metadata section:"}, {at + OPML_META_HEADER + 4, 7, "metadata section:"},
        {at - 1, 5, "trailing"}};
    uint8_t *c = malloc(len);
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        memcpy(c, buf, len);
        c[bad[i].off] ^= bad[i].xor;
        int r = opml_model_parse(c, len, &p, err, sizeof err);
        CHECK(r == -1 && strstr(err, bad[i].why));
        if (r == 0) opml_model_free(&p);
        else if (!strstr(err, bad[i].why)) fprintf(stderr, "section corruption %u: %s\n", i, err);
    }
    for (size_t l = at; l < len; l++) CHECK_EQ_INT(opml_model_parse((uint8_t *)buf, l, &p, err, sizeof err), -1);
    free(c);
    /* a section holding a tensor */
    gb t = {0};
    uint64_t ne[1] = {4};
    gb_header(&t, 3, 1, 0);
    gb_tensor(&t, "x", 1, ne, 0, 0);
    gb_pad(&t, 32);
    gb_bytes(&t, "0123456789abcdef", 16);
    m->meta = t.p, m->meta_len = t.n;
    free(buf);
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(opml_model_write(m, f), 0);
    fclose(f);
    m->meta = NULL, m->meta_len = 0;
    CHECK(opml_model_parse((uint8_t *)buf, len, &p, err, sizeof err) == -1 && strstr(err, "tensors"));
    free(buf);
    gb_free(&g), gb_free(&t);
}

int main(void) {
    int8_t w[8] = {1, -2, 3, -4, 5, -6, 7, -127};
    float scale[2] = {0.5f, 0.25f}, bias[2] = {1.0f, -1.0f};
    kd_tensor inputs[1] = {T(KD_F32, 2, 1, 4)};
    opml_weight weights[3] = {{T(KD_I8, 2, 2, 4), (const uint8_t *)w, {0}},
                              {T(KD_F32, 1, 2, 0), (const uint8_t *)scale, {0}},
                              {T(KD_F32, 1, 2, 0), (const uint8_t *)bias, {0}}};
    opml_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    nodes[0].d.op = OP_QLINEAR, nodes[0].d.noperands = 4;
    nodes[0].d.out = T(KD_F32, 2, 1, 2);
    nodes[0].d.in[0] = inputs[0], nodes[0].d.in[1] = weights[0].t, nodes[0].d.in[2] = weights[1].t,
    nodes[0].d.in[3] = weights[2].t;
    nodes[0].input_mask = 1;
    uint32_t refs0[12] = {0, 0, 1, 2};
    nodes[1].d.op = OP_RELU, nodes[1].d.noperands = 1;
    nodes[1].d.out = nodes[1].d.in[0] = T(KD_F32, 2, 1, 2);
    nodes[1].input_mask = 1;
    for (int j = 0; j < 12; j++) {
        nodes[0].ref[j] = j < 4 ? refs0[j] : OPML_REF_NONE;
        nodes[1].ref[j] = j < 1 ? 1 : OPML_REF_NONE;
    }
    opml_model m = {.nin = 1, .n = 2, .nweights = 3, .output_value = 2, .input_divisor = 255.0f,
                    .inputs = inputs, .weights = weights, .nodes = nodes};
    char err[256];
    CHECK_EQ_INT(opml_model_commit(&m, err, sizeof err), 0);
    CHECK_EQ_INT(m.state_depth, 2);

    /* the model root by hand */
    uint8_t leaf[2][32], pre[418], nodes_root[32], root_pre[53], want[32];
    for (int k = 0; k < 2; k++) {
        uint8_t droot[32], desc[KD_BYTES];
        kd_encode(&nodes[k].d, desc);
        merkle_tensor_root(desc, KD_BYTES, droot);
        memcpy(pre, droot, 32);
        pre[32] = 0, pre[33] = 1;
        for (int j = 0; j < 12; j++) {
            uint8_t *r = pre + 34 + 32 * j;
            memset(r, 0, 32);
            if (j == 0) r[31] = k == 0 ? 0 : 1;
            else if (k == 0 && j < 4) merkle_tensor_root(weights[j - 1].data, kd_nbytes(&weights[j - 1].t), r);
            else memcpy(r, merkle_zero(23), 32);
        }
        keccak256(pre, sizeof pre, leaf[k]);
        CHECK_MEM(leaf[k], nodes[k].leaf, 32);
    }
    keccak256_pair(leaf[0], leaf[1], nodes_root);
    memcpy(root_pre, nodes_root, 32);
    memset(root_pre + 32, 0, 21);
    root_pre[35] = 1, root_pre[39] = 2, root_pre[43] = 2, root_pre[44] = 2; /* nin, n, output value, D */
    root_pre[48] = 8;  /* the output, f32 [1,2]: 8 bytes */
    root_pre[52] = 16; /* the input, f32 [1,4]: 16 bytes */
    keccak256(root_pre, 53, want);
    CHECK_MEM(m.root, want, 32);

    /* write, parse back */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ_INT(opml_model_write(&m, f), 0);
    fclose(f);
    opml_model p;
    CHECK_EQ_INT(opml_model_parse((uint8_t *)buf, len, &p, err, sizeof err), 0);
    CHECK_MEM(p.root, m.root, 32);
    CHECK(p.input_divisor == 255.0f && p.nweights == 3 && p.n == 2);
    CHECK_MEM(p.weights[0].data, w, 8);
    opml_model_free(&p);

    /* every truncation fails cleanly; so do broken references and shapes */
    int truncated_ok = 0;
    for (size_t l = 0; l < len; l++)
        if (opml_model_parse((uint8_t *)buf, l, &p, err, sizeof err) == 0) truncated_ok++;
    CHECK_EQ_INT(truncated_ok, 0);
    uint8_t *bad = malloc(len);
    size_t node0 = 32 + 28 + 3 * 36;
    struct { size_t at; uint8_t val; } corrupt[] = {
        {0, 'X'}, {20, 9}, {28, 1}, {node0 + 6, 77}, {node0 + KD_BYTES, 0x03}, {node0 + KD_BYTES + 4, 5},
        {node0 + KD_BYTES + 8, 9}, {node0 + 40 + 4, 5}, {node0 + 12 + 8, 3}, {32 + 28 + 36, 2}};
    for (unsigned i = 0; i < sizeof corrupt / sizeof *corrupt; i++) {
        memcpy(bad, buf, len);
        bad[corrupt[i].at] = corrupt[i].val;
        int r = opml_model_parse(bad, len, &p, err, sizeof err);
        CHECK_EQ_INT(r, -1);
        if (r == 0) opml_model_free(&p), fprintf(stderr, "corruption %u accepted\n", i);
        else if (i == 0) CHECK(strstr(err, "magic") != NULL);
    }
    /* what docs/model-format.md rejects beyond the tables' bounds: one model has one file */
    size_t node1 = node0 + KD_BYTES + 4 + 4 * KD_MAX_OPERANDS, blob = node1 + KD_BYTES + 4 + 4 * KD_MAX_OPERANDS;
    blob = (blob + 63) & ~(size_t)63;
    struct { size_t at; uint32_t val; const char *what; } noncanonical[] = {
        {node1 + 376 + 4 * 3, 1, "an unused integer attribute of Relu"},
        {node1 + 440 + 4 * 2, 0x80000000u, "an unused float attribute of Relu (-0.0)"},
        {node0 + 376, 7, "an unused integer attribute of QLinear"},
        {32 + 28 + 36 + 28, 0, "weight 1 at the offset of weight 0"},
        {32 + 28 + 2 * 36 + 28, 64, "weight 2 at the offset of weight 1"},
        {32 + 28 + 2 * 36 + 28, 192, "weight 2 a gap after weight 1"},
        {24, 0x7FC00000u, "a NaN input divisor"},
        {24, 0xBF800000u, "a negative input divisor"},
        {24, 0x7F800000u, "an infinite input divisor"},
        {24, 0x80000000u, "a -0 input divisor"},
        {24, 0x00000001u, "a subnormal input divisor (255 / d overflows)"},
        {blob + 8, 1, "a non-zero padding byte after weight 0"}};
    for (unsigned i = 0; i < sizeof noncanonical / sizeof *noncanonical; i++) {
        memcpy(bad, buf, len);
        for (int b = 0; b < 4; b++) bad[noncanonical[i].at + b] = (uint8_t)(noncanonical[i].val >> 8 * b);
        int r = opml_model_parse(bad, len, &p, err, sizeof err);
        CHECK_EQ_INT(r, -1);
        if (r == 0) opml_model_free(&p), fprintf(stderr, "accepted: %s\n", noncanonical[i].what);
        else printf("refused %s: %s\n", noncanonical[i].what, err);
    }
    CHECK(opml_input_divisor_ok(0.0f) && opml_input_divisor_ok(255.0f) && opml_input_divisor_ok(1e-30f));
    free(bad);
    free(buf);

    test_meta(&m);
    /* a folder is not a model file, and the message says so */
    CHECK_EQ_INT(opml_model_load("/tmp", &p, err, sizeof err), -1);
    CHECK(strstr(err, "Is a directory") != NULL);
    printf("%s\n", err);

    /* graph states: State_0 holds the input root only, State_2 all three */
    uint8_t roots[3][32], s0[32], s2[32], manual[32], l01[32], l23[32];
    for (int i = 0; i < 3; i++) memset(roots[i], i + 1, 32);
    CHECK_EQ_INT(opml_graph_state(roots, 1, 2, s0), 0);
    CHECK_EQ_INT(opml_graph_state(roots, 3, 2, s2), 0);
    keccak256_pair(roots[0], merkle_zero(0), l01);
    keccak256_pair(l01, merkle_zero(1), manual);
    CHECK_MEM(s0, manual, 32);
    keccak256_pair(roots[0], roots[1], l01);
    keccak256_pair(roots[2], merkle_zero(0), l23);
    keccak256_pair(l01, l23, manual);
    CHECK_MEM(s2, manual, 32);
    CHECK_EQ_INT(opml_state_depth(1, 1), 1);
    CHECK_EQ_INT(opml_state_depth(1, 8), 4);
    CHECK_EQ_INT(opml_state_depth(2, 2), 2);
    opml_model_free(&m);
    return check_summary("test_model");
}
