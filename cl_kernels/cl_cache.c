/* Program building with an on-disk cache of compiled binaries, because some OpenCL
 * compilers (PoCL above all) take many seconds per build.
 *
 * An entry lives in $XDG_CACHE_HOME/latent or ~/.cache/latent, named after a 128-bit
 * hash of everything that determines the binary: platform, device, driver version,
 * program source and build options. A file holds a header (magic, key, size, checksum)
 * and the binary. Any problem (no cache dir, unwritable, corrupt or foreign entry, a
 * binary the driver rejects) silently falls back to building from source. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cl_internal.h"

#if !defined(_WIN32)
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#define LT_CL_HAVE_CACHE 1
#endif

#ifdef LT_CL_HAVE_CACHE
#define LT_CACHE_MAGIC "LTCLBIN1"
#define LT_CACHE_MAX_BYTES ((uint64_t)1 << 30) /* larger entries are taken as corrupt */

/* Two independent 64-bit FNV-1a streams, together a 128-bit key or checksum. */
typedef struct lt_hash128 { uint64_t a, b; } lt_hash128;

/* Feeds n bytes into both streams. */
static void hash_bytes(lt_hash128 *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ p[i]) * 0x100000001b3ull;
        h->b = (h->b ^ (unsigned char)(p[i] + 0x5bu)) * 0x100000001b3ull;
    }
}

/* Feeds a length-prefixed string, so ("ab","c") and ("a","bc") hash differently. */
static void hash_field(lt_hash128 *h, const char *s, size_t n)
{
    uint64_t len = n;
    hash_bytes(h, &len, sizeof len);
    hash_bytes(h, s, n);
}

/* A fresh hash state. */
static lt_hash128 hash_init(void)
{
    lt_hash128 h = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };
    return h;
}

/* Creates dir if missing; returns 0 when it exists afterwards. */
static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) return 0;
    return -1;
}

/* Writes the cache directory into dir, creating it (and its parent) when create is set;
 * returns 0 on success. */
static int cache_dir(char *dir, size_t len, int create)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    if (xdg && xdg[0] == '/') { /* the XDG spec says relative values are to be ignored */
        if (create && ensure_dir(xdg) != 0) return -1;
        n = snprintf(dir, len, "%s/latent", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || !home[0]) return -1;
        n = snprintf(dir, len, "%s/.cache", home);
        if (n < 0 || (size_t)n >= len || (create && ensure_dir(dir) != 0)) return -1;
        n = snprintf(dir, len, "%s/.cache/latent", home);
    }
    if (n < 0 || (size_t)n >= len) return -1;
    return create ? ensure_dir(dir) : 0;
}

/* Writes the path of the entry for key in dir into path; returns 0 when it fits. */
static int entry_path(char *path, size_t len, const char *dir, lt_hash128 key)
{
    int n = snprintf(path, len, "%s/cl-%016llx%016llx.bin", dir, (unsigned long long)key.a,
                     (unsigned long long)key.b);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Reads and validates the entry at path; returns the binary (malloc'd) or NULL. */
static unsigned char *cache_load(const char *path, lt_hash128 key, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char magic[8];
    uint64_t hdr[5]; /* key.a, key.b, size, checksum.a, checksum.b */
    unsigned char *bin = NULL;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, LT_CACHE_MAGIC, 8) != 0) goto bad;
    if (fread(hdr, sizeof hdr[0], 5, f) != 5) goto bad;
    if (hdr[0] != key.a || hdr[1] != key.b || hdr[2] == 0 || hdr[2] > LT_CACHE_MAX_BYTES) goto bad;
    bin = malloc((size_t)hdr[2]);
    if (!bin || fread(bin, 1, (size_t)hdr[2], f) != hdr[2] || fgetc(f) != EOF) goto bad;
    lt_hash128 sum = hash_init();
    hash_bytes(&sum, bin, (size_t)hdr[2]);
    if (sum.a != hdr[3] || sum.b != hdr[4]) goto bad;
    fclose(f);
    *len = (size_t)hdr[2];
    return bin;
bad:
    free(bin);
    fclose(f);
    return NULL;
}

/* Stores the built program's binary at path via a temporary file and an atomic rename,
 * so a concurrent reader never sees half an entry. Failures are ignored. */
static void cache_store(const char *path, lt_hash128 key, cl_program prog)
{
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || (uint64_t)size > LT_CACHE_MAX_BYTES)
        return;
    unsigned char *bin = malloc(size);
    if (!bin) return;
    unsigned char *bins[1] = { bin };
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    lt_hash128 sum = hash_init();
    hash_bytes(&sum, bin, size);
    uint64_t hdr[5] = { key.a, key.b, size, sum.a, sum.b };
    char tmp[4200];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = (n > 0 && (size_t)n < sizeof tmp) ? fopen(tmp, "wb") : NULL;
    if (f) {
        int ok = fwrite(LT_CACHE_MAGIC, 1, 8, f) == 8 && fwrite(hdr, sizeof hdr[0], 5, f) == 5 &&
                 fwrite(bin, 1, size, f) == size;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) remove(tmp);
    }
    free(bin);
}

/* The cache key: everything that can change the compiled binary. */
static lt_hash128 program_key(cl_platform_id plat, cl_device_id dev, const char *src, size_t srclen,
                              const char *options)
{
    lt_hash128 h = hash_init();
    char s[512];
    static const cl_platform_info pinfo[] = { CL_PLATFORM_NAME, CL_PLATFORM_VERSION };
    static const cl_device_info dinfo[] = { CL_DEVICE_NAME, CL_DEVICE_VENDOR, CL_DEVICE_VERSION,
                                            CL_DRIVER_VERSION };
    for (size_t i = 0; i < sizeof pinfo / sizeof pinfo[0]; i++) {
        lt_cl_platform_string(plat, pinfo[i], s, sizeof s);
        hash_field(&h, s, strlen(s));
    }
    for (size_t i = 0; i < sizeof dinfo / sizeof dinfo[0]; i++) {
        lt_cl_device_string(dev, dinfo[i], s, sizeof s);
        hash_field(&h, s, strlen(s));
    }
    hash_field(&h, src, srclen);
    hash_field(&h, options, strlen(options));
    return h;
}
#endif

/* Writes the (truncated) build log of prog for dev into dst. */
static void build_log(cl_program prog, cl_device_id dev, char *dst, size_t len)
{
    dst[0] = 0;
    size_t need = 0;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &need) != CL_SUCCESS || !need)
        return;
    char *log = malloc(need + 1);
    if (!log) return;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, need, log, NULL) == CL_SUCCESS) {
        log[need] = 0;
        snprintf(dst, len, "%s", log);
    }
    free(log);
}

/* Builds the program for one device through the on-disk cache (cl_internal.h). */
lt_status lt_cl_build_program(cl_context ctx, cl_platform_id plat, cl_device_id dev,
                              const char *src, size_t srclen, const char *options,
                              cl_program *out, char *err, size_t errlen)
{
    cl_int e;
    cl_program prog = NULL;
    *out = NULL;
#ifdef LT_CL_HAVE_CACHE
    lt_hash128 key = program_key(plat, dev, src, srclen, options);
    char dir[4096], path[4160];
    int have_path = cache_dir(dir, sizeof dir, 1) == 0 && entry_path(path, sizeof path, dir, key) == 0;
    if (have_path) {
        size_t len = 0;
        unsigned char *bin = cache_load(path, key, &len);
        if (bin) {
            const unsigned char *bins[1] = { bin };
            cl_int bst = CL_SUCCESS;
            prog = clCreateProgramWithBinary(ctx, 1, &dev, &len, bins, &bst, &e);
            free(bin);
            if (prog && e == CL_SUCCESS && bst == CL_SUCCESS &&
                clBuildProgram(prog, 1, &dev, options, NULL, NULL) == CL_SUCCESS) {
                *out = prog;
                return LT_OK;
            }
            if (prog) clReleaseProgram(prog); /* stale or rejected: rebuild below */
            prog = NULL;
        }
    }
#else
    (void)plat;
#endif
    prog = clCreateProgramWithSource(ctx, 1, &src, &srclen, &e);
    if (!prog || e != CL_SUCCESS) {
        snprintf(err, errlen, "clCreateProgramWithSource failed: %s", lt_cl_error_name(e));
        return e == CL_OUT_OF_HOST_MEMORY || e == CL_OUT_OF_RESOURCES ? LT_ERR_NOMEM : LT_ERR_DEVICE;
    }
    e = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    if (e != CL_SUCCESS) {
        char log[768];
        build_log(prog, dev, log, sizeof log);
        snprintf(err, errlen, "OpenCL program build failed (%s); build log:\n%s", lt_cl_error_name(e), log);
        clReleaseProgram(prog);
        return e == CL_OUT_OF_HOST_MEMORY || e == CL_OUT_OF_RESOURCES ? LT_ERR_NOMEM : LT_ERR_DEVICE;
    }
#ifdef LT_CL_HAVE_CACHE
    if (have_path) cache_store(path, key, prog);
#endif
    *out = prog;
    return LT_OK;
}

/* Whether the cache holds a valid entry for this device's program (cl_internal.h). */
int lt_cl_cache_holds(cl_platform_id plat, cl_device_id dev, const char *src, size_t srclen, const char *options)
{
#ifdef LT_CL_HAVE_CACHE
    lt_hash128 key = program_key(plat, dev, src, srclen, options);
    char dir[4096], path[4160];
    if (cache_dir(dir, sizeof dir, 0) != 0 || entry_path(path, sizeof path, dir, key) != 0) return 0;
    size_t len = 0;
    unsigned char *bin = cache_load(path, key, &len);
    free(bin);
    return bin != NULL;
#else
    (void)plat; (void)dev; (void)src; (void)srclen; (void)options;
    return 0;
#endif
}

/* The cache folder, its entries and their bytes (backend.h). */
int lt_opencl_cache_info(char *dir, size_t len, int *entries, uint64_t *bytes)
{
    if (entries) *entries = 0;
    if (bytes) *bytes = 0;
    if (!dir || !len) return -1;
    dir[0] = 0;
#ifdef LT_CL_HAVE_CACHE
    if (cache_dir(dir, len, 0) != 0) return -1;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "cl-", 3) != 0 || n < 7 || strcmp(e->d_name + n - 4, ".bin") != 0) continue;
        char path[4400];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || stat(path, &st) != 0)
            continue;
        if (entries) (*entries)++;
        if (bytes) *bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    return 1;
#else
    return -1;
#endif
}
