/* Resumed training: a run stopped midway (or between epochs, or after it finished),
 * saved with lt_save and resumed from the file ends on exactly the weights of the run
 * left alone, with dropout, input noise, a validation split, early stopping that
 * restores its best weights, and image augmentation all drawing random numbers; a
 * checkpoint taken without stopping changes nothing; lt_model_progress says where a
 * run stands; resuming on other data or with other options is refused, naming what
 * differs. Runs on LATENT_DEVICE's backend. */
#include "model.h"
#include "harness.h"

static lt_ctx *ctx;
static fixture fix;

/* A training case: an architecture for an input shape, its data, and fit options. */
typedef struct train_case {
    const char *name;
    const char *arch;
    int rank, dims[3];
    lt_dataset *x;
    lt_fit_opts fo;
} train_case;

/* What the poll below does: stop (and checkpoint) at one point of the run, and/or
 * checkpoint at another without stopping; counts its calls. */
typedef struct stopper {
    int stop_epoch;        /* the run's epoch (1-based) to stop in; 0: never        */
    size_t stop_step;      /* after this many of its steps (steps: at its end)      */
    int mark_epoch;        /* checkpoint without stopping here; 0: never            */
    size_t mark_step;
    const char *path;      /* where checkpoints go                                  */
    int checkpoints;       /* checkpoints written                                   */
    lt_fit_point last;     /* where the last checkpoint was asked for               */
} stopper;

static int poll_stop(void *user, const lt_fit_point *w)
{
    stopper *s = user;
    int ask = 0;
    if (w->epoch == s->mark_epoch && w->step == s->mark_step) ask |= LT_FIT_CHECKPOINT;
    if (w->epoch == s->stop_epoch && w->step == s->stop_step) ask |= LT_FIT_CHECKPOINT | LT_FIT_STOP;
    if (ask) s->last = *w;
    return ask;
}

static lt_status save_checkpoint(lt_model *m, void *user)
{
    stopper *s = user;
    s->checkpoints++;
    return lt_save(m, s->path, 1);
}

/* A fresh model of the case, compiled for MSE with Adam. */
static lt_model *fresh(const train_case *c)
{
    lt_model *m = NULL;
    lt_status st = lt_arch_build_shape(ctx, c->arch, c->rank, c->dims, 5, &m);
    if (!CHECK(st == LT_OK, "%s: build: %s", c->name, lt_ctx_error(ctx))) return NULL;
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    CHECK(lt_compile(m, LT_LOSS_MSE, &o) == LT_OK, "%s: compile: %s", c->name, lt_ctx_error(ctx));
    return m;
}

/* The model's predictions for the case's data (malloc'd). */
static float *outputs(lt_model *m, const train_case *c)
{
    size_t n = lt_dataset_count(c->x);
    float *y = malloc(n * (size_t)lt_output_dim(m) * sizeof *y);
    if (y && lt_predict(m, lt_dataset_data(c->x), n, y) != LT_OK) {
        free(y);
        return NULL;
    }
    return y;
}

/* Whether two models' predictions are equal bit for bit; says the largest difference. */
static int same_outputs(const train_case *c, const float *a, const float *b, size_t count, const char *what)
{
    double worst = 0;
    for (size_t i = 0; a && b && i < count; i++) worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
    return CHECK(a && b && memcmp(a, b, count * sizeof *a) == 0, "%s: %s: bit for bit the uninterrupted run's weights "
                 "(largest output difference %.3g)", c->name, what, worst);
}

/* Runs the case uninterrupted, then stopped at s's point, saved, loaded and resumed to
 * the same epochs in all, and checks the two end equal. epochs_first > 0: instead of a
 * stop, a first run of that many epochs, saved, then resumed (extended) to the case's. */
static void stop_and_resume(const train_case *c, stopper s, int epochs_first, const char *what)
{
    char path[600];
    s.path = fx(&fix, path, sizeof path, "checkpoint.lt");
    remove(path);
    size_t count = lt_dataset_count(c->x);
    lt_model *ref = fresh(c), *m = fresh(c), *back = NULL;
    if (!ref || !m) goto out;
    lt_history h;
    lt_status st = lt_fit(ref, c->x, NULL, &c->fo, &h);
    CHECK(st == LT_OK, "%s: the uninterrupted run: %s", c->name, lt_ctx_error(ctx));
    int out_dim = lt_output_dim(ref);
    float *want = outputs(ref, c);

    lt_fit_opts fo = c->fo;
    fo.poll = poll_stop;
    fo.checkpoint = save_checkpoint;
    fo.user = &s;
    if (epochs_first) {
        fo.epochs = epochs_first;
        st = lt_fit(m, c->x, NULL, &fo, &h);
        if (st == LT_OK) st = lt_save(m, path, 1);
    } else {
        st = lt_fit(m, c->x, NULL, &fo, &h);
        CHECK(st == LT_OK && h.stopped == (s.stop_epoch > 0), "%s, %s: fit %s, stopped %d", c->name, what,
              lt_ctx_error(ctx), h.stopped);
        CHECK(s.checkpoints == (s.stop_epoch > 0) + (s.mark_epoch > 0), "%s, %s: %d checkpoints written", c->name, what,
              s.checkpoints);
    }
    if (st == LT_OK && s.mark_epoch && !s.stop_epoch) { /* a checkpoint alone changes nothing */
        float *got = outputs(m, c);
        same_outputs(c, want, got, count * (size_t)out_dim, "a run that wrote a checkpoint midway");
        free(got);
    }
    st = lt_load(ctx, path, &back);
    CHECK(st == LT_OK, "%s, %s: load the checkpoint: %s", c->name, what, lt_ctx_error(ctx));
    if (st == LT_OK) {
        lt_fit_point p;
        CHECK(lt_model_progress(back, &p) == LT_OK && p.epochs == (epochs_first ? epochs_first : c->fo.epochs),
              "%s, %s: progress of the checkpoint: %s", c->name, what, lt_ctx_error(ctx));
        if (!epochs_first) {
            int done = s.last.step == s.last.steps ? s.last.epoch : s.last.epoch - 1;
            size_t step = s.last.step == s.last.steps ? 0 : s.last.step;
            CHECK(p.epoch == done && p.step == step && p.steps == s.last.steps,
                  "%s, %s: progress says epoch %d, step %zu of %zu (expected %d, %zu)", c->name, what, p.epoch, p.step,
                  p.steps, done, step);
        }
        lt_fit_opts ro = c->fo;
        ro.resume = 1;
        st = lt_fit(back, c->x, NULL, &ro, &h);
        CHECK(st == LT_OK && !h.stopped, "%s, %s: resume: %s", c->name, what, lt_ctx_error(ctx));
        float *got = outputs(back, c);
        same_outputs(c, want, got, count * (size_t)out_dim, what);
        /* nothing left: a second resume trains no epoch and leaves the weights alone */
        st = lt_fit(back, c->x, NULL, &ro, &h);
        float *again = outputs(back, c);
        CHECK(st == LT_OK && h.epochs_run == 0, "%s, %s: resuming a finished run trains nothing (%d epochs, %s)", c->name,
              what, h.epochs_run, lt_ctx_error(ctx));
        if (again && got) CHECK(memcmp(again, got, count * (size_t)out_dim * sizeof *got) == 0, "%s: unchanged", c->name);
        free(got);
        free(again);
    }
    free(want);
out:
    lt_model_free(ref);
    lt_model_free(m);
    lt_model_free(back);
}

/* Every way of stopping, on a dense autoencoder with dropout and noise that validates
 * and stops early, and on a convolutional one trained with augmentation. */
static void test_exact_resume(void)
{
    train_case dense = {"dense", "dense:16:elu,dropout:0.2,dense:2|dense:16:elu,dense:3", 1, {3, 0, 0}, roll_data(ctx, 600),
                        {.epochs = 5, .batch = 32, .seed = 9, .validation_split = 0.2f, .noise = 0.05f, .patience = 2,
                         .restore_best = 1, .verbose = -1}};
    /* steps per epoch: 480 / 32 = 15 */
    stop_and_resume(&dense, (stopper){.stop_epoch = 3, .stop_step = 7}, 0, "stopped midway through epoch 3");
    stop_and_resume(&dense, (stopper){.stop_epoch = 1, .stop_step = 1}, 0, "stopped after the first step");
    stop_and_resume(&dense, (stopper){.stop_epoch = 2, .stop_step = 15}, 0, "stopped at the end of epoch 2");
    stop_and_resume(&dense, (stopper){.stop_epoch = 4, .stop_step = 14}, 0, "stopped before the last step of epoch 4");
    stop_and_resume(&dense, (stopper){.mark_epoch = 2, .mark_step = 5}, 0, "resumed from a checkpoint the run went past");
    train_case go_on = dense;
    go_on.name = "dense, no restore";
    go_on.fo.restore_best = 0; /* a finished run that restored its best weights would end elsewhere */
    stop_and_resume(&go_on, (stopper){0}, 2, "2 epochs, saved, extended to 5");

    lt_augment aug = {.rotation_range = 20.0f, .zoom_range = 0.1f, .width_shift_range = 0.1f, .horizontal_flip = 1};
    train_case conv = {"conv, augmented", "conv:4:3x3:relu:same,maxpool:2x2|upsample:2x2,conv:1:3x3:sigmoid:same", 3,
                       {8, 8, 1}, square_images(ctx, 96), {.epochs = 3, .batch = 16, .seed = 4, .augment = &aug, .verbose = -1}};
    stop_and_resume(&conv, (stopper){.stop_epoch = 2, .stop_step = 3}, 0, "stopped midway through epoch 2");
    lt_dataset_free(dense.x);
    lt_dataset_free(conv.x);
}

/* A resume on other data, with other options, or of a model with no run is refused. */
static void test_refused_resumes(void)
{
    char path[600];
    fx(&fix, path, sizeof path, "refused.lt");
    train_case c = {"refused", "dense:8:elu,dense:2|dense:8:elu,dense:3", 1, {3, 0, 0}, roll_data(ctx, 200),
                    {.epochs = 3, .batch = 32, .seed = 2, .verbose = -1}};
    stopper s = {.stop_epoch = 2, .stop_step = 3, .path = path};
    lt_model *m = fresh(&c), *back = NULL;
    if (!m || !c.x) goto out;
    lt_fit_opts fo = c.fo;
    fo.poll = poll_stop;
    fo.checkpoint = save_checkpoint;
    fo.user = &s;
    lt_history h;
    CHECK(lt_fit(m, c.x, NULL, &fo, &h) == LT_OK && h.stopped, "stopped: %s", lt_ctx_error(ctx));
    if (!CHECK(lt_load(ctx, path, &back) == LT_OK, "load: %s", lt_ctx_error(ctx))) goto out;
    lt_fit_opts ro = c.fo;
    ro.resume = 1;
    ro.batch = 16;
    EXPECT(ctx, lt_fit(back, c.x, NULL, &ro, &h), LT_ERR_ARG, "batch", "resume refused: ""batch");
    ro = c.fo;
    ro.resume = 1;
    ro.seed = 3;
    EXPECT(ctx, lt_fit(back, c.x, NULL, &ro, &h), LT_ERR_ARG, "seed", "resume refused: ""seed");
    ro.seed = c.fo.seed;
    ro.noise = 0.1f;
    EXPECT(ctx, lt_fit(back, c.x, NULL, &ro, &h), LT_ERR_ARG, "noise", "resume refused: ""noise");
    ro.noise = 0;
    lt_dataset *other = roll_data(ctx, 200), *fewer = roll_data(ctx, 150);
    if (other) ((float *)lt_dataset_data(other))[17] += 0.5f; /* the same shape, one value changed */
    EXPECT(ctx, lt_fit(back, other, NULL, &ro, &h), LT_ERR_ARG, "other values", "resume refused: ""other values");
    EXPECT(ctx, lt_fit(back, fewer, NULL, &ro, &h), LT_ERR_ARG, "200 samples", "resume refused: ""200 samples");
    lt_dataset_free(other);
    lt_dataset_free(fewer);
    /* after the refusals the run still resumes */
    CHECK(lt_fit(back, c.x, NULL, &ro, &h) == LT_OK && h.epochs_run == 2, "the resume after refusals: %d epochs, %s",
          h.epochs_run, lt_ctx_error(ctx));
    lt_model_free(back);
    back = fresh(&c); /* never trained */
    EXPECT(ctx, lt_fit(back, c.x, NULL, &ro, &h), LT_ERR_ARG, "no training run", "resume refused: ""no training run");
    lt_fit_point p;
    EXPECT(ctx, lt_model_progress(back, &p), LT_ERR_ARG, "no training run", "resume refused: ""no training run");
    /* saved without the optimizer state: no run to resume */
    lt_model_free(back);
    back = NULL;
    CHECK(lt_save(m, path, 0) == LT_OK && lt_load(ctx, path, &back) == LT_OK, "weights only: %s", lt_ctx_error(ctx));
    if (back) EXPECT(ctx, lt_fit(back, c.x, NULL, &ro, &h), LT_ERR_ARG, "saved without its optimizer state", "resume refused: ""saved without its optimizer state");
out:
    lt_model_free(m);
    lt_model_free(back);
    lt_dataset_free(c.x);
}

int main(void)
{
    if (!(ctx = harness_ctx(NULL))) return DONE();
    if (fixture_open(&fix, "resume")) {
        test_exact_resume();
        test_refused_resumes();
        fixture_close(&fix);
    }
    lt_ctx_close(ctx);
    return DONE();
}
