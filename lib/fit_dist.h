/* Data-parallel training (lib/fit_dist.c): what lt_fit does differently when
 * lt_fit_opts.comm holds several processes. Each step every process runs its slice of
 * the global batch; one sum over the processes then gives every process the gradients,
 * the loss, the poll answers and the statuses of all. Not installed. */
#ifndef LT_FIT_DIST_H
#define LT_FIT_DIST_H

#include "model.h"

/* One lt_fit call's view of its communicator. */
typedef struct lt_dist {
    const lt_comm *comm; /* NULL: this process alone (every function below is then trivial) */
    int rank, size;
    int failed;          /* a check reported a failure: no more collective calls       */
    float *host;         /* the step's sum (gradients, loss); the checks' flags and statuses */
    size_t host_len;
} lt_dist;

/* Rows [*first, *first + *rows) of a global batch of `global` rows are this process's:
 * consecutive slices that differ by one row at most (alone: all of them). */
void lt_dist_share(const lt_dist *d, size_t global, size_t *first, size_t *rows);
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
/* After a check that passed: sums the step's gradients and loss slot `slot` over the
 * processes into every process's own (contributes 0: this process had no rows, and
 * adds zeros). A process whose download fails still joins the sum. */
lt_status lt_dist_step(lt_model *m, lt_dist *d, int contributes, size_t slot);
/* Chunks [*first, *first + *count) of `chunks` are this process's share of a pass
 * over chunks (validation). */
void lt_dist_chunks(const lt_dist *d, size_t chunks, size_t *first, size_t *count);
/* x[0..n) = its sum over the processes (the host's copy of loss slots). */
lt_status lt_dist_sum(lt_model *m, lt_dist *d, float *x, size_t n);
/* Bytes a process puts into a step's sums: the gradients and loss, and the check. */
double lt_dist_bytes_per_step(const lt_model *m, const lt_dist *d);
/* Frees what lt_dist_begin allocated. */
void lt_dist_end(lt_dist *d);

#endif
