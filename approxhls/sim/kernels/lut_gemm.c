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
