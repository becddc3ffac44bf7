/* revert.h: what a failed call or transaction said, in words. Revert data is decoded as
 *   Error(string)   -> Error("the reason")
 *   Panic(uint256)  -> Panic(0x12: division or modulo by zero)
 *   a custom error  -> TooLarge(given=3, limit=2), found by its selector in the given contracts
 *   anything else   -> "no revert data" or "unknown revert data 0x..." (never guessed at). */
#ifndef OPML_CHAIN_REVERT_H
#define OPML_CHAIN_REVERT_H

#include "contract.h"

#include <stddef.h>
#include <stdint.h>

/* Writes the description into out (always NUL-terminated, truncated to outlen). */
void revert_describe(const uint8_t *data, size_t len, const contract *const *contracts, size_t ncontracts, char *out,
                     size_t outlen);

#endif
