/* 2b minimal, no latent: oclgrind --uninitialized and a buffer created after another was
 * released. Buffer A (argv[1] floats) is written by a kernel and released; buffer B (64
 * floats) is created next (oclgrind hands it A's buffer number), written whole by a kernel,
 * then copied by a second kernel into C. Every value B holds was written by a kernel. */
#include "repro_setup.h"
#include <stdio.h>
#include <stdlib.h>
static const char *src =
    "__kernel void set(__global float *x) { size_t i = get_global_id(0); x[i] = (float)i; }\n"
    "__kernel void cp(__global const float *x, __global float *y) { size_t i = get_global_id(0); y[i] = x[i] + 1.0f; }\n";
int main(int argc, char **argv)
{
    size_t na = argc > 1 ? strtoul(argv[1], 0, 0) : 4, nb = 64;
    repro r = repro_open(src);
    cl_context c = r.c;
    cl_command_queue q = r.q;
    cl_program pr = r.pr;
    cl_int e;
    cl_kernel kset = clCreateKernel(pr, "set", &e), kcp = clCreateKernel(pr, "cp", &e);
    cl_mem C = clCreateBuffer(c, CL_MEM_READ_WRITE, nb * 4, NULL, &e);
    if (na) {
        cl_mem A = clCreateBuffer(c, CL_MEM_READ_WRITE, na * 4, NULL, &e);
        clSetKernelArg(kset, 0, sizeof A, &A);
        clEnqueueNDRangeKernel(q, kset, 1, NULL, &na, NULL, 0, NULL, NULL);
        clFinish(q);
        clReleaseMemObject(A);
    }
    cl_mem B = clCreateBuffer(c, CL_MEM_READ_WRITE, nb * 4, NULL, &e);
    clSetKernelArg(kset, 0, sizeof B, &B);
    clEnqueueNDRangeKernel(q, kset, 1, NULL, &nb, NULL, 0, NULL, NULL);
    clSetKernelArg(kcp, 0, sizeof B, &B); clSetKernelArg(kcp, 1, sizeof C, &C);
    clEnqueueNDRangeKernel(q, kcp, 1, NULL, &nb, NULL, 0, NULL, NULL);
    float h[64]; clEnqueueReadBuffer(q, C, CL_TRUE, 0, nb * 4, h, 0, NULL, NULL);
    fprintf(stderr, "A had %zu floats; C[63] = %g (want 64)\n", na, h[63]);
    clReleaseMemObject(B); clReleaseMemObject(C); clReleaseKernel(kset); clReleaseKernel(kcp);
    clReleaseProgram(pr); clReleaseCommandQueue(q); clReleaseContext(c);
    return 0;
}
