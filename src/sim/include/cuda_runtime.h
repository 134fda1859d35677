/* cuda_runtime.h (simulator) - what nvcc makes visible in every .cu file:
 * the runtime API and, for C++, the device-side language of the simulated
 * device (src/sim/qbsim_device.h). Sim builds compile each .cu file as C++
 * with `-include cuda_runtime.h`, as nvcc includes the real one. */
#ifndef QBSIM_CUDA_RUNTIME_H
#define QBSIM_CUDA_RUNTIME_H

#include "cuda_runtime_api.h"

#ifdef __cplusplus
#include "sim/qbsim_device.h"
#endif

#endif /* QBSIM_CUDA_RUNTIME_H */
