/* test_fault.c: the fault-injection setting (fault.h): parsing (and refusing) its text, the plan
 * per task, and that every lie is coherent where the contracts check it: the claimed states differ
 * from the honest ones exactly from the lied step on, the lied output's bytes hash to the leaf in
 * State_n, the claimed final VM state holds the lied root in slot 15, and the VM state hashes
 * diverge exactly at the first lied step. */
#include "check.h"
#include "fault.h"
#include "generation.h"
#include "keccak.h"
#include "merkle.h"
#include "model.h"
#include "tensor_root.h"

#include <string.h>

static void test_parse(void) {
    fault f;
    char err[200], back[64];
    static const char *good[] = {"none", "node=0", "node=17", "random", "random=42", "output", "vm=3", "vm=3:1000",
                                 "node=3@2", "output@1", "vm=0:5@7", "random=9@3"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_EQ_INT(fault_parse(good[i], &f, err, sizeof err), 0);
        fault_format(&f, back, sizeof back);
        fault g;
        CHECK_EQ_INT(fault_parse(back, &g, err, sizeof err), 0);
        CHECK(memcmp(&f, &g, sizeof f) == 0);
    }
    CHECK_EQ_INT(fault_parse("node=3@2", &f, err, sizeof err), 0);
    CHECK(f.kind == FAULT_NODE && f.node == 3 && f.only_nth == 2);
    CHECK_EQ_INT(fault_parse("vm=4:99", &f, err, sizeof err), 0);
    CHECK(f.kind == FAULT_VM && f.node == 4 && f.vm_step == 99);
    static const char *bad[] = {"", "lie", "node", "node=", "node=x", "node=-1", "node=99999999999", "node=1@0",
                                "node=1@", "node=1@x", "output=3", "vm", "vm=", "vm=1:", "vm=1:0", "vm=1:x",
                                "random=x", "none=1", "none@2", "nodes=1", "node=1 ", "node=18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK_EQ_INT(fault_parse(bad[i], &f, err, sizeof err), -1);
        CHECK(strstr(err, "fault setting") != NULL);
    }
    CHECK_EQ_INT(fault_parse(NULL, &f, err, sizeof err), -1);
}

static void test_plan(void) {
    fault f;
    fault_plan p;
    char err[200];
    /* 1 input, 5 nodes, output = value 5 (node 4) */
    fault_parse("node=2@2", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 7, 1, 5, 5, &p, err, sizeof err), 0);
    CHECK(!p.active);
    CHECK_EQ_INT(fault_plan_for(&f, 2, 7, 1, 5, 5, &p, err, sizeof err), 0);
    CHECK(p.active && p.node == 2 && !p.output_bytes && !p.in_vm);
    fault_parse("node=4", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 9, 7, 1, 5, 5, &p, err, sizeof err), 0);
    CHECK(p.active && p.node == 4 && p.output_bytes);
    fault_parse("node=5", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 7, 1, 5, 5, &p, err, sizeof err), -1);
    CHECK(strstr(err, "5 nodes") != NULL);
    fault_parse("output", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 7, 2, 5, 4, &p, err, sizeof err), 0);
    CHECK(p.active && p.node == 2 && p.output_bytes);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 7, 2, 5, 1, &p, err, sizeof err), -1); /* output is an input */
    fault_parse("vm=1:50", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 7, 1, 5, 5, &p, err, sizeof err), 0);
    CHECK(p.active && p.node == 1 && p.in_vm && p.vm_step == 50);
    /* random: deterministic per (seed, task), within range, and not constant over tasks */
    fault_parse("random=5", &f, err, sizeof err);
    int seen[5] = {0};
    for (uint64_t t = 1; t <= 200; t++) {
        fault_plan a, b;
        CHECK_EQ_INT(fault_plan_for(&f, 1, t, 1, 5, 5, &a, err, sizeof err), 0);
        CHECK_EQ_INT(fault_plan_for(&f, 1, t, 1, 5, 5, &b, err, sizeof err), 0);
        CHECK(a.active && a.node < 5 && a.node == b.node);
        if (a.node < 5) seen[a.node] = 1;
    }
    CHECK(seen[0] && seen[1] && seen[2] && seen[3] && seen[4]);
    fault_parse("none", &f, err, sizeof err);
    CHECK_EQ_INT(fault_plan_for(&f, 1, 1, 1, 5, 5, &p, err, sizeof err), 0);
    CHECK(!p.active);
}

/* nin = 2, n = 6, output value 7 (node 5) */
#define NIN 2
#define NN 6
static void test_values(void) {
    unsigned depth = opml_state_depth(NIN, NN);
    uint8_t output[16], honest_out[16];
    for (int i = 0; i < 16; i++) output[i] = honest_out[i] = (uint8_t)(i * 7);
    uint8_t honest[NIN + NN][32];
    for (int v = 0; v < NIN + NN; v++) keccak256(&v, sizeof v, honest[v]);
    merkle_tensor_root(honest_out, 16, honest[NIN + NN - 1]);
    for (uint32_t node = 0; node < NN; node++) {
        fault_plan p = {1, node, node == NN - 1, 0, 0, 0, 0, 0};
        uint8_t claimed[NIN + NN][32];
        memcpy(claimed, honest, sizeof claimed);
        memcpy(output, honest_out, 16);
        CHECK_EQ_INT(fault_apply_values(&p, NIN, NIN + NN - 1, claimed, output, 16), 0);
        for (uint32_t s = 0; s <= NN; s++) {
            uint8_t hs[32], cs[32];
            CHECK_EQ_INT(opml_graph_state(honest, NIN + s, depth, hs), 0);
            CHECK_EQ_INT(opml_graph_state(claimed, NIN + s, depth, cs), 0);
            /* graph step s runs node s - 1: the states differ from step node + 1 on */
            CHECK_EQ_INT(memcmp(hs, cs, 32) != 0, s >= node + 1);
        }
        /* the posted output is in the claimed State_n */
        uint8_t root[32];
        merkle_tensor_root(output, 16, root);
        CHECK_MEM(root, claimed[NIN + NN - 1], 32);
        CHECK(memcmp(output, honest_out, 16) != 0); /* every lie reaches the posted output */
    }
    fault_plan p = {1, NN - 1, 1, 0, 0, 0, 0, 0};
    uint8_t claimed[NIN + NN][32];
    CHECK_EQ_INT(fault_apply_values(&p, NIN, NIN + NN - 1, claimed, output, 0), -1);
    fault_plan off = {0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(claimed, honest, sizeof claimed);
    CHECK_EQ_INT(fault_apply_values(&off, NIN, NIN + NN - 1, claimed, output, 16), 0);
    CHECK_MEM(claimed, honest, sizeof claimed);
}

static void test_vm(void) {
    /* the claimed final state: memRoot recomputed with slot 15 = the lied root */
    uint8_t slots[16][32];
    for (int i = 0; i < 16; i++) keccak256(&i, sizeof i, slots[i]);
    uint8_t mem[32];
    CHECK_EQ_INT(merkle_root(slots, sizeof slots, 4, mem), 0);
    merkle_proof pr;
    CHECK_EQ_INT(merkle_prove(slots, sizeof slots, 4, 15, &pr), 0);
    uint8_t honest[173];
    memset(honest, 0, sizeof honest);
    memcpy(honest, mem, 32);
    honest[44] = 1;
    honest[50] = 0x42;
    uint8_t lied[32], out[173];
    fault_false_hash(slots[15], lied);
    fault_final_state(honest, (const uint8_t (*)[32])pr.siblings, lied, out);
    memcpy(slots[15], lied, 32);
    uint8_t mem2[32];
    merkle_root(slots, sizeof slots, 4, mem2);
    CHECK_MEM(out, mem2, 32);
    CHECK_MEM(out + 32, honest + 32, 173 - 32);

    fault_plan node_lie = {1, 3, 0, 0, 0, 0, 0, 0}, vm_lie = {1, 3, 0, 1, 0, 0, 0, 0}, vm_at = {1, 3, 0, 1, 77, 0, 0, 0};
    uint64_t T = 1 << 20;
    CHECK_EQ_INT(fault_vm_first_step(&node_lie, 5000, T), T);
    CHECK_EQ_INT(fault_vm_first_step(&vm_lie, 5000, T), 2500);
    CHECK_EQ_INT(fault_vm_first_step(&vm_lie, 1, T), 1);
    CHECK_EQ_INT(fault_vm_first_step(&vm_at, 5000, T), 77);
    vm_at.vm_step = T + 5;
    CHECK_EQ_INT(fault_vm_first_step(&vm_at, 5000, T), T);
    uint8_t h[32], fin[32], c[32], f[32];
    keccak256("x", 1, h);
    keccak256("fin", 3, fin);
    fault_false_hash(h, f);
    fault_vm_hash(10, 2500, T, h, fin, c);
    CHECK_MEM(c, h, 32);
    fault_vm_hash(2500, 2500, T, h, fin, c);
    CHECK_MEM(c, f, 32);
    fault_vm_hash(T, 2500, T, h, fin, c);
    CHECK_MEM(c, fin, 32);
    CHECK(memcmp(f, h, 32) != 0);
}

/* Generation lies (fault.h): parsing, the plan's token step and node, the ids and the step run's roots. */
static void test_generation(void) {
    fault f;
    fault_plan p;
    char err[200], back[64];
    static const char *good[] = {"token=0", "token=12@1", "kv=11", "node=4/10", "vm=10:500/18@2", "vm=10/18"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_EQ_INT(fault_parse(good[i], &f, err, sizeof err), 0);
        fault_format(&f, back, sizeof back);
        CHECK(!strcmp(back, good[i]));
    }
    static const char *bad[] = {"token", "token=", "token=x", "kv=-1", "output/3", "token=1/2", "node=1/", "node=1/x", "kv"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK_EQ_INT(fault_parse(bad[i], &f, err, sizeof err), -1);
    /* the fortunes step graph: 11 inputs, 93 nodes, Sample = node 83 (value 94), caches from value 96;
     * a prompt of 7 ids and 24 new ones: T = 30 */
    fault_gen_shape sh = {11, 93, 94, 96, 8, 7, 30};
    fault_parse("token=12@1", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 2, 1, &sh, &p, err, sizeof err), 0);
    CHECK(!p.active);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.active && p.gen && p.token && p.step == 18 && p.node == 83 && !p.in_vm);
    fault_parse("token=24", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), -1);
    CHECK(strstr(err, "24 new ids") != NULL);
    fault_parse("output", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.token && p.step == 29 && p.node == 83);
    fault_parse("kv=11", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.active && !p.token && p.step == 11 && p.node == 85);
    fault_parse("kv=29", &f, err, sizeof err); /* the last step: the cache row would show in nothing posted */
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), -1);
    fault_parse("node=4", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.step == 18 && p.node == 4 && p.token); /* the middle step; the sampled token lied too */
    fault_parse("node=4/3", &f, err, sizeof err); /* a prompt step: only its cache outputs show */
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), -1);
    CHECK(strstr(err, "prompt step 3") != NULL);
    fault_parse("node=88/3", &f, err, sizeof err); /* V_1 of a prompt step */
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.active && !p.token && p.node == 88);
    fault_parse("vm=10:500/13", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), 0);
    CHECK(p.step == 13 && p.node == 10 && p.in_vm && p.vm_step == 500 && p.token);
    fault_parse("node=93/3", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), -1);
    fault_parse("node=3/30", &f, err, sizeof err);
    CHECK_EQ_INT(fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err), -1);
    fault_parse("random=3", &f, err, sizeof err);
    for (uint64_t t = 1; t < 50; t++) {
        CHECK_EQ_INT(fault_gen_plan_for(&f, 1, t, &sh, &p, err, sizeof err), 0);
        CHECK(p.active && p.node < 85 && p.step >= 6 && p.step < 30 && p.token);
    }
    /* lied ids: inside the vocabulary, never the stop token */
    CHECK_EQ_INT(fault_gen_lied_id(998, 1000, OPML_GEN_NO_STOP), 999);
    CHECK_EQ_INT(fault_gen_lied_id(999, 1000, OPML_GEN_NO_STOP), 0);
    CHECK_EQ_INT(fault_gen_lied_id(4, 1000, 5), 6);
    CHECK_EQ_INT(fault_gen_lied_id(999, 1000, 0), 1);
    uint32_t ids[31], honest[31];
    for (uint32_t i = 0; i < 31; i++) honest[i] = ids[i] = 100 + i;
    fault_parse("token=12", &f, err, sizeof err);
    fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err);
    CHECK_EQ_INT(fault_gen_apply_ids(&p, ids, 31, 1000, OPML_GEN_NO_STOP), 19);
    for (uint32_t i = 0; i < 31; i++) CHECK(i == 19 ? ids[i] != honest[i] : ids[i] == honest[i]);
    memcpy(ids, honest, sizeof ids);
    fault_parse("kv=11", &f, err, sizeof err);
    fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err);
    CHECK_EQ_INT(fault_gen_apply_ids(&p, ids, 31, 1000, OPML_GEN_NO_STOP), 30); /* the last id shows the lie */
    /* the step run's roots: a kv lie changes its node's root alone; a token lie the sampled token's */
    static uint8_t roots[104][32], before[104][32];
    for (int v = 0; v < 104; v++) keccak256(&v, sizeof v, before[v]);
    memcpy(roots, before, sizeof roots);
    CHECK_EQ_INT(fault_gen_apply_step(&p, 11, 94, 0, 0, roots), 0);
    for (int v = 0; v < 104; v++) CHECK(v == 96 ? memcmp(roots[v], before[v], 32) != 0 : !memcmp(roots[v], before[v], 32));
    fault_parse("token=12", &f, err, sizeof err);
    fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err);
    memcpy(roots, before, sizeof roots);
    CHECK_EQ_INT(fault_gen_apply_step(&p, 11, 94, 1, 131, roots), 0);
    uint8_t want[32], b[4] = {131, 0, 0, 0};
    merkle_tensor_root(b, 4, want);
    for (int v = 0; v < 104; v++) CHECK(v == 94 ? !memcmp(roots[v], want, 32) : !memcmp(roots[v], before[v], 32));
    /* a node before the Sample node: its root and the sampled token's */
    fault_parse("node=4", &f, err, sizeof err);
    fault_gen_plan_for(&f, 1, 1, &sh, &p, err, sizeof err);
    memcpy(roots, before, sizeof roots);
    CHECK_EQ_INT(fault_gen_apply_step(&p, 11, 94, 1, 131, roots), 0);
    for (int v = 0; v < 104; v++)
        CHECK(v == 94 ? !memcmp(roots[v], want, 32) : v == 15 ? memcmp(roots[v], before[v], 32) != 0 : !memcmp(roots[v], before[v], 32));
}

int main(void) {
    test_parse();
    test_generation();
    test_plan();
    test_values();
    test_vm();
    return check_summary("test_fault");
}
