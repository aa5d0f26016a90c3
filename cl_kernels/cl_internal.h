/* Declarations shared by the OpenCL backend's host files: device discovery (cl_devices.c),
 * the program cache (cl_cache.c), and the backend instance, its kernels and the ops each
 * host file implements (cl_backend.c and the family files; cl_launch.h has the launch
 * helpers). With cl_include.h, the only place in latent that reaches the OpenCL headers. */
#ifndef LT_CL_INTERNAL_H
#define LT_CL_INTERNAL_H

#include "cl_include.h"
#include "backend.h"

/* ------------------------------------------------------------------ devices, program */

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

/* The limits latent respects on one device: what the device reports, lowered by the
 * environment variables LATENT_CL_MAX_WORK_GROUP_SIZE, LATENT_CL_LOCAL_MEM_SIZE and
 * LATENT_CL_MAX_MEM_ALLOC_SIZE (whole numbers; they can only lower a limit), so the
 * paths a small GPU takes can be tested on any machine. */
typedef struct lt_cl_limits {
    size_t max_wg;       /* work-items per work-group (CL_DEVICE_MAX_WORK_GROUP_SIZE)  */
    size_t max_item[3];  /* per dimension (CL_DEVICE_MAX_WORK_ITEM_SIZES[0..2])        */
    cl_ulong local_mem;  /* bytes of local memory (CL_DEVICE_LOCAL_MEM_SIZE)           */
    cl_ulong max_alloc;  /* bytes of one buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)         */
    cl_ulong global_mem; /* bytes of device memory (CL_DEVICE_GLOBAL_MEM_SIZE)         */
    cl_uint units;       /* compute units (CL_DEVICE_MAX_COMPUTE_UNITS)                */
    int capped;          /* 1 when an environment variable lowered a limit             */
} lt_cl_limits;

/* Reads dev's limits into out, lowered by the environment (above). On a failed query or
 * a malformed variable returns LT_ERR_DEVICE or LT_ERR_ARG with the reason in err. */
lt_status lt_cl_query_limits(cl_device_id dev, lt_cl_limits *out, char *err, size_t errlen);

/* Reads the whole number >= 1 in environment variable name into *value when it is set
 * (else leaves *value); returns 0, or -1 with the reason in err when it is malformed. */
int lt_cl_env_count(const char *name, cl_ulong *value, char *err, size_t errlen);

/* Symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *lt_cl_error_name(cl_int err);

/* Builds the program for one device from src with options, loading the binary from the
 * on-disk cache when a valid entry exists and storing it after a source build. On
 * failure returns LT_ERR_DEVICE (or LT_ERR_NOMEM) with the reason, including the
 * truncated build log, in err. */
lt_status lt_cl_build_program(cl_context ctx, cl_platform_id plat, cl_device_id dev,
                              const char *src, size_t srclen, const char *options,
                              cl_program *out, char *err, size_t errlen);

/* 1 when the on-disk cache holds a valid compiled program for dev built from src with
 * options (what lt_cl_build_program would load), else 0. Creates nothing. */
int lt_cl_cache_holds(cl_platform_id plat, cl_device_id dev, const char *src, size_t srclen, const char *options);

/* The whole kernel program (prelude.cl, lib/backend/philox.h, the .cl files), generated
 * at build time by embed.c. */
extern const char lt_cl_program_source[];
extern const size_t lt_cl_program_source_len;

/* ------------------------------------------------------------------ the backend */

#define LT_CL_WG 256             /* preferred work-group size (a multiple of 64)        */
#define LT_CL_MAX_PARTS 256      /* work-groups in a reduction's first pass             */
#define LT_CL_SCRATCH 65536      /* floats of reduction scratch (partials)              */
#define LT_CL_BIAS_LANE_ROWS 128 /* rows per lane above which a column sum splits rows  */
#define LT_CL_LOSS_ONE_GROUP 32768 /* losses over at most this many elements: one group */
#define LT_CL_MAX_GROUPS 65536   /* cap on work-groups of grid-stride 1-D launches      */
#define LT_CL_BUILD_OPTIONS ""   /* never fast-math or mad-enable: philox must be exact */
#define LT_CL_SCRATCH_QUANTUM ((size_t)1 << 16) /* grown scratch sizes round up to 64 KiB */
#define LT_CL_CONV_COL_BYTES ((size_t)64 << 20) /* im2col chunks stay within 64 MiB       */
#define LT_CL_GEMM_TILE 16       /* split-K GEMM: output tile side (gemm.cl's too)     */
#define LT_CL_SPLIT_K_MIN 1024   /* split-K GEMM: shortest k split automatically        */
#define LT_CL_SPLIT_K_SLICE 256  /* split-K GEMM: shortest slice of k (automatic)       */

/* Kernel ids: one kernel object per kernel function, named in cl_backend.c's
 * kernel_names in this order; grouped by the host file that launches them. */
enum {
    K_FILL,                                                                   /* cl_backend.c */
    K_AXPBY, K_MUL, K_SCALE2D, K_GATHER_ROWS,                                 /* cl_math.c    */
    K_ACT_FORWARD, K_BIAS_ACT_FORWARD, K_ACT_BACKWARD, K_SOFTMAX_FORWARD, K_SOFTMAX_BACKWARD,
    K_SUM_PARTIAL, K_SUM_FINAL, K_COUNT_PARTIAL, K_COUNT_FINAL, K_BIAS_ACT_BACKWARD, K_COLSUM_FINAL,
    K_LOSS_PARTIAL, K_SGD, K_RMSPROP, K_ADAM, K_SUMSQ_PARTIAL, K_CLIP_BY_NORM, /* cl_train.c   */
    K_RANDOM_UNIFORM, K_RANDOM_NORMAL, K_DROPOUT_MASK,
    K_IM2COL, K_COL2IM, K_MAXPOOL_FORWARD, K_MAXPOOL_BACKWARD, K_UPSAMPLE_FORWARD, /* cl_conv.c */
    K_UPSAMPLE_BACKWARD, K_AFFINE_RESAMPLE,
    K_VAE_FORWARD, K_VAE_BACKWARD, K_KL_NORMAL_PARTIAL, K_SPARSITY_KL_PARTIAL, K_L1_PARTIAL, /* cl_latent.c */
    K_COPY_STRIDED, K_RNN_FORWARD, K_RNN_BACKWARD,                            /* cl_rnn.c     */
    K_GEMM_SPLITK, K_SPLITK_SUM,                                              /* cl_math.c    */
    K_COUNT
};

/* A device buffer: the cl_mem and its size in 4-byte elements. */
struct lt_buf {
    cl_mem mem; /* at least one element, even when n == 0 */
    size_t n;   /* elements the caller asked for          */
};

/* A scratch buffer the backend grows on demand (counted in `allocated`, freed at destroy). */
typedef struct lt_cl_scratch {
    cl_mem mem;           /* NULL until first needed               */
    size_t bytes;         /* its size                              */
    unsigned long allocs; /* times it was (re)allocated (cl_hooks.h) */
} lt_cl_scratch;

/* The backend instance; starts with the common head. */
typedef struct cl_backend {
    struct lt_backend base;  /* ops, device_name, error                          */
    cl_context ctx;          /* one context with one device                      */
    cl_command_queue queue;  /* in-order: ops run in the order they are issued   */
    cl_device_id dev;        /* the device                                       */
    cl_program prog;         /* all our kernels                                  */
    cl_kernel k[K_COUNT];    /* one kernel object per function, reused           */
    size_t wg[K_COUNT];      /* work-group size per kernel (a power of two)      */
    size_t wg_max[K_COUNT];  /* the most a kernel's work-group may have: the
                                device's and CL_KERNEL_WORK_GROUP_SIZE          */
    cl_ulong local_free[K_COUNT]; /* local bytes a kernel's __local arguments may
                                take: the device's less CL_KERNEL_LOCAL_MEM_SIZE */
    lt_cl_limits lim;        /* the device's limits (lowered by the environment) */
    cl_mem scratch;          /* LT_CL_SCRATCH floats of reduction partials       */
    cl_ulong allocated;      /* bytes in live buffers of this backend            */
    lt_cl_scratch gemm_temp; /* CLBlast's GEMM scratch (the C++ shim only)       */
    lt_cl_scratch conv_col;  /* im2col columns of one chunk                      */
    lt_cl_scratch splitk;    /* split-K GEMM partials (slices x m x n)           */
    cl_ulong split_k;        /* LATENT_CL_SPLIT_K: 0 automatic, 1 never, N slices */
    unsigned long split_gemms; /* GEMMs run split so far (cl_hooks.h)            */
} cl_backend;

/* Turns an OpenCL error into a status and message; allocation failures are NOMEM. */
lt_status lt_cl_fail(cl_backend *b, cl_int e, const char *what);

/* Makes scratch buffer s hold at least need bytes, rounded up to LT_CL_SCRATCH_QUANTUM
 * (it only grows); op and what ("the column buffer") name it in messages. */
lt_status lt_cl_grow_scratch(cl_backend *b, lt_cl_scratch *s, size_t need, const char *op, const char *what);

/* ------------------------------------------------------------------ the ops (backend.h) */

/* The slots of lt_backend_ops that each family file implements, as backend.h documents
 * them; cl_backend.c gathers them into the vtable (and implements the rest). */

/* cl_backend.c: fill, which the convolutions use too. */
lt_status lt_cl_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value);

/* cl_math.c: linear algebra, activations, gathers (elementwise.cl, activation.cl, reduce.cl). */
lt_status lt_cl_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                     const lt_buf *a, size_t aoff, size_t lda, const lt_buf *bm, size_t boff, size_t ldb, float beta,
                     lt_buf *c, size_t coff, size_t ldc);
/* 1 when b's limits let GEMMs split along k (gemm.cl's 16 x 16 work-groups fit). */
int lt_cl_split_k_fits(const cl_backend *b);
lt_status lt_cl_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff, float beta, lt_buf *y,
                      size_t yoff);
lt_status lt_cl_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff, lt_buf *z,
                    size_t zoff);
lt_status lt_cl_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff);
lt_status lt_cl_bias_act_forward(lt_backend *be, size_t rows, size_t cols, const lt_buf *x, size_t xoff,
                                 const lt_buf *bias, size_t boff, lt_backend_act act, float alpha, lt_buf *y,
                                 size_t yoff);
lt_status lt_cl_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                             const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);
lt_status lt_cl_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                  const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                  size_t dzoff, float beta, lt_buf *db, size_t dboff);
lt_status lt_cl_gather_rows(lt_backend *be, size_t rows, size_t cols, const lt_buf *src, size_t soff,
                            const lt_buf *idx, size_t ioff, lt_buf *dst, size_t doff);

/* cl_train.c: losses, optimizers, clipping, random fills, the non-finite count
 * (loss.cl, optim.cl, random.cl, reduce.cl). */
lt_status lt_cl_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, const lt_buf *pred, size_t poff,
                     const lt_buf *target, size_t toff, lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad,
                     size_t goff);
lt_status lt_cl_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                           lt_buf *params, size_t poff, const lt_buf *grads, size_t goff, lt_buf *state, size_t soff);
lt_status lt_cl_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                            const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff);
lt_status lt_cl_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count, const lt_buf *starts,
                             size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm);
lt_status lt_cl_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n, float lo, float hi, uint64_t seed,
                               uint64_t counter, uint64_t first);
lt_status lt_cl_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n, float mean, float stddev,
                              uint64_t seed, uint64_t counter, uint64_t first);
lt_status lt_cl_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate, uint64_t seed,
                             uint64_t counter, uint64_t first);
lt_status lt_cl_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff);

/* cl_conv.c: convolutions, pooling, up-sampling, augmentation (conv.cl, pool.cl, augment.cl). */
lt_status lt_cl_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff, const lt_buf *w,
                               size_t woff, lt_buf *y, size_t yoff);
lt_status lt_cl_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff);
lt_status lt_cl_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                       const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff);
lt_status lt_cl_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff, lt_buf *y,
                                size_t yoff, lt_buf *argmax, size_t aoff);
lt_status lt_cl_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                 const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff);
lt_status lt_cl_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *x,
                                 size_t xoff, lt_buf *y, size_t yoff);
lt_status lt_cl_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *dy,
                                  size_t dyoff, lt_buf *dx, size_t dxoff);
lt_status lt_cl_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);

/* cl_latent.c: latent-space layers and activity penalties (latent.cl). */
lt_status lt_cl_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                   const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff);
lt_status lt_cl_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff, float kl_scale,
                                    lt_buf *dx, size_t dxoff);
lt_status lt_cl_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                          size_t ooff);
lt_status lt_cl_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff, float rho,
                            lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff);
lt_status lt_cl_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                           const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff);

/* cl_rnn.c: strided copies and recurrent sequences (rnn.cl). */
lt_status lt_cl_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                             ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                             ptrdiff_t ys1);
lt_status lt_cl_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff, const lt_buf *bias,
                            size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias, size_t rboff, lt_buf *rec,
                            size_t recoff, const lt_rnn_seq *out);
lt_status lt_cl_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r,
                             size_t roff, const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz,
                             size_t dzoff);

#endif
