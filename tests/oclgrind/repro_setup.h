/* The setup the reproductions share: the first device of the first platform, a context,
 * an in-order queue and a program built from src. Minimal on purpose: no error checks. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

typedef struct repro { cl_device_id d; cl_context c; cl_command_queue q; cl_program pr; } repro;

/* Opens everything and builds src. */
static repro repro_open(const char *src)
{
    repro r;
    cl_platform_id p;
    cl_int e;
    clGetPlatformIDs(1, &p, NULL);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &r.d, NULL);
    r.c = clCreateContext(NULL, 1, &r.d, NULL, NULL, &e);
    r.q = clCreateCommandQueue(r.c, r.d, 0, &e);
    r.pr = clCreateProgramWithSource(r.c, 1, &src, NULL, &e);
    clBuildProgram(r.pr, 1, &r.d, "", NULL, NULL);
    return r;
}
