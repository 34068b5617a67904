// Test harness (tests/test_cuda_ops.py): compiles the *unchanged* kernel bodies of ganlib/ops/*.cu (the part inside
// their anonymous namespace, extracted by the test) and the binding's argument checks (namespace checks of
// ganlib_ops.cpp) as plain C++, so that the kernels' index arithmetic, tiling and math are checked against the
// reference ops on a machine without a GPU. Each block runs as one "thread" walking the block-strided work loops;
// blocks run one after another over the launch grid; barriers are no-ops and shared arrays are statics.
#include <cmath>
#include <cstdint>
#include <algorithm>
using std::exp; using std::tanh; using std::log1p; using std::fabs;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static
static int tile_assert_failed = 0;
#define TILE_ASSERT(cond) do { if (!(cond)) tile_assert_failed += 1; } while (0)
inline void __syncthreads() {}
struct Dim3 { unsigned x = 0, y = 0, z = 0; };
static Dim3 blockIdx, threadIdx, blockDim{1, 1, 1}, gridDim{1, 1, 1};
namespace at { template <typename T, bool cuda> struct AccT { using type = T; };
               template <typename T, bool cuda> using acc_type = typename AccT<T, cuda>::type; }
namespace up {
#include KERNEL_BODY_UPFIRDN2D
}
namespace tl {
#include KERNEL_BODY_UPFIRDN2D_TILED
}
namespace ba {
#include KERNEL_BODY_BIAS_ACT
}
#include BINDING_CHECKS

template <int UP, int DOWN>
static void launch_sep(const double* x, double* y, const tl::SepParams& p, int max_z) {
    tl::SepGrid g = tl::sep_grid<UP, DOWN>(p);
    gridDim = Dim3{unsigned(g.x), unsigned(g.y), unsigned(std::min(g.z, max_z))};
    for (unsigned bz = 0; bz < gridDim.z; ++bz)
        for (unsigned by = 0; by < gridDim.y; ++by)
            for (unsigned bx = 0; bx < gridDim.x; ++bx) {
                blockIdx = Dim3{bx, by, bz};
                tl::upfirdn2d_sep_kernel<double, UP, DOWN>(x, y, p);
            }
    blockIdx = Dim3{};
    gridDim = Dim3{1, 1, 1};
}

extern "C" {
void run_upfirdn2d(const double* x, const float* f, double* y, int n, int c, int in_h, int in_w, int out_h, int out_w,
                   int upx, int upy, int downx, int downy, int padx0, int pady0, int fw, int fh, int flip, float gain,
                   const int64_t* xs, const int64_t* ys) {
    up::Upfirdn2dParams p{n, c, in_h, in_w, out_h, out_w, upx, upy, downx, downy, padx0, pady0, fw, fh, bool(flip),
                          gain, xs[0], xs[1], xs[2], xs[3], ys[0], ys[1], ys[2], ys[3]};
    up::upfirdn2d_kernel<double>(x, f, y, p);
}
// The tiled separable kernel over its whole launch grid (at most max_z blocks along planes); returns the number of
// shared-memory bound violations seen (0 when every index stayed inside its tile).
int run_upfirdn2d_sep(const double* x, const float* fx, int fw, const float* fy, int fh, double* y, int n, int c,
                      int in_h, int in_w, int out_h, int out_w, int up, int down, int padx0, int pady0, int flip,
                      float gain, const int64_t* xs, const int64_t* ys, int max_z) {
    tile_assert_failed = 0;
    const tl::SepParams p = tl::make_sep_params(fx, fw, fy, fh, bool(flip), gain, n * c, c, in_h, in_w, out_h, out_w,
                                                padx0, pady0, xs, ys);
    if (up == 1 && down == 1) launch_sep<1, 1>(x, y, p, max_z);
    else if (up == 2 && down == 1) launch_sep<2, 1>(x, y, p, max_z);
    else if (up == 1 && down == 2) launch_sep<1, 2>(x, y, p, max_z);
    else launch_sep<2, 2>(x, y, p, max_z);
    return tile_assert_failed;
}
void run_bias_act(double* out, const double* x, const double* b, const double* xref, const double* yref,
                  int64_t total, int64_t ndim, const int64_t* sizes, const int64_t* strides, int64_t dim, int act,
                  int mode, int has_b, int has_x, int has_y, double alpha, double gain, double clamp) {
    const ba::BiasActParams p = ba::make_bias_act_params(total, ndim, sizes, strides, dim, act, mode, bool(has_b),
                                                         bool(has_x), bool(has_y), alpha, gain, clamp);
    ba::bias_act_kernel<double>(out, x, b, xref, yref, p);
}
const char* check_upfirdn2d_args(int64_t x_dim, int64_t in_h, int64_t in_w, int64_t fh, int64_t fw, int64_t upx,
                                 int64_t upy, int64_t downx, int64_t downy, int64_t padx0, int64_t padx1,
                                 int64_t pady0, int64_t pady1) {
    return checks::upfirdn2d_args(x_dim, in_h, in_w, fh, fw, upx, upy, downx, downy, padx0, padx1, pady0, pady1);
}
const char* check_upfirdn2d_sep_args(int64_t fh, int64_t fw, int64_t up, int64_t down) {
    return checks::upfirdn2d_sep_args(fh, fw, up, down);
}
const char* check_bias_act_args(int64_t x_dim, int64_t dim, int has_b, int64_t b_dim, int64_t b_size,
                                const int64_t* x_sizes, int64_t act, int64_t mode) {
    return checks::bias_act_args(x_dim, dim, bool(has_b), b_dim, b_size, x_sizes, act, mode);
}
int sep_max_taps_kernel() { return tl::SEP_MAX_TAPS; }
int sep_max_taps_binding() { return int(checks::SEP_MAX_TAPS); }
}
