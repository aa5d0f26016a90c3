/* An OpenCL interposer for bench/count_launches.sh: LD_PRELOAD it and it counts the
 * kernel launches (clEnqueueNDRangeKernel, CLBlast's included) per kernel name, and the
 * buffer reads, writes and copies, and prints the counts to stderr at exit as lines
 * "launch NAME COUNT" and "transfer KIND COUNT". A development tool: not part of the
 * library, not built by meson. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAMES 256

static struct { char name[64]; unsigned long n; } counts[MAX_NAMES];
static int used;
static unsigned long reads, writes, copies;

/* The next definition of sym after this library's (the ICD loader's). */
static void *next(const char *sym) { return dlsym(RTLD_NEXT, sym); }

/* Adds one launch of the kernel k. */
static void count(cl_kernel k)
{
    char name[64] = "?";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    name[sizeof name - 1] = 0;
    for (int i = 0; i < used; i++)
        if (strcmp(counts[i].name, name) == 0) { counts[i].n++; return; }
    if (used == MAX_NAMES) return;
    memcpy(counts[used].name, name, sizeof name);
    counts[used++].n = 1;
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *off, const size_t *global,
                              const size_t *local, cl_uint nw, const cl_event *wait, cl_event *ev)
{
    static cl_int (*real)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                          const cl_event *, cl_event *);
    if (!real) *(void **)&real = next("clEnqueueNDRangeKernel");
    count(k);
    return real(q, k, dims, off, global, local, nw, wait, ev);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, void *p, cl_uint nw,
                           const cl_event *wait, cl_event *ev)
{
    static cl_int (*real)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *,
                          cl_event *);
    if (!real) *(void **)&real = next("clEnqueueReadBuffer");
    reads++;
    return real(q, m, block, off, size, p, nw, wait, ev);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, const void *p,
                            cl_uint nw, const cl_event *wait, cl_event *ev)
{
    static cl_int (*real)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, const cl_event *,
                          cl_event *);
    if (!real) *(void **)&real = next("clEnqueueWriteBuffer");
    writes++;
    return real(q, m, block, off, size, p, nw, wait, ev);
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t soff, size_t doff, size_t size,
                           cl_uint nw, const cl_event *wait, cl_event *ev)
{
    static cl_int (*real)(cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t, cl_uint, const cl_event *,
                          cl_event *);
    if (!real) *(void **)&real = next("clEnqueueCopyBuffer");
    copies++;
    return real(q, src, dst, soff, doff, size, nw, wait, ev);
}

__attribute__((destructor)) static void report(void)
{
    for (int i = 0; i < used; i++) fprintf(stderr, "launch %s %lu\n", counts[i].name, counts[i].n);
    fprintf(stderr, "transfer reads %lu\ntransfer writes %lu\ntransfer copies %lu\n", reads, writes, copies);
}
