/* identity.h: an actor's identity, a secp256k1 key pair whose Ethereum address names it.
 *
 * Signatures are Ethereum's recoverable ECDSA over a 32-byte Keccak digest: 65 bytes r || s || v
 * with v the recovery id 0 or 1 (add 27 for eth_sign style, or use it as the y-parity of an
 * EIP-1559 transaction). s is always low (s <= n/2); identity_recover refuses a high s, so a
 * signature cannot be re-shaped into a second valid one.
 *
 * A key file holds one line, the 32-byte secret as 0x-prefixed hex. It is created with mode 0600
 * and refused when group or world may read it. The secret never leaves this module except to
 * derive the actor's CURVE key (identity_curve_secret). */
#ifndef OPML_IDENTITY_H
#define OPML_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct identity {
    uint8_t secret[32];
    uint8_t pubkey[64];   /* uncompressed public key without the 0x04 prefix: x || y */
    uint8_t address[20];  /* last 20 bytes of keccak256(pubkey) */
} identity;

/* A fresh random key (getrandom). Returns 0, or -1 if the system has no randomness. */
int identity_generate(identity *id);

/* The identity of a given secret. Returns 0, or -1 if the secret is zero or >= the group order. */
int identity_from_secret(identity *id, const uint8_t secret[32]);

/* Loads the key file at path. Returns 0; -1 with a reason in err (never the secret) if the file
 * is missing, unreadable, readable by group or world, or does not hold one valid secret. */
int identity_load(identity *id, const char *path, char *err, size_t errlen);

/* Writes id's secret to a new file at path (mode 0600, refusing to overwrite). Returns 0 or -1. */
int identity_save(const identity *id, const char *path, char *err, size_t errlen);

/* identity_load, or when the file does not exist, identity_generate + identity_save. */
int identity_load_or_create(identity *id, const char *path, char *err, size_t errlen);

/* Signs a 32-byte digest: sig = r(32) || s(32) || v(1), v in {0,1}, s low. Returns 0 or -1. */
int identity_sign_digest(const identity *id, const uint8_t digest[32], uint8_t sig[65]);

/* The address that signed digest. Returns 0, or -1 if sig is malformed (v > 1, r or s out of
 * range, s high) or recovers no key. */
int identity_recover(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20]);

/* EIP-55 mixed-case checksummed "0x..." address; out has room for 43 bytes. */
void identity_address_text(const uint8_t address[20], char out[43]);

/* The 32-byte Curve25519 secret of the actor's ZeroMQ CURVE key, derived from the identity as
 * keccak256("opml.curve.v1" || secret), so one key file carries both keys. */
void identity_curve_secret(const identity *id, uint8_t out[32]);

/* Zeroes the secret (and the rest). */
void identity_wipe(identity *id);

#endif
