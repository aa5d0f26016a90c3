/* Tests of the data layer: IDX and CSV loaders (column selection, missing values),
 * Fashion-MNIST lookup, swiss roll, datasets, series windows, and PNG plots. Fixtures are generated into a fresh temporary directory
 * (removed again when every check passed). The context is made by hand so that this
 * test needs no backend. Prints one line per failed check; exits 0 only if none failed. */
#include <sys/wait.h>
#include <zlib.h>
#include "internal.h"
#include "harness.h"

/* stb_image decodes the PNGs so their pixels can be checked. */
#include "stb_png.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define GRID_SEP 2 /* plot.c's separator width */

/* Writes bytes to path, raw or gzip-compressed; returns 0 on success. */
static int write_file(const char *path, const void *data, size_t len, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g) return -1;
        int ok = len == 0 || gzwrite(g, data, (unsigned)len) == (int)len;
        return (gzclose(g) == Z_OK && ok) ? 0 : -1;
    }
    return write_bytes(path, data, len);
}

/* Writes a text file. */
static void write_text(fixture *t, const char *name, const char *text)
{
    char p[600];
    CHECK(write_file(fx(t, p, sizeof p, name), text, strlen(text), 0) == 0, "cannot write %s", p);
}

/* Builds an IDX file in buf: 00 00 type ndims, the dims big-endian, then len payload
 * bytes; returns its size. */
static size_t make_idx(unsigned char *buf, unsigned type, unsigned ndims, const uint32_t *dims,
                       const unsigned char *payload, size_t len)
{
    size_t o = 0;
    buf[o++] = 0;
    buf[o++] = 0;
    buf[o++] = (unsigned char)type;
    buf[o++] = (unsigned char)ndims;
    for (unsigned d = 0; d < ndims; d++) {
        buf[o++] = (unsigned char)(dims[d] >> 24);
        buf[o++] = (unsigned char)(dims[d] >> 16);
        buf[o++] = (unsigned char)(dims[d] >> 8);
        buf[o++] = (unsigned char)dims[d];
    }
    memcpy(buf + o, payload, len);
    return o + len;
}

/* Writes an IDX fixture named name. */
static void write_idx(fixture *t, const char *name, int gz, unsigned type, unsigned ndims, const uint32_t *dims,
                      const unsigned char *payload, size_t len)
{
    unsigned char buf[256];
    char p[600];
    size_t n = make_idx(buf, type, ndims, dims, payload, len);
    CHECK(write_file(fx(t, p, sizeof p, name), buf, n, gz) == 0, "cannot write %s", p);
}

/* The tiny image set: 3 images of 2 x 3 pixels, labels 7 0 9. */
enum { NIMG = 3, ROWS = 2, COLS = 3, NPIX = NIMG * ROWS * COLS };
static const uint32_t img_dims[3] = {NIMG, ROWS, COLS};
static const uint32_t lab_dims[1] = {NIMG};
static const unsigned char labels3[NIMG] = {7, 0, 9};

/* Pixel i of the tiny image set (0 and 255 included). */
static unsigned char pixel(int i) { return i == 0 ? 0 : i == NPIX - 1 ? 255 : (unsigned char)(i * 37 + 11); }

/* Checks a dataset against the tiny image set. */
static void check_tiny(fixture *t, const lt_dataset *ds, int with_labels, const char *what)
{
    if (!CHECK(ds != NULL, "%s: no dataset", what)) return;
    CHECK(lt_dataset_count(ds) == NIMG && lt_dataset_dim(ds) == ROWS * COLS, "%s: %zu x %zu, expected 3 x 6",
          what, lt_dataset_count(ds), lt_dataset_dim(ds));
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    CHECK(h == ROWS && w == COLS && c == 1, "%s: image shape %dx%dx%d, expected 2x3x1", what, h, w, c);
    const float *x = lt_dataset_data(ds);
    int bad = 0;
    for (int i = 0; i < NPIX; i++) bad += x[i] != (float)pixel(i) / 255.0f;
    CHECK(bad == 0, "%s: %d pixels differ from byte/255", what, bad);
    CHECK(x[0] == 0.0f && x[NPIX - 1] == 1.0f, "%s: range ends %g %g", what, (double)x[0], (double)x[NPIX - 1]);
    const int32_t *l = lt_dataset_labels(ds);
    if (!with_labels) {
        CHECK(l == NULL, "%s: labels present without a label file", what);
        return;
    }
    if (CHECK(l != NULL, "%s: no labels", what))
        CHECK(l[0] == 7 && l[1] == 0 && l[2] == 9, "%s: labels %d %d %d", what, l[0], l[1], l[2]);
}

/* IDX loading: good files raw and gzip, and every kind of broken file. */
static void test_idx(fixture *t)
{
    unsigned char pix[NPIX + 8];
    for (int i = 0; i < NPIX + 8; i++) pix[i] = pixel(i % NPIX);
    char pi[600], pl[600], pi2[600];
    lt_dataset *ds = NULL;
    lt_status st;

    for (int gz = 0; gz < 2; gz++) {
        const char *in = gz ? "img.gz" : "img.idx", *ln = gz ? "lab.gz" : "lab.idx";
        write_idx(t, in, gz, 0x08, 3, img_dims, pix, NPIX);
        write_idx(t, ln, gz, 0x08, 1, lab_dims, labels3, NIMG);
        st = lt_dataset_load_idx(t->ctx, fx(t, pi, sizeof pi, in), fx(t, pl, sizeof pl, ln), &ds);
        EXPECT(t->ctx, st, LT_OK, NULL, gz ? "gzip IDX" : "raw IDX");
        check_tiny(t, ds, 1, gz ? "gzip IDX" : "raw IDX");
        lt_dataset_free(ds);
        st = lt_dataset_load_idx(t->ctx, pi, NULL, &ds);
        EXPECT(t->ctx, st, LT_OK, NULL, "IDX images without labels");
        check_tiny(t, ds, 0, "IDX images without labels");
        lt_dataset_free(ds);
    }

    /* corrupt variants: each must fail with the right status, naming the file */
    struct {
        const char *name;
        int gz;
        unsigned type, ndims;
        uint32_t dims[3];
        size_t len;
        lt_status want;
        const char *needle;
    } bad[] = {
        {"type09.idx", 0, 0x09, 3, {NIMG, ROWS, COLS}, NPIX, LT_ERR_FORMAT, "type code 0x09"},
        {"type0d.gz", 1, 0x0D, 3, {NIMG, ROWS, COLS}, NPIX, LT_ERR_FORMAT, "type code 0x0d"},
        {"ndims2.idx", 0, 0x08, 2, {NIMG, ROWS * COLS, 0}, NPIX, LT_ERR_FORMAT, "must have 3 dimensions, the file has 2"},
        {"rows0.idx", 0, 0x08, 3, {NIMG, 0, COLS}, 0, LT_ERR_FORMAT, "dimension 1"},
        {"cols5000.gz", 1, 0x08, 3, {NIMG, ROWS, 5000}, NPIX, LT_ERR_FORMAT, "dimension 2"},
        {"count0.idx", 0, 0x08, 3, {0, ROWS, COLS}, 0, LT_ERR_FORMAT, "dimension 0"},
        {"trunc.idx", 0, 0x08, 3, {NIMG, ROWS, COLS}, 10, LT_ERR_FORMAT, "expected 18 bytes of pixels, found 10"},
        {"trunc.gz", 1, 0x08, 3, {NIMG, ROWS, COLS}, 10, LT_ERR_FORMAT, "expected 18 bytes of pixels, found 10"},
        {"trail.idx", 0, 0x08, 3, {NIMG, ROWS, COLS}, NPIX + 5, LT_ERR_FORMAT, "5 bytes of trailing data"},
        {"trail.gz", 1, 0x08, 3, {NIMG, ROWS, COLS}, NPIX + 5, LT_ERR_FORMAT, "5 bytes of trailing data"},
        /* a header announcing 78 GB over 18 bytes: refused before allocating */
        {"huge.idx", 0, 0x08, 3, {100000000, 28, 28}, NPIX, LT_ERR_FORMAT, "expected 78400000000 bytes of pixels, found 18"},
        /* the same in gzip, where the loader only finds out by reading */
        {"huge.gz", 1, 0x08, 3, {100000000, 28, 28}, NPIX, LT_ERR_FORMAT, "expected 78400000000 bytes of pixels, found 18"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_idx(t, bad[k].name, bad[k].gz, bad[k].type, bad[k].ndims, bad[k].dims, pix, bad[k].len);
        ds = NULL;
        st = lt_dataset_load_idx(t->ctx, fx(t, pi2, sizeof pi2, bad[k].name), NULL, &ds);
        EXPECT(t->ctx, st, bad[k].want, bad[k].needle, bad[k].name);
        const char *name = bad[k].name;
        CHECK(strstr(lt_ctx_error(t->ctx), name) != NULL, "%s: message \"%s\" does not name the file", name,
              lt_ctx_error(t->ctx));
        CHECK(ds == NULL, "%s: *out set on failure", name);
    }

    /* not IDX at all, and a header cut short */
    write_text(t, "zip.idx", "PK\x03\x04 some zip file");
    st = lt_dataset_load_idx(t->ctx, fx(t, pi2, sizeof pi2, "zip.idx"), NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "zip.idx: not an IDX file (magic 0x504b0304", "non-IDX file");
    unsigned char shorthdr[6] = {0, 0, 8, 3, 0, 0};
    CHECK(write_file(fx(t, pi2, sizeof pi2, "short.idx"), shorthdr, sizeof shorthdr, 0) == 0, "write short.idx");
    st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "short.idx: header truncated", "short header");
    CHECK(write_file(fx(t, pi2, sizeof pi2, "empty.idx"), "", 0, 0) == 0, "write empty.idx");
    st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "empty.idx: only 0 bytes", "empty IDX file");

    /* label problems: count mismatch, an image file as labels, truncation, trailing bytes */
    fx(t, pi, sizeof pi, "img.gz");
    uint32_t two[1] = {2};
    write_idx(t, "lab2.idx", 0, 0x08, 1, two, labels3, 2);
    st = lt_dataset_load_idx(t->ctx, pi, fx(t, pl, sizeof pl, "lab2.idx"), &ds);
    EXPECT(t->ctx, st, LT_ERR_SHAPE, "img.gz has 3 images but ", "label count mismatch");
    EXPECT(t->ctx, st, LT_ERR_SHAPE, "lab2.idx has 2 labels", "label count mismatch");
    st = lt_dataset_load_idx(t->ctx, pi, pi, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "img.gz: IDX labels must have 1 dimension, the file has 3", "images as labels");
    write_idx(t, "labtrunc.gz", 1, 0x08, 1, lab_dims, labels3, 2);
    st = lt_dataset_load_idx(t->ctx, pi, fx(t, pl, sizeof pl, "labtrunc.gz"), &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "labtrunc.gz: expected 3 bytes of labels, found 2", "truncated labels");
    unsigned char lab4[4] = {7, 0, 9, 1};
    write_idx(t, "labtrail.idx", 0, 0x08, 1, lab_dims, lab4, 4);
    st = lt_dataset_load_idx(t->ctx, pi, fx(t, pl, sizeof pl, "labtrail.idx"), &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "labtrail.idx: 1 bytes of trailing data", "trailing label bytes");

    /* a damaged gzip stream: a flipped byte in the deflate data or its CRC */
    unsigned char buf[256];
    size_t n = make_idx(buf, 0x08, 3, img_dims, pix, NPIX);
    CHECK(write_file(fx(t, pi2, sizeof pi2, "damaged.gz"), buf, n, 1) == 0, "write damaged.gz");
    FILE *f = fopen(pi2, "r+b");
    if (CHECK(f != NULL, "reopen damaged.gz")) {
        fseek(f, -6, SEEK_END); /* inside the CRC-32 trailer */
        int ch = getc(f);
        fseek(f, -6, SEEK_END);
        putc(ch ^ 0x5a, f);
        fclose(f);
        st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, "damaged.gz: corrupt gzip data", "damaged gzip");
        CHECK(strstr(lt_ctx_error(t->ctx), "<fd:") == NULL, "zlib's descriptor name in a message: %s", lt_ctx_error(t->ctx));
    }

    /* a gzip stream cut inside its 8-byte trailer: every pixel arrives, but nothing
     * checks them, so the file is refused */
    unsigned char gz[512];
    CHECK(write_file(fx(t, pi2, sizeof pi2, "cut.gz"), buf, n, 1) == 0, "write cut.gz");
    f = fopen(pi2, "rb");
    size_t gzn = f ? fread(gz, 1, sizeof gz, f) : 0;
    if (f) fclose(f);
    for (size_t cut = 1; cut <= 8 && gzn > 8; cut++) {
        FILE *w = fopen(pi2, "wb");
        if (w) { fwrite(gz, 1, gzn - cut, w); fclose(w); }
        st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, "cut.gz: the gzip stream is cut off", "gzip trailer cut");
    }

    /* bytes after the end of the gzip stream: zlib's gzread skips them unseen; the
     * loader refuses them, naming the file and how many there are. gz holds the whole
     * gzip file of buf (n bytes of IDX). */
    CHECK(write_file(pi2, buf, n, 1) == 0, "write cut.gz");
    f = fopen(pi2, "rb");
    gzn = f ? fread(gz, 1, sizeof gz, f) : 0;
    if (f) fclose(f);
    static const struct { const char *name, *tail; size_t len; const char *needle; } after[] = {
        {"after.gz", "garbage", 7, "after.gz: 7 bytes after the end of the gzip stream (which ends at byte "},
        {"after1.gz", "\x1f", 1, "after1.gz: 1 byte after the end of the gzip stream"},
        {"afterzeros.gz", NULL, 512, "afterzeros.gz: 512 bytes after the end of the gzip stream"},
    };
    for (size_t k = 0; k < sizeof after / sizeof after[0] && gzn > 0; k++) {
        unsigned char file[1100];
        memcpy(file, gz, gzn);
        if (after[k].tail) memcpy(file + gzn, after[k].tail, after[k].len);
        else memset(file + gzn, 0, after[k].len);
        CHECK(write_bytes(fx(t, pi2, sizeof pi2, after[k].name), file, gzn + after[k].len) == 0, "write %s", pi2);
        ds = NULL;
        st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, after[k].needle, after[k].name);
        CHECK(ds == NULL, "%s: *out set on failure", after[k].name);
    }
    /* ... in a label file too, after images that load */
    unsigned char lbuf[64], lgz[256];
    size_t ln = make_idx(lbuf, 0x08, 1, lab_dims, labels3, NIMG);
    CHECK(write_file(fx(t, pl, sizeof pl, "labafter.gz"), lbuf, ln, 1) == 0, "write labafter.gz");
    f = fopen(pl, "rb");
    size_t lgzn = f ? fread(lgz, 1, sizeof lgz - 3, f) : 0;
    if (f) fclose(f);
    memcpy(lgz + lgzn, "abc", 3);
    CHECK(write_bytes(pl, lgz, lgzn + 3) == 0, "write labafter.gz");
    st = lt_dataset_load_idx(t->ctx, fx(t, pi, sizeof pi, "img.gz"), pl, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "labafter.gz: 3 bytes after the end of the gzip stream", "labels after gzip");
    /* ... and through a pipe, whose size is not known up front */
    fx(t, pi2, sizeof pi2, "after.fifo");
    if (gzn > 0 && mkfifo(pi2, 0600) == 0) {
        pid_t child = fork();
        if (child == 0) { /* the writer */
            FILE *w = fopen(pi2, "wb");
            if (w) { fwrite(gz, 1, gzn, w); fwrite("trailing", 1, 8, w); fclose(w); }
            _exit(0);
        }
        st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
        if (child > 0) waitpid(child, NULL, 0);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, "after.fifo: 8 bytes after the end of the gzip stream", "pipe: bytes after gzip");
    }
    /* two gzip members one after the other are one stream (as gzip reads them): the
     * header in one, the pixels in the next */
    if (gzn > 0) {
        unsigned char file[1100];
        size_t at = 0, part;
        CHECK(write_file(fx(t, pi2, sizeof pi2, "members.gz"), buf, 16, 1) == 0, "write members.gz");
        f = fopen(pi2, "rb");
        at = f ? fread(file, 1, 500, f) : 0;
        if (f) fclose(f);
        CHECK(write_file(pi2, buf + 16, n - 16, 1) == 0, "write members.gz");
        f = fopen(pi2, "rb");
        part = f ? fread(file + at, 1, 500, f) : 0;
        if (f) fclose(f);
        CHECK(write_bytes(pi2, file, at + part) == 0, "write members.gz");
        ds = NULL;
        st = lt_dataset_load_idx(t->ctx, pi2, NULL, &ds);
        EXPECT(t->ctx, st, LT_OK, NULL, "two gzip members");
        check_tiny(t, ds, 0, "two gzip members");
        lt_dataset_free(ds);
    }

    /* files that are not there or not files */
    st = lt_dataset_load_idx(t->ctx, fx(t, pi2, sizeof pi2, "missing.idx"), NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_IO, "missing.idx: cannot open images file: No such file", "missing images");
    st = lt_dataset_load_idx(t->ctx, pi, fx(t, pl, sizeof pl, "missing-labels.idx"), &ds);
    EXPECT(t->ctx, st, LT_ERR_IO, "missing-labels.idx", "missing labels");
    st = lt_dataset_load_idx(t->ctx, t->dir, NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_IO, "it is a directory", "directory as images");
    st = lt_dataset_load_idx(t->ctx, NULL, NULL, &ds);
    EXPECT(t->ctx, st, LT_ERR_ARG, NULL, "NULL path");
    st = lt_dataset_load_idx(t->ctx, pi, NULL, NULL);
    EXPECT(t->ctx, st, LT_ERR_ARG, NULL, "NULL out");
}

/* Fashion-MNIST lookup: explicit dir, $LATENT_DATA_DIR, and the real test split. */
static void test_fashion(fixture *t)
{
    char fm[600], empty[600], p[700];
    fx(t, fm, sizeof fm, "fm");
    fx(t, empty, sizeof empty, "empty");
    CHECK(mkdir(fm, 0700) == 0 && mkdir(empty, 0700) == 0, "mkdir %s: %s", fm, strerror(errno));
    unsigned char pix[NPIX], buf[256];
    for (int i = 0; i < NPIX; i++) pix[i] = pixel(i);
    /* uncompressed names, as some downloads leave them */
    size_t n = make_idx(buf, 0x08, 3, img_dims, pix, NPIX);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", fm);
    CHECK(write_file(p, buf, n, 0) == 0, "write %s", p);
    n = make_idx(buf, 0x08, 1, lab_dims, labels3, NIMG);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", fm);
    CHECK(write_file(p, buf, n, 0) == 0, "write %s", p);

    lt_dataset *ds = NULL;
    lt_status st = lt_dataset_fashion_mnist(t->ctx, fm, 0, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "fashion-mnist from dir");
    check_tiny(t, ds, 1, "fashion-mnist from dir");
    lt_dataset_free(ds);
    st = lt_dataset_fashion_mnist(t->ctx, fm, 1, &ds);
    EXPECT(t->ctx, st, LT_ERR_IO, "train-images-idx3-ubyte[.gz]", "fashion-mnist train split absent");

    unsetenv("LATENT_DATA_DIR");
    setenv("LATENT_DATA_DIR", fm, 1);
    st = lt_dataset_fashion_mnist(t->ctx, NULL, 0, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "fashion-mnist from $LATENT_DATA_DIR");
    check_tiny(t, ds, 1, "fashion-mnist from $LATENT_DATA_DIR");
    lt_dataset_free(ds);

    struct stat sb;
    int have_real = stat(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &sb) == 0 &&
                    stat(FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", &sb) == 0;
    char missing[640];
    snprintf(missing, sizeof missing, "%s/no-such-folder", empty);
    setenv("LATENT_DATA_DIR", missing, 1); /* a typo is an error, never a silent fall-through */
    EXPECT(t->ctx, lt_dataset_fashion_mnist(t->ctx, NULL, 0, &ds), LT_ERR_IO, "which is not a folder", "$LATENT_DATA_DIR missing");
    setenv("LATENT_DATA_DIR", empty, 1); /* not holding the files: falls through */
    ds = NULL;
    st = lt_dataset_fashion_mnist(t->ctx, NULL, 0, &ds);
    unsetenv("LATENT_DATA_DIR");
    if (!have_real) {
        EXPECT(t->ctx, st, LT_ERR_IO, "apt-get install dataset-fashion-mnist", "fashion-mnist not installed");
        EXPECT(t->ctx, st, LT_ERR_IO, empty, "fashion-mnist not installed");
        printf("note: %s not found, the real Fashion-MNIST test split was not checked\n", FMNIST_DIR);
        return;
    }
    EXPECT(t->ctx, st, LT_OK, NULL, "real fashion-mnist test split");
    if (!ds) return;
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    CHECK(lt_dataset_count(ds) == 10000 && lt_dataset_dim(ds) == 784 && h == 28 && w == 28 && c == 1,
          "fashion-mnist test: %zu x %zu, %dx%dx%d", lt_dataset_count(ds), lt_dataset_dim(ds), h, w, c);
    const int32_t *l = lt_dataset_labels(ds);
    int per_class[10] = {0}, bad = 0;
    for (size_t i = 0; l && i < lt_dataset_count(ds); i++) {
        if (l[i] < 0 || l[i] > 9) bad++;
        else per_class[l[i]]++;
    }
    CHECK(l && bad == 0, "fashion-mnist test: %d labels outside 0..9", bad);
    for (int k = 0; k < 10; k++)
        CHECK(per_class[k] == 1000, "fashion-mnist test: class %d has %d samples, expected 1000", k, per_class[k]);
    const float *x = lt_dataset_data(ds);
    double sum = 0;
    size_t out_of_range = 0, total = lt_dataset_count(ds) * lt_dataset_dim(ds);
    for (size_t i = 0; i < total; i++) {
        sum += x[i];
        out_of_range += !(x[i] >= 0.0f && x[i] <= 1.0f);
    }
    CHECK(out_of_range == 0, "fashion-mnist test: %zu pixels outside [0,1]", out_of_range);
    CHECK(fabs(sum / (double)total - 0.2868) < 0.01, "fashion-mnist test: mean pixel %.4f, expected ~0.287",
          sum / (double)total);
    lt_dataset_free(ds);
}

/* Loads a CSV fixture written from text; returns the status. */
static lt_status load_csv_text(fixture *t, const char *name, const char *text, lt_dataset **ds)
{
    char p[600];
    write_text(t, name, text);
    *ds = NULL;
    return lt_dataset_load_csv(t->ctx, fx(t, p, sizeof p, name), ds);
}

/* Checks a dataset's shape and values. */
static void check_values(fixture *t, const lt_dataset *ds, size_t n, size_t dim, const float *want, const char *what)
{
    if (!CHECK(ds != NULL, "%s: no dataset", what)) return;
    if (!CHECK(lt_dataset_count(ds) == n && lt_dataset_dim(ds) == dim, "%s: %zu x %zu, expected %zu x %zu", what,
               lt_dataset_count(ds), lt_dataset_dim(ds), n, dim))
        return;
    for (size_t i = 0; i < n * dim; i++)
        if (!CHECK(lt_dataset_data(ds)[i] == want[i], "%s: value %zu is %g, expected %g", what, i,
                   (double)lt_dataset_data(ds)[i], (double)want[i]))
            return;
}

/* CSV: header detection, CRLF, blank lines, quotes, and each error. */
static void test_csv(fixture *t)
{
    lt_dataset *ds;
    lt_status st;
    st = load_csv_text(t, "hdr.csv", "x, \"y (cm)\",z\r\n1,2,3\r\n\r\n4.5,-6e-1, 7 \r\n\"8\",9,1e3", &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "csv with header");
    const float want1[] = {1, 2, 3, 4.5f, -0.6f, 7, 8, 9, 1000};
    check_values(t, ds, 3, 3, want1, "csv with header");
    lt_dataset_free(ds);

    st = load_csv_text(t, "nohdr.csv", "\n1,2\n  \n3,4\n", &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "csv without header");
    const float want2[] = {1, 2, 3, 4};
    check_values(t, ds, 2, 2, want2, "csv without header");
    CHECK(ds && lt_dataset_labels(ds) == NULL && lt_dataset_values(ds) == NULL, "csv: labels or values set");
    lt_dataset_free(ds);

    /* a UTF-8 byte-order mark: not a header, not part of the first cell's name */
    st = load_csv_text(t, "bom.csv", "\xEF\xBB\xBF" "1,2\n3,4\n", &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "csv with a byte-order mark");
    check_values(t, ds, 2, 2, want2, "csv with a byte-order mark");
    lt_dataset_free(ds);
    lt_csv_opts by_name = {"b", 0};
    char bp[600];
    write_text(t, "bomhdr.csv", "\xEF\xBB\xBF" "a,b\n1,2\n3,4\n");
    st = lt_dataset_load_csv_opts(t->ctx, fx(t, bp, sizeof bp, "bomhdr.csv"), &by_name, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "a header after a byte-order mark");
    const float want_b[] = {2, 4};
    check_values(t, ds, 2, 1, want_b, "a header after a byte-order mark");
    lt_dataset_free(ds);
    by_name.columns = "a";
    st = lt_dataset_load_csv_opts(t->ctx, bp, &by_name, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "the first column's name after a byte-order mark");
    lt_dataset_free(ds);

    st = load_csv_text(t, "one.csv", "42", &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "csv single cell");
    const float want3[] = {42};
    check_values(t, ds, 1, 1, want3, "csv single cell");
    lt_dataset_free(ds);

    /* each error names the file, the line and the column where it can */
    static const struct { const char *name, *text, *message, *what; } bad[] = {
        {"cell.csv", "\n\na,b\n1,2\n\n3,oops\n", "cell.csv: line 6, column 2 (\"b\"): cell \"oops\" is not a number",
         "bad cell"},
        {"cell2.csv", "1,2\n3,4x\n", "cell2.csv: line 2, column 2: cell \"4x\" is not a number", "bad cell, no header"},
        {"emptycell.csv", "1,2\n3,\n", "line 2, column 2: empty cell (a missing value)", "empty cell"},
        {"ragged.csv", "1,2\n3,4\n5\n", "ragged.csv: line 3 has 1 column, expected 2 (as on line 1)", "ragged row"},
        {"wide.csv", "a,b\n1,2,3\n", "wide.csv: line 2 has 3 columns, expected 2", "row too wide"},
        {"nan.csv", "1,2\n3,nan\n", "nan.csv: line 2, column 2: cell \"nan\" is not finite", "NaN cell"},
        {"inf.csv", "1,-inf\n", "inf.csv: line 1, column 2: cell \"-inf\" is not finite", "inf cell"},
        {"big.csv", "1,1e39\n", "big.csv: line 1, column 2: cell \"1e39\" is out of float range", "1e39 cell"},
        {"quote.csv", "\"a,b\n1\n", "quote.csv: line 1, column 1: unbalanced double quote", "unbalanced quote"},
        {"empty.csv", "", "empty.csv: empty file", "empty csv"},
        {"blank.csv", "\n \r\n\n", "blank.csv: no data rows", "blank csv"},
        {"hdronly.csv", "a,b\n", "hdronly.csv: a header but no data rows", "header-only csv"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        EXPECT(t->ctx, load_csv_text(t, bad[k].name, bad[k].text, &ds), LT_ERR_FORMAT, bad[k].message, bad[k].what);
        CHECK(ds == NULL, "%s: *out set on failure", bad[k].what);
    }

    char p[600];
    CHECK(write_file(fx(t, p, sizeof p, "nul.csv"), "1,2\n3,\0\n", 8, 0) == 0, "write nul.csv");
    st = lt_dataset_load_csv(t->ctx, p, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "nul.csv: line 2 contains a NUL byte", "NUL byte");

    size_t len = (1u << 20) + 100; /* one line just over the 1 MiB limit */
    char *longline = malloc(len + 1);
    if (CHECK(longline != NULL, "malloc")) {
        for (size_t i = 0; i < len; i++) longline[i] = (i & 1) ? ',' : '1';
        longline[len - 1] = '1';
        longline[len] = 0;
        st = load_csv_text(t, "long.csv", longline, &ds);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, "long.csv: line 1 is longer than 1048576 bytes", "long line");
        free(longline);
    }
    st = lt_dataset_load_csv(t->ctx, fx(t, p, sizeof p, "missing.csv"), &ds);
    EXPECT(t->ctx, st, LT_ERR_IO, "missing.csv: cannot open: No such file", "missing csv");
}

/* Loads a CSV fixture with a column selection and interpolation on or off. */
static lt_status load_csv_cols(fixture *t, const char *name, const char *text, const char *columns, int interpolate,
                               lt_dataset **ds)
{
    char p[600];
    write_text(t, name, text);
    lt_csv_opts co = {columns, interpolate};
    *ds = NULL;
    return lt_dataset_load_csv_opts(t->ctx, fx(t, p, sizeof p, name), &co, ds);
}

/* CSV column selection (names, numbers, ranges), text in unread columns, and missing
 * values: an error by default, interpolated inside a column when asked. */
static void test_csv_columns(fixture *t)
{
    const char *table = "date,a,b\n2020-01-01,1,10\n2020-01-02,2,20\n2020-01-03,3,30\n";
    static const float want_ba[] = {10, 1, 20, 2, 30, 3}, want_ab[] = {1, 10, 2, 20, 3, 30}, want_b[] = {10, 20, 30};
    const struct { const char *columns; size_t dim; const float *want; const char *what; } good[] = {
        {"b,a", 2, want_ba, "columns by name, in the order given"},
        {" 3 , 2", 2, want_ba, "columns by number"},
        {"2-3", 2, want_ab, "a range of columns"},
        {"B", 1, want_b, "a name in another case"},
    };
    lt_dataset *ds;
    lt_status st;
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        st = load_csv_cols(t, "sel.csv", table, good[k].columns, 0, &ds);
        EXPECT(t->ctx, st, LT_OK, NULL, good[k].what);
        check_values(t, ds, 3, good[k].dim, good[k].want, good[k].what);
        lt_dataset_free(ds);
    }
    st = load_csv_cols(t, "sel.csv", table, NULL, 0, &ds);
    EXPECT(t->ctx, st, LT_ERR_FORMAT, "line 2, column 1 (\"date\"): cell \"2020-01-01\" is not a number",
           "every column, a text date among them");

    /* a headerless file: text in a column that is not read leaves the first row data */
    st = load_csv_cols(t, "nohdr-date.csv", "2020-01-01,5\n2020-01-02,6\n", "2", 0, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "headerless, text in an unread column");
    const float want56[] = {5, 6};
    check_values(t, ds, 2, 1, want56, "headerless, text in an unread column");
    lt_dataset_free(ds);

    /* selections that do not fit the file */
    st = load_csv_cols(t, "sel.csv", table, "a,c", 0, &ds);
    EXPECT(t->ctx, st, LT_ERR_ARG, "sel.csv: no column named \"c\" (the header has \"date\", \"a\", \"b\")", "unknown name");
    CHECK(ds == NULL, "unknown name: *out set on failure");
    const struct { const char *columns, *needle, *what; } bad_sel[] = {
        {"4", "column 4 does not exist: the file has 3 columns", "column number past the end"},
        {"2-5", "column 5 does not exist", "range past the end"},
        {"a,2", "column 2 (\"a\") is selected twice", "a column twice"},
        {"0", "'0' is not a column number", "column 0"},
        {"3-2", "range 3-2 runs backwards", "backward range"},
        {"a,,b", "item 2 is empty", "empty item"},
    };
    for (size_t k = 0; k < sizeof bad_sel / sizeof bad_sel[0]; k++) {
        st = load_csv_cols(t, "sel.csv", table, bad_sel[k].columns, 0, &ds);
        EXPECT(t->ctx, st, LT_ERR_ARG, bad_sel[k].needle, bad_sel[k].what);
    }
    st = load_csv_cols(t, "nohdr.csv", "1,2\n3,4\n", "a", 0, &ds);
    EXPECT(t->ctx, st, LT_ERR_ARG, "column \"a\": the file has no header row", "a name without a header");

    /* bad cells and missing values that cannot be filled, named by line and column */
    const char *bad = "t,v,note\n1,0.5,ok\n2,abc,ok\n3,0.7,x\n", *gappy = "t,v,w\n0,1,\n1,,5\n2,,x\n3,4,7\n4,5,\n";
    const struct { const char *file, *text, *columns; int interpolate; const char *needle, *what; } bad_cell[] = {
        {"badcell.csv", bad, "v", 0, "badcell.csv: line 3, column 2 (\"v\"): cell \"abc\" is not a number",
         "non-numeric cell in a selected column"},
        {"gaps.csv", gappy, "v", 0, "gaps.csv: line 3, column 2 (\"v\"): empty cell (a missing value)",
         "empty cell without interpolation"},
        {"gaps.csv", gappy, "w", 1, "gaps.csv: line 2, column 3 (\"w\"): empty cell before the column's first value",
         "a gap at the start"},
        {"tail.csv", "v,u\n1,0\n2,0\n,0\n,0\n", "v", 1,
         "tail.csv: line 4, column 1 (\"v\"): empty cells from here to the end of the file", "a gap at the end"},
    };
    for (size_t k = 0; k < sizeof bad_cell / sizeof bad_cell[0]; k++) {
        st = load_csv_cols(t, bad_cell[k].file, bad_cell[k].text, bad_cell[k].columns, bad_cell[k].interpolate, &ds);
        EXPECT(t->ctx, st, LT_ERR_FORMAT, bad_cell[k].needle, bad_cell[k].what);
    }
    st = load_csv_cols(t, "badcell.csv", bad, "t", 0, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "non-numeric cells only in unread columns");
    lt_dataset_free(ds);
    st = load_csv_cols(t, "gaps.csv", gappy, "t,v", 1, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "interpolated gap");
    const float want_gap[] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5};
    check_values(t, ds, 5, 2, want_gap, "interpolated gap of two rows");
    lt_dataset_free(ds);
    st = load_csv_cols(t, "quoted.csv", "v,u\n1,0\n\"\",0\n3,0\n", "v", 1, &ds);
    EXPECT(t->ctx, st, LT_OK, NULL, "a quoted empty cell is missing too");
    const float want_q[] = {1, 2, 3};
    check_values(t, ds, 3, 1, want_q, "a quoted empty cell is missing too");
    lt_dataset_free(ds);
}

/* Sliding windows: values, count, stride, sequence shape, and a window too long. */
static void test_windows(fixture *t)
{
    enum { NROWS = 10, F = 2 };
    float x[NROWS * F];
    for (int i = 0; i < NROWS; i++) {
        x[i * F] = (float)i;
        x[i * F + 1] = 100.0f + (float)i;
    }
    lt_dataset *series = NULL, *w = NULL, *s = NULL;
    if (!CHECK(lt_dataset_from_array(t->ctx, NROWS, F, x, NULL, &series) == LT_OK, "from_array")) return;
    int steps = -1, features = -1;
    lt_dataset_seq_shape(series, &steps, &features);
    CHECK(steps == 0 && features == 0, "a table has no sequence shape (%d, %d)", steps, features);

    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 4, 3, &w), LT_OK, NULL, "windows of 4 every 3");
    if (w) {
        /* (10 - 4) / 3 + 1 = 3 windows starting at rows 0, 3, 6, step-major */
        float want[3 * 4 * F];
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 4; r++) {
                want[(i * 4 + r) * F] = (float)(i * 3 + r);
                want[(i * 4 + r) * F + 1] = 100.0f + (float)(i * 3 + r);
            }
        check_values(t, w, 3, 4 * F, want, "windows of 4 every 3");
        lt_dataset_seq_shape(w, &steps, &features);
        CHECK(steps == 4 && features == F, "windows: sequence shape (%d, %d), expected (4, 2)", steps, features);
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, w, 1, 2, &s), LT_OK, NULL, "slice of windows");
        lt_dataset_seq_shape(s, &steps, &features);
        CHECK(steps == 4 && features == F, "a slice of windows keeps the sequence shape (%d, %d)", steps, features);
        lt_dataset_free(s);
        lt_dataset_free(w);
    }
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 3, 1, &w), LT_OK, NULL, "windows of 3 every row");
    CHECK(lt_dataset_count(w) == 8 && lt_dataset_dim(w) == 6, "windows every row: %zu x %zu, expected 8 x 6",
          lt_dataset_count(w), lt_dataset_dim(w));
    CHECK(w && lt_dataset_data(w)[7 * 6] == 7.0f, "the last window starts at row 7");
    lt_dataset_free(w);
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 4, 4, &w), LT_OK, NULL, "windows of 4 every 4");
    CHECK(lt_dataset_count(w) == 2, "10 rows, windows of 4 every 4: %zu windows, expected 2 (rows 8-9 left out)",
          lt_dataset_count(w));
    lt_dataset_free(w);
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, NROWS, 5, &w), LT_OK, NULL, "one window of the whole series");
    CHECK(lt_dataset_count(w) == 1, "a window as long as the series: %zu windows", lt_dataset_count(w));
    lt_dataset_free(w);

    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 5, 5, &w), LT_OK, NULL, "windows to centre");
    EXPECT(t->ctx, lt_dataset_center_windows(t->ctx, w), LT_OK, NULL, "centre windows");
    if (w) { /* rows 0..4 and 5..9 of columns i and 100 + i: each window minus its own means */
        static const float want_c[2 * 5 * F] = {-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2};
        check_values(t, w, 2, 5 * F, want_c, "centred windows");
    }
    lt_dataset_free(w);
    EXPECT(t->ctx, lt_dataset_center_windows(t->ctx, series), LT_ERR_ARG, "not windows", "centring rows that are not windows");
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 11, 1, &w), LT_ERR_SHAPE,
           "a window of 11 rows is longer than the series of 10 rows", "window longer than the series");
    CHECK(w == NULL, "window too long: *out set on failure");
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 0, 1, &w), LT_ERR_ARG, "window = 0", "window 0");
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, series, 2, 0, &w), LT_ERR_ARG, "stride = 0", "stride 0");
    EXPECT(t->ctx, lt_dataset_windows(t->ctx, NULL, 2, 1, &w), LT_ERR_ARG, "series is NULL", "NULL series");
    lt_dataset_free(series);
}

/* Standardizing a series with its training rows' statistics: the test rows take no
 * part in the fit, whatever they hold. */
static void test_series_scaling(fixture *t)
{
    enum { NROWS = 50, TRAIN = 40 };
    float x[NROWS];
    for (int i = 0; i < NROWS; i++) x[i] = i < TRAIN ? (float)sin(i * 0.7) * 2.0f + 5.0f : 1000.0f + (float)i;
    double mean = 0, var = 0;
    for (int i = 0; i < TRAIN; i++) mean += x[i];
    mean /= TRAIN;
    for (int i = 0; i < TRAIN; i++) var += (x[i] - mean) * (x[i] - mean);
    double sd = sqrt(var / TRAIN);
    lt_dataset *series = NULL, *fit = NULL;
    if (lt_dataset_from_array(t->ctx, NROWS, 1, x, NULL, &series) == LT_OK &&
        lt_dataset_slice(t->ctx, series, 0, TRAIN, &fit) == LT_OK) {
        EXPECT(t->ctx, lt_dataset_standardize(t->ctx, series, fit), LT_OK, NULL, "standardize with the training rows");
        double m = 0, v = 0, worst = 0;
        const float *y = lt_dataset_data(series);
        for (int i = 0; i < TRAIN; i++) m += y[i];
        m /= TRAIN;
        for (int i = 0; i < TRAIN; i++) v += (y[i] - m) * (y[i] - m);
        CHECK(fabs(m) < 1e-5 && fabs(sqrt(v / TRAIN) - 1.0) < 1e-5,
              "training rows after scaling: mean %g, sd %g (expected 0 and 1: fitted on them alone)", m, sqrt(v / TRAIN));
        for (int i = TRAIN; i < NROWS; i++) worst = fmax(worst, fabs(y[i] - (x[i] - mean) / sd));
        CHECK(worst < 1e-2, "test rows scaled with the training rows' mean and sd: off by %g", worst);
    }
    lt_dataset_free(series);
    /* Moments then scale: what standardize does, split so a model can keep the moments
     * and scale new data with them; bit for bit the same. */
    lt_dataset *again = NULL;
    double fm[1] = {0}, fs[1] = {0};
    if (lt_dataset_from_array(t->ctx, NROWS, 1, x, NULL, &again) == LT_OK && fit) {
        EXPECT(t->ctx, lt_dataset_moments(t->ctx, fit, fm, fs), LT_OK, NULL, "moments of the training rows");
        CHECK(fabs(fm[0] - mean) < 1e-9 && fabs(fs[0] - sd) < 1e-9, "moments %g, %g (expected %g, %g)", fm[0], fs[0],
              mean, sd);
        EXPECT(t->ctx, lt_dataset_scale(t->ctx, again, fm, fs), LT_OK, NULL, "scale with the moments");
        lt_dataset *ref = NULL;
        if (lt_dataset_from_array(t->ctx, NROWS, 1, x, NULL, &ref) == LT_OK &&
            lt_dataset_standardize(t->ctx, ref, fit) == LT_OK)
            CHECK(memcmp(lt_dataset_data(ref), lt_dataset_data(again), sizeof x) == 0,
                  "moments + scale equal standardize bit for bit");
        lt_dataset_free(ref);
        double zero[1] = {0.0}, nan_sd[1] = {NAN};
        EXPECT(t->ctx, lt_dataset_scale(t->ctx, again, fm, zero), LT_ERR_ARG, "column 1", "scale refuses a zero deviation");
        EXPECT(t->ctx, lt_dataset_scale(t->ctx, again, fm, nan_sd), LT_ERR_ARG, "column 1", "scale refuses a NaN deviation");
        float flat[4] = {3, 3, 3, 3};
        lt_dataset *cst = NULL;
        if (lt_dataset_from_array(t->ctx, 4, 1, flat, NULL, &cst) == LT_OK) {
            EXPECT(t->ctx, lt_dataset_moments(t->ctx, cst, fm, fs), LT_OK, NULL, "moments of a constant column");
            CHECK(fm[0] == 3.0 && fs[0] == 1.0, "a constant column: mean 3 and deviation 1, got %g and %g", fm[0], fs[0]);
        }
        lt_dataset_free(cst);
    }
    lt_dataset_free(again);
    lt_dataset_free(fit);
}

/* Swiss roll: reproducible per seed, the documented geometry, noise of the asked size. */
static void test_swiss(fixture *t)
{
    enum { N = 2000 };
    lt_dataset *a = NULL, *b = NULL, *c = NULL, *noisy = NULL;
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, N, 0.0f, 42, &a), LT_OK, NULL, "swiss roll");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, N, 0.0f, 42, &b), LT_OK, NULL, "swiss roll again");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, N, 0.0f, 43, &c), LT_OK, NULL, "swiss roll other seed");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, N, 0.5f, 42, &noisy), LT_OK, NULL, "noisy swiss roll");
    if (a && b && c && noisy) {
        CHECK(lt_dataset_count(a) == N && lt_dataset_dim(a) == 3, "swiss roll shape %zu x %zu",
              lt_dataset_count(a), lt_dataset_dim(a));
        CHECK(memcmp(a->x, b->x, sizeof(float) * 3 * N) == 0 && memcmp(a->values, b->values, sizeof(float) * N) == 0,
              "swiss roll: same seed gave different points");
        CHECK(memcmp(a->x, c->x, sizeof(float) * 3 * N) != 0, "swiss roll: seeds 42 and 43 gave the same points");
        const double pi = 3.14159265358979323846;
        double tlo = 1e9, thi = -1e9, ysum = 0, ylo = 1e9, yhi = -1e9, geo = 0, r2 = 0;
        for (int i = 0; i < N; i++) {
            double tt = lt_dataset_values(a)[i];
            const float *p = lt_dataset_data(a) + 3 * i;
            tlo = fmin(tlo, tt);
            thi = fmax(thi, tt);
            ylo = fmin(ylo, p[1]);
            yhi = fmax(yhi, p[1]);
            ysum += p[1];
            geo = fmax(geo, fabs(p[0] - tt * cos(tt)) + fabs(p[2] - tt * sin(tt)));
            for (int k = 0; k < 3; k++) {
                double d = (double)lt_dataset_data(noisy)[3 * i + k] - p[k];
                r2 += d * d;
            }
        }
        CHECK(tlo >= 1.5 * pi - 1e-5 && thi <= 4.5 * pi + 1e-5 && tlo < 1.6 * pi && thi > 4.4 * pi,
              "swiss roll: t in [%g, %g], expected to fill [1.5pi, 4.5pi]", tlo, thi);
        CHECK(ylo >= 0 && yhi < 21 && ylo < 1 && yhi > 20, "swiss roll: height in [%g, %g]", ylo, yhi);
        CHECK(fabs(ysum / N - 10.5) < 1.0, "swiss roll: mean height %g", ysum / N);
        CHECK(geo < 1e-3, "swiss roll: points off (t cos t, y, t sin t) by %g", geo);
        double sd = sqrt(r2 / (3.0 * N));
        CHECK(fabs(sd - 0.5) < 0.03, "swiss roll: noise stddev %g, expected 0.5", sd);
        CHECK(memcmp(a->values, noisy->values, sizeof(float) * N) == 0, "swiss roll: noise changed t");
    }
    lt_dataset_free(a);
    lt_dataset_free(b);
    lt_dataset_free(c);
    lt_dataset_free(noisy);
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, 0, 0.0f, 1, &a), LT_ERR_ARG, "n = 0", "swiss roll n = 0");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, 100000001, 0.0f, 1, &a), LT_ERR_ARG, "1..100000000", "swiss roll n too large");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, 10, NAN, 1, &a), LT_ERR_ARG, "noise", "swiss roll NaN noise");
    EXPECT(t->ctx, lt_dataset_swiss_roll(t->ctx, 10, -1.0f, 1, &a), LT_ERR_ARG, "noise", "swiss roll negative noise");
}

/* from_array, slice, alloc limits and the accessors. */
static void test_array(fixture *t)
{
    float x[5 * 3];
    int32_t lab[5];
    for (int i = 0; i < 15; i++) x[i] = (float)i * 0.5f;
    for (int i = 0; i < 5; i++) lab[i] = 10 + i;
    lt_dataset *ds = NULL, *s = NULL;
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 5, 3, x, lab, &ds), LT_OK, NULL, "from_array");
    if (ds) {
        check_values(t, ds, 5, 3, x, "from_array");
        CHECK(lt_dataset_labels(ds) && lt_dataset_labels(ds)[4] == 14, "from_array: labels not copied");
        int h = 1, w = 1, c = 1;
        lt_dataset_image_shape(ds, &h, &w, &c);
        CHECK(h == 0 && w == 0 && c == 0, "from_array: image shape %d %d %d, expected 0", h, w, c);

        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 1, 3, &s), LT_OK, NULL, "slice");
        check_values(t, s, 3, 3, x + 3, "slice");
        CHECK(s && lt_dataset_labels(s) && lt_dataset_labels(s)[0] == 11 && lt_dataset_labels(s)[2] == 13,
              "slice: labels wrong");
        lt_dataset_free(s);
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 4, 1, &s), LT_OK, NULL, "slice of the last row");
        lt_dataset_free(s);
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 3, 3, &s), LT_ERR_ARG, "rows [3, 3 + 3)", "slice past the end");
        CHECK(s == NULL, "slice: *out set on failure");
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 5, 1, &s), LT_ERR_ARG, "5 rows", "slice start at n");
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 0, 0, &s), LT_ERR_ARG, NULL, "empty slice");
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 2, SIZE_MAX, &s), LT_ERR_ARG, NULL, "slice with wrapping count");
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, NULL, 0, 1, &s), LT_ERR_ARG, NULL, "slice of NULL");
        lt_dataset_free(ds);
    }
    x[7] = NAN; /* row 2, column 1 */
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 5, 3, x, NULL, &ds), LT_ERR_NONFINITE, "row 2, column 1", "from_array NaN");
    CHECK(strstr(lt_ctx_error(t->ctx), "NaN") != NULL, "from_array NaN: message \"%s\" does not say NaN", lt_ctx_error(t->ctx));
    x[7] = INFINITY;
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 5, 3, x, NULL, &ds), LT_ERR_NONFINITE, "infinite", "from_array inf");
    x[7] = 1.0f;
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 0, 3, x, NULL, &ds), LT_ERR_ARG, "n = 0", "from_array n = 0");
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 5, 0, x, NULL, &ds), LT_ERR_ARG, "dim = 0", "from_array dim = 0");
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 5, 3, NULL, NULL, &ds), LT_ERR_ARG, "x is NULL", "from_array NULL x");
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, SIZE_MAX / 2, 4, x, NULL, &ds), LT_ERR_ARG, "overflow", "from_array overflow");
    EXPECT(t->ctx, lt_dataset_alloc(t->ctx, SIZE_MAX / 8, 3, 0, 0, &ds), LT_ERR_NOMEM, "overflow", "alloc overflow");

    /* a slice of images keeps the image shape */
    unsigned char pix[NPIX];
    for (int i = 0; i < NPIX; i++) pix[i] = pixel(i);
    char p[600];
    write_idx(t, "slice.idx", 0, 0x08, 3, img_dims, pix, NPIX);
    if (lt_dataset_load_idx(t->ctx, fx(t, p, sizeof p, "slice.idx"), NULL, &ds) == LT_OK) {
        EXPECT(t->ctx, lt_dataset_slice(t->ctx, ds, 2, 1, &s), LT_OK, NULL, "image slice");
        int h, w, c;
        lt_dataset_image_shape(s, &h, &w, &c);
        CHECK(h == ROWS && w == COLS && c == 1, "image slice: shape %dx%dx%d", h, w, c);
        CHECK(s && lt_dataset_data(s)[0] == (float)pixel(12) / 255.0f, "image slice: wrong rows");
        lt_dataset_free(s);
        lt_dataset_free(ds);
    }
    CHECK(lt_dataset_count(NULL) == 0 && lt_dataset_dim(NULL) == 0 && lt_dataset_data(NULL) == NULL,
          "accessors on NULL");
    lt_dataset_free(NULL);
}

/* Reads a PNG's signature and IHDR; checks size and color type (0 gray, 2 RGB). */
static void check_png(fixture *t, const char *path, int w, int h, int color_type)
{
    unsigned char b[26];
    FILE *f = fopen(path, "rb");
    if (!CHECK(f != NULL, "%s: not written", path)) return;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!CHECK(n == sizeof b && memcmp(b, sig, 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0,
               "%s: no PNG signature and IHDR", path))
        return;
    int pw = (int)((uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19]);
    int ph = (int)((uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23]);
    CHECK(pw == w && ph == h, "%s: %dx%d, expected %dx%d", path, pw, ph, w, h);
    CHECK(b[24] == 8 && b[25] == color_type, "%s: bit depth %d color type %d, expected 8 and %d", path, b[24],
          b[25], color_type);
}

/* Plots: sizes, signatures, pixel contents where stb_image can decode, and errors. */
static void test_plot(fixture *t)
{
    enum { NC = 3, H = 2, W = 3, SC = 2 };
    float a[NC * H * W], b[NC * H * W], rgb3[NC * H * W * 3];
    for (int i = 0; i < NC * H * W; i++) {
        a[i] = (float)i / (NC * H * W - 1);
        b[i] = 1.0f - a[i];
    }
    a[1] = 1.7f;  /* clipped to 255 */
    a[2] = -0.3f; /* clipped to 0 */
    a[3] = NAN;   /* drawn as 0 */
    for (int i = 0; i < NC * H * W * 3; i++) rgb3[i] = (float)(i % 3) * 0.5f;
    char p[600];
    int gw = NC * W * SC + (NC + 1) * GRID_SEP, gh2 = 2 * H * SC + 3 * GRID_SEP, gh1 = H * SC + 2 * GRID_SEP;

    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, fx(t, p, sizeof p, "grid.png"), a, b, NC, H, W, 1, SC), LT_OK, NULL,
           "image rows");
    check_png(t, p, gw, gh2, 0);
#ifdef HAVE_STB_IMAGE
    int iw, ih, ic;
    unsigned char *img = stbi_load(p, &iw, &ih, &ic, 1);
    if (CHECK(img && iw == gw && ih == gh2, "grid.png: stb_image cannot decode it")) {
        int bad = 0;
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < NC; k++)
                for (int y = 0; y < H * SC; y++)
                    for (int x = 0; x < W * SC; x++) {
                        float v = (r ? b : a)[k * H * W + (y / SC) * W + x / SC];
                        int want = v > 0 ? (v < 1 ? (int)(v * 255.0f + 0.5f) : 255) : 0;
                        int px = GRID_SEP + k * (W * SC + GRID_SEP) + x, py = GRID_SEP + r * (H * SC + GRID_SEP) + y;
                        bad += img[py * iw + px] != want;
                    }
        CHECK(bad == 0, "grid.png: %d image pixels differ", bad);
        CHECK(img[0] == 128 && img[(GRID_SEP + H * SC) * iw + 5] == 128, "grid.png: separators not gray");
    }
    stbi_image_free(img);
#endif
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, fx(t, p, sizeof p, "grid_rgb.png"), rgb3, NULL, NC, H, W, 3, 1), LT_OK,
           NULL, "rgb image row");
    check_png(t, p, NC * W + (NC + 1) * GRID_SEP, H + 2 * GRID_SEP, 2);
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, fx(t, p, sizeof p, "grid1.png"), a, NULL, NC, H, W, 1, SC), LT_OK, NULL,
           "single image row");
    check_png(t, p, gw, gh1, 0);

    enum { NP = 500 };
    float xy[2 * NP], val[NP];
    for (int i = 0; i < NP; i++) {
        double tt = 0.05 * i;
        xy[2 * i] = (float)(tt * cos(tt));
        xy[2 * i + 1] = (float)(tt * sin(tt));
        val[i] = (float)tt;
    }
    xy[2 * 7] = NAN; /* skipped, not drawn */
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, fx(t, p, sizeof p, "scatter.png"), xy, val, NP, 300), LT_OK, NULL, "scatter");
    check_png(t, p, 300, 300, 2);
#ifdef HAVE_STB_IMAGE
    img = stbi_load(p, &iw, &ih, &ic, 3);
    if (CHECK(img && iw == 300 && ih == 300, "scatter.png: stb_image cannot decode it")) {
        /* the points (left) and the color bar (right) both show the colormap's ends */
        int lo_pts = 0, hi_pts = 0, lo_bar = 0, hi_bar = 0;
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++) {
                const unsigned char *q = img + 3 * (y * iw + x);
                int lo = near_rgb(q, 0x44, 0x01, 0x54, 12), hi = near_rgb(q, 0xfd, 0xe7, 0x25, 12);
                if (x < iw * 8 / 10) { lo_pts += lo; hi_pts += hi; }
                else { lo_bar += lo; hi_bar += hi; }
            }
        CHECK(lo_pts > 0 && hi_pts > 0, "scatter.png: points lack the colormap's ends (%d, %d)", lo_pts, hi_pts);
        CHECK(lo_bar > 0 && hi_bar > 0, "scatter.png: no color bar (%d, %d)", lo_bar, hi_bar);
        CHECK(near_rgb(img, 255, 255, 255, 0), "scatter.png: background not white");
    }
    stbi_image_free(img);
#endif
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, fx(t, p, sizeof p, "scatter0.png"), NULL, NULL, 0, 64), LT_OK, NULL,
           "empty scatter");
    check_png(t, p, 64, 64, 2);
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, fx(t, p, sizeof p, "scatter1.png"), xy, NULL, 1, 100), LT_OK, NULL,
           "one point, no values");
    check_png(t, p, 100, 100, 2);
    float extreme[8] = {-3e38f, 3e38f, 3e38f, -3e38f, 0, 0, INFINITY, 1}, ev[4] = {-3e38f, NAN, 3e38f, 0};
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, fx(t, p, sizeof p, "scatter2.png"), extreme, ev, 4, 128), LT_OK, NULL,
           "extreme points and values");
    check_png(t, p, 128, 128, 2);
    EXPECT(t->ctx, lt_plot_scatter_labeled(t->ctx, fx(t, p, sizeof p, "scatter3.png"), extreme, ev, 4, 300, ""), LT_OK,
           NULL, "extreme points and values, ticks and no label");
    check_png(t, p, 300, 300, 2);
#ifdef HAVE_STB_IMAGE
    {
        /* lt_plot_scatter is lt_plot_scatter_labeled with "value"; another label shows;
         * the axes' tick labels (black) lie left of and below the axes box */
        char q[600], r[600];
        EXPECT(t->ctx, lt_plot_scatter_labeled(t->ctx, fx(t, q, sizeof q, "scatter_value.png"), xy, val, NP, 300,
                                               "value"), LT_OK, NULL, "scatter labelled \"value\"");
        EXPECT(t->ctx, lt_plot_scatter_labeled(t->ctx, fx(t, r, sizeof r, "scatter_roll.png"), xy, val, NP, 300,
                                               "position along the roll"), LT_OK, NULL, "scatter with a label");
        int w0, h0, w1, h1, w2, h2;
        unsigned char *i0 = stbi_load(fx(t, p, sizeof p, "scatter.png"), &w0, &h0, &ic, 3);
        unsigned char *i1 = stbi_load(q, &w1, &h1, &ic, 3), *i2 = stbi_load(r, &w2, &h2, &ic, 3);
        if (CHECK(i0 && i1 && i2 && w0 == 300 && h0 == 300 && w1 == 300 && h1 == 300 && w2 == 300 && h2 == 300,
                  "labelled scatter plots: stb_image cannot decode them")) {
            CHECK(memcmp(i0, i1, 300 * 300 * 3) == 0, "lt_plot_scatter differs from the label \"value\"");
            CHECK(memcmp(i0, i2, 300 * 300 * 3) != 0, "the colour bar's label does not show");
            int left = 0, below = 0;
            for (int y = 0; y < 300; y++)
                for (int x = 0; x < 300; x++) {
                    int black = near_rgb(i2 + 3 * (y * 300 + x), 0, 0, 0, 0);
                    left += black && x < 15;             /* y tick labels ("-20", "0", ...) */
                    below += black && y > 300 - 300 / 16; /* x tick marks and labels       */
                }
            CHECK(left > 20 && below > 20, "no tick labels: %d black pixels left, %d below the axes box", left, below);
        }
        stbi_image_free(i0);
        stbi_image_free(i1);
        stbi_image_free(i2);
    }
#endif

    fx(t, p, sizeof p, "bad.png");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, p, a, b, 0, H, W, 1, 1), LT_ERR_ARG, "cols = 0", "image rows cols 0");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, p, a, b, 1, H, W, 2, 1), LT_ERR_ARG, "c = 2", "image rows c 2");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, p, NULL, b, 1, H, W, 1, 1), LT_ERR_ARG, "a is NULL", "image rows NULL a");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, p, a, b, 1000, 1000, 1000, 1, 1000), LT_ERR_ARG, "too large",
           "image rows too large");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, NULL, a, b, 1, H, W, 1, 1), LT_ERR_ARG, "path", "image rows NULL path");
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, p, xy, val, NP, 10), LT_ERR_ARG, "size_px = 10", "scatter too small");
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, p, NULL, val, NP, 100), LT_ERR_ARG, "xy is NULL", "scatter NULL xy");
    struct stat sb;
    CHECK(stat(p, &sb) != 0, "bad.png: written despite bad arguments");
    fx(t, p, sizeof p, "no-such-dir/out.png");
    EXPECT(t->ctx, lt_plot_image_rows(t->ctx, p, a, b, NC, H, W, 1, 1), LT_ERR_IO, p, "image rows unwritable");
    EXPECT(t->ctx, lt_plot_scatter(t->ctx, p, xy, val, NP, 100), LT_ERR_IO, "no-such-dir/out.png: cannot create",
           "scatter unwritable");
}

#ifdef HAVE_STB_IMAGE
/* The columns of a decoded series plot's top panel: its frame found on pixel row y
 * (the first and last black pixels), and the first and last columns inside it that
 * hold the flagged shade on some pixel row of [ya, yb]; -1 when none does. */
static void find_shade(const unsigned char *img, int iw, int y, int ya, int yb, int *x0, int *x1, int *s0, int *s1)
{
    *x0 = *x1 = *s0 = *s1 = -1;
    for (int x = 0; x < iw; x++)
        if (near_rgb(img + 3 * (y * iw + x), 0, 0, 0, 0)) {
            if (*x0 < 0) *x0 = x;
            *x1 = x;
        }
    for (int x = *x0 + 1; *x0 >= 0 && x < *x1; x++)
        for (int yy = ya; yy <= yb; yy++)
            if (near_rgb(img + 3 * (yy * iw + x), 255, 205, 205, 0)) {
                if (*s0 < 0) *s0 = x;
                *s1 = x;
                break;
            }
}
#endif

/* Series plot: its size, the flagged windows' rows shaded where they belong (in both
 * panels), nothing shaded when no window passes the threshold, and bad arguments. */
static void test_series_plot(fixture *t)
{
    enum { NROWS = 200, NCOLS = 2, WINDOW = 20, STRIDE = 5, NW = (NROWS - WINDOW) / STRIDE + 1, PW = 600, PH = 300 };
    float series[NROWS * NCOLS], scores[NW];
    for (int i = 0; i < NROWS; i++) {
        series[i * NCOLS] = (float)sin(i * 0.2);
        series[i * NCOLS + 1] = (float)cos(i * 0.05) * 3.0f;
    }
    series[7] = NAN; /* a gap in the line */
    for (int i = 0; i < NW; i++) scores[i] = 0.1f + 0.01f * (float)(i % 3);
    scores[20] = scores[21] = 5.0f; /* windows at rows 100-119 and 105-124 */
    const char *names[NCOLS] = {"sin", "cos"};
    lt_series_plot sp = {series, NROWS, NCOLS, names, "test series", scores, NW, WINDOW, STRIDE, 1.0f, 150};
    char p[600];
    EXPECT(t->ctx, lt_plot_series(t->ctx, fx(t, p, sizeof p, "series.png"), &sp, PW, PH), LT_OK, NULL, "series plot");
    check_png(t, p, PW, PH, 2);
#ifdef HAVE_STB_IMAGE
    int iw, ih, ic, x0, x1, s0, s1;
    unsigned char *img = stbi_load(p, &iw, &ih, &ic, 3);
    if (CHECK(img && iw == PW && ih == PH, "series.png: stb_image cannot decode it as %dx%d", PW, PH)) {
        /* the top panel spans about rows 17..190 of the image, the score panel 200..284 */
        find_shade(img, iw, PH / 5, 30, 150, &x0, &x1, &s0, &s1);
        CHECK(x0 > 0 && x1 > x0 + PW / 2, "series.png: no panel frame found on row %d (%d..%d)", PH / 5, x0, x1);
        double span = x1 - x0 - 2;
        int want0 = x0 + 1 + (int)lround((100 - 0.5) / (NROWS - 1) * span);
        int want1 = x0 + 1 + (int)lround((124 + 0.5) / (NROWS - 1) * span);
        CHECK(s0 >= 0 && abs(s0 - want0) <= 2 && abs(s1 - want1) <= 2,
              "series.png: shade over columns %d..%d, expected %d..%d (rows 100..124 of 0..199)", s0, s1, want0, want1);
        int b0 = s0, b1 = s1;
        find_shade(img, iw, PH * 4 / 5, PH * 4 / 5 - 10, PH * 4 / 5 + 10, &x0, &x1, &s0, &s1);
        CHECK(s0 == b0 && s1 == b1, "series.png: the score panel shades %d..%d, the series panel %d..%d", s0, s1, b0, b1);
    }
    stbi_image_free(img);
#endif
    /* no window above the threshold: nothing shaded */
    sp.threshold = 10.0f;
    EXPECT(t->ctx, lt_plot_series(t->ctx, fx(t, p, sizeof p, "series-calm.png"), &sp, PW, PH), LT_OK, NULL, "calm series plot");
#ifdef HAVE_STB_IMAGE
    img = stbi_load(p, &iw, &ih, &ic, 3);
    if (CHECK(img != NULL, "series-calm.png: stb_image cannot decode it")) {
        int shaded = 0; /* below the legend line, whose swatch shows the shade */
        for (int i = 20 * iw; i < iw * ih; i++) shaded += near_rgb(img + 3 * i, 255, 205, 205, 0);
        CHECK(shaded == 0, "series-calm.png: %d shaded pixels, expected none", shaded);
    }
    stbi_image_free(img);
#endif
    /* no scores: the series alone */
    lt_series_plot plain = {series, NROWS, NCOLS, NULL, NULL, NULL, 0, 0, 0, 0.0f, 0};
    EXPECT(t->ctx, lt_plot_series(t->ctx, fx(t, p, sizeof p, "series-plain.png"), &plain, 200, 120), LT_OK, NULL,
           "series without scores");
    check_png(t, p, 200, 120, 2);

    fx(t, p, sizeof p, "series-bad.png");
    sp.threshold = 1.0f;
    EXPECT(t->ctx, lt_plot_series(t->ctx, p, &sp, 100, PH), LT_ERR_ARG, "100x300 pixels", "series plot too narrow");
    sp.windows = NW + 1;
    EXPECT(t->ctx, lt_plot_series(t->ctx, p, &sp, PW, PH), LT_ERR_ARG, "38 windows of 20 rows every 5 rows do not fit in 200 rows",
           "more windows than the series holds");
    sp.windows = NW;
    sp.cols = 0;
    EXPECT(t->ctx, lt_plot_series(t->ctx, p, &sp, PW, PH), LT_ERR_ARG, "0 columns", "series plot without columns");
    EXPECT(t->ctx, lt_plot_series(t->ctx, p, NULL, PW, PH), LT_ERR_ARG, "NULL", "series plot NULL");
    struct stat sb;
    CHECK(stat(p, &sb) != 0, "series-bad.png: written despite bad arguments");
}

/* Runs every group of checks against fixtures in a fresh temporary directory. */
int main(void)
{
    static const fixture_group groups[] = {test_idx,     test_fashion,        test_csv,   test_csv_columns,
                                           test_windows, test_series_scaling, test_swiss, test_array,
                                           test_plot,    test_series_plot};
    return run_fixture_groups("data", groups, sizeof groups / sizeof groups[0]);
}
