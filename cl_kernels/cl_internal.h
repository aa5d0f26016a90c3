/* Declarations shared by the OpenCL backend's host files (cl_devices.c, cl_cache.c,
 * cl_backend.c). The only place in latent that includes the OpenCL headers. */
#ifndef LT_CL_INTERNAL_H
#define LT_CL_INTERNAL_H

/* The 1.2 host API is what every platform we target (NVIDIA, AMD, Intel, PoCL) offers. */
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include "backend_check.h" /* transitional: the checks move to the front door */

/* One OpenCL device and the platform it belongs to. */
typedef struct lt_cl_device {
    cl_platform_id platform; /* owning platform                     */
    cl_device_id device;     /* the device                          */
    cl_device_type type;     /* CL_DEVICE_TYPE_* bits               */
} lt_cl_device;

/* Enumerates every device of every platform in lt_opencl_list_devices order (GPUs,
 * then accelerators, then CPUs; platform-then-device order within each group), skipping
 * platforms that fail to enumerate. Fills up to max entries and returns the total. */
int lt_cl_enumerate(lt_cl_device *devs, int max);

/* Copies a device info string into dst (always NUL-terminated, truncated to len). */
void lt_cl_device_string(cl_device_id dev, cl_device_info what, char *dst, size_t len);

/* Copies a platform info string into dst (always NUL-terminated, truncated to len). */
void lt_cl_platform_string(cl_platform_id plat, cl_platform_info what, char *dst, size_t len);

/* Symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *lt_cl_error_name(cl_int err);

/* Builds the program for one device from src with options, loading the binary from the
 * on-disk cache when a valid entry exists and storing it after a source build. On
 * failure returns LT_ERR_DEVICE (or LT_ERR_NOMEM) with the reason, including the
 * truncated build log, in err. */
lt_status lt_cl_build_program(cl_context ctx, cl_platform_id plat, cl_device_id dev,
                              const char *src, size_t srclen, const char *options,
                              cl_program *out, char *err, size_t errlen);

/* The whole kernel program (prelude.cl, lib/philox.h, the .cl files), generated at build
 * time by embed.c. */
extern const char lt_cl_program_source[];
extern const size_t lt_cl_program_source_len;

#endif
