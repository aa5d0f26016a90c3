/* Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/): small valid
 * inputs, each in its target's input format (option bytes, then the file; see the top
 * of each fuzz_*.c). Run it again when a file format changes (a new model file section)
 * and commit what it writes; inputs the fuzzer found (regressions) are kept beside
 * them by hand, under names starting with "crash-" or "regress-".
 *
 *   meson compile -C build-fuzz gen_corpus && build-fuzz/tests/fuzz/gen_corpus tests/fuzz/corpus
 *
 * Built in the fuzz build (-Dfuzz=true) but not by default; not itself a fuzzer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "latent.h"
#include "../tiny_jpeg.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#endif
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static const char *root;
static lt_ctx *ctx;

static void die(const char *what)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, ctx ? lt_ctx_error(ctx) : strerror(errno));
    exit(1);
}

/* A growable byte buffer. */
typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("out of memory");
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put8(buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put16le(buf *b, unsigned v) { put8(b, v & 255); put8(b, v >> 8); }
static void put32le(buf *b, uint32_t v) { put16le(b, v & 0xffff); put16le(b, v >> 16); }
static void put32be(buf *b, uint32_t v) { put8(b, v >> 24); put8(b, (v >> 16) & 255); put8(b, (v >> 8) & 255); put8(b, v & 255); }

/* Writes corpus/<target>/<name>: the option bytes, then the payload. */
static void emit(const char *target, const char *name, const void *head, size_t nhead, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(head, 1, nhead, f) != nhead || fwrite(data, 1, n, f) != n || fclose(f) != 0) die(path);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    unsigned char *p = malloc((size_t)len + 1);
    if (!p || fread(p, 1, (size_t)len, f) != (size_t)len) die(path);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* gzip of data into a new buffer. */
static buf gzip_bytes(const void *data, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2");
    buf b = {0};
    b.cap = deflateBound(&zs, (uLong)n) + 64;
    b.p = malloc(b.cap);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = b.p;
    zs.avail_out = (uInt)b.cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) die("deflate");
    b.n = zs.total_out;
    deflateEnd(&zs);
    return b;
}

/* ---------------------------------------------------------------- model files */

/* Builds spec for the shape, optionally compiles and trains a step, adds notes, saves
 * and emits it for fuzz_modelfile. */
static void model(const char *name, const char *spec, int rank, int d0, int d1, int d2, int compile, lt_loss loss,
                  lt_optim_kind kind, int with_opt, const char *const *notes)
{
    int dims[3] = {d0, d1, d2};
    lt_model *m;
    if (lt_arch_build_shape(ctx, spec, rank, dims, 7, &m) != LT_OK) die(spec);
    if (compile) {
        lt_optimizer o = lt_optimizer_defaults(kind);
        if (kind == LT_SGD) { o.momentum = 0.9f; o.nesterov = 1; o.clipnorm = 1.0f; }
        if (kind == LT_RMSPROP) o.global_clipnorm = 2.0f;
        if (lt_compile(m, loss, &o) != LT_OK) die("compile");
        /* one step on two samples, so the optimizer state is not all zeros */
        int in = lt_input_dim(m), out = lt_output_dim(m);
        float *x = calloc((size_t)2 * (size_t)in, sizeof *x), *y = calloc((size_t)2 * (size_t)out, sizeof *y);
        for (int i = 0; i < 2 * in; i++) x[i] = (float)((i * 37) % 11) / 11.0f;
        for (int i = 0; i < 2 * out; i++) y[i] = loss == LT_LOSS_CCE ? (i % out == i / out) : 0.5f;
        lt_dataset *dx, *dy;
        if (lt_dataset_from_array(ctx, 2, (size_t)in, x, NULL, &dx) != LT_OK) die("dataset");
        if (lt_dataset_from_array(ctx, 2, (size_t)out, y, NULL, &dy) != LT_OK) die("dataset");
        lt_fit_opts fo = {.epochs = 1, .batch = 2, .verbose = -1};
        if (lt_fit(m, dx, dy, &fo, NULL) != LT_OK) die("fit");
        lt_dataset_free(dx);
        lt_dataset_free(dy);
        free(x);
        free(y);
    }
    for (int i = 0; notes && notes[i]; i += 2)
        if (lt_model_set_meta(m, notes[i], notes[i + 1]) != LT_OK) die("notes");
    const char *tmp = "/tmp/latent-gen-corpus.lt";
    if (lt_save(m, tmp, with_opt) != LT_OK) die("save");
    lt_model_free(m);
    size_t n;
    unsigned char *p = slurp(tmp, &n);
    unlink(tmp);
    unsigned char opt = 0;
    emit("fuzz_modelfile", name, &opt, 1, p, n);
    free(p);
}

/* Stops a run after step 3 of its second epoch. */
static int stop_midway(void *user, const lt_fit_point *where)
{
    (void)user;
    return where->epoch == 2 && where->step == 3 ? LT_FIT_STOP : 0;
}

/* A model whose training run stopped midway with early stopping that restores the best
 * weights: its file has the run's progress (PROG) and the best weights (BEST). */
static void model_stopped(void)
{
    int dims[1] = {3};
    lt_model *m;
    if (lt_arch_build_shape(ctx, "dense:2:tanh|dense:in", 1, dims, 7, &m) != LT_OK) die("build");
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    if (lt_compile(m, LT_LOSS_MSE, &o) != LT_OK) die("compile");
    float x[16 * 3];
    for (int i = 0; i < 16 * 3; i++) x[i] = (float)((i * 7) % 13) / 13.0f;
    lt_dataset *dx;
    if (lt_dataset_from_array(ctx, 16, 3, x, NULL, &dx) != LT_OK) die("dataset");
    lt_fit_opts fo = {.epochs = 4, .batch = 2, .verbose = -1, .validation_split = 0.25f, .patience = 2,
                      .restore_best = 1, .seed = 3, .poll = stop_midway};
    lt_history h;
    if (lt_fit(m, dx, NULL, &fo, &h) != LT_OK || !h.stopped) die("fit (stopped midway)");
    lt_dataset_free(dx);
    const char *tmp = "/tmp/latent-gen-corpus.lt";
    if (lt_save(m, tmp, 1) != LT_OK) die("save");
    lt_model_free(m);
    size_t n;
    unsigned char *p = slurp(tmp, &n);
    unlink(tmp);
    unsigned char opt = 0;
    emit("fuzz_modelfile", "stopped-midway-best.lt", &opt, 1, p, n);
    free(p);
}

static void models(void)
{
    model_stopped();
    static const char *const notes[] = {"task", "autoencoder", "data", "data/co2.csv", "window", "52",
                                        "columns", "2-3,co2", "mean", "315.5,0.25", "sd", "2.5,1", NULL};
    static const char *const one_note[] = {"task", "classifier", NULL};
    model("dense-adam-notes.lt", "dense:4:elu,dense:2:elu|dense:4:elu,dense:in:sigmoid", 1, 6, 0, 0, 1,
          LT_LOSS_BCE, LT_ADAM, 1, notes);
    model("dense-plain.lt", "dense:3|dense:in", 1, 4, 0, 0, 0, LT_LOSS_MSE, LT_ADAM, 0, NULL);
    model("conv-sgd.lt",
          "conv:2:3x3:relu:same,maxpool:2x2,flatten,dense:4|dense:8,reshape:2x2x2,upsample:2x2:bilinear,"
          "deconv:1:3x3:sigmoid:same",
          3, 4, 4, 1, 1, LT_LOSS_MSE, LT_SGD, 1, one_note);
    model("conv-dil-op.lt", "conv:2:2x2:d2:leaky_relu,deconv:1:2x2:s2:op1,maxpool:2x2:s1:same", 3, 5, 5, 2, 1,
          LT_LOSS_MSE_SUM, LT_ADAM, 0, NULL);
    model("lstm-state-init.lt", "lstm:3:state|lstm:3:seq:init,td:c", 2, 5, 2, 0, 1, LT_LOSS_MSE, LT_RMSPROP, 1, NULL);
    model("gru-bi.lt", "gru:2:seq:back,bigru:2:seq:sum,bilstm:2:mul,dense:2", 2, 4, 3, 0, 1, LT_LOSS_MSE, LT_ADAM, 1,
          one_note);
    model("rnn-clf.lt", "rnn:3:relu,dense:3:softmax", 2, 3, 2, 0, 1, LT_LOSS_CCE, LT_ADAM, 1, one_note);
    model("seq-ae.lt", "lstm:2|repeat:t,gru:2:seq,td:c:tanh", 2, 3, 2, 0, 1, LT_LOSS_MSE, LT_ADAM, 1, NULL);
    model("rnn-from-state.lt", "dense:3:tanh,rnn:3:init4:seq,td:1", 1, 2, 0, 0, 1, LT_LOSS_MSE, LT_ADAM, 1, NULL);
    model("vae.lt", "dense:4:relu,dense:4,sampling:0.5|dense:4:relu,dense:in:sigmoid", 1, 5, 0, 0, 1,
          LT_LOSS_BCE_SUM, LT_ADAM, 1, notes);
    model("regularized.lt",
          "dropout:0.1,noise:0.1,dense:4:sigmoid,sparsity:0.05:0.1,l1:0.01|dense:in,act:elu,addinput", 1, 3, 0, 0, 1,
          LT_LOSS_BCE_LOGITS, LT_ADAM, 1, NULL);
}

/* ---------------------------------------------------------------- IDX */

static void idx(void)
{
    buf img = {0}, lab = {0};
    put32be(&img, 0x00000803);
    put32be(&img, 3);
    put32be(&img, 4);
    put32be(&img, 5);
    for (int i = 0; i < 3 * 4 * 5; i++) put8(&img, (unsigned)(i * 17) & 255);
    put32be(&lab, 0x00000801);
    put32be(&lab, 3);
    put8(&lab, 0);
    put8(&lab, 7);
    put8(&lab, 255);
    unsigned char head[3] = {0, 0, 0};
    emit("fuzz_idx", "images.idx", head, 3, img.p, img.n);
    /* a label file, then the images */
    buf both = {0};
    put(&both, lab.p, lab.n);
    put(&both, img.p, img.n);
    head[0] = 1;
    head[1] = (unsigned char)lab.n;
    emit("fuzz_idx", "images-labels.idx", head, 3, both.p, both.n);
    /* the same, gzipped by the target (images and labels) */
    head[0] = 1 | 2 | 4;
    emit("fuzz_idx", "images-labels-gz-by-target.idx", head, 3, both.p, both.n);
    /* gzip files as they are on disk (their bytes mutated directly) */
    buf gi = gzip_bytes(img.p, img.n), gl = gzip_bytes(lab.p, lab.n), gboth = {0};
    head[0] = 0;
    emit("fuzz_idx", "images.idx.gz", head, 3, gi.p, gi.n);
    put(&gboth, gl.p, gl.n);
    put(&gboth, gi.p, gi.n);
    head[0] = 1;
    head[1] = (unsigned char)gl.n;
    emit("fuzz_idx", "images-labels.idx.gz", head, 3, gboth.p, gboth.n);
    /* one 1x1 image */
    buf one = {0};
    put32be(&one, 0x00000803);
    put32be(&one, 1);
    put32be(&one, 1);
    put32be(&one, 1);
    put8(&one, 128);
    head[0] = 0;
    emit("fuzz_idx", "one-pixel.idx", head, 3, one.p, one.n);
    free(img.p); free(lab.p); free(both.p); free(gi.p); free(gl.p); free(gboth.p); free(one.p);
}

/* ---------------------------------------------------------------- CSV */

static void csv1(const char *name, unsigned opt, unsigned window, unsigned stride, const char *columns, const char *text)
{
    buf b = {0};
    put8(&b, opt | (columns ? 2 : 0));
    put8(&b, window);
    put8(&b, stride);
    if (columns) put(&b, columns, strlen(columns) + 1);
    emit("fuzz_csv", name, b.p, b.n, text, strlen(text));
    free(b.p);
}

static void csv(void)
{
    csv1("plain.csv", 0, 2, 1, NULL, "1,2,3\n4,5,6\n7,8,9\n10,11,12\n");
    csv1("plain-noopts.csv", 4, 0, 0, NULL, "0.5\n-1e3\n2.25e-2\n");
    csv1("header-dates.csv", 1, 3, 2, "2-3", "date,co2,temp\n1958-03,315.7,1.5\n1958-04,317.45,2\n"
         "1958-05,317.51,2.5\n1958-06,,3\n1958-07,315.86,3.5\n");
    csv1("names.csv", 1, 1, 1, "temp, co2 ,1", "date,co2,temp\n1,315.7,1.5\n2,,2\n3,,\n4,317.51,2.5\n");
    csv1("case-names.csv", 0, 1, 1, "CO2,Temp", "date,co2,temp\n1,2,3\n4,5,6\n");
    csv1("interpolate.csv", 1, 4, 3, NULL, "a,b\n1,10\n,\n,\n4,40\n5,\n6,60\n");
    csv1("quoted-crlf.csv", 0, 1, 1, NULL, "\"x\",\"y \"\"q\"\"\"\r\n\"1\", 2 \r\n\r\n  3 ,\"4\"\r\n");
    csv1("bom.csv", 0, 1, 1, "1-2", "\xEF\xBB\xBFh1,h2\n1,2\n");
    csv1("ranges.csv", 0, 2, 1, "3-4,1", "1,2,3,4\n5,6,7,8\n9,10,11,12\n");
    csv1("blank-lines.csv", 0, 1, 1, NULL, "\n  \n1\t,2\n\n3,4\n");
}

/* ---------------------------------------------------------------- images */

static void write_cb(void *ctxp, void *data, int size) { put((buf *)ctxp, data, (size_t)size); }

static void image(const char *name, unsigned channels_byte, const void *data, size_t n)
{
    unsigned char head = (unsigned char)channels_byte;
    emit("fuzz_image", name, &head, 1, data, n);
}

/* A PNG chunk: length, type, data, CRC. */
static void png_chunk(buf *b, const char *type, const void *data, size_t n)
{
    put32be(b, (uint32_t)n);
    put(b, type, 4);
    put(b, data, n);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    crc = crc32(crc, data, (uInt)n);
    put32be(b, (uint32_t)crc);
}

/* A PNG from raw scanlines (filter bytes included), any depth, colour type, interlace. */
static void png_raw(const char *name, unsigned ch, int w, int h, int depth, int ctype, int interlace,
                    const void *plte, size_t nplte, const void *trns, size_t ntrns, const void *raw, size_t nraw)
{
    buf b = {0};
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    put(&b, sig, 8);
    buf ihdr = {0};
    put32be(&ihdr, (uint32_t)w);
    put32be(&ihdr, (uint32_t)h);
    put8(&ihdr, (unsigned)depth);
    put8(&ihdr, (unsigned)ctype);
    put8(&ihdr, 0);
    put8(&ihdr, 0);
    put8(&ihdr, (unsigned)interlace);
    png_chunk(&b, "IHDR", ihdr.p, ihdr.n);
    if (plte) png_chunk(&b, "PLTE", plte, nplte);
    if (trns) png_chunk(&b, "tRNS", trns, ntrns);
    uLongf zn = compressBound((uLong)nraw);
    unsigned char *z = malloc(zn);
    if (compress2(z, &zn, raw, (uLong)nraw, 9) != Z_OK) die("compress");
    png_chunk(&b, "IDAT", z, zn);
    png_chunk(&b, "IEND", "", 0);
    image(name, ch, b.p, b.n);
    free(z);
    free(ihdr.p);
    free(b.p);
}

/* A BMP with a BITMAPINFOHEADER (40 bytes), optional palette and bit-field masks. */
static void bmp_raw(const char *name, unsigned ch, int w, int h, int bpp, int comp, const void *pal, size_t npal,
                    const uint32_t *masks, const void *px, size_t npx)
{
    buf b = {0};
    uint32_t off = 14 + 40 + (uint32_t)npal + (masks ? 12 : 0);
    put8(&b, 'B');
    put8(&b, 'M');
    put32le(&b, off + (uint32_t)npx);
    put32le(&b, 0);
    put32le(&b, off);
    put32le(&b, 40);
    put32le(&b, (uint32_t)w);
    put32le(&b, (uint32_t)h);
    put16le(&b, 1);
    put16le(&b, (unsigned)bpp);
    put32le(&b, (uint32_t)comp);
    put32le(&b, (uint32_t)npx);
    put32le(&b, 2835);
    put32le(&b, 2835);
    put32le(&b, npal ? (uint32_t)(npal / 4) : 0);
    put32le(&b, 0);
    if (masks) for (int i = 0; i < 3; i++) put32le(&b, masks[i]);
    if (pal) put(&b, pal, npal);
    put(&b, px, npx);
    image(name, ch, b.p, b.n);
    free(b.p);
}

static void images(void)
{
    unsigned char px[6 * 5 * 4];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (unsigned char)(i * 29 + 3);
    for (int comp = 1; comp <= 4; comp++) {
        buf b = {0};
        if (!stbi_write_png_to_func(write_cb, &b, 6, 5, comp, px, 6 * comp)) die("png");
        char name[64];
        snprintf(name, sizeof name, "stb-%dch.png", comp);
        image(name, (unsigned)comp % 3, b.p, b.n);
        free(b.p);
    }
    {
        buf b = {0};
        if (!stbi_write_bmp_to_func(write_cb, &b, 5, 3, 3, px)) die("bmp");
        image("stb-rgb.bmp", 0, b.p, b.n);
        free(b.p);
        b = (buf){0};
        if (!stbi_write_bmp_to_func(write_cb, &b, 3, 2, 4, px)) die("bmp");
        image("stb-rgba.bmp", 1, b.p, b.n);
        free(b.p);
    }
    image("baseline-rgb.jpg", 0, tiny_jpeg, sizeof tiny_jpeg);
    image("baseline-rgb-to-gray.jpg", 1, tiny_jpeg, sizeof tiny_jpeg);

    /* PNGs stb_image_write does not make: 16-bit, palette with transparency, 1-bit,
     * interlaced (Adam7), gray+alpha 16-bit. */
    {
        unsigned char raw[3 * (1 + 3 * 2)];
        for (int y = 0, k = 0; y < 3; y++) {
            raw[k++] = (unsigned char)(y % 5); /* filter types 0..2 */
            for (int x = 0; x < 6; x++) raw[k++] = (unsigned char)(x * 40 + y * 7);
        }
        png_raw("gray16.png", 0, 3, 3, 16, 0, 0, NULL, 0, NULL, 0, raw, sizeof raw);
    }
    {
        unsigned char plte[4 * 3] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255}, trns[2] = {0, 128};
        unsigned char raw[4 * (1 + 2)];
        for (int y = 0, k = 0; y < 4; y++) {
            raw[k++] = (unsigned char)(y == 3 ? 4 : y); /* filter types 0..4 */
            raw[k++] = (unsigned char)(0x01 | (y << 4));
            raw[k++] = 0x23;
        }
        png_raw("palette4-trns.png", 0, 4, 4, 4, 3, 0, plte, sizeof plte, trns, sizeof trns, raw, sizeof raw);
    }
    {
        unsigned char raw[2 * (1 + 2)] = {0, 0xa5, 0x80, 0, 0x5a, 0x40};
        png_raw("gray1.png", 1, 10, 2, 1, 0, 0, NULL, 0, NULL, 0, raw, sizeof raw);
    }
    {
        /* Adam7 of a 5x5 8-bit gray image: passes of 1x1, 1x1, 2x1, 1x2, 3x1, 2x3, 5x2 pixels (w x h) */
        static const int pw[7] = {1, 1, 2, 1, 3, 2, 5}, ph[7] = {1, 1, 1, 2, 1, 3, 2};
        buf raw = {0};
        for (int p = 0, v = 0; p < 7; p++)
            for (int y = 0; y < ph[p]; y++) {
                put8(&raw, 0);
                for (int x = 0; x < pw[p]; x++) put8(&raw, (unsigned)(v++ * 10));
            }
        png_raw("adam7-gray.png", 0, 5, 5, 8, 0, 1, NULL, 0, NULL, 0, raw.p, raw.n);
        free(raw.p);
    }
    {
        unsigned char raw[2 * (1 + 2 * 4)];
        for (int i = 0; i < (int)sizeof raw; i++) raw[i] = (unsigned char)(i % 9 == 0 ? 1 : i * 13);
        png_raw("gray-alpha16.png", 0, 2, 2, 16, 4, 0, NULL, 0, NULL, 0, raw, sizeof raw);
    }
    /* BMPs: 8-bit palette, 16-bit bit fields, 32-bit top-down bit fields, 1-bit. */
    {
        unsigned char pal[4 * 4] = {0, 0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0};
        unsigned char pix[3 * 4] = {0, 1, 2, 0, 3, 2, 1, 0, 1, 1, 3, 0};
        bmp_raw("pal8.bmp", 0, 3, 3, 8, 0, pal, sizeof pal, NULL, pix, sizeof pix);
        unsigned char pal1[8] = {0, 0, 0, 0, 255, 255, 255, 0}, pix1[2 * 4] = {0xa0, 0, 0, 0, 0x50, 0, 0, 0};
        bmp_raw("mono1.bmp", 1, 3, 2, 1, 0, pal1, sizeof pal1, NULL, pix1, sizeof pix1);
        static const uint32_t m565[3] = {0xf800, 0x07e0, 0x001f};
        unsigned char p16[2 * 4] = {0x1f, 0xf8, 0xe0, 0x07, 0xff, 0xff, 0x00, 0x00};
        bmp_raw("rgb565.bmp", 0, 2, 2, 16, 3, NULL, 0, m565, p16, sizeof p16);
        static const uint32_t m888[3] = {0x00ff0000, 0x0000ff00, 0x000000ff};
        unsigned char p32[2 * 2 * 4];
        for (int i = 0; i < (int)sizeof p32; i++) p32[i] = (unsigned char)(i * 31);
        bmp_raw("topdown32.bmp", 2, 2, -2, 32, 3, NULL, 0, m888, p32, sizeof p32);
    }
}

/* ---------------------------------------------------------------- arch specs */

static void arch1(const char *name, int rank, int d0, int d1, int d2, const char *spec)
{
    /* fuzz_arch: rank byte (1 + b % 3), size bytes (rank 1: 1 + b; 2: 1 + b % 32,
     * 1 + b % 16; 3: 1 + b % 32, 1 + b % 32, 1 + b % 4), seed byte */
    unsigned char head[5] = {(unsigned char)(rank - 1), (unsigned char)(d0 - 1), (unsigned char)(d1 - 1),
                             (unsigned char)(d2 - 1), 7};
    if (rank == 1) head[2] = head[3] = 0;
    emit("fuzz_arch", name, head, 5, spec, strlen(spec));
}

static void specs(void)
{
    arch1("dense-ae", 1, 16, 1, 1, "dense:8:elu,dropout:0.2|dense:8:elu,dense:in:sigmoid");
    arch1("mlp-ae", 1, 20, 1, 1, "mlp-ae");
    arch1("swissroll", 1, 3, 1, 1, "swissroll-deep-ae");
    arch1("vae", 1, 12, 1, 1, "dense:8:relu,dense:4,sampling:0.5|dense:8:relu,dense:in:sigmoid");
    arch1("regularized", 1, 6, 1, 1, "noise:0.1,dense:4:sigmoid,sparsity:0.05:0.1,l1:0.01|dense:in,activation:elu,addinput");
    arch1("conv", 3, 8, 8, 1, "conv:4:3x3:relu:same,maxpool:2x2,flatten,dense:4|dense:64,reshape:4x4x4,"
          "upsample:2x2:bilinear,deconv:1:3x3:sigmoid:same");
    arch1("conv-strides", 3, 9, 9, 3, "conv:2:3x3:s2:d1:valid,deconv:c:3x3:s2:op0,upsample:1x2:nearest,maxpool:2x2:s1:same");
    arch1("sr2x", 3, 12, 12, 3, "sr2x");
    arch1("conv-vae", 3, 28, 28, 1, "conv-vae");
    arch1("rnn-clf", 3, 6, 5, 1, "rnn-clf");
    arch1("birnn-ae", 2, 5, 4, 1, "birnn-ae");
    arch1("seq-ae", 2, 6, 2, 1, "seq-ae");
    arch1("lstm-state", 2, 5, 2, 1, "lstm:4:state|lstm:4:seq:init,td:c");
    arch1("gru-bi", 2, 4, 3, 1, "gru:3:seq:back:relu,bigru:2:seq:ave,bilstm:2:concat,dense:2:softmax");
    arch1("from-state", 1, 2, 1, 1, "dense:4:tanh,rnn:4:init24:seq,td:1");
    arch1("repeat", 1, 3, 1, 1, "dense:3|repeat:4,lstm:2:seq,td:3:leaky_relu");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0777);
    char err[256];
    if (lt_ctx_open(&ctx, "cpu", err, sizeof err) != LT_OK) {
        fprintf(stderr, "gen_corpus: %s\n", err);
        return 1;
    }
    lt_ctx_set_threads(ctx, 1);
    models();
    idx();
    csv();
    images();
    specs();
    lt_ctx_close(ctx);
    return 0;
}
