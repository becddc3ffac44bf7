/* backend_cuda.cu: the `cuda` backend (backend.h), built wherever nvcc is found and usable
 * wherever a CUDA device is (opml_backend_new("cuda") returns NULL elsewhere).
 *
 * On the GPU: the W8A8 products (QLinear, QMatMul, QConv) end to end (per-row / per-column /
 * per-image scales, int8 quantization, the int8 x int8 -> int32 product on the tensor cores,
 * dequantization and bias) and the element-wise Relu, LeakyRelu, Clip, Add, Sub, Mul and Div (numpy broadcasting).
 * Every other operator runs the reference kernel on the host, as the blas backend does.
 *
 * Why the bits equal the reference (docs/numerics.md): the file is compiled with
 * --fmad=false -prec-div=true -prec-sqrt=true -ftz=false, so every float + - * / is one correctly
 * rounded IEEE operation with subnormals, exactly as the host's SSE; the absmax of a row is a max
 * of non-NaN values, which any reduction order gives alike; the integer product accumulates in
 * int32, which is associative; each output element then follows the reference's expression in the
 * reference's order (kq_output: ((float)acc * sa) * sb, + bias), NaN canonical. Device buffers of
 * a node's weights stay on the GPU in the node's cache slot. */
#include <cuda_runtime.h>
#include <mma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "backend.h"
}

#define CANON_NAN 0x7FC00000u

__device__ __forceinline__ float canon(float x) { return isnan(x) ? __uint_as_float(CANON_NAN) : x; }

/* kf_quantize: t = x / s; NaN -> 0; clamp to [-127, 127]; round half to even. */
__device__ __forceinline__ int8_t quantize(float x, float s) {
    float t = x / s;
    t = isnan(t) ? 0.0f : t;
    t = t > 127.0f ? 127.0f : t;
    t = t < -127.0f ? -127.0f : t;
    int32_t i = (int32_t)t;
    float f = t - (float)i;
    int32_t odd = i & 1;
    i += (f > 0.5f) | ((f == 0.5f) & odd);
    i -= (f < -0.5f) | ((f == -0.5f) & odd);
    return (int8_t)i;
}

__device__ __forceinline__ float output(int32_t acc, float sa, float sb, int has_bias, float bias) {
    float y = ((float)acc * sa) * sb;
    if (has_bias) y = y + bias;
    return canon(y);
}

/* scale[r] = absmax(x[r * rs + i * es], i < n) / 127, one block of 256 threads per row. */
__global__ void k_scale(const float *x, size_t n, size_t rs, size_t es, float *scale) {
    __shared__ float m[256];
    const float *row = x + blockIdx.x * rs;
    float a = 0.0f;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x) {
        float v = __uint_as_float(__float_as_uint(row[i * es]) & 0x7FFFFFFFu);
        if (v > a) a = v;
    }
    m[threadIdx.x] = a;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s && m[threadIdx.x + s] > m[threadIdx.x]) m[threadIdx.x] = m[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) scale[blockIdx.x] = m[0] / 127.0f;
}

/* q[r * n + i] = quantize(x[r * rs + i * es], scale[r]) for r < rows, i < n. */
__global__ void k_quantize(const float *x, size_t rows, size_t n, size_t rs, size_t es, const float *scale, int8_t *q) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= rows * n) return;
    size_t r = idx / n, i = idx % n;
    q[idx] = quantize(x[r * rs + i * es], scale[r]);
}

/* acc[m x n] (row stride ldc) = a[m x k] . b[n x k]^T on the int8 tensor cores (WMMA 16x16x16,
 * int32 accumulation: exact, |acc| < 2^31 since K <= KD_MAX_K). One warp per 16 x 16 output tile:
 * output rows along the grid's x (no limit), columns along y (at most 65535 tiles per launch).
 * Each 16 x 16 slice of a and b is staged in shared memory (zeros past the edges), so that the
 * operands need no padding or alignment of their own. */
#define TILE 16
#define MAX_COLS ((size_t)65535 * TILE)
__global__ void k_gemm_nt(const int8_t *a, const int8_t *b, int32_t *acc, size_t m, size_t n, size_t k, size_t ldc) {
    using namespace nvcuda;
    __shared__ __align__(32) signed char sa[TILE * TILE], sb[TILE * TILE];
    __shared__ __align__(32) int sc[TILE * TILE];
    size_t row0 = (size_t)blockIdx.x * TILE, col0 = (size_t)blockIdx.y * TILE;
    int lane = threadIdx.x;
    wmma::fragment<wmma::matrix_a, TILE, TILE, TILE, signed char, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, TILE, TILE, TILE, signed char, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, TILE, TILE, TILE, int> fc;
    wmma::fill_fragment(fc, 0);
    for (size_t k0 = 0; k0 < k; k0 += TILE) {
        for (int e = lane; e < TILE * TILE; e += 32) { /* sa: row-major a; sb: column c of b^T = row c of b */
            size_t r = (size_t)(e / TILE), kk = k0 + (size_t)(e % TILE);
            sa[e] = row0 + r < m && kk < k ? a[(row0 + r) * k + kk] : 0;
            sb[e] = col0 + r < n && kk < k ? b[(col0 + r) * k + kk] : 0;
        }
        __syncwarp();
        wmma::load_matrix_sync(fa, sa, TILE);
        wmma::load_matrix_sync(fb, sb, TILE);
        wmma::mma_sync(fc, fa, fb, fc);
        __syncwarp();
    }
    wmma::store_matrix_sync(sc, fc, TILE, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < TILE * TILE; e += 32) {
        size_t r = (size_t)(e / TILE), c = (size_t)(e % TILE);
        if (row0 + r < m && col0 + c < n) acc[(row0 + r) * ldc + col0 + c] = sc[e];
    }
}

/* y[r * ys + c * cs] = output(acc[r * n + c], sa[r or 0], sb[c], bias[c]) */
__global__ void k_dequant(const int32_t *acc, size_t m, size_t n, const float *sa, int sa_per_row, const float *sb,
                          const float *bias, float *y, size_t ys, size_t cs) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= m * n) return;
    size_t r = idx / n, c = idx % n;
    y[r * ys + c * cs] = output(acc[idx], sa[sa_per_row ? r : 0], sb[sa_per_row ? c : r], bias != NULL,
                                bias ? bias[sa_per_row ? c : r] : 0.0f);
}

/* colT[p x kg] of group g (int8, zero outside the image), from the quantized image q[c][h][w]. */
__global__ void k_im2col(const int8_t *q, size_t h, size_t w, size_t cg, size_t g, size_t kh, size_t kw, size_t oh,
                         size_t ow, long sh, long sv, long pt, long pl, long dh, long dv, int8_t *colT) {
    size_t kg = cg * kh * kw, idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= oh * ow * kg) return;
    size_t pix = idx / kg, kk = idx % kg, ci = kk / (kh * kw), ky = kk / kw % kh, kx = kk % kw;
    long iy = (long)(pix / ow) * sh - pt + (long)ky * dh, ix = (long)(pix % ow) * sv - pl + (long)kx * dv;
    colT[idx] = iy >= 0 && iy < (long)h && ix >= 0 && ix < (long)w ? q[((g * cg + ci) * h + iy) * w + ix] : 0;
}

/* Element-wise: op 0 relu, 1 leakyrelu (p0 = alpha), 2 clip (p0 min, p1 max); 3..6 add sub mul div
 * with broadcasting: output index -> operand offsets through per-dimension strides. */
struct bcast {
    int rank;
    unsigned long long dims[KD_MAX_RANK], sa[KD_MAX_RANK], sb[KD_MAX_RANK];
};

__global__ void k_unary(const float *x, float *y, size_t n, int op, float p0, float p1) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    if (op == 0) y[i] = canon(v > 0.0f ? v : (isnan(v) ? v : 0.0f));
    else if (op == 1) y[i] = canon(v < 0.0f ? p0 * v : v);
    else y[i] = canon(v < p0 ? p0 : (v > p1 ? p1 : v));
}

__global__ void k_binary(const float *a, const float *b, float *y, size_t n, int op, bcast bc) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t rest = i, oa = 0, ob = 0;
    for (int k = bc.rank - 1; k >= 0; k--) {
        size_t ix = rest % bc.dims[k];
        rest /= bc.dims[k];
        oa += ix * bc.sa[k], ob += ix * bc.sb[k];
    }
    float u = a[oa], v = b[ob], r;
    if (op == 3) r = u + v;
    else if (op == 4) r = u - v;
    else if (op == 5) r = u * v;
    else r = u / v;
    y[i] = canon(r);
}

/* ---- host side ---- */

typedef struct dbuf {
    void *p;
    size_t n;
} dbuf;

typedef struct gpu {
    dbuf x, y, q, qb, acc, sa, sb, col, b2; /* work buffers, grown on demand */
} gpu;

/* A node's weights on the device: int8 weights, scales, bias (NULL when none). */
typedef struct dweights {
    int8_t *w;
    float *s, *bias;
} dweights;

static int grow(dbuf *b, size_t n) {
    if (n <= b->n) return 0;
    if (b->p) cudaFree(b->p);
    b->p = NULL, b->n = 0;
    if (cudaMalloc(&b->p, n ? n : 1) != cudaSuccess) return -1;
    b->n = n;
    return 0;
}

static int cuda_init(opml_backend *b) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) return -1;
    if (cudaSetDevice(0) != cudaSuccess) return -1;
    b->state = calloc(1, sizeof(gpu));
    return b->state ? 0 : -1;
}

static void cuda_destroy(opml_backend *b) {
    gpu *g = (gpu *)b->state;
    if (!g) return;
    dbuf *all[] = {&g->x, &g->y, &g->q, &g->qb, &g->acc, &g->sa, &g->sb, &g->col, &g->b2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]->p) cudaFree(all[i]->p);
    free(g);
}

static void free_weights(dweights *w) {
    if (!w) return;
    cudaFree(w->w), cudaFree(w->s);
    if (w->bias) cudaFree(w->bias);
    free(w);
}

static void cuda_release(opml_backend *b, void *cached) {
    (void)b;
    free_weights((dweights *)cached);
}

/* The node's weights (operands 1, 2 and optional 3) on the device: from the cache slot, or
 * uploaded now (kept in the slot; freed by the caller through *tmp when there is none). */
static dweights *weights(const kd_desc *d, const void *const in[], void **cache, dweights **tmp) {
    if (cache && *cache) return (dweights *)*cache;
    dweights *w = (dweights *)calloc(1, sizeof *w);
    size_t nw = (size_t)kd_nbytes(&d->in[1]), ns = (size_t)kd_nbytes(&d->in[2]);
    size_t nb = d->noperands == 4 ? (size_t)kd_nbytes(&d->in[3]) : 0;
    if (!w || cudaMalloc(&w->w, nw ? nw : 1) != cudaSuccess || cudaMalloc(&w->s, ns ? ns : 1) != cudaSuccess ||
        (nb && cudaMalloc(&w->bias, nb) != cudaSuccess) ||
        cudaMemcpy(w->w, in[1], nw, cudaMemcpyHostToDevice) != cudaSuccess ||
        cudaMemcpy(w->s, in[2], ns, cudaMemcpyHostToDevice) != cudaSuccess ||
        (nb && cudaMemcpy(w->bias, in[3], nb, cudaMemcpyHostToDevice) != cudaSuccess)) {
        free_weights(w);
        return NULL;
    }
    if (cache) *cache = w;
    else *tmp = w;
    return w;
}

/* Blocks of 256 threads covering n elements (at least one: kernels check their index). */
static unsigned blocks(size_t n) { return n ? (unsigned)((n + 255) / 256) : 1; }

static void gemm_nt(const int8_t *a, const int8_t *b, int32_t *acc, size_t m, size_t n, size_t k) {
    for (size_t n0 = 0; m && n0 < n; n0 += MAX_COLS) {
        size_t nc = n - n0 < MAX_COLS ? n - n0 : MAX_COLS;
        dim3 gr((unsigned)((m + TILE - 1) / TILE), (unsigned)((nc + TILE - 1) / TILE));
        k_gemm_nt<<<gr, 32>>>(a, b + n0 * k, acc + n0, m, nc, k, n);
    }
}

static int run_qlinear(gpu *g, const kd_desc *d, const void *const in[], float *y, void **cache) {
    size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0], rows = (size_t)(kd_numel(&d->in[0]) / k);
    dweights *tmp = NULL, *w = weights(d, in, cache, &tmp);
    if (!w || grow(&g->x, rows * k * 4) || grow(&g->q, rows * k) || grow(&g->sa, rows * 4) ||
        grow(&g->acc, rows * n * 4) || grow(&g->y, rows * n * 4)) {
        free_weights(tmp);
        return KD_ESCRATCH;
    }
    if (rows && n) {
        cudaMemcpy(g->x.p, in[0], rows * k * 4, cudaMemcpyHostToDevice);
        k_scale<<<(unsigned)rows, 256>>>((const float *)g->x.p, k, k, 1, (float *)g->sa.p);
        k_quantize<<<blocks(rows * k), 256>>>((const float *)g->x.p, rows, k, k, 1, (const float *)g->sa.p, (int8_t *)g->q.p);
        gemm_nt((const int8_t *)g->q.p, w->w, (int32_t *)g->acc.p, rows, n, k);
        k_dequant<<<blocks(rows * n), 256>>>((const int32_t *)g->acc.p, rows, n, (const float *)g->sa.p, 1, w->s, w->bias,
                                            (float *)g->y.p, n, 1);
    }
    int ok = cudaMemcpy(y, g->y.p, rows * n * 4, cudaMemcpyDeviceToHost) == cudaSuccess;
    free_weights(tmp);
    return ok ? KD_OK : KD_ESCRATCH;
}

static int run_qmatmul(gpu *g, const kd_desc *d, const void *const in[], float *y) {
    const kd_tensor *ta = &d->in[0], *tb = &d->in[1], *ty = &d->out;
    size_t m = ta->dims[ta->rank - 2], k = ta->dims[ta->rank - 1], n = tb->dims[tb->rank - 1];
    if (m == 0 || n == 0) return KD_OK;
    size_t batches = (size_t)(kd_numel(ty) / (m * n));
    if (grow(&g->x, m * k * 4) || grow(&g->b2, k * n * 4) || grow(&g->q, m * k) || grow(&g->qb, n * k) ||
        grow(&g->sa, m * 4) || grow(&g->sb, n * 4) || grow(&g->acc, m * n * 4) || grow(&g->y, m * n * 4))
        return KD_ESCRATCH;
    for (size_t bi = 0; bi < batches; bi++) {
        const float *a = (const float *)in[0] + kd_batch_offset(ta, ty, bi);
        const float *b = (const float *)in[1] + kd_batch_offset(tb, ty, bi);
        cudaMemcpy(g->x.p, a, m * k * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(g->b2.p, b, k * n * 4, cudaMemcpyHostToDevice);
        k_scale<<<(unsigned)m, 256>>>((const float *)g->x.p, k, k, 1, (float *)g->sa.p);
        k_quantize<<<blocks(m * k), 256>>>((const float *)g->x.p, m, k, k, 1, (const float *)g->sa.p, (int8_t *)g->q.p);
        /* column c of B: stride n; quantized into row c of qb (B^T) */
        k_scale<<<(unsigned)n, 256>>>((const float *)g->b2.p, k, 1, n, (float *)g->sb.p);
        k_quantize<<<blocks(n * k), 256>>>((const float *)g->b2.p, n, k, 1, n, (const float *)g->sb.p, (int8_t *)g->qb.p);
        gemm_nt((const int8_t *)g->q.p, (const int8_t *)g->qb.p, (int32_t *)g->acc.p, m, n, k);
        k_dequant<<<blocks(m * n), 256>>>((const int32_t *)g->acc.p, m, n, (const float *)g->sa.p, 1,
                                         (const float *)g->sb.p, NULL, (float *)g->y.p, n, 1);
        if (cudaMemcpy(y + bi * m * n, g->y.p, m * n * 4, cudaMemcpyDeviceToHost) != cudaSuccess) return KD_ESCRATCH;
    }
    return KD_OK;
}

static int run_qconv(gpu *g, const kd_desc *d, const void *const in[], float *y, void **cache) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    size_t nb = tx->dims[0], c = tx->dims[1], h = tx->dims[2], wd = tx->dims[3];
    size_t m = tw->dims[0], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], gr = (size_t)d->ia[0], mg = m / gr, p = oh * ow, kg = cg * kh * kw;
    size_t img = c * h * wd;
    dweights *tmp = NULL, *w = weights(d, in, cache, &tmp);
    if (!w || grow(&g->x, img * 4) || grow(&g->q, img) || grow(&g->sa, 4) || grow(&g->col, p * kg) ||
        grow(&g->acc, mg * p * 4) || grow(&g->y, m * p * 4)) {
        free_weights(tmp);
        return KD_ESCRATCH;
    }
    int ok = 1;
    for (size_t n = 0; n < nb && ok; n++) {
        cudaMemcpy(g->x.p, (const float *)in[0] + n * img, img * 4, cudaMemcpyHostToDevice);
        k_scale<<<1, 256>>>((const float *)g->x.p, img, img, 1, (float *)g->sa.p);
        k_quantize<<<blocks(img), 256>>>((const float *)g->x.p, 1, img, img, 1, (const float *)g->sa.p, (int8_t *)g->q.p);
        for (size_t gi = 0; gi < gr; gi++) {
            if (p * kg > 0)
                k_im2col<<<blocks(p * kg), 256>>>((const int8_t *)g->q.p, h, wd, cg, gi, kh, kw, oh, ow, d->ia[1], d->ia[2],
                                                  d->ia[3], d->ia[4], d->ia[7], d->ia[8], (int8_t *)g->col.p);
            gemm_nt(w->w + gi * mg * kg, (const int8_t *)g->col.p, (int32_t *)g->acc.p, mg, p, kg);
            /* acc[o][i] -> y[gi*mg + o][i]: per-image scale, per-filter weight scale and bias */
            if (mg * p > 0)
                k_dequant<<<blocks(mg * p), 256>>>((const int32_t *)g->acc.p, mg, p, (const float *)g->sa.p, 0,
                                                  w->s + gi * mg, w->bias ? w->bias + gi * mg : NULL,
                                                  (float *)g->y.p + gi * mg * p, p, 1);
        }
        ok = cudaMemcpy(y + n * m * p, g->y.p, m * p * 4, cudaMemcpyDeviceToHost) == cudaSuccess;
    }
    free_weights(tmp);
    return ok ? KD_OK : KD_ESCRATCH;
}

static int run_elementwise(gpu *g, const kd_desc *d, const void *const in[], float *y) {
    size_t n = (size_t)kd_numel(&d->out);
    int binary = d->op == OP_ADD || d->op == OP_SUB || d->op == OP_MUL || d->op == OP_DIV;
    size_t na = (size_t)kd_numel(&d->in[0]), nb2 = binary ? (size_t)kd_numel(&d->in[1]) : 0;
    if (grow(&g->x, na * 4) || grow(&g->b2, nb2 * 4) || grow(&g->y, n * 4)) return KD_ESCRATCH;
    if (n == 0) return KD_OK;
    cudaMemcpy(g->x.p, in[0], na * 4, cudaMemcpyHostToDevice);
    if (binary) {
        cudaMemcpy(g->b2.p, in[1], nb2 * 4, cudaMemcpyHostToDevice);
        bcast bc;
        memset(&bc, 0, sizeof bc);
        bc.rank = d->out.rank;
        for (int j = 0; j < 2; j++) {
            unsigned long long s = 1, *st = j ? bc.sb : bc.sa;
            const kd_tensor *t = &d->in[j];
            for (int i = (int)d->out.rank - 1; i >= 0; i--) {
                int kk = i - (int)(d->out.rank - t->rank);
                uint32_t td = kk >= 0 ? t->dims[kk] : 1;
                st[i] = td == 1 ? 0 : s;
                s *= td;
            }
        }
        for (int i = 0; i < bc.rank; i++) bc.dims[i] = d->out.dims[i];
        int op = d->op == OP_ADD ? 3 : d->op == OP_SUB ? 4 : d->op == OP_MUL ? 5 : 6;
        k_binary<<<blocks(n), 256>>>((const float *)g->x.p, (const float *)g->b2.p, (float *)g->y.p, n, op, bc);
    } else {
        int op = d->op == OP_RELU ? 0 : d->op == OP_LEAKYRELU ? 1 : 2;
        k_unary<<<blocks(n), 256>>>((const float *)g->x.p, (float *)g->y.p, n, op, d->fa[0], d->fa[1]);
    }
    return cudaMemcpy(y, g->y.p, n * 4, cudaMemcpyDeviceToHost) == cudaSuccess ? KD_OK : KD_ESCRATCH;
}

static int cuda_run(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch,
                    size_t scratch_len, void **cache) {
    int r = kernel_check(d);
    if (r) return r;
    gpu *g = (gpu *)b->state;
    switch (d->op) {
    case OP_QLINEAR: r = run_qlinear(g, d, in, (float *)out, cache); break;
    case OP_QMATMUL: r = run_qmatmul(g, d, in, (float *)out); break;
    case OP_QCONV: r = run_qconv(g, d, in, (float *)out, cache); break;
    case OP_RELU: case OP_LEAKYRELU: case OP_CLIP: case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
        r = run_elementwise(g, d, in, (float *)out);
        break;
    default: return kernel_exec(d, in, out, scratch, scratch_len);
    }
    if (r == KD_OK && cudaGetLastError() != cudaSuccess) r = KD_ESCRATCH;
    return r;
}

extern "C" const opml_backend_ops opml_backend_cuda_ops = {"cuda", cuda_init, cuda_destroy, cuda_run, cuda_release, NULL};
