/* main.c: the `opml` command-line tool. One binary, one subcommand per task an operator,
 * integrator or guest author has; each subcommand lives in its own cmd_*.c file and is listed
 * in the table below. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const struct opml_command commands[] = {
    /* name, one-line summary, entry point: add one line per subcommand */
    {"vm-exec", "run a bare RV32IM ELF in the VM (state hash, registers, step proofs)", cmd_vm_exec},
    {"vm-run", "run one node of a model in the VM: output root, steps, final state hash", cmd_vm_run},
    {"vm-step", "verify one VM step proof and print the post-state hash", cmd_vm_step},
    {"convert", "convert an ONNX model to an opml model file", cmd_convert},
    {"infer", "run a model with commitments on an input", cmd_infer},
    {"eval", "top-1 accuracy and items/s of a model over a labelled set (IDX or raw)", cmd_eval},
    {"generate", "a completion from a converted LLaMA model: streamed text, tokens/s", cmd_generate},
    {"perplexity", "a LLaMA model's perplexity on a text or token file (chunks from an empty context)",
     cmd_perplexity},
    {"chain", "deploy contracts from forge artifacts, call and send their functions", cmd_chain},
    {"register", "register a model on-chain (its commitment, guest root and game parameters)", cmd_register},
    {"events", "print the bus's event stream as JSON lines", cmd_events},
    {"request", "ask for an inference on-chain; --wait follows it to finalization", cmd_request},
    {"demo", "the whole system on this machine: an honest result finalizes, a lie is challenged", cmd_demo},
    {"status", "tasks and games of a cluster's chain, as JSON lines", cmd_status},
    {NULL, NULL, NULL},
};

static void usage(FILE *out) {
    fprintf(out, "usage: opml COMMAND [ARGS]\n\ncommands:\n");
    for (const struct opml_command *c = commands; c->name; c++) fprintf(out, "  %-10s %s\n", c->name, c->summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const struct opml_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "opml: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
