/* Communicators over MPI (latent_mpi.h, lib/comm.h). The only file of the library that
 * includes mpi.h: built without MPI, it keeps the public functions' NULL answers and
 * the collectives report that the build lacks MPI. */
#include <stdlib.h>
#include "comm.h"

#ifdef LT_HAVE_MPI
#include <limits.h>
#include "latent_mpi.h"

struct lt_comm {
    MPI_Comm comm;              /* latent's duplicate of the application's communicator */
    int rank, size;             /* in comm                                              */
    int node_rank, node_size;   /* among comm's processes on this machine               */
};

int lt_have_mpi(void) { return 1; }

lt_comm *lt_comm_mpi(MPI_Comm comm)
{
    lt_comm *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    MPI_Comm node;
    if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) { free(c); return NULL; }
    /* errors come back as codes that become messages, not MPI's default abort */
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    if (MPI_Comm_rank(c->comm, &c->rank) != MPI_SUCCESS || MPI_Comm_size(c->comm, &c->size) != MPI_SUCCESS ||
        MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) != MPI_SUCCESS) {
        MPI_Comm_free(&c->comm);
        free(c);
        return NULL;
    }
    MPI_Comm_rank(node, &c->node_rank);
    MPI_Comm_size(node, &c->node_size);
    MPI_Comm_free(&node);
    return c;
}

MPI_Comm lt_comm_mpi_handle(const lt_comm *c) { return c ? c->comm : MPI_COMM_NULL; }

void lt_comm_free(lt_comm *c)
{
    if (!c) return;
    MPI_Comm_free(&c->comm);
    free(c);
}

int lt_comm_rank(const lt_comm *c) { return c ? c->rank : 0; }
int lt_comm_size(const lt_comm *c) { return c ? c->size : 1; }
int lt_comm_node_rank(const lt_comm *c) { return c ? c->node_rank : 0; }
int lt_comm_node_size(const lt_comm *c) { return c ? c->node_size : 1; }

/* LT_OK, or MPI's own words for code rc during `what`. */
static lt_status mpi_status(lt_ctx *ctx, const lt_comm *c, int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return LT_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = 0;
    return lt_set_error(ctx, LT_ERR_DEVICE, "MPI failed in %s (rank %d of %d): %s", what, c->rank, c->size,
                        len ? text : "no message");
}

/* MPI counts are ints: larger vectors go in pieces of this many elements. */
#define PIECE (1 << 28)

/* x[0..n) of `size`-byte elements of type t summed (bcast 0) or broadcast from rank 0
 * (bcast 1) in place, in pieces MPI's int counts hold; what names it in messages. */
static lt_status in_pieces(lt_ctx *ctx, const lt_comm *c, void *x, size_t n, size_t size, MPI_Datatype t, int bcast,
                           const char *what)
{
    for (size_t i = 0; i < n; i += PIECE) {
        int k = (int)(n - i < PIECE ? n - i : PIECE);
        void *at = (char *)x + i * size;
        int rc = bcast ? MPI_Bcast(at, k, t, 0, c->comm) : MPI_Allreduce(MPI_IN_PLACE, at, k, t, MPI_SUM, c->comm);
        if (rc != MPI_SUCCESS) return mpi_status(ctx, c, rc, what);
    }
    return LT_OK;
}

lt_status lt_comm_sum_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n)
{
    return in_pieces(ctx, c, x, n, sizeof *x, MPI_FLOAT, 0, "the sum of the gradients");
}

lt_status lt_comm_sum_f64(lt_ctx *ctx, const lt_comm *c, double *x, size_t n)
{
    return in_pieces(ctx, c, x, n, sizeof *x, MPI_DOUBLE, 0, "a sum");
}

lt_status lt_comm_bcast_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n)
{
    return in_pieces(ctx, c, x, n, sizeof *x, MPI_FLOAT, 1, "copying rank 0's weights");
}

lt_status lt_comm_gather_u64(lt_ctx *ctx, const lt_comm *c, const uint64_t *mine, size_t n, uint64_t *all)
{
    if (n > INT_MAX) return lt_set_error(ctx, LT_ERR_ARG, "lt_comm_gather_u64: %zu values", n);
    int rc = MPI_Allgather(mine, (int)n, MPI_UINT64_T, all, (int)n, MPI_UINT64_T, c->comm);
    return mpi_status(ctx, c, rc, "comparing the ranks' data");
}

struct lt_comm_sums {
    MPI_Request *req; /* started sums, n of cap */
    int n, cap;
};

lt_comm_sums *lt_comm_sums_new(void) { return calloc(1, sizeof(lt_comm_sums)); }

lt_status lt_comm_sums_start(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s, float *x, size_t n)
{
    for (size_t i = 0; i < n; i += PIECE) {
        if (s->n == s->cap) {
            int cap = s->cap ? 2 * s->cap : 16;
            MPI_Request *r = realloc(s->req, (size_t)cap * sizeof *r);
            if (!r) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
            s->req = r;
            s->cap = cap;
        }
        int k = (int)(n - i < PIECE ? n - i : PIECE);
        int rc = MPI_Iallreduce(MPI_IN_PLACE, x + i, k, MPI_FLOAT, MPI_SUM, c->comm, &s->req[s->n]);
        if (rc != MPI_SUCCESS) return mpi_status(ctx, c, rc, "starting a sum of gradients");
        s->n++;
    }
    return LT_OK;
}

void lt_comm_sums_poll(lt_comm_sums *s)
{
    int done;
    if (s->n) MPI_Testall(s->n, s->req, &done, MPI_STATUSES_IGNORE);
}

lt_status lt_comm_sums_wait(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s)
{
    int rc = s->n ? MPI_Waitall(s->n, s->req, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    s->n = 0;
    return mpi_status(ctx, c, rc, "the sum of the gradients");
}

void lt_comm_sums_free(lt_comm_sums *s)
{
    if (s) free(s->req);
    free(s);
}

#else /* no MPI: no communicator can be made */

int lt_have_mpi(void) { return 0; }
void lt_comm_free(lt_comm *c) { (void)c; }
int lt_comm_rank(const lt_comm *c) { (void)c; return 0; }
int lt_comm_size(const lt_comm *c) { (void)c; return 1; }
int lt_comm_node_rank(const lt_comm *c) { (void)c; return 0; }
int lt_comm_node_size(const lt_comm *c) { (void)c; return 1; }

/* What every collective says in a build without MPI. */
static lt_status no_mpi(lt_ctx *ctx)
{
    return lt_set_error(ctx, LT_ERR_UNSUPPORTED, "this liblatent was built without MPI");
}

lt_status lt_comm_sum_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n) { (void)c; (void)x; (void)n; return no_mpi(ctx); }
lt_status lt_comm_sum_f64(lt_ctx *ctx, const lt_comm *c, double *x, size_t n) { (void)c; (void)x; (void)n; return no_mpi(ctx); }
lt_status lt_comm_bcast_f32(lt_ctx *ctx, const lt_comm *c, float *x, size_t n) { (void)c; (void)x; (void)n; return no_mpi(ctx); }
lt_status lt_comm_gather_u64(lt_ctx *ctx, const lt_comm *c, const uint64_t *mine, size_t n, uint64_t *all)
{
    (void)c; (void)mine; (void)n; (void)all;
    return no_mpi(ctx);
}
lt_comm_sums *lt_comm_sums_new(void) { return NULL; }
lt_status lt_comm_sums_start(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s, float *x, size_t n)
{
    (void)c; (void)s; (void)x; (void)n;
    return no_mpi(ctx);
}
void lt_comm_sums_poll(lt_comm_sums *s) { (void)s; }
lt_status lt_comm_sums_wait(lt_ctx *ctx, const lt_comm *c, lt_comm_sums *s) { (void)c; (void)s; return no_mpi(ctx); }
void lt_comm_sums_free(lt_comm_sums *s) { (void)s; }
#endif
