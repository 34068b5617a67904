// Test harness (tests/test_cuda_ops.py): compiles the *unchanged* kernel bodies of ganlib/ops/*.cu (the part inside
// their anonymous namespace, extracted by the test) as plain C++, one "thread" walking the grid-stride loop, so the
// kernels' index arithmetic and math are checked against the reference ops on a machine without a GPU.
#include <cmath>
#include <cstdint>
#include <algorithm>
using std::exp; using std::tanh; using std::log1p; using std::fabs;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
struct Dim3 { unsigned x = 0, y = 0, z = 0; };
static Dim3 blockIdx, threadIdx, blockDim{1, 1, 1}, gridDim{1, 1, 1};
namespace at { template <typename T, bool cuda> struct AccT { using type = T; };
               template <typename T, bool cuda> using acc_type = typename AccT<T, cuda>::type; }
namespace up {
#include KERNEL_BODY_UPFIRDN2D
}
namespace ba {
#include KERNEL_BODY_BIAS_ACT
}
extern "C" {
void run_upfirdn2d(const double* x, const float* f, double* y, int n, int c, int in_h, int in_w, int out_h, int out_w,
                   int upx, int upy, int downx, int downy, int padx0, int pady0, int fw, int fh, int flip, float gain,
                   const int64_t* xs, const int64_t* ys) {
    up::Upfirdn2dParams p{n, c, in_h, in_w, out_h, out_w, upx, upy, downx, downy, padx0, pady0, fw, fh, bool(flip),
                          gain, xs[0], xs[1], xs[2], xs[3], ys[0], ys[1], ys[2], ys[3]};
    up::upfirdn2d_kernel<double>(x, f, y, p);
}
void run_bias_act(double* out, const double* x, const double* b, const double* xref, const double* yref,
                  int64_t total, int64_t stride_dim, int64_t size_dim, int act, int mode, int has_b, int has_x,
                  int has_y, double alpha, double gain, double clamp) {
    ba::BiasActParams p{total, stride_dim, size_dim, act, mode, bool(has_b), bool(has_x), bool(has_y), alpha, gain,
                        clamp};
    ba::bias_act_kernel<double>(out, x, b, xref, yref, p);
}
}
