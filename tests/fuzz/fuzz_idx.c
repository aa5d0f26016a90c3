/* Fuzz target: IDX files, raw and gzip (lt_dataset_load_idx), images alone or with a
 * label file.
 *
 * Input: an option byte, two bytes (little-endian) giving the label file's length
 * when there is one, then the label file's bytes, then the image file's. Option bits:
 * 0: a label file; 1: the target gzips the image file before writing it; 2: it gzips
 * the label file; 3: gzip at level 1 instead of 9. Without bits 1 and 2 the bytes are
 * written as given (the corpus holds .gz files too, so gzip streams are mutated as
 * well).
 *
 * Checked: a dataset that loads has n x (rows * cols) values in [0, 1], the shape of
 * its header, and labels 0..255. */
#include <zlib.h>
#include "fuzz_common.h"

FUZZ_SETUP_ONLY

/* Writes data as a gzip file at path (or as given when gzip is 0). */
static void write_maybe_gz(const char *path, const uint8_t *data, size_t n, int gzip, int level)
{
    if (!gzip) {
        fuzz_write(path, data, n);
        return;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    uLong cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (!out) abort();
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    fuzz_write(path, out, zs.total_out);
    deflateEnd(&zs);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    unsigned opt = data[0];
    size_t lab_len = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    int labels = opt & 1, level = opt & 8 ? 1 : 9;
    if (!labels) lab_len = 0;
    if (lab_len > size) lab_len = size;
    const char *img = fuzz_path(0, "images"), *lab = fuzz_path(1, "labels");
    if (labels) write_maybe_gz(lab, data, lab_len, opt & 4, level);
    write_maybe_gz(img, data + lab_len, size - lab_len, opt & 2, level);

    lt_dataset *ds = NULL;
    lt_status st = lt_dataset_load_idx(fuzz_ctx, img, labels ? lab : NULL, &ds);
    fuzz_report("load", st);
    if (st != LT_OK) {
        FUZZ_CHECK(ds == NULL, "failed (%s) but gave a dataset", lt_status_name(st));
        FUZZ_CHECK(lt_ctx_error(fuzz_ctx)[0] != 0, "failed (%s) with no message", lt_status_name(st));
        return 0;
    }
    size_t n = lt_dataset_count(ds), dim = lt_dataset_dim(ds);
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    FUZZ_CHECK(n >= 1 && c == 1 && h >= 1 && w >= 1 && dim == (size_t)h * (size_t)w, "n %zu dim %zu shape %dx%dx%d",
               n, dim, h, w, c);
    const float *x = lt_dataset_data(ds);
    for (size_t i = 0; i < n * dim; i++) FUZZ_CHECK(x[i] >= 0.0f && x[i] <= 1.0f, "value %zu is %g", i, (double)x[i]);
    const int32_t *y = lt_dataset_labels(ds);
    FUZZ_CHECK(!labels == !y, "labels %s", y ? "present" : "missing");
    for (size_t i = 0; y && i < n; i++) FUZZ_CHECK(y[i] >= 0 && y[i] <= 255, "label %zu is %d", i, (int)y[i]);
    lt_dataset_free(ds);
    return 0;
}
