/* OpenCL device discovery: one stable order (GPUs, accelerators, CPUs) used both for
 * listing devices to users and for opening "opencl:N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cl_internal.h"

/* Copies the info string `what` of a device (is_device) or a platform into dst (always
 * NUL-terminated, truncated to len); empty when the query fails. */
static void info_string(int is_device, cl_device_id dev, cl_platform_id plat, cl_uint what, char *dst, size_t len)
{
    if (!len) return;
    dst[0] = 0;
    size_t need = 0;
    cl_int e = is_device ? clGetDeviceInfo(dev, what, 0, NULL, &need) : clGetPlatformInfo(plat, what, 0, NULL, &need);
    if (e != CL_SUCCESS || need == 0) return;
    /* query into an exact-size buffer: a too-small one makes the call fail outright */
    char *tmp = malloc(need);
    if (!tmp) return;
    e = is_device ? clGetDeviceInfo(dev, what, need, tmp, NULL) : clGetPlatformInfo(plat, what, need, tmp, NULL);
    if (e == CL_SUCCESS) {
        tmp[need - 1] = 0;
        strncpy(dst, tmp, len - 1);
        dst[len - 1] = 0;
    }
    free(tmp);
}

/* Copies a device info string into dst (cl_internal.h). */
void lt_cl_device_string(cl_device_id dev, cl_device_info what, char *dst, size_t len)
{
    info_string(1, dev, NULL, what, dst, len);
}

/* Copies a platform info string into dst (cl_internal.h). */
void lt_cl_platform_string(cl_platform_id plat, cl_platform_info what, char *dst, size_t len)
{
    info_string(0, NULL, plat, what, dst, len);
}

/* Sort group of a device type: 0 GPU, 1 accelerator or custom, 2 CPU and anything else. */
static int type_group(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return 0;
    if (t & (CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_CUSTOM)) return 1;
    return 2;
}

/* Every device of every platform, in the users' order (cl_internal.h). */
int lt_cl_enumerate(lt_cl_device *devs, int max)
{
    cl_uint np = 0;
    /* no ICD at all reports CL_PLATFORM_NOT_FOUND_KHR: simply no devices */
    if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0) return 0;
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) return 0;
    if (clGetPlatformIDs(np, plats, NULL) != CL_SUCCESS) { free(plats); return 0; }

    /* gather all devices in platform-then-device order */
    lt_cl_device *all = NULL;
    size_t nall = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        /* a broken or empty platform (CL_DEVICE_NOT_FOUND, ...) is skipped, not fatal */
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        cl_device_id *ids = calloc(nd, sizeof *ids);
        lt_cl_device *grown = realloc(all, (nall + nd) * sizeof *all);
        if (!ids || !grown) { free(ids); if (grown) all = grown; break; }
        all = grown;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL) == CL_SUCCESS) {
            for (cl_uint d = 0; d < nd; d++) {
                cl_device_type t = 0;
                if (clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS) continue;
                all[nall].platform = plats[p];
                all[nall].device = ids[d];
                all[nall].type = t;
                nall++;
            }
        }
        free(ids);
    }
    free(plats);

    /* a stable three-pass partition by type group keeps platform order inside groups */
    int count = 0;
    for (int g = 0; g < 3; g++)
        for (size_t i = 0; i < nall; i++)
            if (type_group(all[i].type) == g) {
                if (count < max && devs) devs[count] = all[i];
                count++;
            }
    free(all);
    return count;
}

/* Lists the OpenCL devices for users, in lt_cl_enumerate's order (backend.h). */
int lt_opencl_list_devices(lt_opencl_device_info *infos, int max)
{
    if (!infos || max < 0) max = 0;
    int total = lt_cl_enumerate(NULL, 0);
    if (total <= 0 || max == 0) return total > 0 ? total : 0;
    lt_cl_device *devs = calloc((size_t)total, sizeof *devs);
    if (!devs) return 0;
    /* enumerate again into the array; the count could in theory change in between */
    int n = lt_cl_enumerate(devs, total);
    if (n > total) n = total;
    for (int i = 0; i < n && i < max; i++) {
        lt_opencl_device_info *d = &infos[i];
        memset(d, 0, sizeof *d);
        lt_cl_device_string(devs[i].device, CL_DEVICE_NAME, d->name, sizeof d->name);
        lt_cl_device_string(devs[i].device, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
        lt_cl_device_string(devs[i].device, CL_DEVICE_VERSION, d->version, sizeof d->version);
        lt_cl_platform_string(devs[i].platform, CL_PLATFORM_NAME, d->platform, sizeof d->platform);
        d->is_gpu = (devs[i].type & CL_DEVICE_TYPE_GPU) != 0;
        cl_ulong v = 0;
        if (clGetDeviceInfo(devs[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL) == CL_SUCCESS)
            d->global_mem = v;
        cl_uint cu = 0;
        if (clGetDeviceInfo(devs[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL) == CL_SUCCESS)
            d->compute_units = cu;
        lt_cl_limits lim;
        if (lt_cl_query_limits(devs[i].device, &lim, d->limits_error, sizeof d->limits_error) == LT_OK) {
            d->max_alloc = lim.max_alloc;
            d->local_mem = lim.local_mem;
            d->max_work_group = lim.max_wg;
            d->limits_lowered = lim.capped;
        }
        d->program_cached = lt_cl_cache_holds(devs[i].platform, devs[i].device, lt_cl_program_source,
                                              lt_cl_program_source_len, LT_CL_BUILD_OPTIONS);
    }
    free(devs);
    return n;
}

/* Reads the whole number >= 1 in environment variable name into *value when it is set
 * (cl_internal.h); returns 0, or -1 with the reason in err when it is not one. */
int lt_cl_env_count(const char *name, cl_ulong *value, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !v[0]) return 0;
    cl_ulong n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (CL_ULONG_MAX - 9) / 10) {
            snprintf(err, errlen, "%s='%.40s': expected a whole number >= 1", name, v);
            return -1;
        }
        n = n * 10 + (cl_ulong)(*p - '0');
    }
    if (n == 0) {
        snprintf(err, errlen, "%s='%.40s': expected a whole number >= 1", name, v);
        return -1;
    }
    *value = n;
    return 0;
}

/* Lowers *limit to the whole number in environment variable name, when it is set;
 * returns 0, or -1 with the reason in err when the value is not a whole number >= 1. */
static int env_cap(const char *name, cl_ulong *limit, int *capped, char *err, size_t errlen)
{
    cl_ulong n = *limit;
    if (lt_cl_env_count(name, &n, err, errlen) != 0) return -1;
    if (n < *limit) {
        *limit = n;
        *capped = 1;
    }
    return 0;
}

/* Reads dev's limits, lowered by the environment (cl_internal.h). */
lt_status lt_cl_query_limits(cl_device_id dev, lt_cl_limits *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t wg = 0;
    cl_uint dims = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof out->max_alloc, &out->max_alloc, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof out->global_mem, &out->global_mem, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof out->local_mem, &out->local_mem, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof out->units, &out->units, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL) != CL_SUCCESS || dims < 2) {
        snprintf(err, errlen, "cannot query the device's limits (memory sizes, work-group sizes)");
        return LT_ERR_DEVICE;
    }
    size_t *items = calloc(dims, sizeof *items);
    if (!items) {
        snprintf(err, errlen, "out of host memory");
        return LT_ERR_NOMEM;
    }
    cl_int e = clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof *items, items, NULL);
    out->max_item[0] = items[0];
    out->max_item[1] = items[1];
    out->max_item[2] = dims >= 3 ? items[2] : 1;
    free(items);
    if (e != CL_SUCCESS || !wg || !out->max_item[0] || !out->max_item[1]) {
        snprintf(err, errlen, "cannot query the device's work-item sizes");
        return LT_ERR_DEVICE;
    }
    cl_ulong cap = wg;
    if (env_cap("LATENT_CL_MAX_WORK_GROUP_SIZE", &cap, &out->capped, err, errlen) != 0 ||
        env_cap("LATENT_CL_LOCAL_MEM_SIZE", &out->local_mem, &out->capped, err, errlen) != 0 ||
        env_cap("LATENT_CL_MAX_MEM_ALLOC_SIZE", &out->max_alloc, &out->capped, err, errlen) != 0)
        return LT_ERR_ARG;
    out->max_wg = (size_t)cap;
    for (int d = 0; d < 3; d++)
        if (out->max_item[d] > out->max_wg) out->max_item[d] = out->max_wg;
    return LT_OK;
}

/* Symbolic name of an OpenCL error code (cl_internal.h). */
const char *lt_cl_error_name(cl_int err)
{
    switch (err) {
#define LT_CL_ERR(e) case e: return #e;
    LT_CL_ERR(CL_SUCCESS)
    LT_CL_ERR(CL_DEVICE_NOT_FOUND)
    LT_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    LT_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    LT_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    LT_CL_ERR(CL_OUT_OF_RESOURCES)
    LT_CL_ERR(CL_OUT_OF_HOST_MEMORY)
    LT_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    LT_CL_ERR(CL_MEM_COPY_OVERLAP)
    LT_CL_ERR(CL_IMAGE_FORMAT_MISMATCH)
    LT_CL_ERR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    LT_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    LT_CL_ERR(CL_MAP_FAILURE)
    LT_CL_ERR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    LT_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    LT_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
    LT_CL_ERR(CL_LINKER_NOT_AVAILABLE)
    LT_CL_ERR(CL_LINK_PROGRAM_FAILURE)
    LT_CL_ERR(CL_DEVICE_PARTITION_FAILED)
    LT_CL_ERR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    LT_CL_ERR(CL_INVALID_VALUE)
    LT_CL_ERR(CL_INVALID_DEVICE_TYPE)
    LT_CL_ERR(CL_INVALID_PLATFORM)
    LT_CL_ERR(CL_INVALID_DEVICE)
    LT_CL_ERR(CL_INVALID_CONTEXT)
    LT_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
    LT_CL_ERR(CL_INVALID_COMMAND_QUEUE)
    LT_CL_ERR(CL_INVALID_HOST_PTR)
    LT_CL_ERR(CL_INVALID_MEM_OBJECT)
    LT_CL_ERR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    LT_CL_ERR(CL_INVALID_IMAGE_SIZE)
    LT_CL_ERR(CL_INVALID_SAMPLER)
    LT_CL_ERR(CL_INVALID_BINARY)
    LT_CL_ERR(CL_INVALID_BUILD_OPTIONS)
    LT_CL_ERR(CL_INVALID_PROGRAM)
    LT_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
    LT_CL_ERR(CL_INVALID_KERNEL_NAME)
    LT_CL_ERR(CL_INVALID_KERNEL_DEFINITION)
    LT_CL_ERR(CL_INVALID_KERNEL)
    LT_CL_ERR(CL_INVALID_ARG_INDEX)
    LT_CL_ERR(CL_INVALID_ARG_VALUE)
    LT_CL_ERR(CL_INVALID_ARG_SIZE)
    LT_CL_ERR(CL_INVALID_KERNEL_ARGS)
    LT_CL_ERR(CL_INVALID_WORK_DIMENSION)
    LT_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    LT_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
    LT_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
    LT_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
    LT_CL_ERR(CL_INVALID_EVENT)
    LT_CL_ERR(CL_INVALID_OPERATION)
    LT_CL_ERR(CL_INVALID_GL_OBJECT)
    LT_CL_ERR(CL_INVALID_BUFFER_SIZE)
    LT_CL_ERR(CL_INVALID_MIP_LEVEL)
    LT_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
    LT_CL_ERR(CL_INVALID_PROPERTY)
    LT_CL_ERR(CL_INVALID_IMAGE_DESCRIPTOR)
    LT_CL_ERR(CL_INVALID_COMPILER_OPTIONS)
    LT_CL_ERR(CL_INVALID_LINKER_OPTIONS)
    LT_CL_ERR(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef LT_CL_ERR
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "unknown OpenCL error";
}
