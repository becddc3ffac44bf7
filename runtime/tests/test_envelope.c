/* Envelopes: sealed ones open; a flipped bit in any field (and in any bit of the encoding), a
 * wrong signer, a stale time and a replay are each refused with a reason; the replay guard's
 * eviction keeps working past its capacity; the config layers (default < file < env < flag); the
 * log's levels and JSON lines. */
#include "check.h"
#include "config.h"
#include "envelope.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <fcntl.h>

#include <stdlib.h>
#include <unistd.h>

static int opens(const uint8_t *buf, size_t len, char *err, size_t errlen) {
    envelope e;
    int rc = envelope_open(buf, len, clock_unix_ms(), 60000, &e, err, errlen);
    envelope_free(&e);
    return rc == 0;
}

/* Re-encodes `bytes` after `mutate` changed the decoded envelope (the signature is kept). */
static size_t remake(const uint8_t *bytes, size_t len, void (*mutate)(Opml__Envelope *, int), int bit, uint8_t *out) {
    Opml__Envelope *e = opml__envelope__unpack(NULL, len, bytes);
    mutate(e, bit);
    size_t n = opml__envelope__pack(e, out);
    opml__envelope__free_unpacked(e, NULL);
    return n;
}

static void flip_sender(Opml__Envelope *e, int bit) { e->sender.data[bit / 8 % 20] ^= (uint8_t)(1 << bit % 8); }
static void flip_seq(Opml__Envelope *e, int bit) { e->seq ^= 1ull << (bit % 64); }
static void flip_time(Opml__Envelope *e, int bit) { e->time_ms ^= 1ull << (bit % 16); } /* stays within skew */
static void flip_type(Opml__Envelope *e, int bit) { e->type[bit / 8 % strlen(e->type)] ^= (char)(1 << bit % 7); }
static void flip_payload(Opml__Envelope *e, int bit) { e->payload.data[bit / 8 % e->payload.len] ^= (uint8_t)(1 << bit % 8); }
static void flip_call(Opml__Envelope *e, int bit) { e->call_id ^= 1ull << (bit % 64); }
static void flip_sig(Opml__Envelope *e, int bit) { e->signature.data[bit / 8 % 65] ^= (uint8_t)(1 << bit % 8); }

int main(void) {
    identity alice, mallory;
    signer s;
    uint8_t *buf, payload[1024];
    size_t len;
    char err[512];
    log_setup("test", LOGL_ERROR, 0);
    CHECK(identity_generate(&alice) == 0 && identity_generate(&mallory) == 0);
    signer_init(&s, &alice);
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7);

    CHECK(envelope_seal(&s, "opml.EchoRequest", payload, sizeof payload, 42, &buf, &len) == 0);
    envelope e;
    CHECK(envelope_open(buf, len, clock_unix_ms(), 60000, &e, err, sizeof err) == 0);
    CHECK_MEM(e.sender, alice.address, 20);
    CHECK(e.call_id == 42 && e.payload_len == sizeof payload && !strcmp(e.type, "opml.EchoRequest"));
    CHECK_MEM(e.payload, payload, sizeof payload);
    envelope_free(&e);

    /* Every field, many bits each. */
    void (*mutators[])(Opml__Envelope *, int) = {flip_sender, flip_seq, flip_time, flip_type, flip_payload, flip_call, flip_sig};
    const char *names[] = {"sender", "seq", "time", "type", "payload", "call_id", "signature"};
    uint8_t *tmp = malloc(len + 64);
    for (int m = 0; m < 7; m++) {
        int refused = 0, total = 0;
        for (int bit = 0; bit < 160; bit++) {
            size_t n = remake(buf, len, mutators[m], bit, tmp);
            total++;
            err[0] = 0;
            if (!opens(tmp, n, err, sizeof err) && strstr(err, "envelope refused")) refused++;
        }
        if (refused != total) fprintf(stderr, "field %s: %d of %d flips refused\n", names[m], refused, total);
        CHECK_EQ_INT(refused, total);
    }
    /* Every bit of the encoding. */
    int refused = 0;
    for (size_t bit = 0; bit < 8 * len; bit++) {
        memcpy(tmp, buf, len);
        tmp[bit / 8] ^= (uint8_t)(1 << bit % 8);
        refused += !opens(tmp, len, err, sizeof err);
    }
    CHECK_EQ_INT(refused, 8 * len);
    /* Truncations. */
    for (size_t cut = 0; cut < len; cut++) CHECK(!opens(buf, cut, err, sizeof err));

    /* Wrong signer: Mallory signs an envelope claiming Alice's address. */
    {
        Opml__Envelope *x = opml__envelope__unpack(NULL, len, buf);
        uint8_t digest[32], sig[65];
        envelope_digest(x->sender.data, x->seq, x->time_ms, x->call_id, x->type, x->payload.data, x->payload.len, digest);
        CHECK(identity_sign_digest(&mallory, digest, sig) == 0);
        memcpy(x->signature.data, sig, 65);
        size_t n = opml__envelope__pack(x, tmp);
        opml__envelope__free_unpacked(x, NULL);
        CHECK(!opens(tmp, n, err, sizeof err));
        CHECK(strstr(err, "not the claimed sender") != NULL);
    }

    /* Stale time: refused with a skew bound, accepted without one. */
    CHECK(envelope_open(buf, len, clock_unix_ms() + 120000, 60000, &e, err, sizeof err) == -1);
    CHECK(strstr(err, "ms from ours") != NULL);
    CHECK(envelope_open(buf, len, clock_unix_ms() + 120000, 0, &e, err, sizeof err) == 0);
    envelope_free(&e);

    /* Replays and reordering through a guard. */
    replay_guard *g = replay_guard_new(4);
    uint8_t *b2;
    size_t l2;
    CHECK(envelope_seal(&s, "opml.EchoRequest", "x", 1, 0, &b2, &l2) == 0);
    envelope e1, e2;
    CHECK(envelope_open(buf, len, clock_unix_ms(), 60000, &e1, err, sizeof err) == 0);
    CHECK(envelope_open(b2, l2, clock_unix_ms(), 60000, &e2, err, sizeof err) == 0);
    CHECK(replay_guard_check(g, &e1, err, sizeof err) == 0);
    CHECK(replay_guard_check(g, &e1, err, sizeof err) == -1); /* replay */
    CHECK(strstr(err, "replay or out of order") != NULL);
    CHECK(replay_guard_check(g, &e2, err, sizeof err) == 0);
    CHECK(replay_guard_check(g, &e1, err, sizeof err) == -1); /* older, delivered late */
    /* Capacity: 10 other senders push Alice out; the guard stays bounded and keeps working. */
    for (int i = 0; i < 10; i++) {
        identity other;
        signer so;
        uint8_t *b;
        size_t l;
        envelope eo;
        CHECK(identity_generate(&other) == 0);
        signer_init(&so, &other);
        CHECK(envelope_seal(&so, "t.x", "", 0, 0, &b, &l) == 0);
        CHECK(envelope_open(b, l, 0, 0, &eo, err, sizeof err) == 0);
        CHECK(replay_guard_check(g, &eo, err, sizeof err) == 0);
        CHECK(replay_guard_check(g, &eo, err, sizeof err) == -1);
        envelope_free(&eo);
        free(b);
    }
    envelope_free(&e1);
    envelope_free(&e2);
    replay_guard_free(g);
    free(b2);

    /* Config layers. */
    static const config_opt opts[] = {{"alpha", "d", ""}, {"beta", "d", ""}, {"gamma", "d", ""}, {"delta", "d", ""}, {NULL, NULL, NULL}};
    char path[] = "/tmp/opml-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "# comment\nbeta = file\ngamma=file\n delta = file \n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    setenv("OPML_GAMMA", "env", 1);
    setenv("OPML_T_DELTA", "env-actor", 1);
    char cfgarg[64];
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
    char *argv[] = {"t", cfgarg, "--delta", "flag", NULL};
    config *c = config_load("t", opts, NULL, 4, argv, err, sizeof err);
    CHECK(c != NULL);
    if (c) {
        CHECK(!strcmp(config_get(c, "alpha"), "d"));
        CHECK(!strcmp(config_get(c, "beta"), "file"));
        CHECK(!strcmp(config_get(c, "gamma"), "env"));
        CHECK(!strcmp(config_get(c, "delta"), "flag"));
        config_free(c);
    }
    char *bad[] = {"t", "--nope=1", NULL};
    CHECK(config_load("t", opts, NULL, 2, bad, err, sizeof err) == NULL && strstr(err, "unknown option 'nope'"));
    char *noval[] = {"t", "--alpha", NULL};
    CHECK(config_load("t", opts, NULL, 2, noval, err, sizeof err) == NULL && strstr(err, "needs a value"));
    unlink(path);

    /* Logs: levels filter, JSON lines parse and carry the fields. */
    char logpath[] = "/tmp/opml-log-XXXXXX";
    int lfd = mkstemp(logpath), saved = dup(2);
    CHECK(lfd >= 0 && dup2(lfd, 2) == 2);
    log_setup("tlog", LOGL_INFO, 1);
    log_debug("hidden");
    log_info("shown \"quoted\" %d", 7);
    log_setup("tlog", LOGL_WARN, 0);
    log_info("hidden too");
    log_warn("plain");
    dup2(saved, 2);
    close(saved);
    FILE *lf = fdopen(lfd, "r");
    rewind(lf);
    char line[512];
    CHECK(fgets(line, sizeof line, lf) != NULL);
    cJSON *j = cJSON_Parse(line);
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "msg")->valuestring, "shown \"quoted\" 7"));
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "level")->valuestring, "info"));
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "actor")->valuestring, "tlog") && cJSON_GetObjectItem(j, "ts"));
    cJSON_Delete(j);
    CHECK(fgets(line, sizeof line, lf) != NULL && strstr(line, " tlog WARN plain\n"));
    CHECK(fgets(line, sizeof line, lf) == NULL);
    fclose(lf);
    unlink(logpath);

    free(tmp);
    free(buf);
    return check_summary("test_envelope");
}
