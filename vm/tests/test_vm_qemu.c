/* test_vm_qemu.c: differential test of the interpreter against qemu-riscv32 (Debian qemu-user),
 * a second RV32IM implementation. Random programs (tests/randprog.h) of every instruction kind
 * end by dumping their registers into a data area and writing it to stdout; qemu prints it, the
 * VM stops at that write ecall (fault 5) with the same bytes in memory. Both must agree. */
#include "vm_elf.h"
#include "randprog.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *slurp(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static uint8_t buf[1 << 20];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    const char *qemu = argc > 1 ? argv[1] : "qemu-riscv32";
    char dir[] = "/tmp/opml-vmqemu-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char elf[64], cmd[256];
    snprintf(elf, sizeof elf, "%s/prog.elf", dir);
    static uint32_t code[8192];
    int programs = 0;
    uint64_t steps = 0;
    for (uint32_t seed = 1; seed <= 40; seed++) {
        rp_seed = seed * 7919;
        size_t n = rp_generate(code, 8192, 1500);
        CHECK_EQ_INT(rp_write_elf(elf, code, n), 0);
        /* qemu */
        snprintf(cmd, sizeof cmd, "%s %s", qemu, elf);
        FILE *p = popen(cmd, "r");
        CHECK(p != NULL);
        if (!p) break;
        uint8_t want[RP_DATA_BYTES + 1];
        size_t got = fread(want, 1, sizeof want, p);
        int status = pclose(p);
        CHECK_EQ_INT(got, RP_DATA_BYTES);
        CHECK_EQ_INT(status, 0);
        /* the VM */
        size_t len = 0;
        const uint8_t *img = slurp(elf, &len);
        CHECK(img != NULL);
        vm v;
        CHECK_EQ_INT(vm_init(&v), 0);
        char err[128];
        CHECK_EQ_INT(vm_load_elf(&v, img, len, err, sizeof err), 0);
        CHECK_EQ_INT(vm_run(&v, 1000000), 0);
        CHECK_EQ_INT(v.status, VM_FAULTED);
        CHECK_EQ_INT(v.exit_code, VM_FAULT_ECALL);
        CHECK_EQ_INT(v.x[17], 64);
        uint8_t mine[RP_DATA_BYTES];
        vm_mem_read(&v.mem, RP_DATA, mine, sizeof mine);
        CHECK_MEM(mine, want, RP_DATA_BYTES);
        if (memcmp(mine, want, RP_DATA_BYTES) != 0) {
            for (unsigned r = 1; r <= 30; r++) {
                uint32_t a, b;
                memcpy(&a, mine + RP_DUMP + 4 * (r - 1), 4);
                memcpy(&b, want + RP_DUMP + 4 * (r - 1), 4);
                if (a != b) fprintf(stderr, "seed %u: x%u vm %#x qemu %#x\n", seed, r, a, b);
            }
        }
        steps += v.step;
        programs++;
        vm_free(&v);
    }
    unlink(elf);
    rmdir(dir);
    printf("%d random programs, %llu instructions, identical to qemu\n", programs, (unsigned long long)steps);
    return check_summary("test_vm_qemu");
}
