/* test_vm_elf.c: the ELF loader accepts what qemu-riscv32 runs and refuses, with a clear reason,
 * everything else. `test_vm_elf --write DIR` also writes sample files for the CLI test
 * (vm_cli.sh): good.elf (a random program), overlap.elf, notelf.elf, truncated.elf. */
#include "vm_elf.h"
#include "randprog.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t file[1 << 16];

static size_t build(const elfw_seg *segs, unsigned n, uint32_t entry) {
    const char *tmp = "/tmp/opml-test-vm-elf.elf";
    CHECK_EQ_INT(elfw_write(tmp, entry, segs, n), 0);
    FILE *f = fopen(tmp, "rb");
    size_t len = f ? fread(file, 1, sizeof file, f) : 0;
    if (f) fclose(f);
    remove(tmp);
    return len;
}

/* Loads file[0..len); returns the loader's result and checks the reason names `why`. */
static int load(size_t len, const char *why) {
    vm v;
    CHECK_EQ_INT(vm_init(&v), 0);
    char err[160] = "";
    int rc = vm_load_elf(&v, file, len, err, sizeof err);
    if (why) {
        CHECK_EQ_INT(rc, -1);
        CHECK(strstr(err, why) != NULL);
        if (!strstr(err, why)) fprintf(stderr, "  reason was: %s (want %s)\n", err, why);
    }
    vm_free(&v);
    return rc;
}

static int write_samples(const char *dir) {
    char path[512];
    static uint32_t code[4096];
    rp_seed = 4242;
    size_t n = rp_generate(code, 4096, 500);
    snprintf(path, sizeof path, "%s/good.elf", dir);
    if (rp_write_elf(path, code, n) != 0) return 1;
    uint8_t text[64] = {0};
    elfw_seg overlap[2] = {{0x10000, text, 64, 0x2000, 5}, {0x11000, text, 64, 64, 6}};
    snprintf(path, sizeof path, "%s/overlap.elf", dir);
    if (elfw_write(path, 0x10000, overlap, 2) != 0) return 1;
    snprintf(path, sizeof path, "%s/notelf.elf", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs("#!/bin/sh\necho this is not an ELF file\n", f) < 0 || fclose(f) != 0) return 1;
    snprintf(path, sizeof path, "%s/truncated.elf", dir);
    elfw_seg one = {0x10000, text, 64, 64, 5};
    if (elfw_write(path, 0x10000, &one, 1) != 0 || truncate(path, 0x1010) != 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write")) return write_samples(argv[2]);
    uint8_t text[64];
    for (int i = 0; i < 64; i++) text[i] = (uint8_t)i;
    elfw_seg good[2] = {{0x10000, text, 64, 64, 5}, {0x20000000, NULL, 0, 4096, 6}};
    size_t len = build(good, 2, 0x10004);
    vm v;
    CHECK_EQ_INT(vm_init(&v), 0);
    char err[160];
    CHECK_EQ_INT(vm_load_elf(&v, file, len, err, sizeof err), 0);
    CHECK_EQ_INT(v.pc, 0x10004);
    uint8_t back[64];
    vm_mem_read(&v.mem, 0x10000, back, 64);
    CHECK_MEM(back, text, 64);
    vm_free(&v);

    /* refusals */
    CHECK_EQ_INT(load(10, "not an ELF"), -1);
    memcpy(file, "\x7f" "ELG", 4);
    CHECK_EQ_INT(load(len, "not an ELF"), -1);
    len = build(good, 2, 0x10000);
    file[4] = 2; /* ELFCLASS64 */
    CHECK_EQ_INT(load(len, "32-bit little-endian"), -1);
    len = build(good, 2, 0x10000);
    file[18] = 62; /* x86-64 */
    CHECK_EQ_INT(load(len, "not a RISC-V"), -1);
    len = build(good, 2, 0x10000);
    file[16] = 3; /* ET_DYN */
    CHECK_EQ_INT(load(len, "not an executable"), -1);
    len = build(good, 2, 0x10000);
    CHECK_EQ_INT(load(100, "program headers"), -1);
    CHECK_EQ_INT(load(0x1010, "past the end of the file"), -1);
    elfw_seg overlap[2] = {{0x10000, text, 64, 0x2000, 5}, {0x11000, text, 64, 64, 6}};
    len = build(overlap, 2, 0x10000);
    CHECK_EQ_INT(load(len, "overlap"), -1);
    elfw_seg wrap = {0xFFFFF000u, text, 64, 0x2000, 5};
    len = build(&wrap, 1, 0xFFFFF000u);
    CHECK_EQ_INT(load(len, "4 GiB"), -1);
    elfw_seg big = {0x10000, text, 64, 32, 5}; /* file size > memory size */
    len = build(&big, 1, 0x10000);
    CHECK_EQ_INT(load(len, "file size exceeds"), -1);
    len = build(good, 2, 0x10000);
    file[52] = 4; /* the first header PT_NOTE, the second an empty PT_LOAD */
    file[52 + 32] = 4;
    CHECK_EQ_INT(load(len, "no loadable"), -1);
    /* random corruptions of a good file: accepted or refused with a reason, never a crash */
    len = build(good, 2, 0x10000);
    static uint8_t orig[sizeof file];
    memcpy(orig, file, len);
    uint32_t seed = 77;
    int refused = 0;
    for (int k = 0; k < 1000; k++) {
        memcpy(file, orig, len);
        for (int m = 0; m < 1 + k % 4; m++) {
            seed = seed * 1103515245u + 12345u;
            file[(seed >> 8) % 116] = (uint8_t)(seed >> 24); /* the ELF and program headers */
        }
        size_t cut = k % 5 == 0 ? (seed >> 4) % len : len;
        CHECK_EQ_INT(vm_init(&v), 0);
        err[0] = 0;
        int rc = vm_load_elf(&v, file, cut, err, sizeof err);
        CHECK(rc == 0 || (rc == -1 && err[0]));
        refused += rc != 0;
        vm_run(&v, 1000); /* whatever was loaded runs to a defined state */
        vm_free(&v);
    }
    CHECK(refused > 50);
    return check_summary("test_vm_elf");
}
