// upfirdn2d with a separable filter in shared-memory tiles: the cases StyleGAN2/3 use (up and down 1 or 2, the same
// on both axes; filters of up to SEP_MAX_TAPS taps per axis, e.g. [1,3,3,1] and StyleGAN3's 12-tap filters).
//
// One block computes a TH x TW tile of output pixels of one image plane, in three phases separated by barriers:
//  1. the input pixels the tile needs (zero outside the image) are read once into shared memory;
//  2. horizontal pass: each input row of the tile is upsampled, filtered with fx and decimated along x into a second
//     shared array (rows stay at input resolution, so with up = 2 only half the rows are filtered);
//  3. vertical pass: each output pixel filters that array along y with fy and is scaled by gain.
// A separable K-tap filter costs about 2K/up multiply-adds per output pixel instead of K*K/up^2 + a global read per
// tap. Only taps landing on an existing (non-inserted) sample are visited: the tap loops step by up.
// Every work loop is strided by the block's thread count, so the same body runs with one thread per block (the host
// test harness compiles it with g++); TILE_ASSERT checks the shared-memory bounds there.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/AccumulateType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

namespace {

#ifndef TILE_ASSERT
#define TILE_ASSERT(cond)
#endif

constexpr int SEP_MAX_TAPS = 16;

struct SepParams {
    int planes, c, in_h, in_w, out_h, out_w;
    int padx0, pady0, fw, fh;
    float gain;
    float wx[SEP_MAX_TAPS], wy[SEP_MAX_TAPS];  // weight of tap k (tap 0 meets the first padded input sample)
    int64_t xs_n, xs_c, xs_h, xs_w;
    int64_t ys_n, ys_c, ys_h, ys_w;
};

// Output tile per (up, down): 32 x 32 pixels, 16 x 16 when decimating a non-upsampled input (its input tile is 4x
// larger). With SEP_MAX_TAPS = 16 the shared arrays stay under 32 KB even for double accumulation.
template <int UP, int DOWN> struct SepTile { static constexpr int T = 32; };
template <> struct SepTile<1, 2> { static constexpr int T = 16; };

// Input samples an output tile of t pixels can reach along one axis (bound over all pads and filters <= MAX_TAPS).
__host__ __device__ constexpr int sep_span(int up, int down, int t) {
    return ((t - 1) * down + SEP_MAX_TAPS - 1 + up - 1) / up + 1;
}

__host__ __device__ __forceinline__ int sep_floor_div(int a, int m) {
    return a >= 0 ? a / m : -((-a + m - 1) / m);
}

__host__ __device__ __forceinline__ int sep_floor_mod(int a, int m) {
    const int r = a % m;
    return r < 0 ? r + m : r;
}

// Kernel parameters: taps f[k] become weights in the order the kernel visits them (reversed unless flip: the
// convolution of upfirdn2d), so the kernel never branches on flip.
inline SepParams make_sep_params(const float* fx, int fw, const float* fy, int fh, bool flip, float gain, int planes,
                                 int c, int in_h, int in_w, int out_h, int out_w, int padx0, int pady0,
                                 const int64_t* xs, const int64_t* ys) {
    SepParams p;
    p.planes = planes; p.c = c; p.in_h = in_h; p.in_w = in_w; p.out_h = out_h; p.out_w = out_w;
    p.padx0 = padx0; p.pady0 = pady0; p.fw = fw; p.fh = fh; p.gain = gain;
    for (int k = 0; k < SEP_MAX_TAPS; ++k) {
        p.wx[k] = k < fw ? fx[flip ? k : fw - 1 - k] : 0.f;
        p.wy[k] = k < fh ? fy[flip ? k : fh - 1 - k] : 0.f;
    }
    p.xs_n = xs[0]; p.xs_c = xs[1]; p.xs_h = xs[2]; p.xs_w = xs[3];
    p.ys_n = ys[0]; p.ys_c = ys[1]; p.ys_h = ys[2]; p.ys_w = ys[3];
    return p;
}

struct SepGrid { int x, y, z; };

template <int UP, int DOWN>
inline SepGrid sep_grid(const SepParams& p) {
    constexpr int T = SepTile<UP, DOWN>::T;
    return SepGrid{(p.out_w + T - 1) / T, (p.out_h + T - 1) / T, p.planes < 65535 ? p.planes : 65535};
}

template <typename scalar_t, int UP, int DOWN>
__global__ void upfirdn2d_sep_kernel(const scalar_t* __restrict__ x, scalar_t* __restrict__ y, SepParams p) {
    using acc_t = at::acc_type<scalar_t, true>;
    constexpr int T = SepTile<UP, DOWN>::T;
    constexpr int L = sep_span(UP, DOWN, T);
    __shared__ acc_t sx[L][L];  // input tile
    __shared__ acc_t sh[L][T];  // after the horizontal pass: input rows x output columns
    __shared__ acc_t swx[SEP_MAX_TAPS], swy[SEP_MAX_TAPS];
    const int tid = int(threadIdx.x), nthreads = int(blockDim.x);
    const int ox0 = int(blockIdx.x) * T, oy0 = int(blockIdx.y) * T;
    const int ix0 = sep_floor_div(ox0 * DOWN - p.padx0, UP);
    const int iy0 = sep_floor_div(oy0 * DOWN - p.pady0, UP);
    const int lw = sep_floor_div((ox0 + T - 1) * DOWN - p.padx0 + p.fw - 1, UP) - ix0 + 1;
    const int lh = sep_floor_div((oy0 + T - 1) * DOWN - p.pady0 + p.fh - 1, UP) - iy0 + 1;
    TILE_ASSERT(lw >= 1 && lw <= L && lh >= 1 && lh <= L && p.fw <= SEP_MAX_TAPS && p.fh <= SEP_MAX_TAPS);
    for (int k = tid; k < SEP_MAX_TAPS; k += nthreads) {
        swx[k] = acc_t(p.wx[k]);
        swy[k] = acc_t(p.wy[k]);
    }
    for (int plane = int(blockIdx.z); plane < p.planes; plane += int(gridDim.z)) {
        const int nb = plane / p.c, ch = plane % p.c;
        const scalar_t* xp = x + nb * p.xs_n + ch * p.xs_c;
        __syncthreads();  // the previous plane is done with sx and sh (and the taps are loaded)
        for (int t = tid; t < lh * lw; t += nthreads) {
            const int r = t / lw, col = t - r * lw;
            const int iy = iy0 + r, ix = ix0 + col;
            const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
            sx[r][col] = inside ? acc_t(xp[iy * p.xs_h + ix * p.xs_w]) : acc_t(0);
        }
        __syncthreads();
        for (int t = tid; t < lh * T; t += nthreads) {
            const int r = t / T, j = t - r * T;
            const int u0 = (ox0 + j) * DOWN - p.padx0;  // upsampled x of tap 0
            acc_t sum = acc_t(0);
            for (int k = sep_floor_mod(-u0, UP); k < p.fw; k += UP) {
                const int col = (u0 + k) / UP - ix0;  // u0 + k is a multiple of UP: exact division
                TILE_ASSERT(col >= 0 && col < lw);
                sum += sx[r][col] * swx[k];
            }
            sh[r][j] = sum;
        }
        __syncthreads();
        for (int t = tid; t < T * T; t += nthreads) {
            const int i = t / T, j = t - i * T;
            const int oy = oy0 + i, ox = ox0 + j;
            if (oy >= p.out_h || ox >= p.out_w) continue;
            const int u0 = oy * DOWN - p.pady0;
            acc_t sum = acc_t(0);
            for (int k = sep_floor_mod(-u0, UP); k < p.fh; k += UP) {
                const int r = (u0 + k) / UP - iy0;
                TILE_ASSERT(r >= 0 && r < lh);
                sum += sh[r][j] * swy[k];
            }
            y[nb * p.ys_n + ch * p.ys_c + oy * p.ys_h + ox * p.ys_w] = scalar_t(sum * acc_t(p.gain));
        }
    }
}

}  // namespace

at::Tensor upfirdn2d_sep_cuda(at::Tensor x, at::Tensor fx, at::Tensor fy, int64_t up, int64_t down, int64_t padx0,
                              int64_t padx1, int64_t pady0, int64_t pady1, bool flip, double gain) {
    const c10::cuda::OptionalCUDAGuard device_guard(device_of(x));
    const int64_t n = x.size(0), c = x.size(1), in_h = x.size(2), in_w = x.size(3);
    const int64_t fw = fx.size(0), fh = fy.size(0);
    const int64_t out_h = (in_h * up + pady0 + pady1 - fh) / down + 1;
    const int64_t out_w = (in_w * up + padx0 + padx1 - fw) / down + 1;
    at::Tensor y = at::empty({n, c, out_h, out_w}, x.options().memory_format(x.suggest_memory_format()));
    if (y.numel() == 0) return y;
    const int64_t xs[4] = {x.stride(0), x.stride(1), x.stride(2), x.stride(3)};
    const int64_t ys[4] = {y.stride(0), y.stride(1), y.stride(2), y.stride(3)};
    const SepParams p = make_sep_params(fx.data_ptr<float>(), int(fw), fy.data_ptr<float>(), int(fh), flip,
                                        float(gain), int(n * c), int(c), int(in_h), int(in_w), int(out_h),
                                        int(out_w), int(padx0), int(pady0), xs, ys);
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::ScalarType::Half, at::ScalarType::BFloat16, x.scalar_type(),
                                    "upfirdn2d_sep_cuda", [&] {
        const scalar_t* xd = x.data_ptr<scalar_t>();
        scalar_t* yd = y.data_ptr<scalar_t>();
        SepGrid g;
        if (up == 1 && down == 1) {
            g = sep_grid<1, 1>(p);
            upfirdn2d_sep_kernel<scalar_t, 1, 1><<<dim3(g.x, g.y, g.z), 256, 0, stream>>>(xd, yd, p);
        } else if (up == 2 && down == 1) {
            g = sep_grid<2, 1>(p);
            upfirdn2d_sep_kernel<scalar_t, 2, 1><<<dim3(g.x, g.y, g.z), 256, 0, stream>>>(xd, yd, p);
        } else if (up == 1 && down == 2) {
            g = sep_grid<1, 2>(p);
            upfirdn2d_sep_kernel<scalar_t, 1, 2><<<dim3(g.x, g.y, g.z), 256, 0, stream>>>(xd, yd, p);
        } else {
            g = sep_grid<2, 2>(p);
            upfirdn2d_sep_kernel<scalar_t, 2, 2><<<dim3(g.x, g.y, g.z), 256, 0, stream>>>(xd, yd, p);
        }
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
