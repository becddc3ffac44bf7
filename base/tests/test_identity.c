/* Identities against Ethereum vectors computed by independent implementations (foundry's cast:
 * `cast wallet address`, `cast wallet sign`, `cast wallet sign --no-hash`; the "Some data"
 * signature is the one web3.js / eth-account document), plus key-file permissions, and the
 * malformed, tampered and high-s signatures identity_recover must refuse. */
#include "check.h"
#include "hex.h"
#include "identity.h"
#include "keccak.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

static void check_sig(const identity *id, const uint8_t digest[32], const char *want_hex) {
    uint8_t sig[65], want[65], addr[20];
    CHECK(hex_decode(want_hex, want, 65) == 0);
    want[64] -= 27; /* cast prints v as 27/28 */
    CHECK(identity_sign_digest(id, digest, sig) == 0);
    CHECK_MEM(sig, want, 65);
    CHECK(identity_recover(digest, sig, addr) == 0);
    CHECK_MEM(addr, id->address, 20);
}

int main(void) {
    identity id, id2;
    uint8_t secret[32], digest[32], sig[65], addr[20];
    char text[43], err[256];

    /* Address derivation with EIP-55 checksum. */
    CHECK(hex_decode(KEY, secret, 32) == 0);
    CHECK(identity_from_secret(&id, secret) == 0);
    identity_address_text(id.address, text);
    CHECK(strcmp(text, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23") == 0);
    memset(secret, 0, 32);
    secret[31] = 1;
    CHECK(identity_from_secret(&id2, secret) == 0);
    identity_address_text(id2.address, text);
    CHECK(strcmp(text, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf") == 0);

    /* Zero and >= n secrets are refused. */
    memset(secret, 0, 32);
    CHECK(identity_from_secret(&id2, secret) == -1);
    memset(secret, 0xff, 32);
    CHECK(identity_from_secret(&id2, secret) == -1);

    /* eth_sign of "Some data": digest = keccak256("\x19Ethereum Signed Message:\n9Some data"). */
    const char *msg = "\x19" "Ethereum Signed Message:\n9Some data";
    keccak256(msg, strlen(msg), digest);
    uint8_t want_digest[32];
    CHECK(hex_decode("0x1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655", want_digest, 32) == 0);
    CHECK_MEM(digest, want_digest, 32);
    check_sig(&id, digest, "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd"
                           "6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c");
    /* A raw digest (cast wallet sign --no-hash $(cast keccak hello)). */
    keccak256("hello", 5, digest);
    check_sig(&id, digest, "0xbc81bfc04b658485b9820cf4fac760c84f0fc628da21c9e64ed8aaede215e633"
                           "76cc1bfb23f9869c5b71a4069b48fce3ab0caaebc6bfb7a81cb12ac3b9b2f7b11c");

    /* Tampering: a flipped bit in the digest or signature recovers another address or nothing. */
    CHECK(identity_sign_digest(&id, digest, sig) == 0);
    for (int bit = 0; bit < 65 * 8; bit++) {
        uint8_t bad[65];
        memcpy(bad, sig, 65);
        bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        int rc = identity_recover(digest, bad, addr);
        CHECK(rc == -1 || memcmp(addr, id.address, 20) != 0);
    }
    digest[0] ^= 1;
    CHECK(identity_recover(digest, sig, addr) == -1 || memcmp(addr, id.address, 20) != 0);
    digest[0] ^= 1;

    /* High s (s' = n - s, v flipped) is the same signature re-shaped: refused. */
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    uint8_t high[65];
    memcpy(high, sig, 65);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        high[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    high[64] ^= 1;
    CHECK(identity_recover(digest, high, addr) == -1);
    sig[64] = 2;
    CHECK(identity_recover(digest, sig, addr) == -1);

    /* Key files: created 0600, loaded back, refused when group/world readable or malformed. */
    char dir[] = "/tmp/opml-identity-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/key", dir);
    CHECK(identity_load_or_create(&id2, path, err, sizeof err) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(identity_load(&id, path, err, sizeof err) == 0);
    CHECK_MEM(id.address, id2.address, 20);
    CHECK(identity_save(&id, path, err, sizeof err) == -1); /* never overwrites */
    CHECK(chmod(path, 0640) == 0);
    CHECK(identity_load(&id, path, err, sizeof err) == -1);
    CHECK(strstr(err, "group or world") != NULL);
    CHECK(chmod(path, 0604) == 0);
    CHECK(identity_load(&id, path, err, sizeof err) == -1);
    CHECK(chmod(path, 0600) == 0);
    FILE *f = fopen(path, "w");
    fputs("0x1234\n", f);
    fclose(f);
    CHECK(identity_load(&id, path, err, sizeof err) == -1);
    CHECK(strstr(err, "64 hex digits") != NULL);
    unlink(path);
    CHECK(identity_load(&id, path, err, sizeof err) == -1);
    rmdir(dir);

    /* Two generated keys differ; each signs and recovers. */
    CHECK(identity_generate(&id) == 0 && identity_generate(&id2) == 0);
    CHECK(memcmp(id.secret, id2.secret, 32) != 0);
    CHECK(identity_sign_digest(&id2, digest, sig) == 0 && identity_recover(digest, sig, addr) == 0);
    CHECK_MEM(addr, id2.address, 20);
    identity_wipe(&id);
    return check_summary("test_identity");
}
