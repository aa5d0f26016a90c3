/* Data-parallel training (lib/fit_dist.c): what lt_fit does differently when
 * lt_fit_opts.comm holds several processes. Each step every process runs its slice of
 * the global batch; one sum over the processes then gives every process the gradients,
 * the loss, the poll answers and the statuses of all. Not installed. */
#ifndef LT_FIT_DIST_H
#define LT_FIT_DIST_H

#include "model.h"

/* A run of consecutive layers whose gradients are summed together: one contiguous
 * range of the gradient buffer, started once backward is past its lowest layer. */
typedef struct lt_dist_bucket {
    int first_layer;     /* its lowest layer (backward reaches it last)           */
    size_t off, n;       /* its gradients: [off, off + n) after the model's poff  */
} lt_dist_bucket;

/* One lt_fit call's view of its communicator. */
typedef struct lt_dist {
    const lt_comm *comm; /* NULL: this process alone (every function below is then trivial) */
    int rank, size;
    int failed;          /* a check reported a failure: no more collective calls       */
    float *host;         /* the step's sum (gradients, loss); the checks' flags and statuses */
    size_t host_len;
    lt_dist_bucket *buckets; /* from the last layers' to the first's               */
    int n_buckets, next;     /* next: the first bucket not yet started this step    */
    lt_status bucket_status; /* a failed download while starting one                */
    struct lt_comm_sums *sums; /* the step's sums under way                         */
    double waited;       /* seconds spent waiting for sums, since the last reset    */
} lt_dist;

/* Rows [*first, *first + *rows) of a global batch of `global` rows are this process's:
 * consecutive slices that differ by one row at most (alone: all of them). */
void lt_dist_share(const lt_dist *d, size_t global, size_t *first, size_t *rows);
/* Sets d up on comm for checks and sums outside training (lt_evaluate_comm): no
 * collective call, nothing compared or copied. */
void lt_dist_attach(lt_dist *d, const lt_comm *comm);
/* Starts d on comm for training m on x against y (x NULL: no data to compare, as for a
 * benchmark): every process says how its setup went (mine) and what data it holds; the first failure anywhere, or data that differ,
 * is every process's error (naming the rank); then rank 0's weights, optimizer state
 * and step count are copied to all. Alone (comm NULL or of one process): returns mine. */
lt_status lt_dist_begin(lt_model *m, lt_dist *d, const lt_comm *comm, lt_status mine, const lt_dataset *x,
                        const lt_dataset *y);
/* Where the processes agree before a collective step, and the only place lt_fit stops
 * on an error: every process says how it fared since the last check (mine) and, with
 * ask, what poll asked (in: this process's answer, out: any process's). Returns the
 * first failing rank's status (the failing process keeps its own message, the others
 * get one naming it; epoch and step say where) and from then on only returns mine, so
 * that processes that learnt of a failure together make no further collective call.
 * Alone it returns mine. */
lt_status lt_dist_check(lt_model *m, lt_dist *d, lt_status mine, int *ask, int epoch, size_t step);
/* lt_dist_check's epoch outside training: before its first step, the end of training
 * (0), an evaluation. */
enum { LT_DIST_BEFORE = -1, LT_DIST_END = 0, LT_DIST_EVAL = -2 };
/* Ends a step's sum: starts the buckets backward has not (all of them, with zeros,
 * when this process had no rows (contributes 0) or failed: mine), and the loss slot
 * `slot`, then waits for all. Every process calls it every step, failed or not, so that
 * all start the same sums; the result stays on the host until lt_dist_apply. Returns
 * mine, or why a download failed. */
lt_status lt_dist_reduce(lt_model *m, lt_dist *d, lt_status mine, int contributes, size_t slot);
/* After a check that passed: puts the summed gradients and loss slot `slot` on the
 * device. */
lt_status lt_dist_apply(lt_model *m, lt_dist *d, size_t slot);
/* Chunks [*first, *first + *count) of `chunks` are this process's share of a pass
 * over chunks (validation). */
void lt_dist_chunks(const lt_dist *d, size_t chunks, size_t *first, size_t *count);
/* x[0..n) = its sum over the processes (the host's copy of loss slots). */
lt_status lt_dist_sum(lt_model *m, lt_dist *d, float *x, size_t n);
/* Bytes a process puts into a step's sums: the gradients and loss, and the check. */
double lt_dist_bytes_per_step(const lt_model *m, const lt_dist *d);
/* Frees what lt_dist_begin allocated and takes its hook off m. */
void lt_dist_end(lt_model *m, lt_dist *d);

#endif
