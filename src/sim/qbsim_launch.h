/* qbsim_launch.h - kernel launches on the simulated device: the simulator
 * side of QB_LAUNCH (src/cuda/qb_vendor.cuh).
 *
 *   QB_LAUNCH(grid, block, smem, stream, kernel)(args...)
 *   -> qbsim::launch<&kernel>(grid, block, smem, stream)(args...)
 *
 * The arguments are converted to the kernel's parameter types and copied
 * once, at the launch (as the CUDA runtime copies them into the launch's
 * parameter buffer); every simulated thread then calls the kernel with its
 * own copy. The launch is checked as the driver checks it (exec.cc) and
 * queued on the stream: it runs when the host synchronizes. The kernel's
 * name comes from the template argument (the mangled name of Launcher<F>
 * holds the kernel's symbol), so reports name the instance and the runtime
 * finds the kernel's __launch_bounds__ as nvcc compiled them. */
#ifndef QBSIM_LAUNCH_H
#define QBSIM_LAUNCH_H

#include <memory>
#include <tuple>
#include <typeinfo>
#include <utility>

#include "cuda_runtime_api.h"

namespace qbsim {

/* Check the configuration and queue the launch (runtime.cc); the error, if
 * any, becomes the thread's last error (cudaGetLastError), as a real launch. */
void submit_launch(const void *fn, const char *mangled, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   std::shared_ptr<const void> args, size_t args_bytes, void (*entry)(const void *args));

/* What every simulated thread runs: the kernel, called with copies of the
 * launch's arguments (the only memory outside the device a kernel may read:
 * it stands for the parameter space). */
template <auto F, class Tuple> void kernel_entry(const void *args)
{
    std::apply(F, *static_cast<const Tuple *>(args));
}

template <auto F> struct Launcher;
template <class... P, void (*F)(P...)> struct Launcher<F> {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    template <class... A> void operator()(A &&...a) const
    {
        static_assert(sizeof...(A) == sizeof...(P), "kernel argument count");
        using Tuple = std::tuple<std::decay_t<P>...>;
        std::shared_ptr<const void> args = std::make_shared<const Tuple>(std::forward<A>(a)...);
        submit_launch(reinterpret_cast<const void *>(F), typeid(Launcher<F>).name(), grid, block, smem, stream, args,
                      sizeof(Tuple), &kernel_entry<F, Tuple>);
    }
};

template <auto F> Launcher<F> launch(dim3 grid, dim3 block, size_t smem, cudaStream_t stream)
{
    return Launcher<F>{grid, block, smem, stream};
}

} // namespace qbsim

#endif /* QBSIM_LAUNCH_H */
