/* Table-lookup matrix product for arbitrary multipliers (approxhls emulator).
 *
 * res[r][j] = sum_k T[x[r][k]][w[k][j]]: every product is read from the layer's table.
 * tt is the table transposed (tt[w * nx + x] = T[x][w], int32) and woff[j][k] = w[k][j] * nx is the
 * start of the column a weight selects, so the inner loop adds one table entry per product.
 * Rows are split across threads (OpenMP); four accumulators break the dependency chain.
 */
#include <stdint.h>

void lut_gemm(const int32_t *xi, int64_t rows, int64_t k, const int32_t *woff, int64_t out,
              const int32_t *tt, int64_t *res) {
    #pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int32_t *xr = xi + r * k;
        for (int64_t j = 0; j < out; j++) {
            const int32_t *wj = woff + j * k;
            int64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int64_t kk = 0;
            for (; kk + 4 <= k; kk += 4) {
                a0 += tt[wj[kk + 0] + xr[kk + 0]];
                a1 += tt[wj[kk + 1] + xr[kk + 1]];
                a2 += tt[wj[kk + 2] + xr[kk + 2]];
                a3 += tt[wj[kk + 3] + xr[kk + 3]];
            }
            for (; kk < k; kk++)
                a0 += tt[wj[kk] + xr[kk]];
            res[r * out + j] = a0 + a1 + a2 + a3;
        }
    }
}

/* Table-lookup convolution, per input position (Dense: a 1x1 image of k channels).
 *
 * res[r][j] = sum_kk P[b][kk][x_kk - x_min][jj] for output j = b * BLOCK + jj, where P[b][kk][x] holds, for the
 * weights at kernel position kk (filter row, column, channel), the products of code x with the weights of one
 * block of BLOCK outputs. One product row is one contiguous vector load and add: no gather per product and no
 * im2col copy (the windows are read from the padded image). Rows of index ``skip`` are all zero and not read (the
 * caller moves code 0's products into a constant: most inputs after a ReLU are 0, and padding is). Sums are int32
 * (the caller checked the bound); P has 16-bit entries (lut_conv16) or 32-bit ones (lut_conv32). One thread: the
 * emulator runs batches in threads (a search, in processes), and nested OpenMP threads were measured slower.
 *
 * First, per input pixel that a window reads, the offsets (ch * nx + x - x_min) * BLOCK of its channels whose code
 * is not ``skip`` are packed to the front of offs[pixel] (count in cnt[pixel]), without a branch. A pixel is read
 * by up to fh * fw windows and every block, so the test per code runs once instead of that many times, and the
 * lookups after are branch-free: measured 1.7x faster over resnet8's lookup layers (about half their inputs are 0,
 * which made the per-lookup test a coin flip for the branch predictor). The offsets fit int32: P's size bound
 * (k * nx * BLOCK entries, k >= c) is checked by the caller.
 */
#define BLOCK 16  /* measured: 32 is 2-5x slower (the accumulators leave the registers) */

#define LUT_CONV(NAME, PTYPE)                                                                                         \
void NAME(const int64_t *img, int64_t n, int64_t h, int64_t w, int64_t c, int64_t fh, int64_t fw, int64_t sh,         \
          int64_t sw, int64_t oh, int64_t ow, int64_t x_min, int64_t skip, const PTYPE *P, int64_t nx,                \
          int64_t out, int32_t *res, int32_t *offs, int32_t *cnt) {                                                   \
    const int64_t k = fh * fw * c, blocks = (out + BLOCK - 1) / BLOCK, rows = n * oh * ow;                            \
    const int64_t last_y = (oh - 1) * sh + fh, last_x = (ow - 1) * sw + fw;  /* rows, columns any window reads */     \
    for (int64_t a = 0; a < n; a++) {                                                                                 \
        for (int64_t y = 0; y < h && y < last_y; y++) {                                                               \
            if (y % sh >= fh)                                                                                         \
                continue;  /* a stride past the filter (a strided 1x1 convolution) skips this row */                  \
            for (int64_t x = 0; x < w && x < last_x; x++) {                                                           \
                if (x % sw >= fw)                                                                                     \
                    continue;                                                                                         \
                const int64_t pix = (a * h + y) * w + x;                                                              \
                const int64_t *px = img + pix * c;                                                                    \
                int32_t *o = offs + pix * c;                                                                          \
                int32_t m = 0;                                                                                        \
                for (int64_t ch = 0; ch < c; ch++) {                                                                  \
                    const int64_t xi = px[ch] - x_min;                                                                \
                    o[m] = (int32_t)((ch * nx + xi) * BLOCK);                                                         \
                    m += xi != skip;                                                                                  \
                }                                                                                                     \
                cnt[pix] = m;                                                                                         \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
    /* blocks outermost: one block's part of P (k * nx * BLOCK entries) stays in cache for all rows */                \
    for (int64_t b = 0; b < blocks; b++) {                                                                            \
        const PTYPE *pb = P + b * k * nx * BLOCK;                                                                     \
        const int64_t jn = out - b * BLOCK < BLOCK ? out - b * BLOCK : BLOCK;                                         \
        for (int64_t r = 0; r < rows; r++) {                                                                          \
            const int64_t a = r / (oh * ow), i = (r / ow) % oh, j = r % ow;                                           \
            int32_t acc[BLOCK] = {0};                                                                                 \
            for (int64_t dy = 0; dy < fh; dy++) {                                                                     \
                for (int64_t dx = 0; dx < fw; dx++) {                                                                 \
                    const int64_t pix = (a * h + i * sh + dy) * w + j * sw + dx;                                      \
                    const int32_t *o = offs + pix * c;                                                                \
                    const PTYPE *pk = pb + (dy * fw + dx) * c * nx * BLOCK;  /* kernel position (dy, dx, 0) */        \
                    for (int32_t q = 0; q < cnt[pix]; q++) {                                                          \
                        const PTYPE *p = pk + o[q];                                                                   \
                        for (int t = 0; t < BLOCK; t++)                                                               \
                            acc[t] += p[t];                                                                           \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
            for (int64_t t = 0; t < jn; t++)                                                                          \
                res[r * out + b * BLOCK + t] = acc[t];                                                                \
        }                                                                                                             \
    }                                                                                                                 \
}

LUT_CONV(lut_conv16, int16_t)
LUT_CONV(lut_conv32, int32_t)
