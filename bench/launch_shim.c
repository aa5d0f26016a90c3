/* An OpenCL interposer for bench/count_launches.sh: LD_PRELOAD it and it counts the
 * kernel launches (clEnqueueNDRangeKernel, CLBlast's included) per kernel name, and the
 * buffer reads, writes and copies, and prints the counts to stderr at exit as lines
 * "launch NAME COUNT" and "transfer KIND COUNT". With LAUNCH_SHIM_TIME=1 it also
 * times each launch alone (the queue drained before, finished after: wall time, launch
 * overhead included) and prints "time NAME[GLOBAL/LOCAL] TOTAL_US COUNT" per kernel and
 * launch shape. A development tool: not part of the library, not built by meson. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NAMES 256

static struct { char name[64]; unsigned long n; } counts[MAX_NAMES];
static int used;
static unsigned long reads, writes, copies;
static struct { char key[128]; double us; unsigned long n; } times[MAX_NAMES];
static int timed;

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
    static int timing = -1;
    if (timing < 0) timing = getenv("LAUNCH_SHIM_TIME") && atoi(getenv("LAUNCH_SHIM_TIME")) > 0;
    if (!timing) return real(q, k, dims, off, global, local, nw, wait, ev);
    clFinish(q);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cl_int err = real(q, k, dims, off, global, local, nw, wait, ev);
    clFinish(q);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char key[128], name[64] = "?";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    name[sizeof name - 1] = 0;
    int at = snprintf(key, sizeof key, "%s[", name);
    for (cl_uint d = 0; d < dims && at < (int)sizeof key; d++)
        at += snprintf(key + at, sizeof key - at, "%s%zu", d ? "x" : "", global[d]);
    for (cl_uint d = 0; d < dims && local && at < (int)sizeof key; d++)
        at += snprintf(key + at, sizeof key - at, "%s%zu", d ? "x" : "/", local[d]);
    if (at < (int)sizeof key) snprintf(key + at, sizeof key - at, "]");
    double us = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
    for (int i = 0; i < timed; i++)
        if (strcmp(times[i].key, key) == 0) { times[i].us += us; times[i].n++; return err; }
    if (timed < MAX_NAMES) { memcpy(times[timed].key, key, sizeof key); times[timed].us = us; times[timed++].n = 1; }
    return err;
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
    for (int i = 0; i < timed; i++) fprintf(stderr, "time %s %.0f %lu\n", times[i].key, times[i].us, times[i].n);
    fprintf(stderr, "transfer reads %lu\ntransfer writes %lu\ntransfer copies %lu\n", reads, writes, copies);
}
