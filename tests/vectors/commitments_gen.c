/* commitments_gen.c: writes tests/vectors/commitments.json, the commitment vectors of
 * docs/commitments.md that the C actors produce and contracts/test/Commitments.t.sol checks the
 * Solidity side against: Keccak-256, zero roots, Merkle roots and proofs, tensor roots, graph
 * states, node leaves, model roots and the VM's initial node state (docs/vm.md) built from roots.
 * Every value comes from the C libraries (opml_base, opml_model, opml_vm); data is a fixed
 * pseudo-random byte stream, so the file is the same on every run.
 *
 *   commitments_gen OUT.json          write the file
 *   commitments_gen --check FILE      exit 1 if FILE differs from what would be written (stale) */
#include "vector_file.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "model.h"
#include "vm_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;

/* Byte i of the test data stream: a fixed xorshift sequence. */
static void fill(uint8_t *b, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        b[i] = (uint8_t)s;
    }
}

static void hex(const uint8_t *b, size_t n) { vector_hex(out, b, n); }

static void hex_list(const uint8_t (*b)[32], size_t n) { vector_hex_list(out, b, n); }

static void keccak_vectors(void) {
    static const size_t lens[] = {0, 3, 32, 64, 135, 136, 137, 272, 300};
    fprintf(out, "  \"keccak\": [");
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t data[300], h[32];
        fill(data, lens[i], 1 + (uint32_t)i);
        if (lens[i] == 3) memcpy(data, "abc", 3);
        keccak256(data, lens[i], h);
        fprintf(out, "%s\n    {\"data\": ", i ? "," : "");
        hex(data, lens[i]);
        fprintf(out, ", \"hash\": ");
        hex(h, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

static void zero_vectors(void) {
    uint8_t z[28][32];
    for (unsigned h = 0; h < 28; h++) memcpy(z[h], merkle_zero(h), 32);
    fprintf(out, "  \"zero\": ");
    hex_list((const uint8_t(*)[32])z, 28);
    fprintf(out, ",\n");
}

/* Roots of data at a depth, with proofs of the first leaf, the last data leaf, the first leaf
 * past the data and the tree's last leaf. */
static void merkle_vectors(void) {
    static const struct { size_t len; unsigned depth; } cases[] = {
        {0, 3}, {1, 0}, {32, 0}, {33, 1}, {64, 1}, {100, 3}, {200, 5}, {1000, 6}, {1000, 10}};
    fprintf(out, "  \"merkle\": [");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t data[1000], root[32];
        fill(data, cases[i].len, 100 + (uint32_t)i);
        if (merkle_root(data, cases[i].len, cases[i].depth, root) != 0) abort();
        fprintf(out, "%s\n    {\"data\": ", i ? "," : "");
        hex(data, cases[i].len);
        fprintf(out, ", \"depth\": %u, \"root\": ", cases[i].depth);
        hex(root, 32);
        fprintf(out, ", \"proofs\": [");
        uint64_t leaves = (cases[i].len + 31) / 32, size = 1ull << cases[i].depth;
        uint64_t idx[4] = {0, leaves ? leaves - 1 : 0, leaves < size ? leaves : 0, size - 1};
        for (int p = 0; p < 4; p++) {
            merkle_proof pr;
            if (merkle_prove(data, cases[i].len, cases[i].depth, idx[p], &pr) != 0) abort();
            fprintf(out, "%s{\"index\": %llu, \"leaf\": ", p ? ", " : "", (unsigned long long)idx[p]);
            hex(pr.leaf, 32);
            fprintf(out, ", \"siblings\": ");
            hex_list((const uint8_t(*)[32])pr.siblings, pr.depth);
            fprintf(out, "}");
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ],\n");
}

static void tensor_vectors(void) {
    static const size_t lens[] = {0, 1, 4, 31, 32, 33, 64, 100, 1000, 3136, 4101};
    fprintf(out, "  \"tensor\": [");
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t data[4101], root[32];
        fill(data, lens[i], 200 + (uint32_t)i);
        if (merkle_tensor_root(data, lens[i], root) != 0) abort();
        fprintf(out, "%s\n    {\"data\": ", i ? "," : "");
        hex(data, lens[i]);
        fprintf(out, ", \"root\": ");
        hex(root, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* A graph of nin = 2 inputs and n = 5 nodes: value roots of random tensors, State_0..State_5. */
static void graph_vectors(void) {
    enum { NIN = 2, N = 5 };
    unsigned depth = opml_state_depth(NIN, N);
    uint8_t values[NIN + N][32], states[N + 1][32];
    for (int v = 0; v < NIN + N; v++) {
        uint8_t data[40];
        fill(data, sizeof data, 300 + (uint32_t)v);
        if (merkle_tensor_root(data, 4 * (size_t)(v + 1), values[v]) != 0) abort();
    }
    for (int s = 0; s <= N; s++)
        if (opml_graph_state((const uint8_t(*)[32])values, NIN + (size_t)s, depth, states[s]) != 0) abort();
    fprintf(out, "  \"graph\": {\"nin\": %d, \"n\": %d, \"depth\": %u, \"values\": ", NIN, N, depth);
    hex_list((const uint8_t(*)[32])values, NIN + N);
    fprintf(out, ", \"states\": ");
    hex_list((const uint8_t(*)[32])states, N + 1);
    fprintf(out, "},\n");
}

/* Node leaves (value and weight operands mixed), the nodes root over them and model roots. */
static void model_vectors(void) {
    enum { NODES = 3 };
    static const uint16_t masks[NODES] = {0x0001, 0x0803, 0x0000};
    uint8_t leaves[NODES][32];
    fprintf(out, "  \"node_leaf\": [");
    for (int k = 0; k < NODES; k++) {
        uint8_t desc[64], desc_root[32], refs[KD_MAX_OPERANDS][32];
        fill(desc, sizeof desc, 400 + (uint32_t)k);
        if (merkle_tensor_root(desc, sizeof desc, desc_root) != 0) abort();
        for (int j = 0; j < KD_MAX_OPERANDS; j++) {
            if (masks[k] >> j & 1) {
                memset(refs[j], 0, 32);
                refs[j][31] = (uint8_t)(j + k); /* value id, big-endian */
            } else if (j < 4) {
                uint8_t w[48];
                fill(w, sizeof w, 500 + (uint32_t)(k * 16 + j));
                if (merkle_tensor_root(w, sizeof w, refs[j]) != 0) abort();
            } else {
                memcpy(refs[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
            }
        }
        opml_node_leaf(desc_root, masks[k], (const uint8_t(*)[32])refs, leaves[k]);
        fprintf(out, "%s\n    {\"desc_root\": ", k ? "," : "");
        hex(desc_root, 32);
        fprintf(out, ", \"mask\": %u, \"refs\": ", masks[k]);
        hex_list((const uint8_t(*)[32])refs, KD_MAX_OPERANDS);
        fprintf(out, ", \"leaf\": ");
        hex(leaves[k], 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
    uint8_t nodes_root[32];
    if (merkle_root(leaves, sizeof leaves, opml_state_depth(0, NODES), nodes_root) != 0) abort();
    /* model roots: one 3136-byte input, or input i of 4 * (i % 3 + 1) bytes */
    static const struct { uint32_t nin, n, output, output_bytes; } cases[] = {
        {1, NODES, 3, 40}, {2, 10, 11, 4}, {784, 1, 784, 3136}};
    fprintf(out, "  \"nodes_root\": {\"leaves\": %d, \"depth\": %u, \"root\": ", NODES, opml_state_depth(0, NODES));
    hex(nodes_root, 32);
    fprintf(out, "},\n  \"model_root\": [");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t root[32];
        uint32_t input_bytes[784];
        for (uint32_t j = 0; j < cases[i].nin; j++) input_bytes[j] = cases[i].nin == 1 ? 3136 : 4 * (j % 3 + 1);
        unsigned d = opml_state_depth(cases[i].nin, cases[i].n);
        opml_model_root(nodes_root, cases[i].nin, cases[i].n, cases[i].output, (uint8_t)d, cases[i].output_bytes, input_bytes,
                        root);
        fprintf(out, "%s\n    {\"nodes_root\": ", i ? "," : "");
        hex(nodes_root, 32);
        fprintf(out, ", \"nin\": %u, \"n\": %u, \"output_value\": %u, \"depth\": %u, \"output_bytes\": %u, \"input_bytes\": [",
                cases[i].nin, cases[i].n, cases[i].output, d, cases[i].output_bytes);
        for (uint32_t j = 0; j < cases[i].nin; j++) fprintf(out, "%s%u", j ? ", " : "", input_bytes[j]);
        fprintf(out, "], \"root\": ");
        hex(root, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* The VM's initial state of a node run built from roots, as the dispute game builds it. */
static void vm_initial_vectors(void) {
    fprintf(out, "  \"vm_initial\": [");
    for (int c = 0; c < 2; c++) {
        uint8_t guest[200], guest_root[32], desc[40], desc_root[32], ops[VM_NODE_OPERANDS][32];
        fill(guest, sizeof guest, 600 + (uint32_t)c);
        fill(desc, sizeof desc, 700 + (uint32_t)c);
        if (merkle_tensor_root(guest, sizeof guest, guest_root) != 0) abort();
        if (merkle_tensor_root(desc, sizeof desc, desc_root) != 0) abort();
        for (int j = 0; j < VM_NODE_OPERANDS; j++) {
            if (j < 2 + 3 * c) {
                uint8_t t[36];
                fill(t, sizeof t, 800 + (uint32_t)(c * 16 + j));
                if (merkle_tensor_root(t, sizeof t, ops[j]) != 0) abort();
            } else {
                memcpy(ops[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
            }
        }
        uint8_t state[VM_STATE_BYTES], h[32];
        vm_node_initial_state(guest_root, desc_root, (const uint8_t(*)[32])ops, state);
        keccak256(state, sizeof state, h);
        fprintf(out, "%s\n    {\"guest_root\": ", c ? "," : "");
        hex(guest_root, 32);
        fprintf(out, ", \"desc_root\": ");
        hex(desc_root, 32);
        fprintf(out, ", \"operands\": ");
        hex_list((const uint8_t(*)[32])ops, VM_NODE_OPERANDS);
        fprintf(out, ", \"state\": ");
        hex(state, sizeof state);
        fprintf(out, ", \"hash\": ");
        hex(h, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ]\n");
}

static void generate(void) {
    fprintf(out, "{\n  \"description\": \"Commitment vectors of docs/commitments.md and the VM initial state of "
                 "docs/vm.md, from the C side. Written by tests/vectors/commitments_gen.c; do not edit.\",\n");
    keccak_vectors();
    zero_vectors();
    merkle_vectors();
    tensor_vectors();
    graph_vectors();
    model_vectors();
    vm_initial_vectors();
    fprintf(out, "}\n");
}

int main(int argc, char **argv) {
    return vector_file_main(argc, argv, "commitments_gen", &out, generate);
}
