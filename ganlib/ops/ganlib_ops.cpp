// Python bindings of ganlib's custom CUDA ops (built on first use by ganlib/ops/cuda_build.py).
//
// upfirdn2d(x, f, upx, upy, downx, downy, padx0, padx1, pady0, pady1, flip, gain) -> y
//   x: [N, C, H, W] CUDA tensor (float, double, half or bfloat16; any dense layout), f: [fh, fw] float32 filter.
//   Upsample by zero insertion, pad (negative pads crop), convolve with f (correlate when flip), keep every
//   down-th pixel, scale by gain. Same result as ganlib.ops.upfirdn2d.upfirdn2d_ref with a 2-D filter.
//
// bias_act(x, b, xref, yref, dim, act, mode, alpha, gain, clamp) -> out
//   mode 0: out = clamp(gain * act(x + b))                 (b broadcast along dim; empty b: no bias)
//   mode 1: out = x * gain * act'(s) * [|yref| < clamp]     (x is an incoming gradient; s = xref + b)
//   mode 2: out = x * gain * act''(s) * [|yref| < clamp]
//   act codes: 1 linear, 2 relu, 3 lrelu, 4 tanh, 5 sigmoid, 6 elu, 7 selu, 8 softplus, 9 swish.
//   Derivatives of activations marked 'y' in ganlib.ops.bias_act are computed from yref (the forward output),
//   of 'x' ones (swish) from xref + b. clamp < 0: no clamping.
#include <torch/extension.h>

torch::Tensor upfirdn2d_cuda(torch::Tensor x, torch::Tensor f, int64_t upx, int64_t upy, int64_t downx,
                             int64_t downy, int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                             double gain);

torch::Tensor bias_act_cuda(torch::Tensor x, torch::Tensor b, torch::Tensor xref, torch::Tensor yref, int64_t dim,
                            int64_t act, int64_t mode, double alpha, double gain, double clamp);

static torch::Tensor upfirdn2d(torch::Tensor x, torch::Tensor f, int64_t upx, int64_t upy, int64_t downx,
                               int64_t downy, int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                               double gain) {
    TORCH_CHECK(x.is_cuda(), "upfirdn2d: x must be a CUDA tensor");
    TORCH_CHECK(f.is_cuda() && f.device() == x.device(), "upfirdn2d: f must be on the same device as x");
    TORCH_CHECK(x.dim() == 4, "upfirdn2d: x must be [N, C, H, W]");
    TORCH_CHECK(f.dim() == 2 && f.scalar_type() == torch::kFloat && f.is_contiguous(),
                "upfirdn2d: f must be a contiguous float32 [fh, fw] tensor");
    TORCH_CHECK(upx >= 1 && upy >= 1 && downx >= 1 && downy >= 1, "upfirdn2d: up and down must be >= 1");
    TORCH_CHECK(x.numel() < (int64_t(1) << 31), "upfirdn2d: tensor too large");
    return upfirdn2d_cuda(x, f, upx, upy, downx, downy, padx0, padx1, pady0, pady1, flip, gain);
}

static torch::Tensor bias_act(torch::Tensor x, torch::Tensor b, torch::Tensor xref, torch::Tensor yref,
                              int64_t dim, int64_t act, int64_t mode, double alpha, double gain, double clamp) {
    TORCH_CHECK(x.is_cuda(), "bias_act: x must be a CUDA tensor");
    TORCH_CHECK(x.is_non_overlapping_and_dense(), "bias_act: x must be dense");
    TORCH_CHECK(dim >= 0 && dim < x.dim(), "bias_act: dim out of range");
    TORCH_CHECK(act >= 1 && act <= 9, "bias_act: unknown activation code");
    TORCH_CHECK(mode >= 0 && mode <= 2, "bias_act: mode must be 0, 1 or 2");
    if (b.numel() > 0) {
        TORCH_CHECK(b.is_cuda() && b.device() == x.device() && b.dim() == 1 && b.size(0) == x.size(dim) &&
                    b.is_contiguous() && b.scalar_type() == x.scalar_type(),
                    "bias_act: b must be a contiguous 1-D tensor of x's dtype with x.shape[dim] elements");
    }
    for (const torch::Tensor& r : {xref, yref}) {
        if (r.numel() > 0) {
            TORCH_CHECK(r.is_cuda() && r.device() == x.device() && r.sizes() == x.sizes() &&
                        r.strides() == x.strides() && r.scalar_type() == x.scalar_type(),
                        "bias_act: reference tensors must match x in shape, layout and dtype");
        }
    }
    TORCH_CHECK(x.numel() < (int64_t(1) << 31), "bias_act: tensor too large");
    return bias_act_cuda(x, b, xref, yref, dim, act, mode, alpha, gain, clamp);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.def("upfirdn2d", &upfirdn2d, "FIR up/down-sampling of NCHW images (CUDA)");
    m.def("bias_act", &bias_act, "fused bias, activation, gain and clamp, and their derivatives (CUDA)");
}
