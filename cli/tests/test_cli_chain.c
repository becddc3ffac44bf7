/* test_cli_chain.c: `opml chain deploy|call|send` against a real anvil: deploy Probe from its
 * artifact with constructor arguments, read it back, send a transaction, and the refusals (a revert
 * explained, a bad address, a missing key, the node down) with their exit codes and messages.
 * usage: test_cli_chain OPML */
#include "anvil.h"
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *opml;
static anvil node;
static char key[128];

/* Runs `opml chain <args>` with the node's URL; its stdout and stderr (merged) go to out. Returns
 * the exit status. */
static int run(const char *args, char *out, size_t outlen) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s chain %s --rpc %s 2>&1", opml, args, node.url);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, outlen - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    opml = argv[1];
    char dir[] = "/tmp/chainwatch-cli-XXXXXX", out[4096], args[1024];
    if (!mkdtemp(dir) || anvil_start(&node, 0, NULL)) return 1;
    snprintf(key, sizeof key, "%s/k.key", dir);
    int fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, ANVIL_KEY0 "\n", strlen(ANVIL_KEY0) + 1) < 0) return 1;
    close(fd);

    snprintf(args, sizeof args, "deploy --key %s --artifact %s --args '[2, \"cli\"]' --value 3", key, PROBE_ARTIFACT);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    const char *c = strstr(out, "\"contract\":\"");
    CHECK(c != NULL && strstr(out, "\"success\":true"));
    char addr[43] = "";
    if (c) snprintf(addr, sizeof addr, "%.42s", c + 12);

    snprintf(args, sizeof args, "call --artifact %s --to %s --fn name", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    CHECK(!strcmp(out, "[\"cli\"]\n"));
    snprintf(args, sizeof args,
             "send --key %s --artifact %s --to %s --fn store --args "
             "'[\"0x0000000000000000000000000000000000000000000000000000000000000001\", \"x\"]'",
             key, PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    CHECK(strstr(out, "\"nonce\":1") && strstr(out, "\"success\":true"));
    snprintf(args, sizeof args, "call --artifact %s --to %s --fn count", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    CHECK(!strcmp(out, "[\"1\"]\n"));

    /* refusals */
    snprintf(args, sizeof args, "call --artifact %s --to %s --fn divide --args '[1, 0]'", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK(strstr(out, "reverted: Panic(0x12: division or modulo by zero)") != NULL);
    snprintf(args, sizeof args, "send --key %s --artifact %s --to %s --fn onlyOwner", key, PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 0); /* the owner may */
    snprintf(args, sizeof args, "call --artifact %s --to 0x12 --fn name", PROBE_ARTIFACT);
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK(strstr(out, "--to must be a 0x address") != NULL);
    snprintf(args, sizeof args, "send --artifact %s --to %s --fn pay", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK(strstr(out, "--key is required") != NULL);
    snprintf(args, sizeof args, "call --artifact %s --to %s --fn nope", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK(strstr(out, "has no function nope") != NULL);
    CHECK_EQ_INT(run("call --artifact /nonexistent.json --to 0x0 --fn x", out, sizeof out), 1);
    CHECK(strstr(out, "cannot open artifact") != NULL);
    CHECK_EQ_INT(run("frobnicate --artifact x", out, sizeof out), 2);
    anvil_stop(&node);
    snprintf(args, sizeof args, "call --artifact %s --to %s --fn name", PROBE_ARTIFACT, addr);
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK(strstr(out, "node down") != NULL);

    snprintf(out, sizeof out, "rm -rf %s", dir);
    if (system(out)) {}
    return check_summary("test_cli_chain");
}
