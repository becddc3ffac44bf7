/* cmd_vm.c: the VM subcommands of the `opml` tool (docs/vm.md, docs/vm-guest.md):
 *
 *   opml vm-exec FILE.elf [--max-steps N] [--json] [--proof-at J]
 *       runs a bare RV32IM ELF until it halts (or N steps); prints the exit, steps, final state
 *       hash and registers, and with --proof-at the step proof of step J as contract calldata.
 *   opml vm-step STATEHEX PROOFHEX
 *       the C verifier: prints the post-state hash of one step, or the reason the contract
 *       would revert (exit 1).
 *   opml vm-run MODEL.opml INPUT --node I [--json] [--max-steps N]
 *       runs node I of a model in the VM: the engine computes the graph's values natively (the
 *       bytes behind node I's input roots), the node loader builds the VM's initial state from
 *       the roots (vm_node.h), the guest runs to its exit; prints the output root, the steps and
 *       the final state hash. INPUT as for `opml infer` (input.h), naming one model input. */
#include "cli_num.h"
#include "commands.h"

#include "engine.h"
#include "hex.h"
#include "input.h"
#include "vm.h"
#include "vm_elf.h"
#include "vm_model.h"
#include "vm_proof.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_EXEC_DEFAULT_STEPS 4000000000ull
#define VM_EXEC_MAX_FILE (256u << 20)

/* Decodes hex of any even length (with or without 0x) into a malloc'd buffer. */
static uint8_t *parse_hex(const char *s, size_t *len) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n % 2) return NULL;
    uint8_t *b = malloc(n / 2 + 1);
    if (!b) return NULL;
    if (n && hex_decode(s, b, n / 2) != 0) {
        free(b);
        return NULL;
    }
    *len = n / 2;
    return b;
}

static void print_hex_line(const char *label, const uint8_t *b, size_t n, int json, int last) {
    char *h = malloc(2 * n + 3);
    if (!h) return;
    hex_encode(b, n, h);
    if (json) printf("  \"%s\": \"%s\"%s\n", label, h, last ? "" : ",");
    else printf("%s: %s\n", label, h);
    free(h);
}

static const char *status_name(uint8_t s) {
    return s == VM_RUNNING ? "running" : s == VM_EXITED ? "exited" : "faulted";
}

static int usage_exec(void) {
    fprintf(stderr, "usage: opml vm-exec FILE.elf [--max-steps N] [--json] [--proof-at J]\n");
    return 2;
}

int cmd_vm_exec(int argc, char **argv) {
    const char *path = NULL;
    uint64_t max_steps = VM_EXEC_DEFAULT_STEPS, proof_at = 0;
    int json = 0, want_proof = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--max-steps")) {
            if (++i == argc) return usage_exec();
            if (cli_flag_u64("vm-exec", "--max-steps", argv[i], 0, UINT64_MAX, &max_steps)) return 2;
        } else if (!strcmp(argv[i], "--proof-at")) {
            if (++i == argc) return usage_exec();
            if (cli_flag_u64("vm-exec", "--proof-at", argv[i], 0, UINT64_MAX, &proof_at)) return 2;
            want_proof = 1;
        } else if (argv[i][0] == '-' || path) return usage_exec();
        else path = argv[i];
    }
    if (!path) return usage_exec();
    size_t len;
    char err[512];
    uint8_t *elf = cli_read_file(path, VM_EXEC_MAX_FILE, &len, err, sizeof err);
    if (!elf) {
        fprintf(stderr, "opml vm-exec: %s\n", err);
        return 1;
    }
    vm v;
    if (vm_init(&v) != 0) {
        fprintf(stderr, "opml vm-exec: out of memory\n");
        free(elf);
        return 1;
    }
    int rc = vm_load_elf(&v, elf, len, err, sizeof err);
    free(elf);
    if (rc != 0) {
        fprintf(stderr, "opml vm-exec: %s: %s\n", path, err);
        vm_free(&v);
        return 1;
    }
    uint8_t pre[VM_STATE_BYTES], proof[VM_PROOF_MAX];
    size_t proof_len = 0;
    if (want_proof) {
        if (proof_at > max_steps) {
            fprintf(stderr, "opml vm-exec: --proof-at %" PRIu64 " is past --max-steps %" PRIu64 "\n", proof_at, max_steps);
            vm_free(&v);
            return 2;
        }
        if (vm_run(&v, proof_at) != 0) goto oom;
        proof_len = vm_prove_step(&v, pre, proof);
    }
    if (vm_run(&v, max_steps) != 0) goto oom;
    uint8_t hash[32];
    vm_state_hash(&v, hash);
    const char *fault = v.status == VM_FAULTED ? vm_fault_name(v.exit_code) : NULL;
    if (json) {
        printf("{\n  \"status\": \"%s\",\n  \"exit_code\": %" PRIu32 ",\n", status_name(v.status), v.exit_code);
        if (fault) printf("  \"fault\": \"%s\",\n", fault);
        printf("  \"steps\": %" PRIu64 ",\n  \"pc\": %" PRIu32 ",\n  \"registers\": [0", v.step, v.pc);
        for (int r = 1; r < 32; r++) printf(", %" PRIu32, v.x[r]);
        printf("],\n");
        if (want_proof) {
            uint8_t post[32];
            vm_verify_step(pre, sizeof pre, proof, proof_len, NULL, post);
            printf("  \"proof_step\": %" PRIu64 ",\n", proof_at);
            print_hex_line("proof_state", pre, sizeof pre, 1, 0);
            print_hex_line("proof", proof, proof_len, 1, 0);
            print_hex_line("proof_post_state_hash", post, 32, 1, 0);
        }
        print_hex_line("final_state_hash", hash, 32, 1, 1);
        printf("}\n");
    } else {
        if (v.status == VM_EXITED) printf("exit: code %" PRIu32 "\n", v.exit_code);
        else if (fault) printf("exit: fault %" PRIu32 " (%s) at pc 0x%08" PRIx32 "\n", v.exit_code, fault, v.pc);
        else printf("exit: none, still running after --max-steps\n");
        printf("steps: %" PRIu64 "\npc: 0x%08" PRIx32 "\n", v.step, v.pc);
        print_hex_line("final_state_hash", hash, 32, 0, 0);
        for (int r = 1; r < 32; r++) printf("x%-2d 0x%08" PRIx32 "%s", r, v.x[r], r % 4 == 3 ? "\n" : "  ");
        printf("\n");
        if (want_proof) {
            printf("proof_step: %" PRIu64 "\n", proof_at);
            print_hex_line("proof_state", pre, sizeof pre, 0, 0);
            print_hex_line("proof", proof, proof_len, 0, 0);
        }
    }
    vm_free(&v);
    return 0;
oom:
    fprintf(stderr, "opml vm-exec: out of memory\n");
    vm_free(&v);
    return 1;
}

int cmd_vm_step(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: opml vm-step STATEHEX PROOFHEX\n");
        return 2;
    }
    size_t slen, plen;
    uint8_t *state = parse_hex(argv[1], &slen);
    uint8_t *proof = state ? parse_hex(argv[2], &plen) : NULL;
    if (!state || !proof) {
        fprintf(stderr, "opml vm-step: %s is not hex\n", state ? "PROOFHEX" : "STATEHEX");
        free(state);
        return 2;
    }
    uint8_t post[32];
    int rc = vm_verify_step(state, slen, proof, plen, NULL, post);
    free(state);
    free(proof);
    if (rc != 0) {
        fprintf(stderr, "opml vm-step: invalid step: %s\n", vm_verify_strerror(rc));
        return 1;
    }
    char h[67];
    hex_encode(post, 32, h);
    printf("%s\n", h);
    return 0;
}

static int usage_run(void) {
    fprintf(stderr, "usage: opml vm-run MODEL.opml INPUT --node I [--json] [--max-steps N]\n"
                    "  INPUT: a raw float32 file (one model input), idx:PATH#N or idx:PATH#A-B (one batch)\n");
    return 2;
}

int cmd_vm_run(int argc, char **argv) {
    const char *model_path = NULL, *input = NULL;
    uint64_t node = UINT64_MAX, max_steps = VM_EXEC_DEFAULT_STEPS;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--node")) {
            if (++i == argc) return usage_run();
            if (cli_flag_u64("vm-run", "--node", argv[i], 0, UINT32_MAX, &node)) return 2;
        } else if (!strcmp(argv[i], "--max-steps")) {
            if (++i == argc) return usage_run();
            if (cli_flag_u64("vm-run", "--max-steps", argv[i], 0, UINT64_MAX, &max_steps)) return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) return usage_run();
        else if (!model_path) model_path = argv[i];
        else if (!input) input = argv[i];
        else return usage_run();
    }
    if (!model_path || !input || node == UINT64_MAX) return usage_run();
    char err[512];
    opml_model m;
    if (opml_model_load(model_path, &m, err, sizeof err) != 0) {
        fprintf(stderr, "opml vm-run: %s\n", err);
        return 1;
    }
    int rc = 1;
    opml_backend *b = NULL;
    opml_run r = {0};
    cli_input in = {0};
    vm v;
    int have_vm = 0;
    if (node >= m.n) {
        fprintf(stderr, "opml vm-run: node %" PRIu64 " is out of range: the model has %u nodes\n", node, m.n);
        goto done;
    }
    if (cli_input_open(&in, input, &m, 1, err, sizeof err) != 0) {
        fprintf(stderr, "opml vm-run: %s\n", err);
        goto done;
    }
    /* the graph's values and their roots, computed natively by the reference backend */
    const void *inputs[1] = {cli_input_at(&in, 0, NULL, 0)};
    if (!(b = opml_backend_new("ref")) || opml_run_init(&r, &m, b, err, sizeof err) != 0 ||
        opml_run_exec(&r, inputs, &in.need, 1, err, sizeof err) != 0) {
        fprintf(stderr, "opml vm-run: %s\n", b ? err : "no reference backend");
        goto done;
    }
    if (vm_init(&v) != 0) {
        fprintf(stderr, "opml vm-run: out of memory\n");
        goto done;
    }
    have_vm = 1;
    /* node I's roots, as the contract has them, and the bytes behind them */
    if (vm_model_load_node(&v, &r, (uint32_t)node, err, sizeof err) != 0) {
        fprintf(stderr, "opml vm-run: node %" PRIu64 ": %s\n", node, err);
        goto done;
    }
    uint8_t initial[32];
    vm_state_hash(&v, initial);
    if (vm_run(&v, max_steps) != 0) {
        fprintf(stderr, "opml vm-run: out of memory\n");
        goto done;
    }
    if (v.status != VM_EXITED || v.exit_code != 0) {
        if (v.status == VM_RUNNING)
            fprintf(stderr, "opml vm-run: node %" PRIu64 " still running after %" PRIu64 " steps (--max-steps)\n", node, v.step);
        else if (v.status == VM_EXITED)
            fprintf(stderr, "opml vm-run: node %" PRIu64 ": the guest exited with code %" PRIu32 " (kernel error)\n", node, v.exit_code);
        else
            fprintf(stderr, "opml vm-run: node %" PRIu64 ": the guest faulted: %s at pc 0x%08" PRIx32 "\n", node,
                    vm_fault_name(v.exit_code), v.pc);
        goto done;
    }
    uint8_t out_root[32], final[32];
    vm_node_output_root(&v, out_root);
    vm_state_hash(&v, final);
    char h1[67], h2[67], h3[67];
    hex_encode(out_root, 32, h1);
    hex_encode(final, 32, h2);
    hex_encode(initial, 32, h3);
    uint8_t path[4][32];
    char hp[4][67];
    vm_node_output_path(&v, path);
    for (int k = 0; k < 4; k++) hex_encode(path[k], 32, hp[k]);
    if (json)
        printf("{\"node\":%" PRIu64 ",\"output_root\":\"%s\",\"steps\":%" PRIu64 ",\"final_state_hash\":\"%s\","
               "\"initial_state_hash\":\"%s\",\"output_slot_path\":[\"%s\",\"%s\",\"%s\",\"%s\"]}\n", node, h1,
               v.step, h2, h3, hp[0], hp[1], hp[2], hp[3]);
    else
        printf("node               %" PRIu64 " (%s)\noutput_root        %s\nsteps              %" PRIu64
               "\nfinal_state_hash   %s\ninitial_state_hash %s\n", node, kernel_op_name(m.nodes[node].d.op), h1, v.step,
               h2, h3);
    rc = fflush(stdout) ? 1 : 0;
done:
    if (have_vm) vm_free(&v);
    if (r.m) opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    cli_input_close(&in);
    return rc;
}
