/* An interposer on libgomp's GOMP_parallel for the CPU fallback's parallel regions
 * (issue 16): LD_PRELOAD it and it counts the regions, how many ran on one thread, and
 * the wall time of those with more (entry to exit, which includes the wait at the
 * closing barrier for the slowest thread), and prints at exit:
 *   "regions N single N multi N multi_us TOTAL over_1ms N"
 * A development tool: not part of the library, not built by meson.
 *   cc -shared -fPIC -O2 -o omp_shim.so bench/omp_shim.c -ldl
 *   LD_PRELOAD=./omp_shim.so build-rel/apps/latent bench --device cpu ... */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static unsigned long regions, single, multi, over_1ms;
static double multi_us;

typedef void (*par_fn)(void (*)(void *), void *, unsigned, unsigned);

/* Monotonic microseconds. */
static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)
{
    static par_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
    regions++;
    if (num_threads == 1) { /* an `if (nt > 1)` clause that was false */
        single++;
        real(fn, data, num_threads, flags);
        return;
    }
    double t0 = now_us();
    real(fn, data, num_threads, flags);
    double dt = now_us() - t0;
    multi++;
    multi_us += dt;
    if (dt > 1000) over_1ms++;
}

__attribute__((destructor)) static void report(void)
{
    fprintf(stderr, "regions %lu single %lu multi %lu multi_us %.0f over_1ms %lu\n", regions, single, multi, multi_us,
            over_1ms);
}
