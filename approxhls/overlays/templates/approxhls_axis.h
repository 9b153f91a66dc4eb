// AXI-Stream word type of the approxhls stream wrapper.
// Vitis HLS provides ap_axiu in ap_axi_sdata.h; the C-simulation with plain g++ (ap_types shipped with
// hls4ml has no ap_axi_sdata.h) uses a stand-in with the members the wrapper touches.
#ifndef APPROXHLS_AXIS_H_
#define APPROXHLS_AXIS_H_

#include "ap_int.h"
#include "hls_stream.h"

#if defined(__has_include)
#if __has_include("ap_axi_sdata.h")
#define APPROXHLS_HAVE_AXI_SDATA 1
#endif
#endif

#ifdef APPROXHLS_HAVE_AXI_SDATA
#include "ap_axi_sdata.h"
#else
template <int D, int U, int TI, int TD> struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
#endif

#endif
