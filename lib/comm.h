/* The collectives data-parallel training needs (lib/comm.c), over an lt_comm. Without
 * MPI no lt_comm can exist, so these are reached only in builds with it; each returns
 * LT_OK or sets ctx's message naming what failed. Every process of the communicator
 * must make the same calls in the same order. Not installed. */
#ifndef LT_COMM_H
#define LT_COMM_H

#include "internal.h"

/* x[0..n) = its sum over the processes (in place, every process). */
lt_status lt_comm_sum_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n);
/* The same for doubles. */
lt_status lt_comm_sum_f64(lt_ctx *ctx, const lt_comm *c, double *x, size_t n);
/* x[0..n) = rank 0's x[0..n) on every process. */
lt_status lt_comm_bcast_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n);
/* all[r*n .. r*n+n) = process r's mine[0..n), on every process. */
lt_status lt_comm_gather_u64(lt_ctx *ctx, const lt_comm *c, const uint64_t *mine, size_t n, uint64_t *all);

/* Sums under way (MPI_Iallreduce), so that communication runs while the device works. */
typedef struct lt_comm_sums lt_comm_sums;
/* An empty set of sums; NULL when out of memory. */
lt_comm_sums *lt_comm_sums_new(void);
/* Starts x[0..n) = its sum over the processes, in place; x must stay untouched until
 * lt_comm_sums_wait. */
lt_status lt_comm_sums_start(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s, float *x, size_t n);
/* Lets the started sums progress (MPI moves data only inside its calls). */
void lt_comm_sums_poll(lt_comm_sums *s);
/* Waits for every started sum; the set is empty again. */
lt_status lt_comm_sums_wait(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s);
/* Frees s (whose sums must have been waited for). */
void lt_comm_sums_free(lt_comm_sums *s);

#endif
