/* cprog.c: a C program for the differential test against qemu-riscv32 (vm_cprog.sh), compiled
 * with riscv64-unknown-elf-gcc -march=rv32im -mabi=ilp32 and picolibc: sorting (picolibc's
 * qsort), CRC-32, signed and unsigned division corner cases, 64-bit arithmetic (libgcc) and
 * soft-float arithmetic fold into one 32-bit checksum. The program ends with write(1, hex, 9):
 * qemu prints the checksum; the VM stops at that ecall (fault 5, unknown ecall) with the checksum
 * in register t6, which `opml vm-exec --json` prints. Both must show the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 12345;
static uint32_t rnd(void) {
    seed = seed * 1103515245u + 12345u;
    return seed ^ (seed >> 16);
}

static int cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static int32_t arr[512];
static volatile int32_t corner[] = {0, 1, -1, 7, -7, 2147483647, (int32_t)0x80000000, 3};

int main(void);
int main(void) {
    uint32_t sum = 0;
    for (int i = 0; i < 512; i++) arr[i] = (int32_t)rnd();
    qsort(arr, 512, sizeof arr[0], cmp);
    for (int i = 1; i < 512; i++) sum += arr[i - 1] <= arr[i];
    sum ^= crc32((const uint8_t *)arr, sizeof arr);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8; k++) {
            int32_t a = corner[i], b = corner[k];
            /* the C-undefined cases (x/0, INT_MIN/-1) are left to the hardware semantics */
            int32_t q, r;
            uint32_t qu, ru;
            __asm__ volatile("div %0, %1, %2" : "=r"(q) : "r"(a), "r"(b));
            __asm__ volatile("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
            __asm__ volatile("divu %0, %1, %2" : "=r"(qu) : "r"(a), "r"(b));
            __asm__ volatile("remu %0, %1, %2" : "=r"(ru) : "r"(a), "r"(b));
            sum = sum * 31 + (uint32_t)q + (uint32_t)r * 7 + qu * 13 + ru * 17;
            sum += (uint32_t)(((int64_t)a * b) >> 32) + (uint32_t)(((uint64_t)(uint32_t)a * (uint32_t)b) >> 32);
        }
    uint64_t big = 0x123456789ABCDEFull;
    for (int i = 1; i < 40; i++) big = big / (uint64_t)i + big % 977 * (uint64_t)rnd();
    sum ^= (uint32_t)big ^ (uint32_t)(big >> 32);
    float f = 1.0f;
    double d = 1.0;
    for (int i = 1; i < 200; i++) {
        f = f * 1.0001f + (float)i / 3.0f;
        d = d / 1.7 + (double)f;
    }
    uint32_t fb, db[2];
    memcpy(&fb, &f, 4);
    memcpy(db, &d, 8);
    sum ^= fb * 3 + db[0] * 5 + db[1] * 7;
    return (int)sum;
}
