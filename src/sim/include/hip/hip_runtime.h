/* hip/hip_runtime.h (simulator) - the HIP runtime and device language on the
 * simulated device: the runtime names (hip_runtime_api.h) and, for C++, the
 * simulator's device language (src/sim/qbsim_device.h: kernels are C++
 * functions run by fibers). The AMD-specific instructions come from
 * src/hip/hip_isa.h, whose simulator side is src/sim/qbsim_amd.h. */
#ifndef QBSIM_HIP_RUNTIME_H
#define QBSIM_HIP_RUNTIME_H

#include "hip_runtime_api.h"

#ifdef __cplusplus
#include "../cuda_runtime.h" /* explicit path: the HIP prelude shadows the name */
#endif

#endif /* QBSIM_HIP_RUNTIME_H */
