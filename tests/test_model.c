/* Models: Keras parameter counts and summaries, nesting, finite-difference gradient
 * checks of every layer and loss, and seeded initialisation equal across backends.
 * Runs on the backend named by LATENT_DEVICE. */
#include "model.h"
#include "harness.h"

static lt_ctx *ctx;

/* Summary text of a model, in a static buffer. */
static const char *summary_text(lt_model *m)
{
    static char buf[8192];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    lt_summary(m, f);
    fclose(f);
    return buf;
}

/* The lecture's three autoencoders have Keras's parameter counts. */
static void test_param_counts(void)
{
    struct { const char *arch; int in; size_t total, enc, dec; const char *text; } cases[] = {
        {"swissroll-ae", 3, 17, 8, 9, "Total params: 17\n"},
        {"swissroll-deep-ae", 3, 41, 20, 21, "Total params: 41\n"},
        {"mlp-ae", 784, 117840, 58560, 59280, "Total params: 117,840\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_model *m = NULL;
        lt_status st = lt_arch_build(ctx, cases[i].arch, cases[i].in, 1, &m);
        CHECK(st == LT_OK, "%s builds: %s", cases[i].arch, lt_ctx_error(ctx));
        if (st != LT_OK) continue;
        CHECK(lt_param_count(m) == cases[i].total, "%s: %zu params", cases[i].arch, lt_param_count(m));
        CHECK(lt_submodel_count(m) == 2, "%s has encoder and decoder", cases[i].arch);
        CHECK(lt_param_count(lt_submodel(m, 0)) == cases[i].enc, "%s encoder params %zu", cases[i].arch, lt_param_count(lt_submodel(m, 0)));
        CHECK(lt_param_count(lt_submodel(m, 1)) == cases[i].dec, "%s decoder params", cases[i].arch);
        const char *s = summary_text(m);
        CHECK(strstr(s, cases[i].text) != NULL, "%s summary total:\n%s", cases[i].arch, s);
        CHECK(strstr(s, "(Sequential)") != NULL, "%s summary lists nested models", cases[i].arch);
        lt_model_free(m);
    }
    /* A fresh context names models as Keras does: enc, dec, then the autoencoder. */
    lt_ctx *c2;
    char err[256];
    if (lt_ctx_open(&c2, "cpu", err, sizeof err) == LT_OK) {
        lt_model *m;
        if (lt_arch_build(c2, "swissroll-ae", 3, 1, &m) == LT_OK) {
            const char *s = summary_text(m);
            CHECK(strstr(s, "Model: \"sequential_2\"") && strstr(s, " sequential (Sequential)     (None, 2)                 8 ") &&
                  strstr(s, " sequential_1 (Sequential)   (None, 3)                 9 "), "Keras-style summary:\n%s", s);
            lt_model_free(m);
        }
        lt_ctx_close(c2);
    }
}

/* Encoder then decoder gives what the whole autoencoder gives. */
static void test_nesting(void)
{
    lt_model *m = NULL;
    CHECK(lt_arch_build(ctx, "dense:16:elu,dense:4:tanh|dense:16:relu,dense:in:sigmoid", 10, 3, &m) == LT_OK, "spec builds: %s", lt_ctx_error(ctx));
    if (!m) return;
    float x[5 * 10], code[5 * 4], y1[5 * 10], y2[5 * 10];
    for (int i = 0; i < 50; i++) x[i] = lt_philox_uniform(9, 0, (uint64_t)i, 0, 1);
    CHECK(lt_predict(m, x, 5, y1) == LT_OK, "predict ae");
    CHECK(lt_predict(lt_submodel(m, 0), x, 5, code) == LT_OK, "predict encoder: %s", lt_ctx_error(ctx));
    CHECK(lt_predict(lt_submodel(m, 1), code, 5, y2) == LT_OK, "predict decoder");
    float maxd = 0;
    for (int i = 0; i < 50; i++) maxd = fmaxf(maxd, fabsf(y1[i] - y2[i]));
    CHECK(maxd < 1e-6f, "enc+dec == ae (max diff %g)", (double)maxd);
    CHECK(lt_build(lt_submodel(m, 0), 10, 1) == LT_ERR_ARG, "building a nested model is refused");
    float bad[10] = {0};
    bad[3] = NAN;
    CHECK(lt_predict(m, bad, 1, y1) == LT_ERR_NONFINITE, "NaN input refused");
    lt_model_free(m);
}

/* Builds a small model from layers and checks its gradients. */
static void check_stack(const char *what, lt_loss loss, int in, lt_layer *l1, lt_layer *l2, lt_layer *l3)
{
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, l1);
    lt_add(m, l2);
    if (l3) lt_add(m, l3);
    if (lt_build(m, in, 5) != LT_OK) { CHECK(0, "%s: build: %s", what, lt_ctx_error(ctx)); lt_model_free(m); return; }
    grad_check(what, m, loss);
    lt_model_free(m);
}

/* Gradients of dense and activation layers with every activation and loss, dropout,
 * noise and a leaky alpha against finite differences. */
static void test_gradients(void)
{
    const lt_act acts[] = {LT_LINEAR, LT_RELU, LT_LEAKY_RELU, LT_ELU, LT_SIGMOID, LT_TANH};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "dense %s + mse", lt_act_name(acts[i]));
        check_stack(what, LT_LOSS_MSE, 5, lt_dense(6, acts[i]), lt_dense(3, LT_LINEAR), NULL);
        snprintf(what, sizeof what, "activation layer %s", lt_act_name(acts[i]));
        check_stack(what, LT_LOSS_MSE, 5, lt_dense(6, LT_LINEAR), lt_activation(acts[i]), lt_dense(3, LT_TANH));
    }
    check_stack("softmax + cce", LT_LOSS_CCE, 5, lt_dense(6, LT_TANH), lt_dense(4, LT_SOFTMAX), NULL);
    check_stack("sigmoid + bce", LT_LOSS_BCE, 5, lt_dense(6, LT_ELU), lt_dense(4, LT_SIGMOID), NULL);
    check_stack("bce from logits", LT_LOSS_BCE_LOGITS, 5, lt_dense(6, LT_ELU), lt_dense(4, LT_LINEAR), NULL);
    check_stack("dropout", LT_LOSS_MSE, 5, lt_dense(8, LT_TANH), lt_dropout(0.5f), lt_dense(3, LT_LINEAR));
    check_stack("gaussian noise", LT_LOSS_MSE, 5, lt_dense(8, LT_TANH), lt_gaussian_noise(0.3f), lt_dense(3, LT_LINEAR));
    lt_layer *leaky = lt_dense(6, LT_LEAKY_RELU);
    lt_layer_set_alpha(leaky, 0.1f);
    check_stack("leaky alpha 0.1", LT_LOSS_MSE, 5, leaky, lt_dense(3, LT_LINEAR), NULL);
}

/* The seeded Glorot initialisation gives the same bits on this backend as on the CPU. */
static void test_init_matches_cpu(void)
{
    lt_ctx *cpu;
    char err[256];
    if (lt_ctx_open(&cpu, "cpu", err, sizeof err) != LT_OK) { CHECK(0, "cpu ctx: %s", err); return; }
    lt_model *a = NULL, *b = NULL;
    lt_arch_build(ctx, "mlp-ae", 784, 1234, &a);
    lt_arch_build(cpu, "mlp-ae", 784, 1234, &b);
    if (a && b) {
        size_t n = a->n_params;
        float *pa = malloc(n * 4), *pb = malloc(n * 4);
        lt_be_download(ctx->be, a->params, 0, pa, n);
        lt_be_download(cpu->be, b->params, 0, pb, n);
        CHECK(memcmp(pa, pb, n * 4) == 0, "initial weights on %s equal the CPU's bit for bit", lt_ctx_backend(ctx));
        float lim = sqrtf(6.0f / (784 + 64)), mx = 0;
        for (size_t i = 0; i < 784 * 64; i++) mx = fmaxf(mx, fabsf(pa[i]));
        CHECK(mx <= lim && mx > 0.95f * lim, "Glorot-uniform range: max %g, limit %g", (double)mx, (double)lim);
        CHECK(pa[784 * 64] == 0.0f && pa[784 * 64 + 63] == 0.0f, "zero biases");
        free(pa); free(pb);
    } else {
        CHECK(0, "mlp-ae builds on both: %s", lt_ctx_error(ctx));
    }
    lt_model_free(a);
    lt_model_free(b);
    lt_model *c = NULL;
    lt_arch_build(ctx, "mlp-ae", 784, 1235, &c);
    if (c) {
        float x1, x2;
        lt_be_download(ctx->be, c->params, 0, &x1, 1);
        lt_arch_build(ctx, "mlp-ae", 784, 1234, &a);
        lt_be_download(ctx->be, a->params, 0, &x2, 1);
        CHECK(x1 != x2, "another seed gives other weights");
        lt_model_free(a);
        lt_model_free(c);
    }
    lt_ctx_close(cpu);
}

/* A value and where it was, for ranking. */
typedef struct { float v; size_t i; } ranked;

static int by_value(const void *a, const void *b)
{
    float x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

/* One view of a parameter tensor: its values scaled to at most 1 in magnitude (for the
 * equality check) and their ranks (for rank correlation). */
typedef struct { float *unit; double *rank; } tensor_view;

/* One random parameter tensor of a built model in four views: its values in storage
 * order, transposed (a 2-D kernel read the other way), and the two magnitudes. */
typedef struct { char name[80]; tensor_view v[4]; size_t n; } init_tensor;

/* Fills a view from n values. */
static int make_view(tensor_view *tv, const float *x, size_t n)
{
    ranked *r = malloc(n * sizeof *r);
    tv->unit = malloc(n * sizeof(float));
    tv->rank = malloc(n * sizeof(double));
    if (!r || !tv->unit || !tv->rank) { free(r); return -1; }
    float mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(x[i]));
    for (size_t i = 0; i < n; i++) { tv->unit[i] = x[i] / mx; r[i].v = x[i]; r[i].i = i; }
    qsort(r, n, sizeof *r, by_value);
    for (size_t i = 0; i < n; i++) tv->rank[r[i].i] = (double)i;
    free(r);
    return 0;
}

/* Pearson correlation of x and y (n values each). */
static double correlation(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= (double)n; my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b; sxx += a * a; syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

/* Collects m's random tensors (not biases, which start at one or two constants). */
static int collect_tensors(lt_ctx *c, lt_model *m, init_tensor *t, int max)
{
    size_t n = m->n_params;
    float *p = malloc(n * sizeof *p), *tmp = malloc(n * sizeof *tmp);
    if (!p || !tmp || lt_be_download(c->be, m->params, 0, p, n) != LT_OK) { free(p); free(tmp); return 0; }
    int k = 0;
    for (int i = 0; i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        size_t off = l->slot.off;
        for (int j = 0; j < l->n_tensors; off += l->tensor_size[j], j++) {
            size_t sz = l->tensor_size[j], other = 0; /* values beyond the first two distinct ones */
            float v1 = p[off], v2 = v1;
            for (size_t e = 0; e < sz; e++) {
                if (v2 == v1 && p[off + e] != v1) v2 = p[off + e];
                other += p[off + e] != v1 && p[off + e] != v2;
            }
            if (other == 0 || k == max) continue;
            init_tensor *x = &t[k++];
            snprintf(x->name, sizeof x->name, "%.60s tensor %d", l->name, j);
            x->n = sz;
            size_t cols = (size_t)l->out_shape.d[l->out_shape.rank - 1], rows;
            if (sz % cols) cols = 1;
            rows = sz / cols;
            const float *w = p + off;
            make_view(&x->v[0], w, sz);
            for (size_t e = 0; e < sz; e++) tmp[e] = w[(e % rows) * cols + e / rows];
            make_view(&x->v[1], tmp, sz);
            for (size_t e = 0; e < sz; e++) tmp[e] = fabsf(w[e]);
            make_view(&x->v[2], tmp, sz);
            for (size_t e = 0; e < sz; e++) tmp[e] = fabsf(w[(e % rows) * cols + e / rows]);
            make_view(&x->v[3], tmp, sz);
        }
    }
    free(p);
    free(tmp);
    return k;
}

/* Every pair of initial tensors (and every tensor with itself shifted) is independent:
 * no stretch of one equals a shifted stretch of another up to scale, and no correlation
 * of ranks between them, their transposes or their magnitudes, at shifts 0-32, exceeds
 * 6 standard errors. Keras draws every tensor from its own stream; overlapping streams
 * fail here (a Bidirectional's directions shifted by 8 values; an RNN's recurrent
 * kernel from its input kernel's random words, about -0.33 rank correlation). */
static void check_independent(const char *arch, int rank, const int *dims)
{
    lt_model *m = NULL;
    if (lt_arch_build_shape(ctx, arch, rank, dims, 77, &m) != LT_OK) { CHECK(0, "%s: %s", arch, lt_ctx_error(ctx)); return; }
    init_tensor t[48];
    int k = collect_tensors(ctx, m, t, 48), bad_eq = 0, bad_corr = 0;
    double worst = 0;
    char worst_what[512] = "", eq_what[512] = "";
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            for (int va = 0; va < 4; va++)
                for (int vb = 0; vb < 4; vb++)
                    for (size_t s = a == b ? 1 : 0; s <= 32 && (a != b || va % 2 == vb % 2); s++) {
                        if (s >= t[a].n) break;
                        size_t n = t[a].n - s < t[b].n ? t[a].n - s : t[b].n;
                        if (n < 24) break;
                        const float *x = t[a].v[va].unit + s, *y = t[b].v[vb].unit;
                        size_t same = 0;
                        for (size_t i = 0; i < n; i++) same += fabsf(x[i] - y[i]) < 1e-6f;
                        if (same > 2 + n / 1000 && !bad_eq++)
                            snprintf(eq_what, sizeof eq_what, "%.80s (view %d) shifted %zu against %.80s (view %d): %zu of %zu",
                                     t[a].name, va, s, t[b].name, vb, same, n);
                        double r = correlation(t[a].v[va].rank + s, t[b].v[vb].rank, n), z = fabs(r) * sqrt((double)n - 1);
                        if (z > 6) bad_corr++;
                        if (z > worst) {
                            worst = z;
                            snprintf(worst_what, sizeof worst_what, "%.80s (view %d) shifted %zu against %.80s (view %d): rho %.3f",
                                     t[a].name, va, s, t[b].name, vb, r);
                        }
                    }
    CHECK(k >= 2, "%s: %d random tensors", arch, k);
    CHECK(bad_eq == 0, "%s: no equal stretches among %d tensors (%d; first: %s)", arch, k, bad_eq, eq_what);
    CHECK(bad_corr == 0, "%s: no rank correlation over 6 sigma (%d; largest %.1f sigma: %s)", arch, bad_corr, worst, worst_what);
    for (int i = 0; i < k; i++)
        for (int v = 0; v < 4; v++) { free(t[i].v[v].unit); free(t[i].v[v].rank); }
    lt_model_free(m);
}

/* Initial weights of every layer type with weights, in one sequence and one image model. */
static void test_init_independent(void)
{
    check_independent("rnn:64:seq,lstm:32:seq,gru:32", 2, (int[]){12, 40});
    check_independent("rnn:64:seq,lstm:32:seq,gru:32:seq,birnn:24:seq,bilstm:16:seq,bigru:16:seq,td:40,rnn:24", 2,
                      (int[]){12, 40});
    check_independent("conv:16:3x3,conv:16:3x3:s2,deconv:8:3x3,flatten,dense:64,dense:32", 3, (int[]){16, 16, 3});
}

/* Keras's layer names: Add is "add", a wrapper uses up its inner type's number
 * (Keras prints simple_rnn_1 for the SimpleRNN after a Bidirectional SimpleRNN, dense_1
 * for the Dense after a TimeDistributed Dense), LeakyReLU is "leaky_re_lu". */
static void test_keras_names(void)
{
    lt_ctx *c;
    char err[256];
    if (lt_ctx_open(&c, "cpu", err, sizeof err) != LT_OK) { CHECK(0, "cpu ctx: %s", err); return; }
    lt_model *m = NULL;
    CHECK(lt_arch_build_shape(c, "birnn:4:seq,rnn:3:seq,td:5,bilstm:2:seq,lstm:2,dense:2", 2, (int[]){6, 3}, 1, &m) == LT_OK,
          "sequence model builds: %s", lt_ctx_error(c));
    const char *want[] = {"bidirectional", "simple_rnn_1", "time_distributed", "bidirectional_1", "lstm_1", "dense_1"};
    for (int i = 0; m && i < 6 && i < m->n_flat; i++)
        CHECK(strcmp(m->flat[i]->name, want[i]) == 0, "layer %d is named %s (want %s)", i, m->flat[i]->name, want[i]);
    lt_model_free(m);
    m = NULL;
    CHECK(lt_arch_build_shape(c, "conv:2:3x3:same,addinput,leakyrelu,act:leaky_relu,addinput", 3, (int[]){5, 5, 2}, 1, &m) == LT_OK,
          "image model builds: %s", lt_ctx_error(c));
    const char *want2[] = {"conv2d", "add", "leaky_re_lu", "activation", "add_1"};
    for (int i = 0; m && i < 5 && i < m->n_flat; i++)
        CHECK(strcmp(m->flat[i]->name, want2[i]) == 0, "layer %d is named %s (want %s)", i, m->flat[i]->name, want2[i]);
    if (m) {
        const char *sum = summary_text(m);
        CHECK(strstr(sum, "leaky_re_lu (LeakyReLU)") && strstr(sum, "add_1 (Add)"), "summary names the classes:\n%s", sum);
    }
    lt_model_free(m);
    lt_ctx_close(c);
}

/* Keras's two leaky slopes: the activation function 'leaky_relu' has 0.2, the LeakyReLU
 * layer 0.3; both as forward values on this backend. */
static void test_leaky_slopes(void)
{
    const char *spec[] = {"dense:4:leaky_relu", "act:leaky_relu", "act:linear,leakyrelu", "leakyrelu:0.05"};
    const float slope[] = {0.2f, 0.2f, 0.3f, 0.05f};
    for (int k = 0; k < 4; k++) {
        lt_model *m = NULL;
        if (lt_arch_build(ctx, spec[k], 4, 3, &m) != LT_OK) { CHECK(0, "%s: %s", spec[k], lt_ctx_error(ctx)); continue; }
        float x[4] = {-1.0f, 2.0f, -0.5f, 0.25f}, y[4] = {0}, z[4] = {0};
        if (k == 0) { /* identity weights: y = leaky(x) */
            float w[20] = {0};
            for (int i = 0; i < 4; i++) w[i * 4 + i] = 1;
            lt_be_upload(ctx->be, m->params, 0, w, 20);
        }
        CHECK(lt_predict(m, x, 1, y) == LT_OK, "%s predicts: %s", spec[k], lt_ctx_error(ctx));
        for (int i = 0; i < 4; i++) z[i] = x[i] > 0 ? x[i] : slope[k] * x[i];
        CHECK(memcmp(y, z, sizeof y) == 0, "%s: negative slope %g (got %g %g %g %g)", spec[k], (double)slope[k],
              (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
        lt_model_free(m);
    }
    lt_model *m = NULL;
    CHECK(lt_arch_build(ctx, "leakyrelu:-1", 4, 3, &m) != LT_OK && strstr(lt_ctx_error(ctx), "leakyrelu"),
          "a negative slope is refused: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    check_stack("leaky_re_lu layer", LT_LOSS_MSE, 5, lt_dense(6, LT_LINEAR), lt_leaky_relu(0.3f), lt_dense(3, LT_LINEAR));
}


/* Bad specs and settings are errors with messages, never crashes. */
static void test_bad_input(void)
{
    lt_model *m = NULL;
    CHECK(lt_arch_build(ctx, "no-such-arch", 3, 1, &m) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "no-such-arch"), "unknown arch named: %s", lt_ctx_error(ctx));
    CHECK(lt_arch_build(ctx, "dense:x:elu", 3, 1, &m) == LT_ERR_ARG, "bad width");
    CHECK(lt_arch_build(ctx, "dense:4:wobbly", 3, 1, &m) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "wobbly"), "bad activation named");
    CHECK(lt_arch_build(ctx, "dense:4|dense:3|dense:2", 3, 1, &m) == LT_ERR_ARG, "two bars");
    CHECK(lt_arch_build(ctx, "dropout:1.5", 3, 1, &m) == LT_ERR_ARG, "dropout rate out of range");
    CHECK(lt_dense(0, LT_RELU) == NULL && lt_dropout(1.0f) == NULL && lt_gaussian_noise(-1) == NULL, "bad layer settings give NULL");
    lt_sequential(ctx, NULL, &m);
    CHECK(lt_add(m, NULL) == LT_ERR_ARG, "NULL layer refused");
    CHECK(lt_build(m, 4, 1) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "no layers"), "empty model refused");
    lt_model_free(m);
    lt_arch_build(ctx, "swissroll-ae", 3, 1, &m);
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    o.lr = -1;
    CHECK(lt_compile(m, LT_LOSS_MSE, &o) == LT_ERR_ARG, "negative learning rate refused");
    o = lt_optimizer_defaults(LT_SGD);
    o.momentum = 1.5f;
    CHECK(lt_compile(m, LT_LOSS_MSE, &o) == LT_ERR_ARG, "momentum out of range refused");
    lt_model_free(m);
}

/* Regressions from review: retried builds, cycles, names, a layer added twice, shapes. */
static void test_model_misuse(void)
{
    lt_model *ae, *enc, *dec;
    lt_sequential(ctx, NULL, &ae);
    lt_sequential(ctx, NULL, &enc);
    lt_sequential(ctx, NULL, &dec);
    lt_add(enc, lt_dense(4, LT_ELU));
    lt_add_model(ae, enc);
    lt_add_model(ae, dec);
    CHECK(lt_build(ae, 8, 1) == LT_ERR_ARG, "empty decoder refused");
    lt_add(dec, lt_dense(4, LT_ELU));
    lt_add(dec, lt_dense(8, LT_ELU));
    CHECK(lt_build(ae, 8, 1) == LT_OK && lt_param_count(ae) == 36 + 20 + 40, "build after adding layers: %s", lt_ctx_error(ctx));
    lt_model_free(ae);

    lt_model *a, *b;
    lt_sequential(ctx, NULL, &a);
    lt_sequential(ctx, NULL, &b);
    lt_add(a, lt_dense(2, LT_LINEAR));
    CHECK(lt_add_model(a, b) == LT_OK, "nest b in a");
    CHECK(lt_add_model(b, a) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "cycle"), "cycle refused: %s", lt_ctx_error(ctx));
    lt_model_free(a);

    lt_model *bad = NULL;
    CHECK(lt_sequential(ctx, "a\nb", &bad) == LT_ERR_ARG && !bad, "name with a newline refused");
    CHECK(lt_sequential(ctx, "my model", &bad) == LT_ERR_ARG, "name with a space refused");
    CHECK(lt_sequential(ctx, "encoder_1.v2", &bad) == LT_OK, "plain name accepted");
    lt_layer *l = lt_dense(3, LT_RELU);
    CHECK(lt_add(bad, l) == LT_OK && lt_add(bad, l) == LT_ERR_ARG, "the same layer twice refused");
    lt_model_free(bad);

    /* Dense acts on the last axis, as Keras: (4, 5) -> (4, 3), 5*3+3 parameters. */
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_dense(3, LT_TANH));
    int dims[2] = {4, 5}, out[3];
    CHECK(lt_build_shape(m, 2, dims, 1) == LT_OK && lt_param_count(m) == 18, "dense on rank 2: %zu params", lt_param_count(m));
    CHECK(lt_output_shape(m, out) == 2 && out[0] == 4 && out[1] == 3, "dense on rank 2 keeps leading axes");
    CHECK(strstr(summary_text(m), "(None, 4, 3)") != NULL, "summary prints the shape:\n%s", summary_text(m));
    grad_check("dense on rank 2", m, LT_LOSS_MSE);
    lt_model_free(m);
}

/* Builds a small image model from up to four layers and checks its gradients. */
static void check_image_stack(const char *what, lt_loss loss, int h, int w, int c, lt_layer *l1, lt_layer *l2, lt_layer *l3, lt_layer *l4)
{
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_layer *ls[4] = {l1, l2, l3, l4};
    for (int i = 0; i < 4; i++)
        if (ls[i]) lt_add(m, ls[i]);
    int dims[3] = {h, w, c};
    if (lt_build_shape(m, 3, dims, 5) != LT_OK) { CHECK(0, "%s: build: %s", what, lt_ctx_error(ctx)); lt_model_free(m); return; }
    grad_check(what, m, loss);
    lt_model_free(m);
}

/* Shorthand for conv settings. */
static lt_conv_opts conv_o(int f, int k, int s, int d, lt_padding pad, lt_act act)
{
    lt_conv_opts o = {0};
    o.filters = f;
    o.kernel_h = o.kernel_w = k;
    o.stride_h = o.stride_w = s;
    o.dilation_h = o.dilation_w = d;
    o.padding = pad;
    o.act = act;
    return o;
}

/* The lecture's conv autoencoder: Keras's shapes and per-layer parameter counts. */
static void test_conv_ae_shapes(void)
{
    lt_model *m = NULL;
    int dims[3] = {28, 28, 1};
    CHECK(lt_arch_build_shape(ctx, "conv-ae", 3, dims, 1, &m) == LT_OK, "conv-ae builds: %s", lt_ctx_error(ctx));
    if (!m) return;
    const size_t want[8] = {160, 2320, 0, 921700, 930816, 0, 2320, 145};
    const char *shapes[8] = {"(None, 26, 26, 16)", "(None, 24, 24, 16)", "(None, 9216)", "(None, 100)",
                             "(None, 9216)", "(None, 24, 24, 16)", "(None, 26, 26, 16)", "(None, 28, 28, 1)"};
    /* Keras's variables, which clipnorm clips one by one: kernel, then bias */
    const size_t kernels[8] = {144, 2304, 0, 921600, 921600, 0, 2304, 144};
    CHECK(m->n_flat == 8, "conv-ae has 8 layers");
    for (int i = 0; i < 8 && i < m->n_flat; i++) {
        const lt_layer *l = m->flat[i];
        CHECK(kernels[i] ? l->n_tensors == 2 && l->tensor_size[0] == kernels[i] && l->tensor_size[1] == want[i] - kernels[i]
                         : l->n_tensors == 0,
              "conv-ae layer %d (%s): %d parameter tensors (%zu, %zu), Keras has kernel %zu and bias %zu", i, l->name,
              l->n_tensors, l->tensor_size[0], l->tensor_size[1], kernels[i], want[i] - kernels[i]);
        char buf[64];
        lt_shape_format(&m->flat[i]->out_shape, buf, sizeof buf);
        CHECK(m->flat[i]->n_params == want[i], "conv-ae layer %d (%s): %zu params, Keras has %zu", i, m->flat[i]->name, m->flat[i]->n_params, want[i]);
        CHECK(strcmp(buf, shapes[i]) == 0, "conv-ae layer %d shape %s, Keras has %s", i, buf, shapes[i]);
    }
    CHECK(lt_param_count(lt_submodel(m, 0)) == 924180 && lt_param_count(lt_submodel(m, 1)) == 933281, "encoder/decoder params");
    const char *s = summary_text(m);
    CHECK(strstr(s, "Total params: 1,857,461") != NULL, "conv-ae total:\n%s", s);
    lt_model_free(m);
    lt_model *d = NULL;
    CHECK(lt_arch_build_shape(ctx, "conv-ae", 1, (int[]){784}, 1, &d) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "needs images"),
          "conv-ae on flat input refused: %s", lt_ctx_error(ctx));
    /* denoise-rgb's Keras figures: strides 3 on 63x63x3 and back. */
    int rgb[3] = {63, 63, 3};
    CHECK(lt_arch_build_shape(ctx, "conv:16:3x3:elu:s3,conv:8:3x3:elu,flatten,dense:1024:elu|dense:2888:elu,reshape:19x19x8,"
                                   "deconv:16:3x3:elu,deconv:3:3x3:elu:s3", 3, rgb, 1, &d) == LT_OK, "denoise-rgb spec: %s", lt_ctx_error(ctx));
    if (d) {
        int out[3];
        CHECK(lt_output_shape(d, out) == 3 && out[0] == 63 && out[1] == 63 && out[2] == 3, "denoise-rgb gives 63x63x3 back");
        CHECK(d->flat[0]->out_shape.d[0] == 21 && d->flat[1]->out_shape.d[0] == 19, "strided conv shapes 21, 19");
        lt_model_free(d);
    }
}

/* Gradients of the image layers against finite differences. */
static void test_conv_gradients(void)
{
    lt_conv_opts a = conv_o(3, 3, 1, 1, LT_VALID, LT_TANH), b = conv_o(2, 2, 2, 1, LT_SAME, LT_ELU);
    lt_conv_opts c = conv_o(2, 3, 1, 2, LT_SAME, LT_LINEAR), d = conv_o(2, 3, 2, 1, LT_VALID, LT_SIGMOID);
    lt_conv_opts e = conv_o(3, 3, 2, 1, LT_SAME, LT_TANH), f = conv_o(1, 2, 3, 1, LT_VALID, LT_LINEAR);
    f.output_padding = 1;
    f.output_pad_h = 1;
    f.output_pad_w = 2;
    int dims[3] = {2, 2, 2};
    check_image_stack("conv valid + conv same stride 2", LT_LOSS_MSE, 7, 6, 2, lt_conv2d(&a), lt_conv2d(&b), NULL, NULL);
    check_image_stack("conv dilated same", LT_LOSS_MSE, 6, 5, 2, lt_conv2d(&c), lt_flatten(), lt_dense(3, LT_LINEAR), NULL);
    check_image_stack("conv transpose stride 2 valid", LT_LOSS_MSE, 3, 4, 2, lt_conv2d_transpose(&d), NULL, NULL, NULL);
    check_image_stack("conv transpose same + output padding", LT_LOSS_MSE, 3, 3, 1, lt_conv2d_transpose(&e), lt_conv2d_transpose(&f), NULL, NULL);
    check_image_stack("maxpool 2x2", LT_LOSS_MSE, 6, 5, 2, lt_conv2d(&a), lt_maxpool2d(2, 2, 0, 0, LT_VALID), NULL, NULL);
    check_image_stack("maxpool 3x3 stride 2 same", LT_LOSS_MSE, 7, 7, 1, lt_conv2d(&a), lt_maxpool2d(3, 3, 2, 2, LT_SAME), NULL, NULL);
    check_image_stack("upsample nearest", LT_LOSS_MSE, 3, 4, 2, lt_conv2d(&c), lt_upsampling2d(2, 3, 0), NULL, NULL);
    check_image_stack("upsample bilinear", LT_LOSS_MSE, 3, 4, 2, lt_conv2d(&c), lt_upsampling2d(2, 2, 1), NULL, NULL);
    check_image_stack("flatten, dense, reshape, deconv", LT_LOSS_MSE, 4, 4, 1, lt_flatten(), lt_dense(8, LT_ELU),
                      lt_reshape(3, dims), lt_conv2d_transpose(&a));
    /* views (whose output is their input's storage) last, and two in a row */
    int dims2[3] = {3, 2, 2}, flat[1] = {18};
    check_image_stack("flatten, dense, reshape last", LT_LOSS_MSE, 3, 2, 2, lt_flatten(), lt_dense(12, LT_TANH),
                      lt_reshape(3, dims2), NULL);
    check_image_stack("conv, flatten, reshape, dense", LT_LOSS_MSE, 5, 4, 1, lt_conv2d(&a), lt_flatten(),
                      lt_reshape(1, flat), lt_dense(2, LT_LINEAR));
}

/* AddInput: y = f(x) + x, gradients through it, shape checks, the sr2x and
 * denoise-rgb built-ins. */
static void test_add_input(void)
{
    lt_conv_opts a = conv_o(3, 3, 1, 1, LT_SAME, LT_TANH), b = conv_o(2, 3, 1, 1, LT_SAME, LT_LINEAR);
    check_image_stack("conv, conv, add input", LT_LOSS_MSE, 5, 4, 2, lt_conv2d(&a), lt_conv2d(&b), lt_add_input(), NULL);
    check_stack("dense, dense, add input", LT_LOSS_MSE, 5, lt_dense(6, LT_TANH), lt_dense(5, LT_LINEAR), lt_add_input());
    /* With a zero last layer the model is the identity: output == input exactly. */
    lt_model *m = NULL;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_dense(4, LT_TANH));
    lt_add(m, lt_dense(3, LT_LINEAR));
    lt_add(m, lt_add_input());
    CHECK(lt_build(m, 3, 9) == LT_OK, "build: %s", lt_ctx_error(ctx));
    if (m->built) {
        size_t off = m->flat[1]->slot.off, n = m->flat[1]->n_params;
        lt_be_fill(ctx->be, m->params, off, n, 0.0f);
        float x[6] = {0.5f, -1.0f, 2.0f, 3.0f, 0.25f, -0.75f}, y[6] = {0};
        CHECK(lt_predict(m, x, 2, y) == LT_OK && memcmp(x, y, sizeof x) == 0, "zero residual gives the input back");
        CHECK(strstr(summary_text(m), "(Add)") != NULL, "summary names the layer Add:\n%s", summary_text(m));
    }
    lt_model_free(m);
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_dense(4, LT_TANH));
    lt_add(m, lt_add_input());
    CHECK(lt_build(m, 3, 9) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "model's input shape"),
          "a width other than the input's is refused: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    /* sr2x keeps any image size and channel count; denoise-rgb is the lecture's model. */
    int rgb[3] = {20, 17, 3}, lec[3] = {63, 63, 3};
    CHECK(lt_arch_build_shape(ctx, "sr2x", 3, rgb, 1, &m) == LT_OK, "sr2x builds: %s", lt_ctx_error(ctx));
    if (m) {
        int out[3];
        CHECK(lt_output_shape(m, out) == 3 && out[0] == 20 && out[1] == 17 && out[2] == 3, "sr2x keeps 20x17x3");
        CHECK(lt_param_count(m) == 9 * 9 * 3 * 32 + 32 + 5 * 5 * 32 * 16 + 16 + 5 * 5 * 16 * 3 + 3, "sr2x params %zu",
              lt_param_count(m));
        lt_model_free(m);
        m = NULL;
    }
    CHECK(lt_arch_build_shape(ctx, "denoise-rgb", 3, lec, 1, &m) == LT_OK, "denoise-rgb builds: %s", lt_ctx_error(ctx));
    if (m) {
        /* Keras: 448, 1160, 0, 2958336 | 2960200, 0, 1168, 435. */
        const size_t want[8] = {448, 1160, 0, 2958336, 2960200, 0, 1168, 435};
        for (int i = 0; i < 8 && i < m->n_flat; i++)
            CHECK(m->flat[i]->n_params == want[i], "denoise-rgb layer %d: %zu params, Keras has %zu", i,
                  m->flat[i]->n_params, want[i]);
        lt_model_free(m);
    }
}

/* lt_predict_image: tiles blend back to the model's output everywhere, at any size. */
static void test_predict_image(void)
{
    int dims[3] = {8, 6, 2};
    lt_model *m = NULL;
    /* A per-pixel model (1x1 convolution) gives the same pixel whichever tile computes
     * it, so the blended output must equal the model applied to the whole image. */
    CHECK(lt_arch_build_shape(ctx, "conv:2:1x1:tanh", 3, dims, 3, &m) == LT_OK, "build: %s", lt_ctx_error(ctx));
    if (!m) return;
    const int sizes[][2] = {{8, 6}, {21, 13}, {3, 4}, {9, 30}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int h = sizes[k][0], w = sizes[k][1];
        size_t n = (size_t)h * w * 2;
        float *img = malloc(n * 4), *out = malloc(n * 4), *ref = malloc(n * 4);
        for (size_t i = 0; i < n; i++) img[i] = lt_philox_uniform(5, k, i, -1, 1);
        CHECK(lt_predict_image(m, img, h, w, 2, out) == LT_OK, "%dx%d: %s", h, w, lt_ctx_error(ctx));
        /* The reference: every pixel through the model as one tile of 8x6 filled with it. */
        float tile[8 * 6 * 2], res[8 * 6 * 2];
        double worst = 0;
        for (int p = 0; p < h * w; p++) {
            for (int q = 0; q < 48; q++) { tile[2 * q] = img[2 * p]; tile[2 * q + 1] = img[2 * p + 1]; }
            lt_predict(m, tile, 1, res);
            ref[2 * p] = res[0];
            ref[2 * p + 1] = res[1];
        }
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)out[i] - ref[i]));
        CHECK(worst < 1e-5, "%dx%d image: blended tiles differ from the model by %g", h, w, worst);
        FREE_ALL(img, out, ref);
    }
    float px[8 * 6 * 3] = {0}, o[8 * 6 * 3];
    CHECK(lt_predict_image(m, px, 8, 6, 3, o) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "2-channel"),
          "channel mismatch refused: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    CHECK(lt_arch_build_shape(ctx, "conv:2:3x3:tanh", 3, dims, 3, &m) == LT_OK, "build: %s", lt_ctx_error(ctx));
    CHECK(lt_predict_image(m, px, 8, 6, 2, o) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "image-to-image"),
          "a model that changes the size is refused: %s", lt_ctx_error(ctx));
    lt_model_free(m);
}

/* The latent-space layers: gradients (the KL, sparsity and L1 penalties included) by
 * finite differences, the ELBO's value, and Keras's counts for the vae built-in. */
static void test_latent_layers(void)
{
    check_stack("dense, sampling (KL), dense, bce-sum", LT_LOSS_BCE_SUM, 5, lt_dense(6, LT_TANH), lt_sampling(1.0f),
                lt_dense(4, LT_SIGMOID));
    check_stack("sampling with beta 4, mse", LT_LOSS_MSE, 5, lt_dense(8, LT_LINEAR), lt_sampling(4.0f), lt_dense(3, LT_LINEAR));
    check_stack("sparsity after sigmoid", LT_LOSS_MSE, 5, lt_dense(6, LT_SIGMOID), lt_sparsity(0.1f, 3.0f),
                lt_dense(3, LT_LINEAR));
    check_stack("L1 activity", LT_LOSS_MSE_SUM, 5, lt_dense(6, LT_TANH), lt_activity_l1(0.05f), lt_dense(3, LT_LINEAR));
    /* The reported loss is the summed reconstruction plus the mean KL, per sample. */
    lt_model *m = NULL;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_sampling(1.0f));
    CHECK(lt_build(m, 4, 1) == LT_OK, "sampling alone: %s", lt_ctx_error(ctx));
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    lt_compile(m, LT_LOSS_MSE_SUM, &o);
    float x[3 * 4] = {0.5f, -1.0f, 0.2f, -0.3f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 1.0f, -1.5f, 0.7f};
    float y[3 * 2] = {0.25f, 0.0f, 1.0f, -1.0f, 0.0f, 0.5f};
    double want = 0;
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 2; j++) {
            double mu = x[r * 4 + j], lv = x[r * 4 + 2 + j], e = mu - y[r * 2 + j];
            want += e * e - 0.5 * (1.0 + lv - mu * mu - exp(lv));
        }
    want /= 3;
    lt_dataset *dx = NULL, *dy = NULL;
    lt_dataset_from_array(ctx, 3, 4, x, NULL, &dx);
    lt_dataset_from_array(ctx, 3, 2, y, NULL, &dy);
    float got = 0;
    CHECK(lt_evaluate(m, dx, dy, &got) == LT_OK && fabs(got - want) < 1e-5 * fmax(1.0, fabs(want)),
          "reconstruction + KL per sample: %.7g, want %.7g (%s)", (double)got, want, lt_ctx_error(ctx));
    float z1[6], z2[6];
    CHECK(lt_predict(m, x, 3, z1) == LT_OK && lt_predict(m, x, 3, z2) == LT_OK && memcmp(z1, z2, sizeof z1) == 0 &&
          z1[0] == x[0] && z1[5] == x[9], "inference gives the mean");
    lt_dataset_free(dx);
    lt_dataset_free(dy);
    lt_model_free(m);
    int dims[1] = {784};
    CHECK(lt_arch_build_shape(ctx, "vae", 1, dims, 1, &m) == LT_OK, "vae: %s", lt_ctx_error(ctx));
    if (m) {
        const size_t want_p[5] = {401920, 20520, 0, 10752, 402192};
        for (int i = 0; i < 5 && i < m->n_flat; i++)
            CHECK(m->flat[i]->n_params == want_p[i], "vae layer %d: %zu params, want %zu", i, m->flat[i]->n_params, want_p[i]);
        CHECK(lt_model_layer_count(m, "Sampling") == 1 && lt_output_dim(lt_submodel(m, 0)) == 20, "vae: 20-D code");
        lt_model_free(m);
    }
    int img[3] = {28, 28, 1};
    m = NULL;
    CHECK(lt_arch_build_shape(ctx, "conv-vae", 3, img, 1, &m) == LT_OK, "conv-vae: %s", lt_ctx_error(ctx));
    if (m) {
        int out[3];
        CHECK(lt_output_shape(m, out) == 3 && out[0] == 28 && out[2] == 1 && lt_output_dim(lt_submodel(m, 0)) == 2,
              "conv-vae: 28x28x1 out, 2-D code");
        lt_model_free(m);
    }
    m = NULL;
    CHECK(lt_arch_build_shape(ctx, "dense:5,sampling|dense:in", 1, (int[]){6}, 1, &m) == LT_ERR_SHAPE &&
          strstr(lt_ctx_error(ctx), "even width"), "sampling on an odd width refused: %s", lt_ctx_error(ctx));
    lt_model_free(m);
}

/* Runs every group of checks on the backend LATENT_DEVICE names. */
/* Keras's use_bias=False: the bias left out of Dense, Conv2D and Conv2DTranspose (Keras's
 * parameter counts: kernel only), gradients by finite differences, refused elsewhere. */
static void test_no_bias(void)
{
    lt_layer *d1 = lt_dense(6, LT_TANH), *d2 = lt_dense(3, LT_LINEAR);
    CHECK(lt_layer_set_use_bias(d1, 0) == LT_OK && lt_layer_set_use_bias(d2, 0) == LT_OK, "Dense takes use_bias=0");
    check_stack("dense without bias", LT_LOSS_MSE, 5, d1, d2, NULL);
    lt_conv_opts a = {.filters = 3, .kernel_h = 3, .kernel_w = 3, .act = LT_TANH, .padding = LT_SAME};
    lt_conv_opts b = {.filters = 2, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2, .act = LT_ELU};
    lt_layer *c1 = lt_conv2d(&a), *c2 = lt_conv2d_transpose(&b);
    lt_layer_set_use_bias(c1, 0);
    lt_layer_set_use_bias(c2, 0);
    check_image_stack("conv and deconv without bias", LT_LOSS_MSE, 4, 4, 2, c1, c2, NULL, NULL);
    lt_model *m = NULL;
    CHECK(lt_arch_build_shape(ctx, "conv:4:3x3:relu:nobias,flatten,dense:5:nobias,dense:2", 3, (int[]){6, 6, 2}, 1, &m) == LT_OK,
          "spec with nobias builds: %s", lt_ctx_error(ctx));
    if (m) CHECK(lt_param_count(m) == 72 + 320 + 12, "Keras's counts without bias: %zu (want 404)", lt_param_count(m));
    lt_model_free(m);
    m = NULL;
    if (lt_arch_build_shape(ctx, "sr2x", 3, (int[]){8, 8, 3}, 1, &m) == LT_OK) { /* its residual starts at zero */
        const lt_layer *last = m->flat[2], *first = m->flat[0];
        float *k = malloc(last->tensor_size[0] * sizeof *k), *k0 = malloc(first->tensor_size[0] * sizeof *k0);
        lt_be_download(ctx->be, m->params, last->slot.off, k, last->tensor_size[0]);
        lt_be_download(ctx->be, m->params, first->slot.off, k0, first->tensor_size[0]);
        size_t nz = 0, nz0 = 0;
        for (size_t i = 0; i < last->tensor_size[0]; i++) nz += k[i] != 0.0f;
        for (size_t i = 0; i < first->tensor_size[0]; i++) nz0 += k0[i] != 0.0f;
        CHECK(nz == 0 && nz0 > first->tensor_size[0] / 2, "sr2x: last kernel all zero (%zu nonzero), first random (%zu nonzero)", nz, nz0);
        free(k);
        free(k0);
    }
    lt_model_free(m);
    lt_layer *r = lt_rnn(LT_LSTM, 3, LT_TANH, 0), *f = lt_flatten();
    CHECK(lt_layer_set_use_bias(r, 0) == LT_ERR_ARG && lt_layer_set_use_bias(f, 0) == LT_ERR_ARG, "other types refuse use_bias=0");
    CHECK(lt_layer_set_use_bias(f, 1) == LT_OK, "use_bias=1 is every type's default");
    lt_layer_free(r);
    lt_layer_free(f);
}

int main(void)
{
    if (!(ctx = harness_ctx(NULL))) return DONE();
    test_param_counts();
    test_nesting();
    test_gradients();
    test_init_matches_cpu();
    test_init_independent();
    test_keras_names();
    test_leaky_slopes();
    test_no_bias();
    test_bad_input();
    test_model_misuse();
    test_conv_ae_shapes();
    test_conv_gradients();
    test_add_input();
    test_predict_image();
    test_latent_layers();
    lt_ctx_close(ctx);
    return DONE();
}
