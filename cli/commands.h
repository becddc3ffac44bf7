/* commands.h: the subcommands of the `opml` tool. Each takes (argc, argv) with argv[0] the
 * subcommand's name and returns the process exit code (0 success, 1 failure, 2 usage error). */
#ifndef OPML_CLI_COMMANDS_H
#define OPML_CLI_COMMANDS_H

struct opml_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* cli/cmd_vm.c */
int cmd_vm_exec(int argc, char **argv);
int cmd_vm_step(int argc, char **argv);
int cmd_vm_run(int argc, char **argv);
/* cli/cmd_convert.c, cmd_infer.c, cmd_eval.c */
int cmd_convert(int argc, char **argv);
/* cli/cmd_convert_gguf.c: convert's GGUF input (the first non-option argument is a GGUF file) */
int cmd_convert_is_gguf(int argc, char **argv);
int cmd_convert_gguf(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* cli/cmd_generate.c, cmd_perplexity.c (LLaMA models, issue 13) */
int cmd_generate(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
/* cli/cmd_chain.c */
int cmd_chain(int argc, char **argv);
/* cli/cmd_register.c, cmd_request.c, cmd_status.c, cmd_demo.c (the system, issue 7) */
int cmd_register(int argc, char **argv);
int cmd_request(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* cli/cmd_events.c */
int cmd_events(int argc, char **argv);

#endif
