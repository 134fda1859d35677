# Sourced by the tools/ scripts: work from the repository root, install the
# Debian packages that are missing, and put nvcc on PATH when the CUDA
# toolkit is installed (then QBLAS_CUDA=AUTO builds the CUDA backend).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools/deps
if [ -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null; then
  PATH="$PATH:/usr/local/cuda/bin"
fi
