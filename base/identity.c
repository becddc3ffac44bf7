/* identity.c: see identity.h. One secp256k1 context for the process, created on first use and
 * randomised against side channels; libsecp256k1 contexts are safe to share between threads once
 * created. */
#include "identity.h"
#include "errmsg.h"

#include "hex.h"
#include "keccak.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static int random_bytes(void *buf, size_t len) {
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void ctx_create(void) {
    uint8_t seed[32];
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    if (ctx && random_bytes(seed, sizeof seed) == 0 && !secp256k1_context_randomize(ctx, seed)) {
        secp256k1_context_destroy(ctx);
        ctx = NULL;
    }
    memset(seed, 0, sizeof seed);
}

static secp256k1_context *context(void) {
    pthread_once(&ctx_once, ctx_create);
    return ctx;
}

static void address_of(const uint8_t pubkey[64], uint8_t address[20]) {
    uint8_t h[32];
    keccak256(pubkey, 64, h);
    memcpy(address, h + 12, 20);
}

int identity_from_secret(identity *id, const uint8_t secret[32]) {
    secp256k1_context *c = context();
    secp256k1_pubkey pk;
    uint8_t ser[65];
    size_t len = sizeof ser;
    if (!c || !secp256k1_ec_seckey_verify(c, secret) || !secp256k1_ec_pubkey_create(c, &pk, secret)) return -1;
    secp256k1_ec_pubkey_serialize(c, ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    memcpy(id->secret, secret, 32);
    memcpy(id->pubkey, ser + 1, 64);
    address_of(id->pubkey, id->address);
    return 0;
}

int identity_generate(identity *id) {
    uint8_t secret[32];
    int rc = -1;
    for (int tries = 0; tries < 8 && rc != 0; tries++) { /* a bad secret has probability ~2^-128 */
        if (random_bytes(secret, sizeof secret) != 0) break;
        rc = identity_from_secret(id, secret);
    }
    memset(secret, 0, sizeof secret);
    return rc;
}

int identity_load(identity *id, const char *path, char *err, size_t errlen) {
    char text[80];
    uint8_t secret[32];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return opml_errf(err, errlen, "key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return opml_errf(err, errlen, "key file %s: not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return opml_errf(err, errlen, "key file %s: mode %03o lets group or world access it; chmod 600 it",
                       path, (unsigned)(st.st_mode & 0777));
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0) return opml_errf(err, errlen, "key file %s: %s", path, strerror(errno));
    text[n] = 0;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) text[--n] = 0;
    int rc = hex_decode(text, secret, 32);
    memset(text, 0, sizeof text);
    if (rc != 0) return opml_errf(err, errlen, "key file %s: expected one line of 64 hex digits", path);
    rc = identity_from_secret(id, secret);
    memset(secret, 0, sizeof secret);
    if (rc != 0) return opml_errf(err, errlen, "key file %s: not a valid secp256k1 secret", path);
    return 0;
}

int identity_save(const identity *id, const char *path, char *err, size_t errlen) {
    char text[70];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return opml_errf(err, errlen, "key file %s: %s", path, strerror(errno));
    hex_encode(id->secret, 32, text);
    size_t len = strlen(text);
    text[len++] = '\n';
    int ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    memset(text, 0, sizeof text);
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        unlink(path);
        return opml_errf(err, errlen, "key file %s: write failed: %s", path, strerror(errno));
    }
    return 0;
}

int identity_load_or_create(identity *id, const char *path, char *err, size_t errlen) {
    if (access(path, F_OK) == 0 || errno != ENOENT) return identity_load(id, path, err, errlen);
    if (identity_generate(id) != 0) return opml_errf(err, errlen, "no randomness to generate a key");
    if (identity_save(id, path, err, errlen) != 0) return -1;
    return 0;
}

int identity_sign_digest(const identity *id, const uint8_t digest[32], uint8_t sig[65]) {
    secp256k1_context *c = context();
    secp256k1_ecdsa_recoverable_signature rs;
    int recid;
    if (!c || !secp256k1_ecdsa_sign_recoverable(c, &rs, digest, id->secret, NULL, NULL)) return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(c, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    return 0;
}

int identity_recover(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20]) {
    secp256k1_context *c = context();
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_ecdsa_signature plain;
    secp256k1_pubkey pk;
    uint8_t ser[65];
    size_t len = sizeof ser;
    if (!c || sig[64] > 1) return -1;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(c, &rs, sig, sig[64])) return -1;
    /* Refuse high s: normalize returns 1 when it had to flip s. */
    if (!secp256k1_ecdsa_signature_parse_compact(c, &plain, sig)) return -1;
    if (secp256k1_ecdsa_signature_normalize(c, NULL, &plain)) return -1;
    if (!secp256k1_ecdsa_recover(c, &pk, &rs, digest)) return -1;
    secp256k1_ec_pubkey_serialize(c, ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    address_of(ser + 1, address);
    return 0;
}

void identity_address_text(const uint8_t address[20], char out[43]) {
    char lower[43];
    uint8_t h[32];
    hex_encode(address, 20, lower);
    keccak256(lower + 2, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        char ch = lower[2 + i];
        int nib = (i & 1) ? h[i / 2] & 15 : h[i / 2] >> 4;
        out[2 + i] = (ch >= 'a' && nib >= 8) ? (char)(ch - 'a' + 'A') : ch;
    }
    out[42] = 0;
}

void identity_curve_secret(const identity *id, uint8_t out[32]) {
    keccak256_ctx k;
    keccak256_init(&k);
    keccak256_update(&k, "opml.curve.v1", 13);
    keccak256_update(&k, id->secret, 32);
    keccak256_final(&k, out);
    memset(&k, 0, sizeof k);
}

void identity_wipe(identity *id) {
    volatile uint8_t *p = (volatile uint8_t *)id;
    for (size_t i = 0; i < sizeof *id; i++) p[i] = 0;
}
