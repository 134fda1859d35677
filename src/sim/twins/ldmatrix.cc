/* ldmatrix.cc - twin of ldmatrix.sync.aligned.m8n8.x4{.trans}.shared.b16.
 *
 * Source: PTX ISA 9.1 (https://docs.nvidia.com/cuda/parallel-thread-execution/),
 * 9.7.14.5.15 "Warp-level matrix load instruction: ldmatrix", Figure 104.
 */
#include "sim/twins/ptx_twins.h"

namespace qbsim {
namespace ptx {

namespace {

/* Element (i, j) of matrix m: the 16-bit little-endian value at byte 2j of
 * the row whose address lane 8m + i supplied (addresses addr0-addr7 are the
 * rows of the first matrix, addr8-addr15 of the second, ...). */
uint32_t element(const uint8_t *const row[kWarp], int m, int i, int j)
{
    const uint8_t *p = row[8 * m + i] + 2 * j;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

} // namespace

/* Figure 104: a group of four threads loads one row, thread 0 receiving the
 * first fragment: lane l holds row l/4, columns 2(l%4) (low half) and
 * 2(l%4)+1 (high half). .trans loads the matrix "in column-major format":
 * the same fragment of the transposed matrix, i.e. rows 2(l%4), 2(l%4)+1 of
 * column l/4. Register i holds matrix i (.x4). */
void ldmatrix_x4(uint32_t r[kWarp][4], const uint8_t *const row[kWarp], bool trans)
{
    for (int l = 0; l < kWarp; ++l)
        for (int m = 0; m < 4; ++m) {
            uint32_t v[2];
            for (int h = 0; h < 2; ++h) {
                int i = l / 4, j = 2 * (l % 4) + h;
                v[h] = trans ? element(row, m, j, i) : element(row, m, i, j);
            }
            r[l][m] = v[0] | v[1] << 16;
        }
}

} // namespace ptx
} // namespace qbsim
