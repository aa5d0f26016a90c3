/* Tests of image file I/O: PNG save and load (gray, RGB, channel conversion), resizing,
 * and errors for missing, corrupt, truncated and oversized files. Fixtures go into a
 * fresh temporary directory (removed again when every check passed). The context is made
 * by hand so that this test needs no backend. Prints one line per failed check; exits 0
 * only if none failed. */
#include <zlib.h>
#include "internal.h"
#include "harness.h"

#include "tiny_jpeg.h"

/* A value after 8-bit rounding, as the PNG stores it. */
static float q8(float v)
{
    return roundf(v * 255.0f) / 255.0f;
}

/* Loads path as `ask` channels (0: as stored) and checks that it is one H x W x c image
 * whose every value is within tol of ref (ref_c channels a pixel; of one, it is every
 * channel's), when ref is not NULL. */
static void check_load(fixture *t, const char *path, int ask, int H, int W, int c, const float *ref, int ref_c,
                       float tol, const char *what)
{
    lt_dataset *ds = NULL;
    int h, w, cc;
    if (!EXPECT(t->ctx, lt_image_load(t->ctx, path, ask, &ds), LT_OK, NULL, what) || !ds) return;
    lt_dataset_image_shape(ds, &h, &w, &cc);
    CHECK(h == H && w == W && cc == c, "%s: shape %dx%dx%d", what, h, w, cc);
    CHECK(lt_dataset_count(ds) == 1 && lt_dataset_dim(ds) == (size_t)(H * W * c), "%s: dataset %zux%zu", what,
          lt_dataset_count(ds), lt_dataset_dim(ds));
    const float *x = lt_dataset_data(ds);
    int bad = 0;
    for (int j = 0; ref && cc == c && j < H * W * c; j++)
        bad += !(fabsf(x[j] - ref[j / c * ref_c + (ref_c == 1 ? 0 : j % c)]) <= tol);
    CHECK(bad == 0, "%s: %d values differ by more than %g", what, bad, (double)tol);
    lt_dataset_free(ds);
}

/* Saves a gray and an RGB image, loads them back as stored and converted. */
static void test_roundtrip(fixture *t)
{
    enum { H = 5, W = 7 };
    float gray[H * W], rgb[H * W * 3], g8[H * W], g3[H * W * 3];
    for (int i = 0; i < H * W; i++) gray[i] = (float)i / (H * W - 1);
    for (int i = 0; i < H * W * 3; i++) rgb[i] = (float)((i * 37) % 101) / 100.0f;
    for (int i = 0; i < H * W; i++) g8[i] = q8(gray[i]);
    for (int i = 0; i < H * W; i++) g3[i * 3] = g3[i * 3 + 1] = g3[i * 3 + 2] = gray[i];
    char pg[600], pc[600], p3[600];
    EXPECT(t->ctx, lt_image_save_png(t->ctx, fx(t, pg, sizeof pg, "gray.png"), gray, H, W, 1), LT_OK, NULL, "save gray");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, fx(t, pc, sizeof pc, "rgb.png"), rgb, H, W, 3), LT_OK, NULL, "save rgb");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, fx(t, p3, sizeof p3, "gray3.png"), g3, H, W, 3), LT_OK, NULL, "save g3");
    const float step = 1.0f / 255.0f + 1e-6f;
    check_load(t, pg, 0, H, W, 1, g8, 1, 1e-6f, "load gray");
    check_load(t, pc, 0, H, W, 3, rgb, 3, step, "load rgb");
    check_load(t, pg, 3, H, W, 3, g8, 1, 1e-6f, "load gray as rgb"); /* 1 -> 3: every channel the gray value */
    /* 3 -> 1: a gray image saved as RGB comes back as itself; a colored one is in [0,1] */
    check_load(t, p3, 1, H, W, 1, gray, 1, step, "load rgb as gray");
    check_load(t, pc, 1, H, W, 1, NULL, 1, 0, "load colored rgb as gray");
    lt_dataset *ds = NULL;
    /* clipping: out-of-range values are stored as 0 and 1 */
    float wild[4] = {-3.0f, 2.0f, NAN, 0.5f};
    char pw[600];
    EXPECT(t->ctx, lt_image_save_png(t->ctx, fx(t, pw, sizeof pw, "wild.png"), wild, 2, 2, 1), LT_OK, NULL, "save wild");
    if (lt_image_load(t->ctx, pw, 0, &ds) == LT_OK) {
        const float *x = lt_dataset_data(ds);
        CHECK(x[0] == 0.0f && x[1] == 1.0f && x[2] == 0.0f && fabsf(x[3] - q8(0.5f)) < 1e-6f,
              "clipped values %g %g %g %g", x[0], x[1], x[2], x[3]);
        lt_dataset_free(ds);
        ds = NULL;
    } else {
        CHECK(0, "load wild: %s", lt_ctx_error(t->ctx));
    }
}

/* Resizing a constant image keeps it constant, down and up. */
static void test_resize(fixture *t)
{
    float a[8 * 6 * 3], b[4 * 3 * 3], c2[8 * 6 * 3];
    for (int i = 0; i < 8 * 6 * 3; i++) a[i] = 0.375f;
    EXPECT(t->ctx, lt_image_resize(t->ctx, a, 8, 6, 3, b, 4, 3), LT_OK, NULL, "resize down");
    int bad = 0;
    for (int i = 0; i < 4 * 3 * 3; i++) bad += fabsf(b[i] - 0.375f) > 1e-5f;
    CHECK(bad == 0, "resize down: %d values not constant", bad);
    EXPECT(t->ctx, lt_image_resize(t->ctx, b, 4, 3, 3, c2, 8, 6), LT_OK, NULL, "resize up");
    bad = 0;
    for (int i = 0; i < 8 * 6 * 3; i++) bad += fabsf(c2[i] - 0.375f) > 1e-5f;
    CHECK(bad == 0, "resize up: %d values not constant", bad);
    EXPECT(t->ctx, lt_image_resize(t->ctx, a, 8, 6, 3, b, 0, 3), LT_ERR_ARG, NULL, "resize to 0 rows");
    EXPECT(t->ctx, lt_image_resize(t->ctx, NULL, 8, 6, 3, b, 4, 3), LT_ERR_ARG, NULL, "resize NULL");
    EXPECT(t->ctx, lt_image_resize(t->ctx, a, 1 << 20, 1 << 20, 3, b, 4, 3), LT_ERR_ARG, NULL, "resize huge");
}

/* Appends a PNG chunk (length, type, data, CRC) to buf at *n. */
static void put_chunk(unsigned char *buf, size_t *n, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char *p = buf + *n;
    p[0] = (unsigned char)(len >> 24), p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8), p[3] = (unsigned char)len;
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uint32_t crc = (uint32_t)crc32(0L, p + 4, 4 + len);
    p[8 + len] = (unsigned char)(crc >> 24), p[9 + len] = (unsigned char)(crc >> 16);
    p[10 + len] = (unsigned char)(crc >> 8), p[11 + len] = (unsigned char)crc;
    *n += 12 + len;
}

/* Missing, corrupt, truncated and oversized files, and bad arguments. */
static void test_errors(fixture *t)
{
    char p[600];
    lt_dataset *ds = NULL;
    fx(t, p, sizeof p, "no-such.png");
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_IO, p, "missing file");
    CHECK(ds == NULL, "missing file: dataset set");

    unsigned char junk[300];
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
    CHECK(write_bytes(fx(t, p, sizeof p, "junk.png"), junk, sizeof junk) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, p, "random bytes");
    CHECK(ds == NULL, "random bytes: dataset set");

    /* a real PNG cut short: header intact, image data truncated */
    float img[32 * 32];
    for (int i = 0; i < 32 * 32; i++) img[i] = (float)((i * 7919) % 256) / 255.0f;
    char full[600];
    EXPECT(t->ctx, lt_image_save_png(t->ctx, fx(t, full, sizeof full, "full.png"), img, 32, 32, 1), LT_OK, NULL,
           "save full");
    unsigned char bytes[8192];
    size_t n = read_bytes(full, bytes, sizeof bytes);
    CHECK(n > 60, "full.png has %zu bytes", n);
    if (n > 60) {
        CHECK(write_bytes(fx(t, p, sizeof p, "trunc.png"), bytes, n / 2) == 0, "cannot write %s", p);
        EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, p, "truncated png");
        CHECK(ds == NULL, "truncated: dataset set");
        CHECK(write_bytes(fx(t, p, sizeof p, "head.png"), bytes, 20) == 0, "cannot write %s", p);
        EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, p, "png cut in its header");
    }

    /* a PNG whose IHDR claims 100000 x 100000 RGB pixels */
    unsigned char big[128];
    size_t bn = 0;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    memcpy(big, sig, 8);
    bn = 8;
    unsigned char ihdr[13] = {0, 0x01, 0x86, 0xa0, 0, 0x01, 0x86, 0xa0, 8, 2, 0, 0, 0}; /* 100000 = 0x186a0 */
    put_chunk(big, &bn, "IHDR", ihdr, 13);
    unsigned char idat[16] = {0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1};
    put_chunk(big, &bn, "IDAT", idat, 9);
    put_chunk(big, &bn, "IEND", NULL, 0);
    CHECK(write_bytes(fx(t, p, sizeof p, "huge.png"), big, bn) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "limit", "huge png");
    CHECK(strstr(lt_ctx_error(t->ctx), p) != NULL, "huge png: message \"%s\" does not name the file", lt_ctx_error(t->ctx));
    CHECK(ds == NULL, "huge png: dataset set");

    /* just over the side limit but with few pixels: our own check, not stb's */
    unsigned char wide[13] = {0, 0, 0x40, 0x01, 0, 0, 0, 1, 8, 0, 0, 0, 0}; /* 16385 x 1 gray */
    bn = 8;
    put_chunk(big, &bn, "IHDR", wide, 13);
    put_chunk(big, &bn, "IDAT", idat, 9);
    put_chunk(big, &bn, "IEND", NULL, 0);
    CHECK(write_bytes(fx(t, p, sizeof p, "wide.png"), big, bn) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "limit", "16385-wide png");

    /* arguments */
    EXPECT(t->ctx, lt_image_load(t->ctx, NULL, 0, &ds), LT_ERR_ARG, NULL, "load NULL path");
    EXPECT(t->ctx, lt_image_load(t->ctx, full, 2, &ds), LT_ERR_ARG, NULL, "load 2 channels");
    EXPECT(t->ctx, lt_image_load(t->ctx, full, 0, NULL), LT_ERR_ARG, NULL, "load NULL out");
    fx(t, p, sizeof p, "bad.png");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, p, img, 4, 4, 2), LT_ERR_ARG, NULL, "save 2 channels");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, p, img, 0, 4, 1), LT_ERR_ARG, NULL, "save 0 rows");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, p, NULL, 4, 4, 1), LT_ERR_ARG, NULL, "save NULL");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, p, img, 1 << 20, 1 << 20, 1), LT_ERR_ARG, NULL, "save huge");
    fx(t, p, sizeof p, "no-dir/x.png");
    EXPECT(t->ctx, lt_image_save_png(t->ctx, p, img, 4, 4, 1), LT_ERR_IO, p, "save into a missing dir");
}

/* Appends a little-endian value of `bytes` bytes. */
static void put_le(unsigned char *p, size_t *n, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[(*n)++] = (unsigned char)(v >> (8 * i));
}

/* BMP and JPEG files cut short load as errors, not as images padded with black
 * (stb_image decodes both without complaint). */
static void test_truncated(fixture *t)
{
    enum { W = 10, H = 8 };
    unsigned char bmp[54 + 32 * H];
    size_t n = 0, row = (3 * W + 3) / 4 * 4;
    bmp[n++] = 'B';
    bmp[n++] = 'M';
    put_le(bmp, &n, (uint32_t)(54 + row * H), 4);
    put_le(bmp, &n, 0, 4);
    put_le(bmp, &n, 54, 4);
    put_le(bmp, &n, 40, 4);
    put_le(bmp, &n, W, 4);
    put_le(bmp, &n, H, 4);
    put_le(bmp, &n, 1, 2);
    put_le(bmp, &n, 24, 2);
    for (int i = 0; i < 6; i++) put_le(bmp, &n, 0, 4);
    for (size_t i = 0; i < row * H; i++) bmp[n++] = (unsigned char)(i * 7);
    char p[600];
    lt_dataset *ds = NULL;
    CHECK(write_bytes(fx(t, p, sizeof p, "whole.bmp"), bmp, n) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_OK, NULL, "whole bmp");

    /* the same rows stored top-down (a negative height) give the image upside down */
    size_t hn = 22;
    put_le(bmp, &hn, (uint32_t)-H, 4);
    lt_dataset *down = NULL;
    CHECK(write_bytes(fx(t, p, sizeof p, "down.bmp"), bmp, n) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &down), LT_OK, NULL, "top-down bmp");
    if (ds && down) {
        int dh = 0, dw = 0, dc = 0;
        lt_dataset_image_shape(down, &dh, &dw, &dc);
        CHECK(dh == H && dw == W && dc == 3, "top-down bmp: %dx%dx%d, want %dx%dx3", dh, dw, dc, H, W);
        const float *a = lt_dataset_data(ds), *b = lt_dataset_data(down);
        size_t flipped = 0, rowf = (size_t)W * 3;
        for (size_t r = 0; r < H; r++) flipped += memcmp(a + r * rowf, b + (H - 1 - r) * rowf, rowf * sizeof *a) == 0;
        CHECK(flipped == H, "top-down bmp: %zu of %d rows are the bottom-up image's, flipped", flipped, H);
    }
    lt_dataset_free(down);
    hn = 22;
    put_le(bmp, &hn, 0, 4);
    CHECK(write_bytes(fx(t, p, sizeof p, "empty.bmp"), bmp, n) == 0, "cannot write %s", p);
    lt_dataset *none = NULL;
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &none), LT_ERR_FORMAT, "at least one", "bmp of height 0");
    hn = 22;
    put_le(bmp, &hn, H, 4);
    lt_dataset_free(ds);
    ds = NULL;
    CHECK(write_bytes(fx(t, p, sizeof p, "cut.bmp"), bmp, n - row) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "truncated", "bmp missing its last row");
    CHECK(ds == NULL, "cut bmp: dataset set");
    /* an unknown compression code: stb_image would decode it as uncompressed rows, from a
     * file that need not hold them (the fuzzer's 330-byte file of 10000 x 1027 pixels) */
    size_t code_at = 30;
    put_le(bmp, &code_at, 0xffff0000u, 4);
    CHECK(write_bytes(fx(t, p, sizeof p, "odd.bmp"), bmp, n) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "unknown compression", "bmp compression 0xffff0000");
    CHECK(ds == NULL, "odd bmp: dataset set");
    code_at = 30;
    put_le(bmp, &code_at, 0, 4);

    size_t jn = sizeof tiny_jpeg;
    CHECK(write_bytes(fx(t, p, sizeof p, "whole.jpg"), tiny_jpeg, jn) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_OK, NULL, "whole jpeg");
    int h = 0, w = 0, c = 0;
    lt_dataset_image_shape(ds, &h, &w, &c);
    CHECK(h == 8 && w == 8 && c == 3, "whole jpeg: %dx%dx%d, want 8x8x3", h, w, c);
    lt_dataset_free(ds);
    ds = NULL;
    CHECK(write_bytes(fx(t, p, sizeof p, "cut.jpg"), tiny_jpeg, jn * 3 / 4) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "truncated", "jpeg cut short");

    /* a BMP cut inside its headers (stb reads what is there), and one of bit-field
     * masks (compression 3) missing its last row */
    for (size_t cut = 20; cut < 54; cut += 11) {
        CHECK(write_bytes(fx(t, p, sizeof p, "head.bmp"), bmp, cut) == 0, "cannot write %s", p);
        EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "headers end before", "bmp cut in its headers");
    }
    size_t cn = 30;
    put_le(bmp, &cn, 3, 4);
    CHECK(write_bytes(fx(t, p, sizeof p, "fields.bmp"), bmp, n - row) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "pixel rows end before", "bit-field bmp missing a row");

    /* a JPEG whose Huffman table claims 16 x 255 codes: refused before stb_image 2.27
     * would write past its 257-entry tables */
    static unsigned char dht[2 + 4 + 17 + 4080 + 2];
    size_t dn = 0;
    dht[dn++] = 0xFF, dht[dn++] = 0xD8, dht[dn++] = 0xFF, dht[dn++] = 0xC4;
    dht[dn++] = (unsigned char)((2 + 17 + 4080) >> 8), dht[dn++] = (unsigned char)((2 + 17 + 4080) & 255);
    dht[dn++] = 0x00; /* class 0 (DC), table 0 */
    for (int i = 0; i < 16; i++) dht[dn++] = 0xFF;
    for (int i = 0; i < 4080; i++) dht[dn++] = (unsigned char)(i % 12);
    dht[dn++] = 0xFF, dht[dn++] = 0xD9;
    CHECK(write_bytes(fx(t, p, sizeof p, "dht.jpg"), dht, dn) == 0, "cannot write %s", p);
    EXPECT(t->ctx, lt_image_load(t->ctx, p, 0, &ds), LT_ERR_FORMAT, "more than 256 codes", "jpeg with an oversized DHT");
    CHECK(ds == NULL, "oversized DHT: dataset set");
}

/* Super-resolution inputs and denoising noise. */
static void test_degrade(fixture *t)
{
    enum { H = 9, W = 12, C = 3 };
    float flat[H * W * C], fine[H * W * C], out[H * W * C];
    for (int i = 0; i < H * W * C; i++) {
        flat[i] = 0.625f;
        fine[i] = (float)(((i / C) + (i / (C * W))) & 1); /* a one-pixel checkerboard */
    }
    EXPECT(t->ctx, lt_image_down_up(t->ctx, flat, H, W, C, 2, out), LT_OK, NULL, "down-up");
    float worst = 0.0f;
    for (int i = 0; i < H * W * C; i++) worst = fmaxf(worst, fabsf(out[i] - 0.625f));
    CHECK(worst < 1e-5f, "a constant image survives down-up (off by %g)", (double)worst);
    EXPECT(t->ctx, lt_image_down_up(t->ctx, fine, H, W, C, 2, out), LT_OK, NULL, "down-up fine");
    worst = 0.0f;
    for (int i = 0; i < H * W * C; i++) worst = fmaxf(worst, fabsf(out[i] - fine[i]));
    CHECK(worst > 0.25f, "a one-pixel pattern does not survive 2x down-up (max change %g)", (double)worst);
    EXPECT(t->ctx, lt_image_down_up(t->ctx, flat, H, W, C, 1, out), LT_ERR_ARG, "2..16", "factor 1");
    EXPECT(t->ctx, lt_image_down_up(t->ctx, flat, H, W, C, 17, out), LT_ERR_ARG, "2..16", "factor 17");

    /* Noise: mean 0, the stddev asked for, seeded, and row i's noise independent of
     * how many rows come before or after it. */
    enum { N = 200, D = 50 };
    float *zero = calloc(N * D, sizeof *zero);
    lt_dataset *a = NULL, *b = NULL;
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, N, D, zero, NULL, &a), LT_OK, NULL, "from array");
    EXPECT(t->ctx, lt_dataset_from_array(t->ctx, 3, D, zero, NULL, &b), LT_OK, NULL, "from array");
    if (a && b) {
        EXPECT(t->ctx, lt_dataset_add_noise(t->ctx, a, 0.3f, 42), LT_OK, NULL, "add noise");
        EXPECT(t->ctx, lt_dataset_add_noise(t->ctx, b, 0.3f, 42), LT_OK, NULL, "add noise");
        double sum = 0, sq = 0;
        for (size_t i = 0; i < N * D; i++) {
            sum += a->x[i];
            sq += (double)a->x[i] * a->x[i];
        }
        double mean = sum / (N * D), sd = sqrt(sq / (N * D) - mean * mean);
        CHECK(fabs(mean) < 0.015 && fabs(sd - 0.3) < 0.01, "noise mean %g, stddev %g (want 0, 0.3)", mean, sd);
        CHECK(memcmp(a->x, b->x, 3 * D * sizeof(float)) == 0, "the first rows' noise does not depend on the row count");
        CHECK(memcmp(a->x, a->x + D, D * sizeof(float)) != 0, "rows get different noise");
        EXPECT(t->ctx, lt_dataset_add_noise(t->ctx, a, -0.1f, 42), LT_ERR_ARG, "noise", "negative noise");
        EXPECT(t->ctx, lt_dataset_add_noise(t->ctx, a, NAN, 42), LT_ERR_ARG, "noise", "NaN noise");
    }
    lt_dataset_free(a);
    lt_dataset_free(b);
    free(zero);
}

/* Runs every group of checks against fixtures in a fresh temporary directory. */
int main(void)
{
    static const fixture_group groups[] = {test_roundtrip, test_resize, test_errors, test_truncated, test_degrade};
    return run_fixture_groups("image", groups, sizeof groups / sizeof groups[0]);
}
