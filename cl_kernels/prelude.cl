/* First piece of the latent OpenCL program. Contraction of a*b+c into fma is switched
 * off before anything else so that lib/backend/philox.h (which follows) rounds exactly
 * as the C build does and the random streams stay bit-identical across backends. */
#pragma OPENCL FP_CONTRACT OFF
