#ifndef APPROXHLS_PRODUCT_H_
#define APPROXHLS_PRODUCT_H_

// approxhls: the product of a Dense/Conv layer computed by an approximate multiplier on the operands'
// integer codes and scaled back to the fixed-point product (value = P * 2^-(Fx + Fw)).
// L is the layer's descriptor from approxhls_multipliers.h: operand signedness, the multiplier, and
// the width of its products. Unsigned cores are applied by sign-magnitude. Each planned layer's config says
// `using product = nnet::product::approxhls_LAYER<x_T, y_T>`, a class defined at the end of this file.

#include "ap_fixed.h"
#include "nnet_mult.h"
#include "approxhls_multipliers.h"

namespace nnet {
namespace product {

template <class x_T, class w_T, class L> class approxhls_mult : public Product {
  public:
    static const int F = (x_T::width - x_T::iwidth) + (w_T::width - w_T::iwidth);
    static const int RW = L::out_bits + 2; // magnitude bits + sign + guard
    typedef ap_fixed<RW, RW - F> r_T;

    template <class T> static int32_t code(T v, bool is_signed) {
        #pragma HLS INLINE
        ap_uint<T::width> bits = v.range(T::width - 1, 0);
        int32_t c = (int32_t)bits.to_uint();
        if (is_signed && ((c >> (T::width - 1)) & 1))
            c -= (int32_t)1 << T::width;
        return c;
    }

    static r_T product(x_T a, w_T w) {
        #pragma HLS INLINE
        int32_t xc = code(a, L::x_signed);
        int32_t wc = code(w, L::w_signed);
        int32_t p;
        if (L::native_signed) {
            p = L::mul(xc, wc);
        } else {
            int32_t m = L::mul(xc < 0 ? -xc : xc, wc < 0 ? -wc : wc);
            p = ((xc < 0) != (wc < 0)) ? -m : m;
        }
        r_T r;
        r.range(RW - 1, 0) = ap_int<RW>(p).range(RW - 1, 0);
        return r;
    }
};

} // namespace product
} // namespace nnet

// the product class each planned layer's config names (written per project):
// approxhls: product classes

#endif
