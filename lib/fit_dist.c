/* Data-parallel training: the collective steps of lt_fit (lib/fit_dist.h). The sums go
 * through the host (download, MPI_Iallreduce, upload), so any backend and any MPI work;
 * a step's gradients go in a few buckets of consecutive layers, each started as soon
 * as backward has finished its layers, so that the sums run beside the rest of it. */
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "progress.h"
#include "fit_dist.h"

/* Layout of a check's sum: two poll flags, then a status a rank. */
enum { AT_CHECKPOINT, AT_STOP, AT_STATUS };

void lt_dist_share(const lt_dist *d, size_t global, size_t *first, size_t *rows)
{
    if (!d->comm || d->size <= 1) { *first = 0; *rows = global; return; }
    size_t a = global * (size_t)d->rank / (size_t)d->size, b = global * (size_t)(d->rank + 1) / (size_t)d->size;
    *first = a;
    *rows = b - a;
}

void lt_dist_chunks(const lt_dist *d, size_t chunks, size_t *first, size_t *count)
{
    lt_dist_share(d, chunks, first, count);
}

/* Says that rank `who` failed (status code) while this one did not. */
static lt_status peer_failed(lt_model *m, const lt_dist *d, int who, int code, const char *when)
{
    return lt_set_error(m->ctx, (lt_status)code, "rank %d of %d failed %s (%s; its own message is on its stderr); "
                        "training stopped on every rank", who, d->size, when, lt_status_name((lt_status)code));
}

/* Checks every rank's data against rank 0's; *all holds 6 values a rank. */
static lt_status check_same_data(lt_model *m, const lt_dist *d, const uint64_t *all)
{
    char bad[256] = "";
    size_t used = 0;
    int differ = 0;
    for (int r = 1; r < d->size; r++) {
        const uint64_t *a = all + 6 * (size_t)r;
        if (memcmp(a + 1, all + 1, 5 * sizeof *a) == 0) continue;
        if (differ++ < 8 && used < sizeof bad)
            used += (size_t)snprintf(bad + used, sizeof bad - used, "%s%d", differ > 1 ? ", " : "", r);
    }
    if (!differ) return LT_OK;
    const uint64_t *z = all;
    return lt_set_error(m->ctx, LT_ERR_ARG, "rank%s %s%s hold%s other training data than rank 0 (%llu samples of %llu "
                        "values, digest %016llx): every rank must load the same data", differ > 1 ? "s" : "", bad,
                        differ > 8 ? ", ..." : "", differ > 1 ? "" : "s", (unsigned long long)z[1],
                        (unsigned long long)z[2], (unsigned long long)z[4]);
}

/* Copies rank 0's device vector buf[off, off+n) to every rank, through host; every
 * rank joins the broadcast even after a failure (mine), which it passes on. */
static lt_status bcast_buf(lt_model *m, lt_dist *d, lt_buf *buf, size_t off, size_t n, float *host, lt_status mine)
{
    lt_backend *be = LT_BE(m);
    lt_status st = mine == LT_OK && d->rank == 0 ? lt_be_download(be, buf, off, host, n) : mine;
    lt_status sent = lt_comm_bcast_f32(m->ctx, d->comm, host, n);
    if (st == LT_OK) st = sent;
    if (st == LT_OK && d->rank != 0) st = lt_be_upload(be, buf, off, host, n);
    return st;
}

/* Starts bucket k's sum: its gradients from the device (zeros when this process adds
 * none), summed in place on the host. */
static lt_status start_bucket(lt_model *m, lt_dist *d, int k, int zeros)
{
    const lt_dist_bucket *bk = &d->buckets[k];
    float *h = d->host + bk->off;
    lt_status st = zeros ? LT_OK : lt_be_download(LT_BE(m), m->grads, m->poff + bk->off, h, bk->n);
    if (st != LT_OK && d->bucket_status == LT_OK) d->bucket_status = st;
    if (zeros || st != LT_OK) memset(h, 0, bk->n * sizeof *h);
    return lt_comm_sums_start(m->ctx, d->comm, d->sums, h, bk->n);
}

/* lt_trainer's grads_done: backward has finished `layer`; the buckets it completes
 * start their sums, and the sums under way move on. */
static lt_status grads_done(void *user, lt_model *m, int layer)
{
    lt_dist *d = user;
    lt_status st = LT_OK;
    while (st == LT_OK && d->next < d->n_buckets && layer <= d->buckets[d->next].first_layer)
        st = start_bucket(m, d, d->next++, 0);
    lt_comm_sums_poll(d->sums);
    return st;
}

/* Splits the gradients into buckets of about `bytes` from the last layer back, and has
 * backward start them (m->train.grads_done). */
static lt_status make_buckets(lt_model *m, lt_dist *d, size_t bytes)
{
    d->buckets = calloc((size_t)m->n_flat + 1, sizeof *d->buckets);
    d->sums = lt_comm_sums_new();
    if (!d->buckets || !d->sums) return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    size_t per = bytes / sizeof(float) ? bytes / sizeof(float) : 1;
    lt_dist_bucket *open = NULL;
    for (int i = m->n_flat - 1; i >= 0; i--) {
        const lt_layer *l = m->flat[i];
        if (!l->n_params) continue;
        size_t off = l->slot.off - m->poff;
        if (!open || open->n >= per) open = &d->buckets[d->n_buckets++];
        open->first_layer = i;
        open->n += l->n_params;
        open->off = off; /* layers below come first in the buffer */
    }
    m->train.grads_done = grads_done;
    m->train.grads_done_user = d;
    return LT_OK;
}

void lt_dist_attach(lt_dist *d, const lt_comm *comm)
{
    memset(d, 0, sizeof *d);
    if (!comm || lt_comm_size(comm) <= 1) return;
    d->comm = comm;
    d->rank = lt_comm_rank(comm);
    d->size = lt_comm_size(comm);
    d->host_len = AT_STATUS + (size_t)d->size;
    d->host = malloc(d->host_len * sizeof *d->host);
    if (!d->host) d->host_len = 0;
}

lt_status lt_dist_begin(lt_model *m, lt_dist *d, const lt_comm *comm, lt_status mine, const lt_dataset *x,
                        const lt_dataset *y)
{
    memset(d, 0, sizeof *d);
    if (!comm || lt_comm_size(comm) <= 1) return mine;
    d->comm = comm;
    d->rank = lt_comm_rank(comm);
    d->size = lt_comm_size(comm);
    uint64_t me[6] = {0, 0, 0, 0, 0, 0};
    if (mine == LT_OK && x) {
        me[1] = x->n;
        me[2] = x->dim;
        me[3] = y && y != x ? y->dim : 0;
        me[4] = lt_data_digest(x->x, x->n * x->dim);
        me[5] = y && y != x ? lt_data_digest(y->x, y->n * y->dim) : 0;
    }
    size_t moments = m->train.compiled ? (size_t)lt_optim_moments(&m->train.opt) : 0, P = m->n_params;
    /* the step's gradients and loss, then room for a check's sum (they never overlap
     * in time, but the check takes the end so the start stays the step's) */
    size_t len = P + 1 + AT_STATUS + (size_t)d->size;
    if (P * moments > len) len = P * moments;
    d->host = malloc(len * sizeof *d->host);
    d->host_len = d->host ? len : 0;
    uint64_t *all = malloc(6 * (size_t)d->size * sizeof *all);
    /* every process splits the same model the same way, so the sums match up */
    const char *kb = getenv("LATENT_BUCKET_KB");
    long bucket_kb = kb && *kb ? strtol(kb, NULL, 10) : 256;
    lt_status st = make_buckets(m, d, (size_t)(bucket_kb > 0 ? bucket_kb : 256) * 1024);
    if (mine == LT_OK && (!d->host || !all || st != LT_OK)) mine = lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    /* first every setup's outcome, so that a failure anywhere stops all here */
    if ((st = lt_dist_check(m, d, mine, NULL, LT_DIST_BEFORE, 0)) != LT_OK) { free(all); return st; }
    st = lt_comm_gather_u64(m->ctx, comm, me, 6, all);
    if (st == LT_OK) st = check_same_data(m, d, all); /* every rank reaches the same verdict */
    if (st != LT_OK) { d->failed = 1; free(all); return st; }
    /* the same start everywhere, even where compilers built other weights from the seed;
     * each broadcast runs on every rank whatever happened before, and a check ends it */
    st = bcast_buf(m, d, m->params, m->poff, P, d->host, st);
    if (moments) st = bcast_buf(m, d, m->train.state, 0, P * moments, d->host, st);
    uint64_t steps = m->train.steps; /* the optimizer's step count (Adam's bias correction) */
    lt_status got = lt_comm_gather_u64(m->ctx, comm, &steps, 1, all);
    if (st == LT_OK) st = got;
    if (st == LT_OK) m->train.steps = all[0];
    free(all);
    return lt_dist_check(m, d, st, NULL, LT_DIST_BEFORE, 0);
}

lt_status lt_dist_check(lt_model *m, lt_dist *d, lt_status mine, int *ask, int epoch, size_t step)
{
    if (!d->comm || d->failed) {
        if (mine != LT_OK) d->failed = 1;
        return mine;
    }
    size_t n = AT_STATUS + (size_t)d->size;
    /* the end of the buffer, so that the step's sum keeps its start; without one (no
     * memory for it) a small array still lets this process report that */
    float small[64];
    float *h = d->host_len >= n ? d->host + d->host_len - n : n <= 64 ? small : NULL;
    if (!h) { /* more ranks than the small array holds: this process cannot take part */
        d->failed = 1;
        return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    }
    if (mine == LT_OK && h == small) mine = lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    memset(h, 0, n * sizeof *h);
    int want = ask ? *ask : 0;
    h[AT_CHECKPOINT] = (want & LT_FIT_CHECKPOINT) ? 1.0f : 0.0f;
    h[AT_STOP] = (want & LT_FIT_STOP) ? 1.0f : 0.0f;
    h[AT_STATUS + (size_t)d->rank] = (float)mine;
    lt_status st = lt_comm_sum_f32(m->ctx, d->comm, h, n);
    if (st != LT_OK) { d->failed = 1; return st; }
    for (int r = 0; r < d->size; r++) {
        int code = (int)h[AT_STATUS + (size_t)r];
        if (code == 0) continue;
        d->failed = 1;
        if (r == d->rank) return mine;
        char when[64];
        if (epoch > 0) snprintf(when, sizeof when, "at epoch %d, step %zu", epoch, step + 1);
        else snprintf(when, sizeof when, "%s", epoch == LT_DIST_BEFORE ? "before training" : epoch == LT_DIST_EVAL ?
                      "while evaluating" : "at the end of training");
        return peer_failed(m, d, r, code, when);
    }
    if (ask) *ask = (h[AT_CHECKPOINT] > 0.0f ? LT_FIT_CHECKPOINT : 0) | (h[AT_STOP] > 0.0f ? LT_FIT_STOP : 0);
    return LT_OK;
}

lt_status lt_dist_reduce(lt_model *m, lt_dist *d, lt_status mine, int contributes, size_t slot)
{
    if (!d->comm) return mine;
    lt_status st = LT_OK;
    int zeros = !contributes || mine != LT_OK;
    while (st == LT_OK && d->next < d->n_buckets) st = start_bucket(m, d, d->next++, zeros);
    float *loss = d->host + m->n_params;
    lt_status got = zeros ? LT_OK : lt_be_download(LT_BE(m), m->ws.loss, slot, loss, 1);
    if (zeros || got != LT_OK) *loss = 0.0f;
    if (st == LT_OK) st = lt_comm_sums_start(m->ctx, d->comm, d->sums, loss, 1);
    double t = lt_now();
    lt_status waited = lt_comm_sums_wait(m->ctx, d->comm, d->sums);
    d->waited += lt_now() - t;
    d->next = 0;
    if (st == LT_OK) st = waited;
    if (st == LT_OK) st = got;
    if (st == LT_OK) st = d->bucket_status;
    d->bucket_status = LT_OK;
    return mine != LT_OK ? mine : st;
}

lt_status lt_dist_apply(lt_model *m, lt_dist *d, size_t slot)
{
    if (!d->comm) return LT_OK;
    lt_backend *be = LT_BE(m);
    size_t P = m->n_params;
    lt_status st = P ? lt_be_upload(be, m->grads, m->poff, d->host, P) : LT_OK;
    return st == LT_OK ? lt_be_upload(be, m->ws.loss, slot, d->host + P, 1) : st;
}

double lt_dist_bytes_per_step(const lt_model *m, const lt_dist *d)
{
    return d->comm ? 4.0 * (double)(m->n_params + 1 + AT_STATUS + (size_t)d->size) : 0.0;
}

lt_status lt_dist_sum(lt_model *m, lt_dist *d, float *x, size_t n)
{
    return d->comm ? lt_comm_sum_f32(m->ctx, d->comm, x, n) : LT_OK;
}

void lt_dist_end(lt_model *m, lt_dist *d)
{
    if (m && m->train.grads_done_user == d) {
        m->train.grads_done = NULL;
        m->train.grads_done_user = NULL;
    }
    lt_comm_sums_free(d->sums);
    free(d->buckets);
    free(d->host);
    memset(d, 0, sizeof *d);
}
