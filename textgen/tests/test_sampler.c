/* The sampler against docs/numerics.md "Sampling": greedy is the argmax (ties to the lowest id,
 * NaN skipped); for random logits and parameters, every draw equals a second, plain reading of the
 * written order (selection instead of a sort, the same fp32 operations); the draws follow the
 * distribution (four tokens of probability .1 .2 .3 .4, 200,000 draws); top-k 1 and a tiny top-p
 * are greedy; NaN and -Inf logits are never drawn, +Inf always; the draw state is counter-based
 * (the j-th token draws with seed + j * GOLDEN); one seed, one sequence; bad parameters are
 * refused. */
#include "check.h"
#include "fmath.h"
#include "sample.h"
#include "sampler.h"

#include <math.h>
#include <stdlib.h>

static char err[256];

/* The written order, read plainly: candidates chosen one at a time by (logit desc, id asc). */
static int32_t spec_sample(const float *l, uint32_t nv, float temp, uint32_t top_k, float top_p, uint64_t *state) {
    uint32_t *ids = malloc(nv * sizeof *ids);
    char *used = calloc(nv, 1);
    uint32_t n = 0;
    for (;;) {
        int32_t best = -1;
        for (uint32_t i = 0; i < nv; i++)
            if (!used[i] && !kf_isnan(l[i]) && (best < 0 || l[i] > l[best])) best = (int32_t)i;
        if (best < 0) break;
        used[best] = 1;
        ids[n++] = (uint32_t)best;
    }
    int32_t r = 0;
    if (n == 0) goto out;
    if (top_k && top_k < n) n = top_k;
    float m = l[ids[0]] / temp;
    float *e = malloc(n * sizeof *e), total = 0, kept = 0, acc = 0;
    for (uint32_t i = 0; i < n; i++) total += e[i] = kf_exp(l[ids[i]] / temp - m);
    uint32_t k = 0;
    do kept += e[k++];
    while (k < n && kept < top_p * total);
    float target = (float)(opml_splitmix64(state) >> 40) / 16777216.0f * kept;
    r = (int32_t)ids[k - 1];
    for (uint32_t i = 0; i < k; i++)
        if (target < (acc += e[i])) {
            r = (int32_t)ids[i];
            break;
        }
    free(e);
out:
    free(ids);
    free(used);
    return r;
}

int main(void) {
    float l[8] = {1, 3, NAN, 3, -INFINITY, 2, 0, 3};
    CHECK_EQ_INT(opml_argmax(l, 8), 1);
    float nan3[3] = {NAN, NAN, NAN};
    CHECK_EQ_INT(opml_argmax(nan3, 3), 0);
    float lead_nan[3] = {NAN, -5, -4};
    CHECK_EQ_INT(opml_argmax(lead_nan, 3), 2);

    opml_sampler s;
    CHECK_EQ_INT(opml_sampler_init(&s, 0, 0, 1, 1, 8, err, sizeof err), 0);
    CHECK_EQ_INT(opml_sampler_next(&s, l), 1); /* greedy */
    opml_sampler_free(&s);

    /* random logits and parameters: the sampler equals the plain reading */
    enum { NV = 300 };
    float *r = malloc(NV * sizeof *r);
    uint64_t x = 12345;
    int same = 0, total = 0;
    for (int trial = 0; trial < 200; trial++) {
        for (int i = 0; i < NV; i++) {
            uint64_t u = opml_splitmix64(&x);
            r[i] = (float)((int64_t)(u >> 40) - (1 << 23)) / (float)(1 << 20); /* -8 .. 8, many ties at coarse trials */
            if (trial % 4 == 0) r[i] = roundf(r[i]);
            if (u % 97 == 0) r[i] = NAN;
            if (u % 89 == 0) r[i] = -INFINITY;
        }
        float temp = 0.1f + (float)(trial % 7) * 0.3f, top_p = trial % 3 ? 0.5f + (float)(trial % 5) * 0.1f : 1.0f;
        uint32_t top_k = trial % 2 ? (uint32_t)(trial % 50) : 0;
        uint64_t seed = (uint64_t)trial * 7919, spec_state = seed;
        CHECK_EQ_INT(opml_sampler_init(&s, temp, top_k, top_p, seed, NV, err, sizeof err), 0);
        for (int d = 0; d < 10; d++, total++) {
            int32_t a = opml_sampler_next(&s, r), b = spec_sample(r, NV, temp, top_k, top_p, &spec_state);
            same += a == b;
            CHECK(a >= 0 && a < NV && !kf_isnan(r[a]) && r[a] != -INFINITY);
        }
        opml_sampler_free(&s);
    }
    CHECK_EQ_INT(same, total);

    /* the distribution: p = .1 .2 .3 .4 at temperature 1 */
    float p4[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    long count[4] = {0};
    CHECK_EQ_INT(opml_sampler_init(&s, 1, 0, 1, 99, 4, err, sizeof err), 0);
    for (int d = 0; d < 200000; d++) count[opml_sampler_next(&s, p4)]++;
    opml_sampler_free(&s);
    for (int i = 0; i < 4; i++) CHECK(fabs((double)count[i] / 200000.0 - 0.1 * (i + 1)) < 0.005);
    /* top-k 1 and a tiny top-p are greedy; +Inf is always drawn */
    CHECK_EQ_INT(opml_sampler_init(&s, 1, 1, 1, 5, 4, err, sizeof err), 0);
    for (int d = 0; d < 50; d++) CHECK_EQ_INT(opml_sampler_next(&s, p4), 3);
    opml_sampler_free(&s);
    CHECK_EQ_INT(opml_sampler_init(&s, 1, 0, 1e-6f, 5, 4, err, sizeof err), 0);
    for (int d = 0; d < 50; d++) CHECK_EQ_INT(opml_sampler_next(&s, p4), 3);
    float inf4[4] = {0, INFINITY, 1, INFINITY};
    CHECK_EQ_INT(opml_sampler_next(&s, inf4), 1);
    opml_sampler_free(&s);
    /* counter-based: the j-th token draws with seed + j * GOLDEN, a token that did not draw (+Inf,
     * greedy) included; the kernel's function with that state gives the same token */
    CHECK_EQ_INT(opml_sampler_init(&s, 0.7f, 0, 1, 1234, 4, err, sizeof err), 0);
    CHECK_EQ_INT(opml_sampler_next(&s, inf4), 1); /* no draw */
    int32_t second = opml_sampler_next(&s, p4);
    kd_sampler k = {1234 + KD_SPLITMIX_GOLDEN, 0.7f, 1.0f, 0};
    uint32_t ord[4];
    float ew[4];
    CHECK_EQ_INT(second, kd_sample(p4, 4, &k, ord, ew));
    CHECK(s.state == 1234 + 2 * KD_SPLITMIX_GOLDEN);
    opml_sampler_free(&s);
    /* one seed, one sequence; another seed, another */
    int32_t seq[3][40];
    uint64_t seeds[3] = {7, 7, 8};
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(opml_sampler_init(&s, 1.5f, 0, 1, seeds[k], NV, err, sizeof err), 0);
        for (int d = 0; d < 40; d++) seq[k][d] = opml_sampler_next(&s, r);
        opml_sampler_free(&s);
    }
    CHECK(memcmp(seq[0], seq[1], sizeof seq[0]) == 0);
    CHECK(memcmp(seq[0], seq[2], sizeof seq[0]) != 0);
    /* refused */
    CHECK(opml_sampler_init(&s, -1, 0, 1, 0, 4, err, sizeof err) == -1 && strstr(err, "temperature"));
    CHECK(opml_sampler_init(&s, INFINITY, 0, 1, 0, 4, err, sizeof err) == -1);
    CHECK(opml_sampler_init(&s, NAN, 0, 1, 0, 4, err, sizeof err) == -1);
    CHECK(opml_sampler_init(&s, 1, 0, 0, 0, 4, err, sizeof err) == -1 && strstr(err, "top-p"));
    CHECK(opml_sampler_init(&s, 1, 0, 1.5f, 0, 4, err, sizeof err) == -1);
    CHECK(opml_sampler_init(&s, 1, 5, 1, 0, 4, err, sizeof err) == -1 && strstr(err, "top-k 5"));
    free(r);
    return check_summary("test_sampler");
}
