/* The latent program's anomaly command: reconstruction-error scores per sample (with
 * a threshold and, given --class, the ROC AUC), or per window of a CSV time series
 * with a plot of the series. It calls only apps/cli_common.c and apps/cli_data.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "latent.h"

/* Size of anomaly's series plot, in pixels. */
#define PLOT_WIDTH 1200
#define PLOT_HEIGHT 520

/* Samples run through the model at a time between progress counts: a multiple of
 * lt_predict's own chunks (256), so the results are those of one call. */
#define SCORE_CHUNK 4096

/* Per-sample mean squared reconstruction errors of ds under m (malloc'd); what names
 * the samples for the progress count ("training samples"). */
static int recon_errors(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, const char *what,
                        float **err)
{
    size_t n = lt_dataset_count(ds), dim = lt_dataset_dim(ds);
    if ((size_t)lt_input_dim(m) != dim || (size_t)lt_output_dim(m) != dim)
        return lt_input_dim(m) != lt_output_dim(m)
                   ? cli_fail(o, "model '%s' maps width %d to %d: anomaly scores need an autoencoder", o->positional[0],
                              lt_input_dim(m), lt_output_dim(m))
                   : cli_fail(o, "model '%s' takes samples of width %d, --data '%s' has %zu", o->positional[0],
                              lt_input_dim(m), o->data, dim);
    size_t chunk = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    float *out = malloc((chunk ? chunk : 1) * dim * sizeof *out);
    *err = malloc((n ? n : 1) * sizeof **err);
    if (!out || !*err) {
        free(out);
        return cli_fail(o, "out of memory");
    }
    char counted[64];
    snprintf(counted, sizeof counted, "%s scored", what);
    cli_note(o, "scoring %zu %s by their reconstruction error", n, what);
    cli_progress progress;
    cli_progress_start(&progress, o, counted, n);
    const float *x = lt_dataset_data(ds);
    lt_status st = LT_OK;
    for (size_t r = 0; st == LT_OK && r < n; r += chunk) {
        size_t rows = n - r < chunk ? n - r : chunk;
        cli_progress_update(&progress, r);
        st = lt_predict(m, x + r * dim, rows, out);
        for (size_t i = 0; st == LT_OK && i < rows; i++) {
            double s = 0;
            for (size_t j = 0; j < dim; j++) {
                double e = (double)out[i * dim + j] - x[(r + i) * dim + j];
                s += e * e;
            }
            (*err)[r + i] = (float)(s / (double)dim);
        }
    }
    free(out);
    cli_progress_end(&progress, st == LT_OK ? CLI_OK : CLI_RUNTIME);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot run the model");
}

/* Orders floats ascending, for qsort. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The pct-th percentile of n errors by linear interpolation between order statistics;
 * sorts err. */
static float percentile_of(float *err, size_t n, float pct)
{
    qsort(err, n, sizeof *err, cmp_float);
    double pos = (double)pct / 100.0 * (double)(n - 1);
    size_t lo = (size_t)pos, hi = lo + 1 < n ? lo + 1 : lo;
    return (float)(err[lo] + (pos - (double)lo) * (err[hi] - err[lo]));
}

/* The legend names of a series plot: the --columns items when there is one per
 * feature (at most 20), else NULL. Cuts a copy of the list in buf. */
static const char *const *column_names(const cli_opts *o, size_t features, char *buf, size_t len, const char *names[20])
{
    if (!o->columns || o->wide || features > 20 || strlen(o->columns) >= len) return NULL;
    strcpy(buf, o->columns);
    size_t k = 0;
    for (char *p = buf; p && k <= features;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (strchr(p, '-') && p[strspn(p, "0123456789-")] == '\0') return NULL; /* a range: several columns */
        if (k < features) names[k] = p;
        k++;
        p = comma ? comma + 1 : NULL;
    }
    return k == features ? names : NULL;
}

/* Prints the rows that flagged windows cover as runs ("rows 120-171, 300-351"), the
 * first 20 of them. */
static int print_flagged_rows(const cli_opts *o, const float *err, size_t n_windows, size_t window, size_t stride,
                              size_t rows, float threshold)
{
    unsigned char *flag = calloc(rows, 1);
    if (!flag) return cli_fail(o, "out of memory");
    for (size_t i = 0; i < n_windows; i++)
        if (err[i] > threshold) memset(flag + i * stride, 1, window);
    size_t runs = 0;
    printf("flagged rows:");
    for (size_t a = 0; a < rows; a++) {
        if (!flag[a] || (a > 0 && flag[a - 1])) continue; /* not the start of a run */
        size_t b = a;
        while (b + 1 < rows && flag[b + 1]) b++;
        if (runs++ >= 20) continue;
        if (a == b) printf("%s %zu", runs > 1 ? "," : "", a);
        else printf("%s %zu-%zu", runs > 1 ? "," : "", a, b);
    }
    if (runs == 0) printf(" none");
    if (runs > 20) printf(", ... (%zu runs)", runs);
    printf("\n");
    free(flag);
    return CLI_OK;
}

/* latent anomaly MODEL --window W: scores every window of a CSV series, the threshold
 * from the training windows, a CSV of windows and a plot of the series. */
static int anomaly_series(const cli_opts *o, lt_ctx *ctx, lt_model *m)
{
    cli_series s;
    lt_dataset *train = NULL, *all = NULL;
    float *train_err = NULL, *err = NULL;
    char *png = cli_png_path(o);
    size_t stride = o->stride ? (size_t)o->stride : 1, window = (size_t)o->window;
    lt_status st = LT_OK;
    int rc = png ? cli_check_output_path(o, "--png", png, CLI_OUT_PNG) : cli_fail(o, "out of memory");
    if (rc == CLI_OK) rc = cli_check_distinct_outputs(o, "--out", o->out, "--png", png);
    if (rc == CLI_OK) rc = cli_load_series(o, ctx, m, &s);
    else memset(&s, 0, sizeof s);
    if (rc == CLI_OK) rc = cli_series_windows(o, ctx, &s, 0, s.train_rows, &train);
    if (rc == CLI_OK) rc = cli_series_windows(o, ctx, &s, 0, lt_dataset_count(s.scaled), &all);
    if (rc == CLI_OK) rc = cli_check_input(o, m, o->positional[0], all);
    if (rc == CLI_OK) rc = recon_errors(o, ctx, m, train, "training windows", &train_err);
    if (rc == CLI_OK) rc = recon_errors(o, ctx, m, all, "windows", &err);
    size_t n = all ? lt_dataset_count(all) : 0, n_train = train ? lt_dataset_count(train) : 0, flagged = 0;
    float threshold = rc == CLI_OK ? percentile_of(train_err, n_train, o->percentile) : 0.0f;
    FILE *f = NULL;
    if (rc == CLI_OK && !(f = fopen(o->out, "w"))) rc = cli_fail(o, "--out '%s': cannot write", o->out);
    if (rc == CLI_OK) {
        fprintf(f, "window,first_row,last_row,score,flagged\n");
        for (size_t i = 0; i < n; i++) {
            int flag = err[i] > threshold;
            flagged += (size_t)flag;
            fprintf(f, "%zu,%zu,%zu,%.9g,%d\n", i, i * stride, i * stride + window - 1, (double)err[i], flag);
        }
        if (fclose(f) != 0) rc = cli_fail(o, "--out '%s': write failed", o->out);
    }
    size_t rows = s.raw ? lt_dataset_count(s.raw) : 0, cols = s.raw ? lt_dataset_dim(s.raw) : 0;
    if (rc == CLI_OK) {
        printf("series: %zu rows, training rows 0-%zu, test rows %zu-%zu\n", rows, s.train_rows - 1, s.train_rows,
               rows - 1);
        printf("threshold: %.6g (percentile %g of %zu training windows' errors)\n", (double)threshold,
               (double)o->percentile, n_train);
        printf("flagged: %zu of %zu windows (%.2f%%)\n", flagged, n, 100.0 * (double)flagged / (double)n);
        rc = print_flagged_rows(o, err, n, window, stride, rows, threshold);
        cli_note(o, "wrote %s", o->out);
    }
    if (rc == CLI_OK && cols > 20) {
        cli_note(o, "no plot: %zu columns are more than the plot's 20 lines", cols);
    } else if (rc == CLI_OK) {
        /* one feature in its own units; several standardized, so they share an axis */
        const char *names[20], *slash = strrchr(o->data, '/');
        char buf[1024], title[300];
        snprintf(title, sizeof title, "%.200s%s", slash ? slash + 1 : o->data, cols > 1 ? " (standardized)" : "");
        lt_series_plot sp = {lt_dataset_data(cols > 1 ? s.scaled : s.raw), rows, cols,
                             column_names(o, cols, buf, sizeof buf, names), title, err, n, window, stride, threshold,
                             s.train_rows};
        if ((st = lt_plot_series(ctx, png, &sp, PLOT_WIDTH, PLOT_HEIGHT)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "cannot write the plot");
        else
            cli_note(o, "wrote %s", png);
    }
    free(png);
    free(train_err);
    free(err);
    lt_dataset_free(train);
    lt_dataset_free(all);
    cli_series_free(&s);
    return rc;
}

/* latent anomaly MODEL */
int cli_cmd_anomaly(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *train = NULL, *test = NULL;
    float *train_err = NULL, *test_err = NULL;
    int32_t *positive = NULL;
    lt_status st;
    int rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_CSV);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = cli_load_model(o, ctx, &m);
    if (rc == CLI_OK && o->window) return cli_close(ctx, m, anomaly_series(o, ctx, m));
    if (rc == CLI_OK) rc = cli_load_splits(o, ctx, m, &train, &test);
    if (rc == CLI_OK && cli_given(o, OPT_CLASS)) { /* the threshold comes from normal samples only */
        lt_dataset *normal = NULL;
        if ((st = lt_dataset_filter_label(ctx, train, o->class_id, 1, &normal)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "--class");
        lt_dataset_free(train);
        train = normal;
    }
    if (rc == CLI_OK) rc = recon_errors(o, ctx, m, train, "training samples", &train_err);
    if (rc == CLI_OK) rc = recon_errors(o, ctx, m, test, "test samples", &test_err);
    size_t n_train = train ? lt_dataset_count(train) : 0, n = test ? lt_dataset_count(test) : 0;
    float threshold = rc == CLI_OK ? percentile_of(train_err, n_train, o->percentile) : 0.0f;
    const int32_t *labels = test ? lt_dataset_labels(test) : NULL;
    FILE *f = NULL;
    if (rc == CLI_OK && !(f = fopen(o->out, "w"))) rc = cli_fail(o, "--out '%s': cannot write", o->out);
    size_t flagged = 0;
    if (rc == CLI_OK) {
        fprintf(f, labels ? "index,score,flagged,label\n" : "index,score,flagged\n");
        for (size_t i = 0; i < n; i++) {
            int flag = test_err[i] > threshold;
            flagged += (size_t)flag;
            if (labels) fprintf(f, "%zu,%.9g,%d,%d\n", i, (double)test_err[i], flag, (int)labels[i]);
            else fprintf(f, "%zu,%.9g,%d\n", i, (double)test_err[i], flag);
        }
        if (fclose(f) != 0) rc = cli_fail(o, "--out '%s': write failed", o->out);
    }
    if (rc == CLI_OK) {
        printf("threshold: %.6g (percentile %g of %zu training errors)\n", (double)threshold, (double)o->percentile,
               n_train);
        printf("flagged: %zu of %zu test samples (%.2f%%)\n", flagged, n, 100.0 * (double)flagged / (double)n);
    }
    if (rc == CLI_OK && labels && cli_given(o, OPT_CLASS)) {
        double auc = 0.0;
        if (!(positive = malloc(n * sizeof *positive))) rc = cli_fail(o, "out of memory");
        for (size_t i = 0; rc == CLI_OK && i < n; i++) positive[i] = labels[i] != o->class_id;
        if (rc == CLI_OK && (st = lt_roc_auc(ctx, test_err, positive, n, &auc)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "ROC AUC");
        if (rc == CLI_OK) printf("roc auc: %.4f (class %d normal, the others anomalies)\n", auc, o->class_id);
    }
    if (rc == CLI_OK) cli_note(o, "wrote %s", o->out);
    free(positive);
    free(train_err);
    free(test_err);
    lt_dataset_free(train);
    lt_dataset_free(test);
    return cli_close(ctx, m, rc);
}
