// Python bindings of ganlib's custom CUDA ops (built on first use by ganlib/ops/cuda_build.py).
//
// upfirdn2d(x, f, upx, upy, downx, downy, padx0, padx1, pady0, pady1, flip, gain) -> y
//   x: [N, C, H, W] CUDA tensor (float, double, half or bfloat16; any dense layout), f: [fh, fw] float32 filter.
//   Upsample by zero insertion, pad (negative pads crop), convolve with f (correlate when flip), keep every
//   down-th pixel, scale by gain. Same result as ganlib.ops.upfirdn2d.upfirdn2d_ref with a 2-D filter.
//
// upfirdn2d_sep(x, fx, fy, up, down, padx0, padx1, pady0, pady1, flip, gain) -> y
//   The same with the separable filter outer(fy, fx), in shared-memory tiles (upfirdn2d_tiled.cu): fx [fw] and
//   fy [fh] are float32 CPU tensors (their taps travel with the launch), up and down are 1 or 2 on both axes,
//   1 <= fw, fh <= 16.
//
// bias_act(x, b, xref, yref, dim, act, mode, alpha, gain, clamp) -> out
//   mode 0: out = clamp(gain * act(x + b))                 (b broadcast along dim; empty b: no bias, dim unused)
//   mode 1: out = x * gain * act'(s) * [|yref| < clamp]     (x is an incoming gradient; s = xref + b)
//   mode 2: out = x * gain * act''(s) * [|yref| < clamp]
//   act codes: 1 linear, 2 relu, 3 lrelu, 4 tanh, 5 sigmoid, 6 elu, 7 selu, 8 softplus, 9 swish.
//   Derivatives of activations marked 'y' in ganlib.ops.bias_act are computed from yref (the forward output),
//   of 'x' ones (swish) from xref + b. clamp < 0: no clamping.
//
// The argument checks that need no tensor are plain functions (namespace checks) so that the host test harness
// (tests/kernel_host_harness.cpp) compiles and tests them without torch.
#include <torch/extension.h>

namespace checks {

constexpr int64_t SEP_MAX_TAPS = 16;  // = SEP_MAX_TAPS of upfirdn2d_tiled.cu (the host tests compare them)

// nullptr when the upfirdn2d arguments are acceptable, else the message.
inline const char* upfirdn2d_args(int64_t x_dim, int64_t in_h, int64_t in_w, int64_t fh, int64_t fw, int64_t upx,
                                  int64_t upy, int64_t downx, int64_t downy, int64_t padx0, int64_t padx1,
                                  int64_t pady0, int64_t pady1) {
    if (x_dim != 4) return "upfirdn2d: x must be [N, C, H, W]";
    if (fh < 1 || fw < 1) return "upfirdn2d: the filter is empty (it needs at least one tap on each axis)";
    if (upx < 1 || upy < 1 || downx < 1 || downy < 1) return "upfirdn2d: up and down must be >= 1";
    if (in_h * upy + pady0 + pady1 - fh < 0 || in_w * upx + padx0 + padx1 - fw < 0)
        return "upfirdn2d: the filter is larger than the padded input";
    return nullptr;
}

// nullptr when the separable (tiled) kernel takes these arguments, else why not.
inline const char* upfirdn2d_sep_args(int64_t fh, int64_t fw, int64_t up, int64_t down) {
    if (fh > SEP_MAX_TAPS || fw > SEP_MAX_TAPS) return "upfirdn2d_sep: at most 16 taps per axis";
    if ((up != 1 && up != 2) || (down != 1 && down != 2)) return "upfirdn2d_sep: up and down must be 1 or 2";
    return nullptr;
}

// nullptr when the bias_act arguments are acceptable, else the message. dim matters only with a bias.
inline const char* bias_act_args(int64_t x_dim, int64_t dim, bool has_b, int64_t b_dim, int64_t b_size,
                                 const int64_t* x_sizes, int64_t act, int64_t mode) {
    if (act < 1 || act > 9) return "bias_act: unknown activation code";
    if (mode < 0 || mode > 2) return "bias_act: mode must be 0, 1 or 2";
    if (has_b) {
        if (dim < 0 || dim >= x_dim) return "bias_act: dim out of range for x";
        if (b_dim != 1 || b_size != x_sizes[dim]) return "bias_act: b must be 1-D with x.shape[dim] elements";
    }
    return nullptr;
}

}  // namespace checks

torch::Tensor upfirdn2d_cuda(torch::Tensor x, torch::Tensor f, int64_t upx, int64_t upy, int64_t downx,
                             int64_t downy, int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                             double gain);

torch::Tensor upfirdn2d_sep_cuda(torch::Tensor x, torch::Tensor fx, torch::Tensor fy, int64_t up, int64_t down,
                                 int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip, double gain);

torch::Tensor bias_act_cuda(torch::Tensor x, torch::Tensor b, torch::Tensor xref, torch::Tensor yref, int64_t dim,
                            int64_t act, int64_t mode, double alpha, double gain, double clamp);

static void check_ok(const char* error) { TORCH_CHECK(error == nullptr, error ? error : ""); }

static torch::Tensor upfirdn2d(torch::Tensor x, torch::Tensor f, int64_t upx, int64_t upy, int64_t downx,
                               int64_t downy, int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                               double gain) {
    TORCH_CHECK(x.is_cuda(), "upfirdn2d: x must be a CUDA tensor");
    TORCH_CHECK(f.is_cuda() && f.device() == x.device(), "upfirdn2d: f must be on the same device as x");
    TORCH_CHECK(f.dim() == 2 && f.scalar_type() == torch::kFloat && f.is_contiguous(),
                "upfirdn2d: f must be a contiguous float32 [fh, fw] tensor");
    check_ok(checks::upfirdn2d_args(x.dim(), x.dim() == 4 ? x.size(2) : 0, x.dim() == 4 ? x.size(3) : 0, f.size(0),
                                    f.size(1), upx, upy, downx, downy, padx0, padx1, pady0, pady1));
    TORCH_CHECK(x.numel() < (int64_t(1) << 31), "upfirdn2d: tensor too large");
    return upfirdn2d_cuda(x, f, upx, upy, downx, downy, padx0, padx1, pady0, pady1, flip, gain);
}

static torch::Tensor upfirdn2d_sep(torch::Tensor x, torch::Tensor fx, torch::Tensor fy, int64_t up, int64_t down,
                                   int64_t padx0, int64_t padx1, int64_t pady0, int64_t pady1, bool flip,
                                   double gain) {
    TORCH_CHECK(x.is_cuda(), "upfirdn2d_sep: x must be a CUDA tensor");
    for (const torch::Tensor& f : {fx, fy}) {
        TORCH_CHECK(!f.is_cuda() && f.dim() == 1 && f.scalar_type() == torch::kFloat && f.is_contiguous(),
                    "upfirdn2d_sep: fx and fy must be contiguous 1-D float32 CPU tensors");
    }
    check_ok(checks::upfirdn2d_args(x.dim(), x.dim() == 4 ? x.size(2) : 0, x.dim() == 4 ? x.size(3) : 0, fy.size(0),
                                    fx.size(0), up, up, down, down, padx0, padx1, pady0, pady1));
    check_ok(checks::upfirdn2d_sep_args(fy.size(0), fx.size(0), up, down));
    TORCH_CHECK(x.numel() < (int64_t(1) << 31), "upfirdn2d_sep: tensor too large");
    return upfirdn2d_sep_cuda(x, fx, fy, up, down, padx0, padx1, pady0, pady1, flip, gain);
}

static torch::Tensor bias_act(torch::Tensor x, torch::Tensor b, torch::Tensor xref, torch::Tensor yref,
                              int64_t dim, int64_t act, int64_t mode, double alpha, double gain, double clamp) {
    TORCH_CHECK(x.is_cuda(), "bias_act: x must be a CUDA tensor");
    TORCH_CHECK(x.is_non_overlapping_and_dense(), "bias_act: x must be dense");
    const bool has_b = b.numel() > 0;
    check_ok(checks::bias_act_args(x.dim(), dim, has_b, b.dim(), has_b ? b.size(0) : 0, x.sizes().data(), act,
                                   mode));
    if (has_b) {
        TORCH_CHECK(b.is_cuda() && b.device() == x.device() && b.is_contiguous() && b.scalar_type() == x.scalar_type(),
                    "bias_act: b must be a contiguous CUDA tensor of x's dtype on x's device");
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
    m.def("upfirdn2d_sep", &upfirdn2d_sep, "FIR up/down-sampling with a separable filter, tiled (CUDA)");
    m.def("bias_act", &bias_act, "fused bias, activation, gain and clamp, and their derivatives (CUDA)");
}
