/* The training loop. The data go to the device once; each epoch uploads one shuffled
 * index vector; each step gathers its batch on the device and writes its loss into a
 * device slot. The host reads loss slots only when it redraws progress (at most
 * ten times a second) and at the end of an epoch, which is also where a NaN is caught
 * and named by epoch and step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "augment.h"
#include "fit_dist.h"
#include "model.h"
#include "backend/philox.h"
#include "progress.h"

/* Keys that keep the shuffle and the layers' randomness apart for one user seed. */
#define SHUFFLE_KEY 0x53485546464C4531ull
#define LAYER_KEY 0x4C41594552524E47ull
#define NOISE_KEY 0x4E4F495345494E50ull
#define AUGMENT_KEY 0x4155474D454E5431ull
/* Philox counter region of the validation noise: far above any training step's. */
#define VAL_NOISE_COUNTER (1ull << 62)

/* Fisher-Yates from the Philox stream (seed, epoch): the same order on every backend. */
static void shuffle(uint32_t *idx, size_t n, uint64_t seed, uint64_t epoch)
{
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        uint64_t r = ((uint64_t)lt_philox_u32(seed, epoch << 32, 2 * i) << 32) | lt_philox_u32(seed, epoch << 32, 2 * i + 1);
        size_t j = (size_t)(r % i);
        uint32_t t = idx[i - 1]; idx[i - 1] = idx[j]; idx[j] = t;
    }
}

/* Validates shapes and options shared by fit. */
static lt_status check_fit_args(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *o)
{
    lt_ctx *ctx = m->ctx;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before training", m->name);
    if (!m->train.compiled) return lt_set_error(ctx, LT_ERR_ARG, "%s: compile the model (loss, optimizer) before training", m->name);
    if (x->dim != (size_t)m->in_dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model takes %d inputs per sample, the data have %zu", m->name, m->in_dim, x->dim);
    if (y->dim != (size_t)m->out_dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model gives %d outputs per sample, the targets have %zu%s", m->name,
                            m->out_dim, y->dim, y == x ? " (an autoencoder's output must be as wide as its input)" : "");
    if (x->n != y->n) return lt_set_error(ctx, LT_ERR_SHAPE, "inputs have %zu samples, targets %zu", x->n, y->n);
    if (x->n > UINT32_MAX) return lt_set_error(ctx, LT_ERR_ARG, "too many samples (%zu)", x->n);
    if (o->epochs < 1 || o->epochs > 1000000) return lt_set_error(ctx, LT_ERR_ARG, "epochs must be in 1..1000000, got %d", o->epochs);
    if (o->batch < 1 || o->batch > (1 << 20)) return lt_set_error(ctx, LT_ERR_ARG, "batch must be in 1..1048576, got %d", o->batch);
    if (!isfinite(o->min_delta)) return lt_set_error(ctx, LT_ERR_ARG, "min_delta must be a finite number");
    if (x->n == 0) return lt_set_error(ctx, LT_ERR_ARG, "no samples to train on");
    if (!(o->validation_split >= 0.0f && o->validation_split < 1.0f))
        return lt_set_error(ctx, LT_ERR_ARG, "validation split must be in [0, 1), got %g", (double)o->validation_split);
    if (o->patience < 0) return lt_set_error(ctx, LT_ERR_ARG, "patience must be >= 0, got %d", o->patience);
    if (!(o->noise >= 0.0f && o->noise <= 1e6f)) return lt_set_error(ctx, LT_ERR_ARG, "noise stddev must be a number >= 0");
    if (!(o->kl_warmup >= 0.0f && o->kl_warmup <= 1e6f)) return lt_set_error(ctx, LT_ERR_ARG, "KL warm-up must be a number of epochs >= 0");
    if (o->kl_warmup > 0.0f && lt_model_layer_count(m, "Sampling") == 0)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: KL warm-up weights a VAE's KL term, but the model has no Sampling layer", m->name);
    if (lt_augment_active(o->augment)) {
        lt_status st = lt_augment_check(ctx, o->augment);
        if (st != LT_OK) return st;
        if (m->in_shape.rank != 3) {
            char shape[64];
            lt_shape_format(&m->in_shape, shape, sizeof shape);
            return lt_set_error(ctx, LT_ERR_SHAPE, "%s: augmentation warps images, but the model takes %s: it needs a model "
                                "whose input is (height, width, channels), as the convolutional ones", m->name, shape);
        }
        if (y != x) return lt_set_error(ctx, LT_ERR_ARG, "augmentation needs the inputs as targets (an autoencoder)");
    }
    lt_status st = lt_check_finite(ctx, x->x, x->n, x->dim, "training data");
    if (st == LT_OK && y != x) st = lt_check_finite(ctx, y->x, y->n, y->dim, "training targets");
    if (st == LT_OK) st = lt_check_targets(m, y, y == x ? "training data (the targets)" : "training targets");
    return st;
}

/* Everything one fit call holds on the device, freed together. */
typedef struct fit_bufs {
    lt_buf *x, *y, *idx;
    lt_buf *noise; /* one batch of input noise (with opts.noise)           */
    lt_buf *mats;  /* an epoch's augmentation maps, 6 floats a sample      */
} fit_bufs;

/* Frees the fit buffers. */
static void fit_bufs_free(lt_backend *be, fit_bufs *b)
{
    lt_be_buf_free(be, b->x);
    lt_be_buf_free(be, b->y);
    lt_be_buf_free(be, b->idx);
    lt_be_buf_free(be, b->noise);
    lt_be_buf_free(be, b->mats);
}

/* Adds N(0, stddev^2) noise (Philox stream (seed, counter)) to the rows in acts[0],
 * which are rows row0.. of the batch the stream covers. Element i uses block counter +
 * i/4, so calls space their counters 2^32 apart. */
static lt_status add_input_noise(lt_model *m, const fit_bufs *b, size_t rows, float stddev, uint64_t seed, uint64_t counter,
                                 size_t row0)
{
    lt_backend *be = LT_BE(m);
    size_t n = rows * (size_t)m->in_dim;
    lt_status st = lt_be_random_normal(be, b->noise, 0, n, 0.0f, stddev, seed, counter, row0 * (size_t)m->in_dim);
    if (st == LT_OK) st = lt_be_axpby(be, n, 1.0f, b->noise, 0, 1.0f, m->ws.acts, 0);
    return st;
}

/* Reads loss slots [from, to) (each a step's summed loss) and adds them to *sum;
 * names the first non-finite step. */
static lt_status read_losses(lt_model *m, size_t from, size_t to, int epoch, double *sum, float *tmp)
{
    if (to <= from) return LT_OK;
    lt_status st = lt_be_download(LT_BE(m), m->ws.loss, from, tmp, to - from);
    if (st != LT_OK) return st;
    for (size_t s = from; s < to; s++) {
        double v = (double)tmp[s - from];
        if (!isfinite(v))
            return lt_set_error(m->ctx, LT_ERR_NONFINITE, "%s: the loss became %s at epoch %d, step %zu; training stopped "
                                "(try a lower learning rate)", m->name, isnan(v) ? "NaN" : "infinite", epoch, s + 1);
        *sum += v;
    }
    return LT_OK;
}

/* Mean loss per sample (and per column, except for CCE) of a summed loss over rows. */
static double mean_loss(const lt_model *m, double sum, size_t rows)
{
    return sum / lt_loss_normalizer(m->train.loss, rows, (size_t)m->out_dim);
}

/* Mean validation loss over rows [start, start+n) of the device data, in chunks of
 * `chunk` rows (the batch), each process taking its share of them; tmp holds a float a
 * chunk. With noise > 0 the inputs get the same noise every epoch, so the losses
 * compare. A process that fails still joins the sum, so that none waits for it. */
static lt_status validate(lt_model *m, lt_dist *d, const fit_bufs *b, size_t start, size_t n, size_t chunk, size_t slot0,
                          int y_is_x, float noise, uint64_t noise_seed, float *tmp, double *out)
{
    lt_backend *be = LT_BE(m);
    lt_workspace *w = &m->ws;
    size_t in = (size_t)m->in_dim, od = (size_t)m->out_dim, nch = (n + chunk - 1) / chunk, c0, mine;
    lt_dist_chunks(d, nch, &c0, &mine);
    int clean_target = y_is_x && noise > 0.0f;
    lt_status st = LT_OK;
    for (size_t c = c0; st == LT_OK && c < c0 + mine; c++) {
        size_t r = start + c * chunk, rows = n - c * chunk < chunk ? n - c * chunk : chunk;
        st = lt_be_copy(be, b->x, r * in, w->acts, 0, rows * in);
        if (st == LT_OK && !y_is_x) st = lt_be_copy(be, b->y, r * od, w->target, 0, rows * od);
        if (st == LT_OK && clean_target) st = lt_be_copy(be, b->x, r * in, w->target, 0, rows * in);
        if (st == LT_OK && noise > 0.0f)
            st = add_input_noise(m, b, rows, noise, noise_seed, VAL_NOISE_COUNTER + ((uint64_t)c << 32), 0);
        if (st == LT_OK) st = lt_forward(m, rows, 0, 0, 0);
        if (st == LT_OK)
            st = lt_be_loss(be, lt_loss_to_backend(m->train.loss), rows, od, w->acts, w->act_off[m->n_flat],
                            y_is_x && !clean_target ? w->acts : w->target, 0, w->loss, slot0 + c, 0.0f, NULL, 0);
        if (st == LT_OK) st = lt_add_layer_losses(m, rows, 0, 0, 0, slot0 + c);
    }
    if (st == LT_OK) st = lt_be_download(be, w->loss, slot0, tmp, nch);
    /* the other processes' chunks are theirs: adding exact zeros, the sum is each
     * chunk's own loss, so every process adds the same numbers one process would */
    for (size_t c = 0; c < nch; c++)
        if (st != LT_OK || c < c0 || c >= c0 + mine) tmp[c] = 0.0f;
    lt_status summed = lt_dist_sum(m, d, tmp, nch);
    if (st == LT_OK) st = summed;
    double total = 0;
    for (size_t c = 0; c < nch; c++) total += tmp[c];
    *out = mean_loss(m, total, n);
    return st;
}

/* Puts the training data (y NULL: the inputs are the targets) and the fit's other
 * buffers on the device; on failure says so, naming the model. */
static lt_status fit_upload(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *o,
                            size_t n_train, int augment, fit_bufs *b)
{
    lt_backend *be = m->ctx->be;
    lt_ctx *ctx = m->ctx;
    size_t n = x->n, in = x->dim;
    lt_status st = lt_alloc_named(ctx, n * in, "the training inputs", &b->x);
    if (st == LT_OK) st = lt_be_upload(be, b->x, 0, x->x, n * in);
    if (st == LT_OK && y) st = lt_alloc_named(ctx, n * y->dim, "the training targets", &b->y);
    if (st == LT_OK && y) st = lt_be_upload(be, b->y, 0, y->x, n * y->dim);
    if (st == LT_OK) st = lt_alloc_named(ctx, n_train, "the epoch's sample order", &b->idx);
    if (st == LT_OK && o->noise > 0.0f) /* validation chunks are ws.batch rows */
        st = lt_alloc_named(ctx, m->ws.batch * in, "the noise", &b->noise);
    if (st == LT_OK && augment) st = lt_alloc_named(ctx, n_train * 6, "the augmentation transforms", &b->mats);
    if (st != LT_OK)
        lt_set_error(m->ctx, st, "%s: cannot put the training data on the device: %s", m->name, lt_be_message(be));
    return st;
}

/* Gathers the rows samples at position first of the epoch's order into the workspace:
 * inputs, targets (od > 0: their own; else a clean copy of the inputs when clean_target)
 * and, with augmentation, warps input and target alike. */
static lt_status load_batch(lt_model *m, const fit_bufs *b, size_t first, size_t rows, size_t in, size_t od,
                            int augment, int clean_target)
{
    lt_backend *be = m->ctx->be;
    lt_workspace *w = &m->ws;
    lt_status st = lt_be_gather_rows(be, rows, in, b->x, 0, b->idx, first, w->acts, 0);
    if (st == LT_OK && od) st = lt_be_gather_rows(be, rows, od, b->y, 0, b->idx, first, w->target, 0);
    if (st == LT_OK && augment) {
        st = lt_be_affine_resample(be, rows, m->in_shape.d[0], m->in_shape.d[1], m->in_shape.d[2], b->mats, first * 6,
                                   w->acts, 0, w->target, 0);
        if (st == LT_OK) st = lt_be_copy(be, w->target, 0, w->acts, 0, rows * in);
    } else if (st == LT_OK && clean_target) {
        st = lt_be_copy(be, w->acts, 0, w->target, 0, rows * in);
    }
    return st;
}

/* What opts' poll asks after a step (where: the run's epoch, its steps done). */
static int ask_poll(const lt_fit_opts *o, lt_fit_point where)
{
    return o->poll ? o->poll(o->user, &where) : 0;
}

/* Does what poll asked (ask) after a step: reads the epoch's losses so far into the run
 * record (epoch_loss), calls the checkpoint function, and sets *stop when asked to stop. */
static lt_status poll_step(lt_model *m, const lt_fit_opts *o, int ask, lt_fit_point where, size_t *read, double *sum,
                           float *tmp, int *stop)
{
    if (!(ask & (LT_FIT_CHECKPOINT | LT_FIT_STOP))) return LT_OK;
    lt_fit_run *r = &m->train.run;
    lt_status st = LT_OK;
    if (where.step < where.steps) { /* midway: the record says how far this epoch got */
        st = read_losses(m, *read, where.step, (int)(r->epochs_done - r->start_epoch) + 1, sum, tmp);
        *read = where.step;
        r->epoch_step = where.step;
        r->epoch_loss = *sum;
    }
    if (st == LT_OK && (ask & LT_FIT_CHECKPOINT) && o->checkpoint) st = o->checkpoint(m, o->user);
    if (ask & LT_FIT_STOP) *stop = 1;
    return st;
}

/* Starts the run record (a new run) or checks that the data and options are the
 * recorded run's (resume); *nothing_left when a resumed run has no epoch left. */
static lt_status begin_or_resume(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *o, size_t steps,
                                 int *nothing_left)
{
    lt_fit_run *r = &m->train.run;
    *nothing_left = 0;
    if (!o->resume) {
        lt_be_buf_free(LT_BE(m), m->train.best); /* an earlier run's best weights */
        m->train.best = NULL;
        lt_fit_run_begin(m, x, y, o, steps);
        return LT_OK;
    }
    lt_status st = lt_fit_run_check(m, x, y, o);
    if (st != LT_OK) return st;
    if (r->steps != steps)
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: the run took %llu steps an epoch, these settings %zu", m->name,
                            (unsigned long long)r->steps, steps);
    *nothing_left = r->early_stopped || r->epochs_done - r->start_epoch >= (uint64_t)o->epochs;
    if (!*nothing_left) r->epochs = (uint64_t)o->epochs; /* a finished run may be extended */
    return LT_OK;
}

lt_status lt_fit(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *opts, lt_history *hist)
{
    if (!m || !x) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_fit: no data") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    lt_fit_opts o = opts ? *opts : (lt_fit_opts){0};
    if (o.epochs == 0) o.epochs = 1;
    if (o.batch == 0) o.batch = 32;
    int y_is_x = y == NULL || y == x;
    if (!y) y = x;
    if (hist) memset(hist, 0, sizeof *hist);
    /* Every check and allocation comes first: with several processes they then agree
     * (lt_dist_begin), so that a failure on one stops all before any collective step. */
    lt_dist dist = {0};
    fit_bufs b = {0};
    uint32_t *idx = NULL;
    float *mats = NULL, *tmp = NULL; /* mats: host copy of an epoch's augmentation maps */
    size_t *rows = NULL;
    size_t n = x->n, n_train = 0, n_val = 0, batch = 1, steps = 0, in = x->dim, od = y->dim;
    int nothing_left = 0, augment = lt_augment_active(o.augment);
    /* With noise or augmentation the inputs change, so an autoencoder's target is a
     * clean copy in the target slot rather than the input slot itself. */
    int clean_target = y_is_x && (o.noise > 0.0f || augment);
    lt_fit_run *r = &m->train.run;
    lt_status st = check_fit_args(m, x, y, &o);
    if (st == LT_OK && lt_comm_size(o.comm) > 1 && lt_model_layer_count(m, "Sparsity") > 0)
        st = lt_set_error(ctx, LT_ERR_UNSUPPORTED, "%s: a Sparsity layer's penalty needs the mean activation over the "
                          "whole batch, which no process of several sees: train it in one process, or use "
                          "activity_l1, which sums over samples", m->name);
    if (st == LT_OK) { /* as Keras splits: the first floor(n * (1 - split)) samples train, the rest validate */
        n_train = (size_t)((double)n * (1.0 - (double)o.validation_split));
        n_val = n - n_train;
        if (n_train == 0) st = lt_set_error(ctx, LT_ERR_ARG, "no training samples left after the validation split");
    }
    if (st == LT_OK) {
        batch = (size_t)o.batch < n_train ? (size_t)o.batch : n_train;
        steps = (n_train + batch - 1) / batch;
        st = begin_or_resume(m, x, y, &o, steps, &nothing_left);
    }
    size_t val_chunks = n_val ? (n_val + batch - 1) / batch : 0;
    if (st == LT_OK && !nothing_left) st = lt_workspace_reserve(m, batch, steps + val_chunks);
    if (st == LT_OK && !nothing_left) {
        idx = malloc(n_train * sizeof *idx);
        rows = malloc(steps * sizeof *rows);
        tmp = malloc((steps > val_chunks ? steps : val_chunks) * sizeof *tmp);
        if (augment) mats = malloc(n_train * 6 * sizeof *mats);
        if (!idx || !rows || !tmp || (augment && !mats)) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    }
    if (st == LT_OK && !nothing_left) {
        for (size_t s = 0; s < steps; s++) rows[s] = s + 1 < steps ? batch : n_train - s * batch;
        st = fit_upload(m, x, y_is_x ? NULL : y, &o, n_train, augment, &b);
    }
    if (st == LT_OK && !nothing_left && o.patience && o.restore_best) { /* the best weights live with the model, for checkpoints */
        int had = m->train.best != NULL;
        if (!had) st = lt_alloc_named(ctx, m->n_params ? m->n_params : 1, "the best weights' copy", &m->train.best);
        /* a resumed run without them (extended after it restored them): they are the weights now */
        if (st == LT_OK && !had && isfinite(r->best) && m->n_params)
            st = lt_be_copy(be, m->params, m->poff, m->train.best, 0, m->n_params);
    }
    st = lt_dist_begin(m, &dist, o.comm, st, x, y);
    if (st != LT_OK || nothing_left) goto done;
    if (dist.rank != 0) o.verbose = -1; /* only rank 0 speaks */

    lt_progress prog;
    lt_progress_init(&prog, o.log, o.verbose, o.epochs, steps);
    uint64_t shuffle_key = o.seed ^ SHUFFLE_KEY, layer_key = o.seed ^ LAYER_KEY, noise_key = o.seed ^ NOISE_KEY;
    double t_start = lt_now(), loss = NAN, val_loss = NAN, train_secs = 0;
    size_t samples = 0;
    int epochs_run = 0, stop = 0;
    lt_workspace *w = &m->ws;
    /* Epochs are numbered over the model's life (ep), so shuffles and augmentation go on
     * across fit calls and resumes; progress shows the run's own count (e). A failure
     * ends the loop at the next lt_dist_check, where, with several processes, every
     * process learns of it at the same point (alone, the check is where it stops). */
    for (uint64_t ep = r->epochs_done + 1; !stop && ep <= r->start_epoch + r->epochs; ep++) {
        int e = (int)(ep - r->start_epoch);
        size_t first = (size_t)r->epoch_step; /* a resumed epoch goes on from its next step */
        lt_progress_epoch_start(&prog);
        double t_epoch = lt_now(), t_read = t_epoch, sum = r->epoch_loss;
        if (o.shuffle >= 0) shuffle(idx, n_train, shuffle_key, ep);
        else for (size_t i = 0; i < n_train; i++) idx[i] = (uint32_t)i;
        if (st == LT_OK) st = lt_be_upload(be, b.idx, 0, idx, n_train);
        if (st == LT_OK && augment) { /* one upload an epoch: a map for every position of the order */
            lt_augment_matrices(o.augment, m->in_shape.d[0], m->in_shape.d[1], o.seed ^ AUGMENT_KEY, ep << 32, n_train,
                                mats);
            st = lt_be_upload(be, b.mats, 0, mats, n_train * 6);
        }
        size_t read = first;
        for (size_t s = first; s < steps; s++) {
            size_t row0, mine; /* this process's slice of the step's rows (alone: all) */
            lt_dist_share(&dist, rows[s], &row0, &mine);
            if (st == LT_OK && mine) st = load_batch(m, &b, s * batch + row0, mine, in, y_is_x ? 0 : od, augment, clean_target);
            if (st == LT_OK && mine && o.noise > 0.0f)
                st = add_input_noise(m, &b, mine, o.noise, noise_key, m->train.steps << 32, row0);
            if (o.kl_warmup > 0.0f) {
                double t = ((double)(ep - 1) + (double)s / (double)steps) / (double)o.kl_warmup;
                m->train.kl_factor = t < 1.0 ? (float)t : 1.0f;
            }
            m->train.row0 = row0;
            m->train.norm_rows = rows[s];
            if (st == LT_OK && mine) st = lt_compute_grads(m, mine, y_is_x && !clean_target ? w->acts : w->target, 0, s, layer_key);
            m->train.row0 = m->train.norm_rows = 0;
            lt_fit_point where = {e, o.epochs, s + 1, steps, 0};
            /* with several processes poll is asked before the sum, which carries the answers */
            int ask = dist.comm && s + 1 < steps ? ask_poll(&o, where) : 0;
            st = lt_dist_reduce(m, &dist, st, mine > 0, s);
            if ((st = lt_dist_check(m, &dist, st, &ask, e, s)) != LT_OK) break;
            st = lt_dist_apply(m, &dist, s);
            if (st == LT_OK) st = lt_optimizer_step(m);
            double now = lt_now();
            if (st == LT_OK && prog.bar && now - t_read >= 0.1) {
                st = read_losses(m, read, s + 1, e, &sum, tmp);
                read = s + 1;
                t_read = now;
                double done = (double)(s + 1 - first) * (double)batch;
                lt_progress_step(&prog, e, s + 1, mean_loss(m, sum, (s + 1) * batch), done / (now - t_epoch));
            }
            if (!dist.comm && s + 1 < steps) ask = ask_poll(&o, where);
            if (st == LT_OK && s + 1 < steps) st = poll_step(m, &o, ask, where, &read, &sum, tmp, &stop);
            if (stop) break;
        }
        if (dist.failed || stop) break;
        if (st == LT_OK) st = read_losses(m, read, steps, e, &sum, tmp);
        double secs = lt_now() - t_epoch;
        train_secs += secs;
        samples += (steps - first) * batch < n_train ? (steps - first) * batch : n_train;
        loss = mean_loss(m, sum, n_train); /* weighted by batch size, as Keras reports it */
        m->train.kl_factor = 1.0f;
        if (n_val) {
            if ((st = lt_dist_check(m, &dist, st, NULL, e, steps - 1)) != LT_OK) break;
            st = validate(m, &dist, &b, n_train, n_val, batch, steps, y_is_x, o.noise, noise_key, tmp, &val_loss);
        }
        if (st == LT_OK) {
            lt_progress_epoch_end(&prog, e, loss, val_loss, (double)n_train / secs);
            r->epochs_done = ep;
            r->epoch_step = 0;
            r->epoch_loss = 0;
            epochs_run++;
        }
        int early_stop = 0;
        if (st == LT_OK && o.patience) { /* early stopping on val_loss, or loss without validation */
            double watched = n_val ? val_loss : loss;
            if (watched < r->best - fabs((double)o.min_delta)) {
                r->best = watched;
                r->since_best = 0;
                if (m->train.best && m->n_params) st = lt_be_copy(be, m->params, m->poff, m->train.best, 0, m->n_params);
            } else if (++r->since_best >= (uint64_t)o.patience) {
                if (prog.f) fprintf(prog.f, "Early stopping after epoch %d (no improvement for %d epochs)\n", e, o.patience);
                r->early_stopped = early_stop = 1;
            }
        } else if (st == LT_OK && n_val && val_loss < r->best) {
            r->best = val_loss;
        }
        lt_fit_point where = {e, o.epochs, steps, steps, 0};
        int ask = st == LT_OK && !early_stop ? ask_poll(&o, where) : 0;
        if ((st = lt_dist_check(m, &dist, st, &ask, e, steps - 1)) != LT_OK || early_stop) break;
        st = poll_step(m, &o, ask, where, &read, &sum, tmp, &stop);
    }
    /* A finished run with restore_best ends on its best weights; a stopped one keeps
     * the weights it stopped with, to go on from them. */
    if (st == LT_OK && !stop && o.patience && o.restore_best && m->train.best && isfinite(r->best) && m->n_params)
        st = lt_be_copy(be, m->train.best, 0, m->params, m->poff, m->n_params);
    if (st == LT_OK && !stop) {
        lt_be_buf_free(be, m->train.best);
        m->train.best = NULL;
    }
    if (st == LT_OK) st = lt_be_finish(be);
    st = lt_dist_check(m, &dist, st, NULL, LT_DIST_END, 0); /* the last word: did every process finish? */
    if (hist) {
        hist->epochs_run = epochs_run;
        hist->loss = (float)loss;
        hist->val_loss = (float)val_loss;
        hist->best_val_loss = n_val && isfinite(r->best) ? (float)r->best : NAN;
        hist->seconds = lt_now() - t_start;
        hist->samples_per_s = train_secs > 0 ? (double)samples / train_secs : 0;
        hist->stopped = stop;
    }
done:
    m->train.kl_factor = 1.0f;
    lt_dist_end(m, &dist);
    fit_bufs_free(be, &b);
    free(idx);
    free(rows);
    free(tmp);
    free(mats);
    return st;
}

lt_status lt_bench_predict(lt_model *m, int batch, double seconds, double *samples_per_s)
{
    if (!m || !samples_per_s) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_bench_predict: NULL argument") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before benchmarking", m->name);
    if (batch < 1 || batch > (1 << 20)) return lt_set_error(ctx, LT_ERR_ARG, "batch must be in 1..1048576, got %d", batch);
    if (!(seconds > 0)) seconds = 3;
    size_t B = (size_t)batch, in = (size_t)m->in_dim, od = (size_t)m->out_dim;
    if (in > SIZE_MAX / sizeof(float) / 4 / B || od > SIZE_MAX / sizeof(float) / B)
        return lt_set_error(ctx, LT_ERR_NOMEM, "batch %d of %zu inputs is too large", batch, in);
    float *x = malloc(4 * B * in * sizeof *x), *y = malloc(B * od * sizeof *y);
    lt_status st = x && y ? LT_OK : lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    for (size_t i = 0; st == LT_OK && i < 4 * B * in; i++) /* four batches of inputs in [0, 1) */
        x[i] = lt_philox_uniform(1, 0, i, 0.0f, 1.0f);
    double t0 = 0;
    size_t done = 0;
    for (size_t s = 0; st == LT_OK; s++) {
        st = lt_predict(m, x + (s % 4) * B * in, B, y);
        if (st != LT_OK || s < 2) continue; /* warm-up: kernels compiled, caches filled */
        if (s == 2) { t0 = lt_now(); continue; }
        done += B;
        if (lt_now() - t0 >= seconds) break;
    }
    if (st == LT_OK) *samples_per_s = (double)done / (lt_now() - t0);
    free(x);
    free(y);
    return st;
}

lt_status lt_bench_train(lt_model *m, int batch, double seconds, double *samples_per_s)
{
    lt_bench_stats stats;
    lt_status st = lt_bench_train_comm(m, batch, seconds, NULL, &stats);
    if (st == LT_OK && samples_per_s) *samples_per_s = stats.samples_per_s;
    return st;
}

lt_status lt_bench_train_comm(lt_model *m, int batch, double seconds, const lt_comm *comm, lt_bench_stats *stats)
{
    if (!m || !stats) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_bench_train: NULL argument") : LT_ERR_ARG;
    memset(stats, 0, sizeof *stats);
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    lt_status st = LT_OK;
    if (!m->built || !m->train.compiled) st = lt_set_error(ctx, LT_ERR_ARG, "%s: build and compile the model before benchmarking", m->name);
    else if (batch < 1 || batch > (1 << 20)) st = lt_set_error(ctx, LT_ERR_ARG, "batch must be in 1..1048576, got %d", batch);
    if (!(seconds > 0)) seconds = 3;
    /* Synthetic data in [0,1): a pool of 8 batches gathered by a fixed random order, the
     * same on every process, so each step does exactly what a fit step does (gather,
     * forward, loss, backward, the sum over processes, update) and the loss is read back
     * at fit's cadence. */
    size_t B = (size_t)batch, pool = 8 * B, in = (size_t)m->in_dim, od = (size_t)m->out_dim;
    int y_is_x = in == od && m->train.loss == LT_LOSS_MSE;
    fit_bufs b = {0};
    lt_dist dist = {0};
    uint32_t *idx = st == LT_OK ? malloc(pool * sizeof *idx) : NULL;
    size_t slots = 64;
    float tmp[64];
    if (st == LT_OK && !idx) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    if (st == LT_OK) st = lt_workspace_reserve(m, B, slots);
    if (st == LT_OK) st = lt_alloc_named(ctx, pool * in, "the synthetic inputs", &b.x);
    if (st == LT_OK) st = lt_be_random_uniform(be, b.x, 0, pool * in, 0.0f, 1.0f, 1, 0, 0);
    if (st == LT_OK && !y_is_x) st = lt_alloc_named(ctx, pool * od, "the synthetic targets", &b.y);
    if (st == LT_OK && !y_is_x) st = lt_be_random_uniform(be, b.y, 0, pool * od, 0.0f, 1.0f, 2, 0, 0);
    if (st == LT_OK) st = lt_alloc_named(ctx, pool, "the sample order", &b.idx);
    if (st == LT_OK) {
        shuffle(idx, pool, 3, 0);
        st = lt_be_upload(be, b.idx, 0, idx, pool);
    }
    st = lt_dist_begin(m, &dist, comm, st, NULL, NULL);
    lt_workspace *w = &m->ws;
    double t0 = 0, t_read = 0, sum = 0, waited = 0;
    size_t done = 0, read = 0;
    for (size_t s = 0; st == LT_OK || (dist.comm && !dist.failed); s++) {
        size_t slot = s % slots, row0, mine;
        if (slot == 0 && s && st == LT_OK) { st = read_losses(m, read, slots, 1, &sum, tmp); read = 0; }
        lt_dist_share(&dist, B, &row0, &mine);
        if (st == LT_OK && mine) st = lt_be_gather_rows(be, mine, in, b.x, 0, b.idx, (s % 8) * B + row0, w->acts, 0);
        if (st == LT_OK && mine && !y_is_x)
            st = lt_be_gather_rows(be, mine, od, b.y, 0, b.idx, (s % 8) * B + row0, w->target, 0);
        m->train.row0 = row0;
        m->train.norm_rows = B;
        if (st == LT_OK && mine) st = lt_compute_grads(m, mine, y_is_x ? w->acts : w->target, 0, slot, 7);
        m->train.row0 = m->train.norm_rows = 0;
        int ask = s > 2 && lt_now() - t0 >= seconds ? LT_FIT_STOP : 0; /* any process's clock ends it */
        double tc = lt_now();
        st = lt_dist_reduce(m, &dist, st, mine > 0, slot);
        if ((st = lt_dist_check(m, &dist, st, &ask, 1, s)) != LT_OK) break;
        st = lt_dist_apply(m, &dist, slot);
        /* what the step waited for once its gradients were computed: the sums' ends
         * (those started during backward ran beside it), the check and the uploads */
        if (s > 2) waited += lt_now() - tc;
        if (st == LT_OK) st = lt_optimizer_step(m);
        if (s == 2) { /* warm-up done (kernels compiled, caches filled): start the clock */
            if (st == LT_OK) st = read_losses(m, read, slot + 1, 1, &sum, tmp);
            read = slot + 1;
            t0 = t_read = lt_now();
            continue;
        }
        if (s < 2) continue;
        done += B;
        double now = lt_now();
        if (st == LT_OK && now - t_read >= 0.1) {
            st = read_losses(m, read, slot + 1, 1, &sum, tmp);
            read = slot + 1;
            t_read = now;
        }
        if (ask & LT_FIT_STOP) break;
    }
    if (st == LT_OK) st = lt_be_finish(be);
    st = lt_dist_check(m, &dist, st, NULL, LT_DIST_END, 0);
    if (st == LT_OK) {
        double secs = lt_now() - t0, steps = (double)done / (double)B;
        stats->samples_per_s = (double)done / secs;
        stats->step_ms = steps > 0 ? 1e3 * secs / steps : 0;
        stats->comm_share = dist.comm && secs > 0 ? waited / secs : 0;
        stats->bytes_per_step = dist.comm ? lt_dist_bytes_per_step(m, &dist) : 0;
    }
    lt_dist_end(m, &dist);
    fit_bufs_free(be, &b);
    free(idx);
    return st;
}
