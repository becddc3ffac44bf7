/* vector_file.c: see vector_file.h. */
#include "vector_file.h"

#include "hex.h"

#include <stdlib.h>
#include <string.h>

/* 1 if the file at path holds exactly size bytes equal to buf. */
static int file_equals(const char *path, const char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *old = malloc(size + 1);
    int same = old && fread(old, 1, size + 1, f) == size && memcmp(old, buf, size) == 0;
    free(old);
    fclose(f);
    return same;
}

int vector_file_main(int argc, char **argv, const char *name, FILE **out, void (*generate)(void)) {
    if (argc == 2 && argv[1][0] != '-') {
        if (!(*out = fopen(argv[1], "w"))) {
            perror(argv[1]);
            return 1;
        }
        generate();
        return fclose(*out) == 0 ? 0 : 1;
    }
    if (argc == 3 && !strcmp(argv[1], "--check")) {
        char *buf = NULL;
        size_t size = 0;
        if (!(*out = open_memstream(&buf, &size))) return 1;
        generate();
        fclose(*out);
        int same = file_equals(argv[2], buf, size);
        free(buf);
        if (!same) fprintf(stderr, "%s: %s is stale: regenerate it with `%s %s`\n", name, argv[2], name, argv[2]);
        return same ? 0 : 1;
    }
    fprintf(stderr, "usage: %s OUT.json | %s --check FILE\n", name, name);
    return 2;
}

void vector_hex(FILE *out, const uint8_t *b, size_t n) {
    char *h = malloc(2 * n + 3);
    if (!h) abort();
    hex_encode(b, n, h);
    fprintf(out, "\"%s\"", h);
    free(h);
}

void vector_hex_list(FILE *out, const uint8_t (*b)[32], size_t n) {
    fprintf(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) fprintf(out, ", ");
        vector_hex(out, b[i], 32);
    }
    fprintf(out, "]");
}
