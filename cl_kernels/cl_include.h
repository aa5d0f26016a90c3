/* The OpenCL host headers at the 1.2 API level, which every platform we target (NVIDIA,
 * AMD, Intel, PoCL) offers; included by the C host files and the C++ CLBlast shim alike. */
#ifndef LT_CL_INCLUDE_H
#define LT_CL_INCLUDE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#endif
