// bias_act: fused bias + activation + gain + clamp (mode 0) and its first (mode 1) and second (mode 2) derivatives
// with respect to the pre-activation value, for autograd (see ganlib/ops/cuda_ops.py).
//
// Elementwise over dense tensors of any layout: the bias index of the element at memory offset i is
// (i / stride[dim]) % size[dim], valid for contiguous and channels-last tensors alike. All reference tensors share
// x's layout (checked in ganlib_ops.cpp). Arithmetic is in float (double for double tensors), rounded once.
//
// Edge cases follow NVlabs' bias_act: ELU and SELU take their s >= 0 branch at s = 0 (value and derivatives);
// swish(s) = 0 below s = -80 (so swish(-inf) = 0, not NaN), its derivatives are 1 and 0 above s = 40 and 0 below
// -80; the clamp maps anything outside (-clamp, clamp), NaN included, to +-clamp (NaN -> -clamp), and a derivative
// is 0 wherever the forward output was not inside (-clamp, clamp).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/AccumulateType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

namespace {

enum Act { LINEAR = 1, RELU = 2, LRELU = 3, TANH = 4, SIGMOID = 5, ELU = 6, SELU = 7, SOFTPLUS = 8, SWISH = 9 };

constexpr double SELU_SCALE = 1.0507009873554804934193349852946;
constexpr double SELU_ALPHA = 1.6732632423543772848170429916717;
constexpr double EXP_RANGE = 80;       // below -EXP_RANGE swish is 0
constexpr double HALF_EXP_RANGE = 40;  // above it swish' is 1 and swish'' is 0

template <typename T>
__device__ __forceinline__ T sigmoid_of(T s) {
    return T(1) / (T(1) + exp(-s));
}

// act(s)
template <typename T>
__device__ __forceinline__ T act_value(int act, T s, T alpha) {
    switch (act) {
        case RELU: return s > T(0) ? s : T(0);
        case LRELU: return s > T(0) ? s : s * alpha;
        case TANH: return tanh(s);
        case SIGMOID: return sigmoid_of(s);
        case ELU: return s >= T(0) ? s : exp(s) - T(1);
        case SELU: return s >= T(0) ? T(SELU_SCALE) * s : T(SELU_SCALE * SELU_ALPHA) * (exp(s) - T(1));
        case SOFTPLUS: return s > T(20) ? s : log1p(exp(s));
        case SWISH: return s < T(-EXP_RANGE) ? T(0) : s * sigmoid_of(s);
        default: return s;
    }
}

// act'(s) (order 1) or act''(s) (order 2), from s for 'x' activations (swish) and from a = act(s) otherwise.
template <typename T>
__device__ __forceinline__ T act_deriv(int act, int order, T s, T a, T alpha) {
    switch (act) {
        case LINEAR: return order == 1 ? T(1) : T(0);
        case RELU: return order == 1 ? (a > T(0) ? T(1) : T(0)) : T(0);
        case LRELU: return order == 1 ? (a > T(0) ? T(1) : alpha) : T(0);
        case TANH: {
            const T d = T(1) - a * a;
            return order == 1 ? d : T(-2) * a * d;
        }
        case SIGMOID: {
            const T d = a * (T(1) - a);
            return order == 1 ? d : d * (T(1) - T(2) * a);
        }
        case ELU:
            if (a >= T(0)) return order == 1 ? T(1) : T(0);
            return a + T(1);
        case SELU:
            if (a >= T(0)) return order == 1 ? T(SELU_SCALE) : T(0);
            return a + T(SELU_SCALE * SELU_ALPHA);
        case SOFTPLUS: {
            const T e = exp(-a);  // 1 - sigmoid(s)
            return order == 1 ? T(1) - e : (T(1) - e) * e;
        }
        case SWISH: {
            if (s > T(HALF_EXP_RANGE)) return order == 1 ? T(1) : T(0);
            if (s < T(-EXP_RANGE)) return T(0);
            const T sg = sigmoid_of(s);
            return order == 1 ? sg * (T(1) + s * (T(1) - sg)) : sg * (T(1) - sg) * (T(2) + s * (T(1) - T(2) * sg));
        }
        default: return T(0);
    }
}

struct BiasActParams {
    int64_t total, stride_dim, size_dim;
    int act, mode;
    bool has_b, has_x, has_y;
    double alpha, gain, clamp;
};

// Kernel parameters from the tensors' geometry. Without a bias, dim is not used (NVlabs: "ignored if b is not
// specified"), so any dim is accepted, also for 1-D or 0-D tensors.
inline BiasActParams make_bias_act_params(int64_t total, int64_t ndim, const int64_t* sizes, const int64_t* strides,
                                          int64_t dim, int act, int mode, bool has_b, bool has_x, bool has_y,
                                          double alpha, double gain, double clamp) {
    BiasActParams p;
    p.total = total;
    const bool use_dim = has_b && dim >= 0 && dim < ndim;
    p.stride_dim = use_dim ? strides[dim] : 1;
    p.size_dim = use_dim ? sizes[dim] : 1;
    p.act = act;
    p.mode = mode;
    p.has_b = has_b;
    p.has_x = has_x;
    p.has_y = has_y;
    p.alpha = alpha;
    p.gain = gain;
    p.clamp = clamp;
    return p;
}

template <typename scalar_t>
__global__ void bias_act_kernel(scalar_t* __restrict__ out, const scalar_t* __restrict__ x,
                                const scalar_t* __restrict__ b, const scalar_t* __restrict__ xref,
                                const scalar_t* __restrict__ yref, BiasActParams p) {
    using T = at::acc_type<scalar_t, true>;
    const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.total;
         i += int64_t(blockDim.x) * gridDim.x) {
        const T bias = p.has_b ? T(b[(i / p.stride_dim) % p.size_dim]) : T(0);
        if (p.mode == 0) {
            T v = act_value(p.act, T(x[i]) + bias, alpha) * gain;
            if (clamp >= T(0)) v = (v > -clamp && v < clamp) ? v : (v >= T(0) ? clamp : -clamp);
            out[i] = scalar_t(v);
            continue;
        }
        const T y = p.has_y ? T(yref[i]) : T(0);
        if (clamp >= T(0) && !(fabs(y) < clamp)) {
            out[i] = scalar_t(0);
            continue;
        }
        const T s = p.has_x ? T(xref[i]) + bias : T(0);
        const T a = gain != T(0) ? y / gain : T(0);
        out[i] = scalar_t(T(x[i]) * gain * act_deriv(p.act, p.mode, s, a, alpha));
    }
}

}  // namespace

at::Tensor bias_act_cuda(at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref, int64_t dim,
                            int64_t act, int64_t mode, double alpha, double gain, double clamp) {
    const c10::cuda::OptionalCUDAGuard device_guard(device_of(x));
    at::Tensor out = at::empty_like(x);
    if (x.numel() == 0) return out;
    const BiasActParams p = make_bias_act_params(x.numel(), x.dim(), x.sizes().data(), x.strides().data(), dim,
                                                 int(act), int(mode), b.numel() > 0, xref.numel() > 0,
                                                 yref.numel() > 0, alpha, gain, clamp);
    const int threads = 256;
    const int64_t blocks64 = (p.total + threads - 1) / threads;
    const int blocks = int(blocks64 < 65535 * 8 ? blocks64 : 65535 * 8);
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::ScalarType::Half, at::ScalarType::BFloat16, x.scalar_type(), "bias_act_cuda",
                                    [&] {
        bias_act_kernel<scalar_t><<<blocks, threads, 0, stream>>>(
            out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), p.has_b ? b.data_ptr<scalar_t>() : nullptr,
            p.has_x ? xref.data_ptr<scalar_t>() : nullptr, p.has_y ? yref.data_ptr<scalar_t>() : nullptr, p);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
