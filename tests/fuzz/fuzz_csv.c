/* Fuzz target: CSV tables (lt_dataset_load_csv, lt_dataset_load_csv_opts with every
 * option), then what series code does with them (lt_dataset_windows,
 * lt_dataset_center_windows, lt_dataset_moments, lt_dataset_standardize).
 *
 * Input: an option byte, a window byte, a stride byte, then, when option bit 1 is set,
 * a column selection (numbers, ranges such as 2-5, header names) ended by a NUL byte,
 * then the CSV text. Option bits: 0: interpolate empty cells; 1: a selection follows;
 * 2: plain lt_dataset_load_csv (no options) instead. Window 1 + byte % 16, stride
 * 1 + byte % 8.
 *
 * Checked: a table that loads has rows x columns finite values (columns: as many as
 * selected), and windows count 1 + (rows - window) / stride, or fail when the window
 * is longer than the series. */
#include <math.h>
#include "fuzz_common.h"

FUZZ_SETUP_ONLY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    unsigned opt = data[0];
    size_t window = 1 + data[1] % 16, stride = 1 + data[2] % 8;
    data += 3;
    size -= 3;
    char columns[512] = "";
    int have_columns = 0;
    if (opt & 2) {
        const uint8_t *nul = memchr(data, 0, size < sizeof columns ? size : sizeof columns);
        if (nul) {
            size_t len = (size_t)(nul - data);
            memcpy(columns, data, len);
            columns[len] = 0;
            data += len + 1;
            size -= len + 1;
            have_columns = 1;
        }
    }
    const char *path = fuzz_path(0, "in.csv");
    fuzz_write(path, data, size);
    lt_csv_opts o = {have_columns ? columns : NULL, (int)(opt & 1)};
    lt_dataset *ds = NULL;
    lt_status st = opt & 4 ? lt_dataset_load_csv(fuzz_ctx, path, &ds) : lt_dataset_load_csv_opts(fuzz_ctx, path, &o, &ds);
    fuzz_report("load", st);
    if (st != LT_OK) {
        FUZZ_CHECK(ds == NULL, "failed (%s) but gave a dataset", lt_status_name(st));
        FUZZ_CHECK(lt_ctx_error(fuzz_ctx)[0] != 0, "failed (%s) with no message", lt_status_name(st));
        return 0;
    }
    size_t rows = lt_dataset_count(ds), cols = lt_dataset_dim(ds);
    FUZZ_CHECK(rows >= 1 && cols >= 1, "%zu rows of %zu columns", rows, cols);
    const float *x = lt_dataset_data(ds);
    for (size_t i = 0; i < rows * cols; i++) FUZZ_CHECK(isfinite(x[i]), "value %zu is %g", i, (double)x[i]);

    double *mean = malloc(cols * sizeof *mean), *sd = malloc(cols * sizeof *sd);
    if (mean && sd) {
        st = lt_dataset_moments(fuzz_ctx, ds, mean, sd);
        FUZZ_CHECK(st == LT_OK, "moments: %s", lt_ctx_error(fuzz_ctx));
    }
    free(mean);
    free(sd);

    lt_dataset *win = NULL;
    st = lt_dataset_windows(fuzz_ctx, ds, window, stride, &win);
    if (window > rows) {
        FUZZ_CHECK(st == LT_ERR_SHAPE && !win, "a window of %zu over %zu rows: %s", window, rows, lt_status_name(st));
    } else {
        FUZZ_CHECK(st == LT_OK, "windows: %s", lt_ctx_error(fuzz_ctx));
        size_t nw = 1 + (rows - window) / stride;
        int steps, feats;
        lt_dataset_seq_shape(win, &steps, &feats);
        FUZZ_CHECK(lt_dataset_count(win) == nw && (size_t)steps == window && (size_t)feats == cols &&
                   lt_dataset_dim(win) == window * cols, "%zu windows of %zu (%dx%d), expected %zu of %zu x %zu",
                   lt_dataset_count(win), lt_dataset_dim(win), steps, feats, nw, window, cols);
        st = lt_dataset_center_windows(fuzz_ctx, win);
        FUZZ_CHECK(st == LT_OK, "center_windows: %s", lt_ctx_error(fuzz_ctx));
        lt_dataset_free(win);
    }
    /* Large finite values may overflow a variance to infinity: an error, never a crash. */
    (void)lt_dataset_standardize(fuzz_ctx, ds, NULL);
    lt_dataset_free(ds);
    return 0;
}
