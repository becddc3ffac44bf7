/* vector_file.h: the shared main of the programs that write the cross-language test vectors in
 * tests/vectors/ (C writes them, Solidity checks them). `PROG OUT.json` writes the file;
 * `PROG --check FILE` fails when FILE is not exactly what the program writes today (a stale file). */
#ifndef OPML_VECTOR_FILE_H
#define OPML_VECTOR_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Runs the command line above. generate() writes the whole file to *out, which this function
 * points at the output file or an in-memory buffer first. Returns the process exit code. */
int vector_file_main(int argc, char **argv, const char *name, FILE **out, void (*generate)(void));

/* Writes n bytes to out as a JSON string of 0x hex. */
void vector_hex(FILE *out, const uint8_t *b, size_t n);
/* Writes n 32-byte hashes to out as a JSON list of 0x hex strings. */
void vector_hex_list(FILE *out, const uint8_t (*b)[32], size_t n);

#endif
