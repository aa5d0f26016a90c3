/* (a) minimal, no latent, no CLBlast: one OpenCL object is released from an atexit
 * handler (as CLBlast's static program cache does from its static destructor).
 * argv[1] = "atexit": release the last program reference in an atexit handler
 *         = "main":   release it at the end of main (control) */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *src = "__kernel void k(__global float *x){ x[get_global_id(0)] = 2.0f; }";
static cl_program cached; /* a second reference, like a library's program cache */
static void release_cached(void) { fprintf(stderr, "atexit: clReleaseProgram\n"); clReleaseProgram(cached); fprintf(stderr, "atexit: done\n"); }
int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "atexit";
    cl_platform_id p; cl_device_id d; cl_int e;
    clGetPlatformIDs(1, &p, NULL);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL);
    char name[256]; clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof name, name, NULL);
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &e);
    cl_program pr = clCreateProgramWithSource(c, 1, &src, NULL, &e);
    e = clBuildProgram(pr, 1, &d, "", NULL, NULL);
    cached = pr; clRetainProgram(cached);
    if (!strcmp(mode, "atexit")) atexit(release_cached);
    clReleaseProgram(pr); clReleaseContext(c); /* our own references, in order */
    if (!strcmp(mode, "main")) release_cached();
    printf("%s: main returns (%s)\n", name, mode); fflush(stdout);
    return 0;
}
