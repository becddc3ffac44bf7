/* u256.h: 256-bit unsigned integers as 32 big-endian bytes, the EVM's word. Only what the chain
 * code needs: conversion to and from uint64, decimal and hex text, comparison, and the two's
 * complement view used by ABI intN values. */
#ifndef OPML_CHAIN_U256_H
#define OPML_CHAIN_U256_H

#include <stddef.h>
#include <stdint.h>

typedef struct u256 {
    uint8_t b[32]; /* big-endian */
} u256;

void u256_from_u64(u256 *x, uint64_t v);
/* Returns 0 and the value if it fits in 64 bits, else -1. */
int u256_to_u64(const u256 *x, uint64_t *v);
int u256_is_zero(const u256 *x);
int u256_cmp(const u256 *a, const u256 *b);

/* Parses decimal digits, or 0x-prefixed hex (1 to 64 digits). A leading '-' is accepted only when
 * allow_negative is set and yields the two's complement. Returns 0, or -1 on any other character,
 * an empty number or a value that does not fit (for negative numbers: below -2^255). */
int u256_parse(u256 *x, const char *text, int allow_negative);

/* Decimal text into out (room for 80 bytes): unsigned, or as a two's complement signed value of
 * `bits` bits (8..256) when is_signed. */
void u256_to_dec(const u256 *x, int is_signed, unsigned bits, char out[80]);

/* Minimal 0x-prefixed hex quantity ("0x0", "0x1a"), room for 67 bytes. */
void u256_to_hex(const u256 *x, char out[67]);

/* x += y; returns the carry out. x *= m (small m); returns -1 on overflow. */
int u256_add(u256 *x, const u256 *y);
int u256_mul_small(u256 *x, uint32_t m);

#endif
