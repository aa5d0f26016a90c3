// SGEMM through CLBlast's C++ API, for its temp_buffer argument (see clblast_gemm.h).
// The only C++ in latent: two extern "C" wrappers that never let an exception escape.
#include "clblast_gemm.h" // first: fixes CL_TARGET_OPENCL_VERSION before clblast.h's CL include

#include <clblast.h>

namespace {

// Our 0/1 flag as a CLBlast transpose.
clblast::Transpose transpose_of(int t)
{
    return t ? clblast::Transpose::kYes : clblast::Transpose::kNo;
}

} // namespace

// Asks CLBlast (from its tuning database for the queue's device) for the temp bytes.
extern "C" int lt_clblast_sgemm_temp_size(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                          size_t aoff, size_t lda, size_t boff, size_t ldb,
                                          size_t coff, size_t ldc, cl_command_queue *queue,
                                          size_t *bytes)
{
    try {
        size_t size = 0;
        clblast::StatusCode s = clblast::GemmTempBufferSize<float>(
            clblast::Layout::kRowMajor, transpose_of(trans_a), transpose_of(trans_b), m, n, k,
            aoff, lda, boff, ldb, coff, ldc, queue, size);
        if (s == clblast::StatusCode::kSuccess) *bytes = size;
        return static_cast<int>(s);
    } catch (...) { // CLBlast catches its own, but a C caller must never see one
        return LT_CLBLAST_UNEXPECTED;
    }
}

// Enqueues the SGEMM with our temp buffer, so CLBlast allocates no scratch of its own.
extern "C" int lt_clblast_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                cl_mem a, size_t aoff, size_t lda, cl_mem b, size_t boff, size_t ldb,
                                float beta, cl_mem c, size_t coff, size_t ldc,
                                cl_command_queue *queue, cl_mem temp)
{
    try {
        return static_cast<int>(clblast::Gemm<float>(
            clblast::Layout::kRowMajor, transpose_of(trans_a), transpose_of(trans_b), m, n, k,
            alpha, a, aoff, lda, b, boff, ldb, beta, c, coff, ldc, queue, nullptr, temp));
    } catch (...) {
        return LT_CLBLAST_UNEXPECTED;
    }
}
