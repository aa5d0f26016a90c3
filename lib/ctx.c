/* Contexts: the registry of backends (the one file in lib/ that knows both) and the
 * error channel, which is the backend's own (lib/backend/backend.h, struct lt_backend). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

lt_status lt_set_error(lt_ctx *ctx, lt_status status, const char *fmt, ...)
{
    if (!ctx) return status;
    char msg[sizeof ctx->be->error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* fmt's arguments may quote the backend's last message */
    va_end(ap);
    memcpy(ctx->be->error, msg, sizeof msg);
    return status;
}

lt_status lt_alloc_named(lt_ctx *ctx, size_t n, const char *what, lt_buf **out)
{
    lt_status st = lt_be_buf_alloc(ctx->be, n, out);
    return st == LT_OK ? st : lt_set_error(ctx, st, "%s: %s", what, lt_be_message(ctx->be));
}

const char *lt_status_name(lt_status s)
{
    switch (s) {
    case LT_OK: return "ok";
    case LT_ERR_ARG: return "bad argument";
    case LT_ERR_IO: return "i/o error";
    case LT_ERR_FORMAT: return "bad file format";
    case LT_ERR_SHAPE: return "shape mismatch";
    case LT_ERR_NOMEM: return "out of memory";
    case LT_ERR_DEVICE: return "device error";
    case LT_ERR_NONFINITE: return "non-finite value";
    case LT_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *lt_ctx_error(const lt_ctx *ctx) { return ctx ? ctx->be->error : "no context"; }
const char *lt_ctx_backend(const lt_ctx *ctx) { return ctx ? lt_be_name(ctx->be) : ""; }
const char *lt_ctx_device(const lt_ctx *ctx) { return ctx ? ctx->be->device_name : ""; }
void lt_ctx_set_threads(lt_ctx *ctx, int threads)
{
    if (!ctx) return;
    ctx->threads = threads;
    lt_be_set_threads(ctx->be, threads);
}

/* Parses "opencl:N"; returns N, -1 for plain "opencl", -2 for anything else. */
static int parse_opencl_index(const char *dev)
{
    if (strcmp(dev, "opencl") == 0) return -1;
    if (strncmp(dev, "opencl:", 7) != 0 || !dev[7]) return -2;
    char *end;
    long v = strtol(dev + 7, &end, 10);
    if (*end || v < 0 || v > 1000) return -2;
    return (int)v;
}

lt_status lt_ctx_open(lt_ctx **out, const char *device, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (!out) { snprintf(err, errlen, "lt_ctx_open: out is NULL"); return LT_ERR_ARG; }
    *out = NULL;
    if (!device || !*device) device = getenv("LATENT_DEVICE");
    if (!device || !*device) device = "auto";
    lt_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { snprintf(err, errlen, "out of host memory"); return LT_ERR_NOMEM; }
    lt_status st;
    if (strcmp(device, "cpu") == 0) {
        st = lt_cpu_backend_open(&ctx->be, 0, err, errlen);
    } else if (strcmp(device, "auto") == 0) {
#ifdef LT_HAVE_OPENCL
        char tmp[8];
        st = lt_opencl_backend_open(&ctx->be, -1, tmp, sizeof tmp); /* a GPU, or nothing */
        if (st != LT_OK)
#endif
            st = lt_cpu_backend_open(&ctx->be, 0, err, errlen);
    } else {
        int idx = parse_opencl_index(device);
        if (idx == -2) {
            snprintf(err, errlen, "unknown device '%s' (expected auto, cpu, opencl or opencl:N)", device);
            st = LT_ERR_ARG;
        } else {
#ifdef LT_HAVE_OPENCL
            if (idx == -1) { /* first GPU, else the first OpenCL device of any type */
                st = lt_opencl_backend_open(&ctx->be, -1, err, errlen);
                if (st != LT_OK) st = lt_opencl_backend_open(&ctx->be, 0, err, errlen);
            } else {
                st = lt_opencl_backend_open(&ctx->be, idx, err, errlen);
            }
#else
            snprintf(err, errlen, "device '%s': this build of latent has no OpenCL support", device);
            st = LT_ERR_UNSUPPORTED;
#endif
        }
    }
    if (st != LT_OK) { free(ctx); return st; }
    *out = ctx;
    return LT_OK;
}

void lt_ctx_close(lt_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->be) lt_be_destroy(ctx->be);
    free(ctx);
}

int lt_gpu_count(void)
{
#ifdef LT_HAVE_OPENCL
    lt_opencl_device_info infos[32];
    int n = lt_opencl_list_devices(infos, 32), gpus = 0;
    for (int i = 0; i < n && i < 32; i++) gpus += infos[i].is_gpu != 0;
    return gpus;
#else
    return 0;
#endif
}

void lt_print_devices(FILE *f)
{
    char err[256];
    lt_backend *cpu = NULL;
    if (!f) f = stdout;
    if (lt_cpu_backend_open(&cpu, 0, err, sizeof err) == LT_OK) {
        fprintf(f, "cpu        %s\n", cpu->device_name);
        lt_be_destroy(cpu);
    } else {
        fprintf(f, "cpu        unavailable: %s\n", err);
    }
#ifdef LT_HAVE_OPENCL
    lt_opencl_device_info infos[32];
    int n = lt_opencl_list_devices(infos, 32);
    if (n == 0) fprintf(f, "opencl     no OpenCL device found (is an ICD such as pocl-opencl-icd installed?)\n");
    for (int i = 0; i < n && i < 32; i++) {
        const lt_opencl_device_info *d = &infos[i];
        fprintf(f, "opencl:%-3d %s [%s] — %s, %s, %.1f GiB memory, %u compute units\n", i, d->name,
                d->is_gpu ? "GPU" : "not a GPU", d->platform, d->version, (double)d->global_mem / 1073741824.0,
                d->compute_units);
        if (d->limits_error[0])
            fprintf(f, "           limits: cannot be used: %s\n", d->limits_error);
        else
            fprintf(f, "           limits kept to%s: work-groups of %zu items, %.1f KiB local memory, buffers up to "
                    "%.1f MiB\n", d->limits_lowered ? " (lowered by LATENT_CL_*)" : "", d->max_work_group,
                    (double)d->local_mem / 1024.0, (double)d->max_alloc / 1048576.0);
        fprintf(f, "           kernels: %s\n", d->program_cached ? "compiled program cached"
                                                                   : "not cached yet (compiled on first use)");
    }
    char dir[4096];
    int entries = 0;
    uint64_t bytes = 0;
    int cache = lt_opencl_cache_info(dir, sizeof dir, &entries, &bytes);
    if (cache < 0)
        fprintf(f, "cache      none: programs are compiled on every use (set HOME or XDG_CACHE_HOME)\n");
    else if (cache == 0)
        fprintf(f, "cache      %s (not created yet)\n", dir);
    else
        fprintf(f, "cache      %s: %d compiled program(s), %.1f MiB\n", dir, entries, (double)bytes / 1048576.0);
#else
    fprintf(f, "opencl     not compiled into this build\n");
#endif
}
