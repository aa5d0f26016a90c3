/* 2b minimal, no latent: is a buffer region re-written by clEnqueueWriteBuffer at an element
 * offset taken as uninitialized by oclgrind --uninitialized?
 * A buffer of 1010 floats is written whole, then again with n=1000 floats at element offset
 * argv[1] (argv[2] = "n": no whole write first; "w": the whole write only); a kernel copies it out; oclgrind reports the uninitialized values it copies. */
#include "repro_setup.h"
#include <stdio.h>
#include <stdlib.h>
static const char *src = "__kernel void cp(__global const float *in, __global float *out){ size_t i = get_global_id(0); out[i] = in[i] + 1.0f; }";
int main(int argc, char **argv)
{
    size_t off = argc > 1 ? strtoul(argv[1], 0, 0) : 5, total = 1010, n = 1000;
    int whole_first = !(argc > 2 && argv[2][0] == 'n');
    repro r = repro_open(src);
    cl_context c = r.c;
    cl_command_queue q = r.q;
    cl_program pr = r.pr;
    cl_int e;
    cl_kernel k = clCreateKernel(pr, "cp", &e);
    float *h = malloc(total * 4);
    for (size_t i = 0; i < total; i++) h[i] = (float)i;
    cl_mem in = clCreateBuffer(c, CL_MEM_READ_WRITE, total * 4, NULL, &e);
    cl_mem out = clCreateBuffer(c, CL_MEM_READ_WRITE, total * 4, NULL, &e);
    if (whole_first) clEnqueueWriteBuffer(q, in, CL_TRUE, 0, total * 4, h, 0, NULL, NULL);
    if (!(argc > 2 && argv[2][0] == 'w')) clEnqueueWriteBuffer(q, in, CL_TRUE, off * 4, n * 4, h, 0, NULL, NULL);
    clSetKernelArg(k, 0, sizeof in, &in); clSetKernelArg(k, 1, sizeof out, &out);
    clEnqueueNDRangeKernel(q, k, 1, NULL, &total, NULL, 0, NULL, NULL);
    clFinish(q);
    fprintf(stderr, "done: whole buffer written first: %s; then %zu floats at element %zu\n", whole_first ? "yes" : "no", n, off);
    clReleaseKernel(k); clReleaseProgram(pr); clReleaseMemObject(in); clReleaseMemObject(out);
    clReleaseCommandQueue(q); clReleaseContext(c); free(h);
    return 0;
}
