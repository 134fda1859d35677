/* twin_fp.h - the last step every floating-point matrix twin shares (PTX
 * mma / mma.sp / wgmma, AMD MFMA): the accumulation, done exactly enough in
 * double, rounded once to fp32. Nearest even (the host's default rounding),
 * subnormal results kept, overflow to infinity; a NaN becomes the canonical
 * 0x7FFFFFFF, since neither vendor's ISA names the bits of a NaN result
 * (docs/SIM.md, "What the twins cannot know"). Internal to src/sim/twins. */
#ifndef QBSIM_TWIN_FP_H
#define QBSIM_TWIN_FP_H

#include <stdint.h>
#include <string.h>

namespace qbsim {
namespace twin {

constexpr uint32_t kNaN32 = 0x7FFFFFFFu; /* canonical fp32 NaN of the twins */

inline float round_acc_f32(double acc)
{
    float v = (float)acc;
    if (v != v) memcpy(&v, &kNaN32, 4);
    return v;
}

} // namespace twin
} // namespace qbsim

#endif /* QBSIM_TWIN_FP_H */
