// upfirdn2d: zero-insertion upsampling, padding/cropping, FIR filtering and decimation in one pass.
//
// One thread per output pixel (grid-stride loop). For output row oy the filter window starts at row oy*downy of the
// padded, upsampled signal; only taps that land on an upsampled sample that exists (a multiple of upy inside the
// image) contribute, so the loop starts at the first such tap and steps by upy: with up=2 a 4x4 filter costs 4
// multiply-adds, not 16. Inputs and outputs are addressed through their strides, so channels-last tensors need no
// copy. Accumulation is in float (double for double tensors).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/AccumulateType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

namespace {

struct Upfirdn2dParams {
    int n, c, in_h, in_w, out_h, out_w;
    int upx, upy, downx, downy, padx0, pady0, fw, fh;
    bool flip;
    float gain;
    int64_t xs_n, xs_c, xs_h, xs_w;
    int64_t ys_n, ys_c, ys_h, ys_w;
};

__device__ __forceinline__ int floor_mod(int a, int m) {
    int r = a % m;
    return r < 0 ? r + m : r;
}

template <typename scalar_t>
__global__ void upfirdn2d_kernel(const scalar_t* __restrict__ x, const float* __restrict__ f,
                                 scalar_t* __restrict__ y, Upfirdn2dParams p) {
    using acc_t = at::acc_type<scalar_t, true>;
    const int64_t total = int64_t(p.n) * p.c * p.out_h * p.out_w;
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
         idx += int64_t(blockDim.x) * gridDim.x) {
        const int ox = int(idx % p.out_w);
        int64_t t = idx / p.out_w;
        const int oy = int(t % p.out_h);
        t /= p.out_h;
        const int ch = int(t % p.c);
        const int nb = int(t / p.c);

        // Position of tap 0 in upsampled (unpadded) coordinates.
        const int uy0 = oy * p.downy - p.pady0;
        const int ux0 = ox * p.downx - p.padx0;
        const int ky_first = floor_mod(-uy0, p.upy);
        const int kx_first = floor_mod(-ux0, p.upx);
        const scalar_t* xp = x + nb * p.xs_n + ch * p.xs_c;

        acc_t sum = acc_t(0);
        for (int ky = ky_first; ky < p.fh; ky += p.upy) {
            const int uy = uy0 + ky;
            if (uy < 0) continue;
            const int iy = uy / p.upy;
            if (iy >= p.in_h) break;
            const int fy = p.flip ? ky : p.fh - 1 - ky;
            for (int kx = kx_first; kx < p.fw; kx += p.upx) {
                const int ux = ux0 + kx;
                if (ux < 0) continue;
                const int ix = ux / p.upx;
                if (ix >= p.in_w) break;
                const int fx = p.flip ? kx : p.fw - 1 - kx;
                sum += acc_t(xp[iy * p.xs_h + ix * p.xs_w]) * acc_t(f[fy * p.fw + fx]);
            }
        }
        y[nb * p.ys_n + ch * p.ys_c + oy * p.ys_h + ox * p.ys_w] = scalar_t(sum * acc_t(p.gain));
    }
}

}  // namespace

at::Tensor upfirdn2d_cuda(at::Tensor x, at::Tensor f, int64_t upx, int64_t upy, int64_t downx,
                             int64_t downy, int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                             double gain) {
    const c10::cuda::OptionalCUDAGuard device_guard(device_of(x));
    const int64_t n = x.size(0), c = x.size(1), in_h = x.size(2), in_w = x.size(3);
    const int64_t fh = f.size(0), fw = f.size(1);
    const int64_t out_h = (in_h * upy + pady0 + pady1 - fh) / downy + 1;
    const int64_t out_w = (in_w * upx + padx0 + padx1 - fw) / downx + 1;
    TORCH_CHECK(in_h * upy + pady0 + pady1 - fh >= 0 && in_w * upx + padx0 + padx1 - fw >= 0,
                "upfirdn2d: the filter is larger than the padded input");
    at::Tensor y = at::empty({n, c, out_h, out_w}, x.options().memory_format(x.suggest_memory_format()));
    if (y.numel() == 0) return y;

    Upfirdn2dParams p;
    p.n = int(n); p.c = int(c); p.in_h = int(in_h); p.in_w = int(in_w); p.out_h = int(out_h); p.out_w = int(out_w);
    p.upx = int(upx); p.upy = int(upy); p.downx = int(downx); p.downy = int(downy);
    p.padx0 = int(padx0); p.pady0 = int(pady0); p.fw = int(fw); p.fh = int(fh);
    p.flip = flip; p.gain = float(gain);
    p.xs_n = x.stride(0); p.xs_c = x.stride(1); p.xs_h = x.stride(2); p.xs_w = x.stride(3);
    p.ys_n = y.stride(0); p.ys_c = y.stride(1); p.ys_h = y.stride(2); p.ys_w = y.stride(3);

    const int threads = 256;
    const int64_t blocks64 = (y.numel() + threads - 1) / threads;
    const int blocks = int(blocks64 < 65535 * 8 ? blocks64 : 65535 * 8);
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::ScalarType::Half, at::ScalarType::BFloat16, x.scalar_type(), "upfirdn2d_cuda",
                                    [&] {
        upfirdn2d_kernel<scalar_t><<<blocks, threads, 0, stream>>>(x.data_ptr<scalar_t>(), f.data_ptr<float>(),
                                                                    y.data_ptr<scalar_t>(), p);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
