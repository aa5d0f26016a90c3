/* Generic harness: builds kernel file argv[1] (prefixed by "#pragma OPENCL FP_CONTRACT OFF"),
 * runs kernel "k(__global float *out, __global int *dbg, ulong n)" over n = argv[2] items,
 * prints out[] and dbg[] for items whose out differs from the C reference ref_k() (linked
 * from ref.c, built from the same source). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void ref_k(unsigned long i, float *out, int *dbg);
static char *slurp(const char *p) { FILE *f = fopen(p, "rb"); fseek(f, 0, 2); long n = ftell(f); rewind(f);
  char *s = calloc(n + 1, 1); fread(s, 1, n, f); fclose(f); return s; }
int main(int argc, char **argv)
{
    size_t n = argc > 2 ? strtoul(argv[2], 0, 0) : 64;
    const char *opts = argc > 3 ? argv[3] : "";
    char *body = slurp(argv[1]);
    const char *pre = "#pragma OPENCL FP_CONTRACT OFF\n";
    char *src = malloc(strlen(pre) + strlen(body) + 1); strcpy(src, pre); strcat(src, body);
    cl_platform_id p; cl_device_id d; cl_int e;
    clGetPlatformIDs(1, &p, NULL); clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL);
    char name[256]; clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof name, name, NULL);
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &e);
    cl_command_queue q = clCreateCommandQueue(c, d, 0, &e);
    cl_program pr = clCreateProgramWithSource(c, 1, (const char **)&src, NULL, &e);
    if (clBuildProgram(pr, 1, &d, opts, NULL, NULL) != CL_SUCCESS) {
        char log[65536]; clGetProgramBuildInfo(pr, d, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        printf("build failed:\n%s\n", log); return 2; }
    cl_kernel k = clCreateKernel(pr, "k", &e);
    cl_mem mo = clCreateBuffer(c, CL_MEM_READ_WRITE, n * 4, NULL, &e);
    cl_mem md = clCreateBuffer(c, CL_MEM_READ_WRITE, n * 16, NULL, &e);
    cl_ulong nn = n;
    clSetKernelArg(k, 0, sizeof mo, &mo); clSetKernelArg(k, 1, sizeof md, &md); clSetKernelArg(k, 2, sizeof nn, &nn);
    clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL);
    float *o = malloc(n * 4); int *dg = malloc(n * 16);
    clEnqueueReadBuffer(q, mo, CL_TRUE, 0, n * 4, o, 0, NULL, NULL);
    clEnqueueReadBuffer(q, md, CL_TRUE, 0, n * 16, dg, 0, NULL, NULL);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float r; int rd[4] = {0};
        ref_k(i, &r, rd);
        if (memcmp(&r, &o[i], 4)) {
            if (bad < 8) printf("  i=%zu device %.9g ref %.9g | dbg dev %d %d %d %d ref %d %d %d %d\n", i, o[i], r,
                                dg[4*i], dg[4*i+1], dg[4*i+2], dg[4*i+3], rd[0], rd[1], rd[2], rd[3]);
            bad++;
        }
    }
    printf("%s: %d of %zu differ from the C reference\n", name, bad, n);
    clReleaseKernel(k); clReleaseProgram(pr); clReleaseMemObject(mo); clReleaseMemObject(md);
    clReleaseCommandQueue(q); clReleaseContext(c);
    return bad != 0;
}
