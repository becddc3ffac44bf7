/* test_follower_anvil.c: the event stream on a real anvil with a real RocksDB store (storage's
 * opml_store): every Probe event decoded and numbered; confirmations respected; a re-org made with
 * evm_snapshot/evm_revert retracts the dropped events and publishes the new chain's; a restart
 * resumes without missing or repeating anything; a publish failure and a crash between publishing
 * and the cursor write lose nothing, and any repeat carries the same seq and bytes. Every event
 * carries its block's timestamp, on a chain whose time runs days ahead of the wall clock
 * (evm_increaseTime), read block by block, by ranges, and from the new chain after a re-org. */
#include "anvil.h"
#include "check.h"
#include "contract.h"
#include "follower.h"
#include "hex.h"
#include "sender.h"
#include "rocks_store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the subscriber: what it received, by seq ---- */

#define MAXEV 256
static struct got {
    char topic[128];
    char args[512];
    int removed;
    uint64_t retracts;
    uint64_t block;
    uint64_t block_time;
    uint8_t packed[2048];
    size_t plen;
    int count; /* times received */
} got[MAXEV];
static int fail_at; /* seq whose publication fails (0: none) */

static int on_event(void *user, const char *topic, const Opml__ChainEvent *ev) {
    (void)user;
    if (ev->seq == (uint64_t)fail_at) {
        fail_at = 0;
        return -1;
    }
    if (ev->seq == 0 || ev->seq >= MAXEV) return 0;
    struct got *g = &got[ev->seq];
    uint8_t buf[2048];
    size_t n = opml__chain_event__pack(ev, buf);
    if (g->count) {
        CHECK(n == g->plen && !memcmp(buf, g->packed, n)); /* a repeat is the same event */
    }
    g->count++;
    snprintf(g->topic, sizeof g->topic, "%s", topic);
    snprintf(g->args, sizeof g->args, "%s", ev->args_json);
    g->removed = ev->removed;
    g->retracts = ev->retracts_seq;
    g->block = ev->block_number;
    g->block_time = ev->block_time;
    memcpy(g->packed, buf, n);
    g->plen = n;
    return 0;
}

static int drain(follower *f) {
    char err[300];
    int rc, steps = 0;
    while ((rc = follower_step(f, on_event, NULL, err, sizeof err)) == 1) steps++;
    if (rc < 0) fprintf(stderr, "  step: %s\n", err);
    return rc < 0 ? -1 : steps;
}

static uint64_t store_note(sender *s, const contract *probe, const uint8_t addr[20], const char *note) {
    char args[200], err[300];
    chain_receipt r;
    snprintf(args, sizeof args, "[\"0x%064x\", \"%s\"]", (unsigned)strlen(note), note);
    if (anvil_tx(s, probe, addr, "store", args, 0, 200000, &r, err, sizeof err)) {
        fprintf(stderr, "  store %s: %s\n", note, err);
        return 0;
    }
    return r.block_number;
}

static int received(uint64_t seq, const char *topic, const char *args_part, int removed) {
    const struct got *g = &got[seq];
    int ok = g->count == 1 && !strcmp(g->topic, topic) && strstr(g->args, args_part) && g->removed == removed;
    if (!ok) fprintf(stderr, "  seq %llu: count %d topic %s args %s removed %d\n", (unsigned long long)seq, g->count,
                     g->topic, g->args, g->removed);
    return ok;
}

#define AHEAD 1000000 /* seconds the chain's time runs ahead of the wall clock */

/* Events from..to carry their block's timestamp, as the node reports it, and that is chain time,
 * days ahead of the wall clock. */
static int times_match(const anvil *node, uint64_t from, uint64_t to) {
    int ok = 1;
    for (uint64_t seq = from; seq <= to; seq++) {
        uint64_t want = anvil_block_time(node, got[seq].block);
        if (got[seq].block_time != want || want < (uint64_t)time(NULL) + AHEAD / 2) {
            fprintf(stderr, "  seq %llu: block %llu time %llu, the node says %llu\n", (unsigned long long)seq,
                    (unsigned long long)got[seq].block, (unsigned long long)got[seq].block_time, (unsigned long long)want);
            ok = 0;
        }
    }
    return ok;
}

int main(void) {
    char dir[] = "/tmp/chainwatch-follow-XXXXXX", path[256], jpath[256], err[600];
    if (!mkdtemp(dir)) return 1;
    anvil node;
    if (anvil_start(&node, 0, NULL)) return 1;
    contract *probe = contract_load(PROBE_ARTIFACT, err, sizeof err);
    if (!probe) return 1;
    ethrpc_options ro = {.timeout_ms = 3000, .retries = 1, .backoff_ms = 20};
    ethrpc_client *rpc = ethrpc_open(node.url, &ro);
    identity me;
    uint8_t secret[32];
    hex_decode(ANVIL_KEY0, secret, 32);
    identity_from_secret(&me, secret);
    snprintf(jpath, sizeof jpath, "%s/journal.json", dir);
    sender_config scfg = {.journal = jpath};
    sender *s = sender_open(rpc, &me, &scfg, err, sizeof err);

    /* deploy Probe with a large limit */
    chain_receipt r;
    CHECK_EQ_INT(anvil_tx(s, probe, NULL, NULL, "[1000, \"p\"]", 0, 0, &r, err, sizeof err), 0);
    follow_contract fc = {probe, {0}};
    memcpy(fc.address, r.contract_address, 20);
    char ahead[32];
    snprintf(ahead, sizeof ahead, "[%d]", AHEAD);
    free(anvil_rpc(&node, "evm_increaseTime", ahead)); /* the chain's clock is no longer the wall's */

    snprintf(path, sizeof path, "%s/db", dir);
    store *db = store_open(path, err, sizeof err);
    CHECK(db != NULL);
    follow_store fs = rocks_follow_store(db);
    follower_config cfg = {.contracts = &fc, .ncontracts = 1, .confirmations = 2, .key_prefix = "cw/test/"};
    follower *f = follower_open(rpc, &cfg, &fs, err, sizeof err);
    CHECK(f != NULL);

    /* events wait for their confirmations */
    uint64_t b1 = store_note(s, probe, fc.address, "one");
    CHECK(drain(f) >= 0);
    CHECK_EQ_INT(follower_last_seq(f), 0);
    CHECK_EQ_INT(follower_next_block(f), b1 - 1);
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    CHECK(drain(f) > 0);
    CHECK_EQ_INT(follower_last_seq(f), 1);
    CHECK(received(1, "chain.Probe.Stored", "\"note\":\"one\"", 0));
    CHECK_EQ_INT(got[1].block, b1);
    CHECK(times_match(&node, 1, 1));
    CHECK(follower_block_time(f) >= got[1].block_time); /* blocks on top of it were read too */

    /* a clean restart: nothing repeated, nothing missed */
    store_note(s, probe, fc.address, "two");
    store_note(s, probe, fc.address, "three");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    CHECK(drain(f) > 0);
    CHECK_EQ_INT(follower_last_seq(f), 3);
    follower_close(f);
    store_note(s, probe, fc.address, "four");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    f = follower_open(rpc, &cfg, &fs, err, sizeof err);
    CHECK(drain(f) > 0);
    CHECK(received(2, "chain.Probe.Stored", "two", 0) && received(3, "chain.Probe.Stored", "three", 0) &&
          received(4, "chain.Probe.Stored", "four", 0));
    CHECK(times_match(&node, 2, 4));

    /* a publication that fails is published again on the next step */
    store_note(s, probe, fc.address, "five");
    store_note(s, probe, fc.address, "six");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    fail_at = 6;
    CHECK_EQ_INT(drain(f), -1);
    CHECK(drain(f) > 0);
    CHECK(received(5, "chain.Probe.Stored", "five", 0) && received(6, "chain.Probe.Stored", "six", 0));

    /* a crash after publishing, before the cursor records it: the restart repeats at most those
     * events, with the same seq and bytes (on_event checks), and misses nothing */
    store_note(s, probe, fc.address, "seven");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    CHECK(drain(f) >= 0); /* caught up: its idle step flushed the cursor */
    store_note(s, probe, fc.address, "eight");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x2\"]"));
    char e2[300];
    while (follower_last_seq(f) < 8 && follower_step(f, on_event, NULL, e2, sizeof e2) == 1) {}
    follower_close(f); /* no flush: as if killed */
    f = follower_open(rpc, &cfg, &fs, err, sizeof err);
    CHECK(drain(f) >= 0);
    CHECK(got[7].count == 1 && got[8].count >= 1 && got[8].count <= 2);
    if (got[8].count != 1) fprintf(stderr, "  (event 8 was published again after the crash, as allowed)\n");
    got[8].count = 1;

    /* a re-org: snapshot, two events, revert, another event in a longer chain */
    cfg.confirmations = 0;
    follower_close(f);
    f = follower_open(rpc, &cfg, &fs, err, sizeof err);
    CHECK(drain(f) >= 0);
    char *snap = anvil_rpc(&node, "evm_snapshot", "[]");
    uint64_t before = follower_last_seq(f);
    store_note(s, probe, fc.address, "doomed-a");
    store_note(s, probe, fc.address, "doomed-b");
    CHECK(drain(f) > 0);
    CHECK_EQ_INT(follower_last_seq(f), before + 2);
    char params[100];
    snprintf(params, sizeof params, "[%s]", snap);
    char *ok = anvil_rpc(&node, "evm_revert", params);
    CHECK(ok && !strcmp(ok, "true"));
    free(ok);
    free(snap);
    sender_close(s); /* the doomed transactions' nonces were rolled back with the chain */
    unlink(scfg.journal);
    s = sender_open(rpc, &me, &scfg, err, sizeof err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "  %s\n", err);
        return 1;
    }
    /* the new chain's block at doomed-a's height gets another timestamp: the event must carry it */
    char next_time[48];
    snprintf(next_time, sizeof next_time, "[%llu]", (unsigned long long)(got[before + 1].block_time + 5000));
    free(anvil_rpc(&node, "evm_setNextBlockTimestamp", next_time));
    store_note(s, probe, fc.address, "reborn");
    free(anvil_rpc(&node, "anvil_mine", "[\"0x3\"]"));
    CHECK(drain(f) > 0);
    /* doomed-b retracted first, then doomed-a, then the new chain's event */
    CHECK(received(before + 3, "chain.Probe.Stored", "doomed-b", 1) && got[before + 3].retracts == before + 2);
    CHECK(received(before + 4, "chain.Probe.Stored", "doomed-a", 1) && got[before + 4].retracts == before + 1);
    CHECK(received(before + 5, "chain.Probe.Stored", "reborn", 0));
    /* a retraction carries the dropped block's time, the new event the canonical block's */
    CHECK(got[before + 3].block_time == got[before + 2].block_time && got[before + 4].block_time == got[before + 1].block_time);
    CHECK_EQ_INT(got[before + 5].block, got[before + 1].block);
    CHECK_EQ_INT(got[before + 5].block_time, got[before + 1].block_time + 5000);
    CHECK(times_match(&node, before + 5, before + 5));
    CHECK_EQ_INT(follower_last_seq(f), before + 5);
    CHECK_EQ_INT(follower_retracted(f), 2);

    /* the stored stream can be read back by seq */
    Opml__ChainEvent *ev = follower_get_event(f, 1, err, sizeof err);
    CHECK(ev && ev->seq == 1 && !strcmp(ev->event, "Stored") && ev->n_topics == 3);
    if (ev) opml__chain_event__free_unpacked(ev, NULL);
    CHECK(follower_get_event(f, 999, err, sizeof err) == NULL);

    /* a follower far behind (window 4) catches up by ranges, then block by block: the current
     * chain's events exactly, in order, with far fewer requests than two per block */
    memset(got, 0, sizeof got);
    follower_config late = {.contracts = &fc, .ncontracts = 1, .window = 4, .key_prefix = "cw/late/"};
    follower *lf = follower_open(rpc, &late, &fs, err, sizeof err);
    unsigned long before_calls = ethrpc_attempts(rpc);
    CHECK(drain(lf) > 0);
    const char *notes[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "reborn"};
    CHECK_EQ_INT(follower_last_seq(lf), 9);
    for (int i = 0; i < 9; i++) CHECK(received((uint64_t)i + 1, "chain.Probe.Stored", notes[i], 0));
    CHECK(times_match(&node, 1, 9)); /* by ranges, each block's header read for its logs */
    uint64_t blocks = follower_next_block(lf);
    CHECK(ethrpc_attempts(rpc) - before_calls < blocks);
    if (ethrpc_attempts(rpc) - before_calls >= blocks)
        fprintf(stderr, "  %lu requests for %llu blocks\n", ethrpc_attempts(rpc) - before_calls, (unsigned long long)blocks);
    follower_close(lf);

    /* a hostile node reply (block that vanished, node down) is an error, not a crash */
    anvil_stop(&node);
    CHECK_EQ_INT(follower_step(f, on_event, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "node down") != NULL);

    follower_close(f);
    store_close(db);
    sender_close(s);
    ethrpc_close(rpc);
    contract_free(probe);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return check_summary("test_follower_anvil");
}
