/* Tests of image patches (lt_dataset_image_patches) and image metrics and filters (PSNR,
 * SSIM against scikit-image's values in tests/golden/ssim_golden.txt, gaussian blur).
 * Fixture images go into a fresh temporary folder, removed again when every check passed.
 * Usage: test_imgproc SSIM_GOLDEN_TXT. */
#include "latent.h"
#include "harness.h"

/* Gray levels 0..255 of the fixture images, as functions of row y and column x. */
static int level_a(int y, int x) { return y * 40 + x * 3 + 5; } /* a.png, 6 x 8 */
static int level_z(int y, int x) { return 250 - (y * 5 + x) * 7; } /* Z.BMP, 4 x 5 */
static int level_c(int y, int x) { return 100 + 0 * (y + x); } /* c.png, 3 x 3 */
#define A_H 6
#define A_W 8
#define Z_H 4
#define Z_W 5

/* Little-endian 16-bit store. */
static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
/* Little-endian 32-bit store. */
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes a 24-bit bottom-up BMP by hand whose pixels are gray (r = g = b = level(y, x)),
 * so that loading it as one channel is exact; rows are padded to 4 bytes. */
static int write_gray_bmp(const char *path, int h, int w, int (*level)(int, int))
{
    size_t row = ((size_t)w * 3 + 3) / 4 * 4, size = 54 + row * (size_t)h;
    unsigned char *b = calloc(1, size);
    if (!b) return -1;
    b[0] = 'B', b[1] = 'M';
    put32(b + 2, (uint32_t)size);
    put32(b + 10, 54);
    put32(b + 14, 40);
    put32(b + 18, (uint32_t)w);
    put32(b + 22, (uint32_t)h);
    put16(b + 26, 1);
    put16(b + 28, 24);
    put32(b + 34, (uint32_t)(row * (size_t)h));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                b[54 + (size_t)(h - 1 - y) * row + (size_t)x * 3 + (size_t)k] = (unsigned char)level(y, x);
    int rc = write_bytes(path, b, size);
    free(b);
    return rc;
}

/* Saves an h x w gray PNG of level(y, x) / 255. */
static lt_status write_gray_png(lt_ctx *ctx, const char *path, int h, int w, int (*level)(int, int))
{
    float *img = malloc((size_t)h * (size_t)w * sizeof *img);
    if (!img) return LT_ERR_NOMEM;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) img[y * w + x] = (float)level(y, x) / 255.0f;
    lt_status st = lt_image_save_png(ctx, path, img, h, w, 1);
    free(img);
    return st;
}

/* 1 if row `row` of ds (ph x pw x c) is the tile at (y0, x0) of the image level(), with
 * every channel equal to the gray level; prints the first mismatch. */
static int tile_is(const lt_dataset *ds, size_t row, int ph, int pw, int c, int (*level)(int, int), int y0, int x0)
{
    const float *p = lt_dataset_data(ds) + row * lt_dataset_dim(ds);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            for (int k = 0; k < c; k++) {
                float want = (float)level(y0 + y, x0 + x) / 255.0f, got = p[(y * pw + x) * c + k];
                if (got != want) {
                    printf("  row %zu pixel (%d,%d,%d): %.9g, expected %.9g\n", row, y, x, k, got, want);
                    return 0;
                }
            }
    return 1;
}

/* Patch counts, contents, reading order, stride, max_patches and channels. */
static void test_patches(lt_ctx *ctx, const fixture *f)
{
    /* A tile of an image: the dataset row holding it, the image's levels, its corner. */
    typedef struct tile {
        size_t row;
        int (*level)(int, int);
        int y0, x0;
    } tile;
    /* strcmp order puts "Z.BMP" before "a.png" (upper case sorts first), then c.png */
    static const struct {
        const char *what;
        int ph, pw, stride, channels, max;
        size_t count;
        tile tiles[7]; /* the rows checked (level NULL: no more) */
    } cases[] = {
        /* 4x4, no overlap: Z.BMP (4x5) one tile, then a.png (6x8) two; c.png (3x3) none */
        {"4x4 patches", 4, 4, 0, 1, 0, 3, {{0, level_z, 0, 0}, {1, level_a, 0, 0}, {2, level_a, 0, 4}}},
        /* stride 2: Z.BMP 1 x 1 tiles, a.png 2 x 3, in reading order */
        {"stride 2", 4, 4, 2, 1, 0, 7,
         {{0, level_z, 0, 0}, {1, level_a, 0, 0}, {2, level_a, 0, 2}, {3, level_a, 0, 4}, {4, level_a, 2, 0},
          {5, level_a, 2, 2}, {6, level_a, 2, 4}}},
        /* max_patches cuts in the same order; a limit above the count changes nothing */
        {"max_patches 3", 4, 4, 2, 1, 3, 3, {{2, level_a, 0, 2}}},
        {"max_patches 100", 4, 4, 2, 1, 100, 7, {{0, NULL, 0, 0}}},
        /* non-square patches with a stride larger than the patch: Z.BMP (4x5) 1 x 1; a.png
         * (6x8) 2 x 2; c.png (3x3) 1 x 1 */
        {"2x3 stride 4", 2, 3, 4, 1, 0, 6, {{3, level_a, 4, 0}, {4, level_a, 4, 4}, {5, level_c, 0, 0}}},
        /* 1x1 patches: every pixel of every image (48 + 20 + 9) */
        {"1x1 patches", 1, 1, 0, 1, 0, 77, {{0, NULL, 0, 0}}},
        /* the whole of a.png is the only 6x8 patch: Z.BMP and c.png are too small */
        {"6x8 patches", A_H, A_W, 1, 1, 0, 1, {{0, level_a, 0, 0}}},
        /* three channels: gray files are replicated into r, g and b */
        {"rgb patches", 4, 4, 0, 3, 0, 3, {{0, level_z, 0, 0}, {2, level_a, 0, 4}}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int ph = cases[k].ph, pw = cases[k].pw, ch = cases[k].channels;
        const char *what = cases[k].what;
        lt_dataset *ds = NULL;
        int h, w, c;
        EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, ph, pw, cases[k].stride, ch, (size_t)cases[k].max, &ds),
               LT_OK, NULL, what);
        if (!ds) continue;
        lt_dataset_image_shape(ds, &h, &w, &c);
        CHECK(h == ph && w == pw && c == ch && lt_dataset_dim(ds) == (size_t)(ph * pw * ch),
              "%s: shape %dx%dx%d, dim %zu", what, h, w, c, lt_dataset_dim(ds));
        CHECK(lt_dataset_labels(ds) == NULL, "%s: patches have labels", what);
        if (CHECK(lt_dataset_count(ds) == cases[k].count, "%s: %zu patches, expected %zu", what, lt_dataset_count(ds),
                  cases[k].count))
            for (const tile *p = cases[k].tiles; p < cases[k].tiles + 7 && p->level; p++)
                CHECK(tile_is(ds, p->row, ph, pw, ch, p->level, p->y0, p->x0),
                      "%s: patch %zu is not the tile at (%d,%d)", what, p->row, p->y0, p->x0);
        lt_dataset_free(ds);
    }
}

/* Missing, wrong and empty folders, images too small, corrupt files, bad arguments. */
static void test_patch_errors(lt_ctx *ctx, const fixture *f)
{
    char p[600];
    lt_dataset *ds = NULL;
    EXPECT(ctx, lt_dataset_image_patches(ctx, fx(f, p, sizeof p, "nope"), 4, 4, 0, 1, 0, &ds), LT_ERR_IO, p,
           "missing folder");
    EXPECT(ctx, lt_dataset_image_patches(ctx, fx(f, p, sizeof p, "a.png"), 4, 4, 0, 1, 0, &ds), LT_ERR_IO, p,
           "a file as the folder");
    CHECK(strstr(lt_ctx_error(ctx), "not a folder") != NULL, "a file as the folder: message \"%s\"", lt_ctx_error(ctx));
    /* only a text file and a subfolder named like an image */
    char msg[700];
    fx(f, p, sizeof p, "empty");
    snprintf(msg, sizeof msg, "no PNG, JPEG or BMP images in %s", p);
    EXPECT(ctx, lt_dataset_image_patches(ctx, p, 4, 4, 0, 1, 0, &ds), LT_ERR_ARG, msg, "folder without images");
    /* the largest image is a.png, 6 x 8 */
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 7, 4, 0, 1, 0, &ds), LT_ERR_ARG, f->dir, "patch too tall");
    CHECK(strstr(lt_ctx_error(ctx), "7x4") != NULL, "patch too tall: message \"%s\" names no size", lt_ctx_error(ctx));
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 2, 9, 0, 1, 0, &ds), LT_ERR_ARG, f->dir, "patch too wide");
    /* a corrupt file's error is lt_image_load's, naming it; *out is cleared on failure */
    lt_dataset *keep = NULL;
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, 4, 0, 1, 0, &keep), LT_OK, NULL, "a dataset to overwrite");
    ds = keep;
    EXPECT(ctx, lt_dataset_image_patches(ctx, fx(f, p, sizeof p, "bad"), 2, 2, 0, 1, 0, &ds), LT_ERR_FORMAT,
           fx(f, p, sizeof p, "bad/x.jpg"), "corrupt jpeg");
    CHECK(ds == NULL, "corrupt jpeg: out is not NULL");
    lt_dataset_free(keep);
    /* but a limit reached before it means it is never read */
    EXPECT(ctx, lt_dataset_image_patches(ctx, fx(f, p, sizeof p, "bad"), 2, 2, 0, 1, 1, &ds), LT_OK, NULL,
           "corrupt jpeg after max_patches");
    CHECK(lt_dataset_count(ds) == 1, "corrupt jpeg after max_patches: %zu patches", lt_dataset_count(ds));
    lt_dataset_free(ds);
    ds = NULL;
    /* bad arguments */
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 0, 4, 0, 1, 0, &ds), LT_ERR_ARG, "patch size", "patch_h 0");
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, -1, 0, 1, 0, &ds), LT_ERR_ARG, "patch size", "patch_w -1");
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, LT_IMAGE_MAX_SIDE + 1, 4, 0, 1, 0, &ds), LT_ERR_ARG,
           "patch size", "patch_h over the limit");
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, 4, 0, 2, 0, &ds), LT_ERR_ARG, "channels", "2 channels");
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, 4, 0, 0, 0, &ds), LT_ERR_ARG, "channels", "0 channels");
    EXPECT(ctx, lt_dataset_image_patches(ctx, NULL, 4, 4, 0, 1, 0, &ds), LT_ERR_ARG, NULL, "NULL folder");
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, 4, 0, 1, 0, NULL), LT_ERR_ARG, NULL, "NULL out");
    /* a huge stride is one tile per image, not an overflow */
    EXPECT(ctx, lt_dataset_image_patches(ctx, f->dir, 4, 4, 2147483647, 1, 0, &ds), LT_OK, NULL, "huge stride");
    CHECK(lt_dataset_count(ds) == 2, "huge stride: %zu patches, expected 2", lt_dataset_count(ds));
    lt_dataset_free(ds);
}

/* The deterministic image pairs of make_ssim_golden.py: integer levels 0..255. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 24;
}

/* Fills ref and img (h x w x c floats, level / 255 in float) for a golden case; 0 if the
 * kind is unknown. */
static int golden_pair(int h, int w, int c, const char *kind, uint32_t seed, float *ref, float *img)
{
    int noise = !strcmp(kind, "noise"), contrast = !strcmp(kind, "contrast"), invert = !strcmp(kind, "invert"),
        shift = !strcmp(kind, "shift");
    if (!noise && !contrast && !invert && !shift) return 0;
    uint32_t s = seed;
#define LEVEL(y, x, ch) (((x) * (x) + 3 * (y) * (y) + 37 * (ch) + 11 * (((x) * (y)) % 13)) % 256)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                int k = LEVEL(y, x, ch), v;
                if (noise) {
                    v = k + (int)(lcg(&s) % 61) - 30;
                    v = v < 0 ? 0 : v > 255 ? 255 : v;
                } else if (contrast) {
                    v = k / 2 + 64;
                } else if (invert) {
                    v = 255 - k;
                } else {
                    v = LEVEL(y, (x + 1) % w, ch);
                }
                size_t i = ((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)ch;
                ref[i] = (float)k / 255.0f;
                img[i] = (float)v / 255.0f;
            }
#undef LEVEL
    return 1;
}

/* SSIM and PSNR against scikit-image's values for the pairs of the golden file. */
static void test_golden(lt_ctx *ctx, const char *path)
{
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL, "cannot open %s: %s", path, strerror(errno));
    if (!fp) return;
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, fp)) {
        int h, w, c;
        unsigned seed;
        char kind[16];
        double want_ssim, want_psnr;
        if (line[0] == '#') continue;
        if (sscanf(line, "case %d %d %d %15s %u ssim %lf psnr %lf", &h, &w, &c, kind, &seed, &want_ssim,
                   &want_psnr) != 7 || h < 1 || w < 1 || c < 1 || h > 64 || w > 64 || c > 4) {
            CHECK(0, "%s: bad line: %s", path, line);
            break;
        }
        float *ref = malloc((size_t)h * (size_t)w * (size_t)c * sizeof *ref);
        float *img = malloc((size_t)h * (size_t)w * (size_t)c * sizeof *img);
        if (!ref || !img || !golden_pair(h, w, c, kind, seed, ref, img)) {
            CHECK(0, "%s: cannot make case %s", path, line);
            free(ref), free(img);
            break;
        }
        cases++;
        double s = NAN, s2 = NAN;
        EXPECT(ctx, lt_image_ssim(ctx, ref, img, h, w, c, &s), LT_OK, NULL, "golden ssim");
        CHECK(fabs(s - want_ssim) < 1e-6, "%dx%dx%d %s: ssim %.12f, scikit-image %.12f", h, w, c, kind, s, want_ssim);
        /* SSIM is symmetric in its two images */
        EXPECT(ctx, lt_image_ssim(ctx, img, ref, h, w, c, &s2), LT_OK, NULL, "golden ssim swapped");
        CHECK(fabs(s2 - s) < 1e-12, "%dx%dx%d %s: ssim swapped %.15f vs %.15f", h, w, c, kind, s2, s);
        double p = lt_image_psnr(ref, img, h, w, c);
        CHECK(fabs(p - want_psnr) < 1e-9, "%dx%dx%d %s: psnr %.12f, scikit-image %.12f", h, w, c, kind, p, want_psnr);
        printf("%2dx%2dx%d %-8s ssim %+.12f (error %.2g)  psnr %.9f (error %.2g)\n", h, w, c, kind, s,
               fabs(s - want_ssim), p, fabs(p - want_psnr));
        free(ref), free(img);
    }
    fclose(fp);
    CHECK(cases == 8, "%d golden cases read (8 expected)", cases);
}

/* PSNR of equal images and of constant offsets; SSIM of equal images and its errors. */
static void test_metrics(lt_ctx *ctx)
{
    enum { H = 16, W = 13, C = 3, N = H * W * C };
    float a[N], b[N];
    for (int i = 0; i < N; i++) a[i] = (float)(i % 41) / 64.0f; /* multiples of 1/64: offsets are exact */
    CHECK(isinf(lt_image_psnr(a, a, H, W, C)) && lt_image_psnr(a, a, H, W, C) > 0, "psnr of equal images: %g",
          lt_image_psnr(a, a, H, W, C));
    static const float offsets[] = {0.125f, -0.25f, 1.0f, 0.5f / 64.0f};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        for (int i = 0; i < N; i++) b[i] = a[i] + offsets[k];
        double want = -20.0 * log10(fabs((double)offsets[k])), got = lt_image_psnr(a, b, H, W, C);
        CHECK(fabs(got - want) < 1e-12, "psnr of offset %g: %.15f, expected %.15f", (double)offsets[k], got, want);
    }
    CHECK(isnan(lt_image_psnr(NULL, a, H, W, C)), "psnr of NULL is not NaN");
    CHECK(isnan(lt_image_psnr(a, a, 0, W, C)), "psnr of 0 rows is not NaN");

    double s = 0.0;
    EXPECT(ctx, lt_image_ssim(ctx, a, a, H, W, C, &s), LT_OK, NULL, "ssim equal");
    CHECK(fabs(s - 1.0) < 1e-12, "ssim of equal images: %.15f", s);
    EXPECT(ctx, lt_image_ssim(ctx, a, a, H, W, 1, &s), LT_OK, NULL, "ssim equal gray");
    CHECK(fabs(s - 1.0) < 1e-12, "ssim of equal gray images: %.15f", s);
    /* smaller than the 11x11 window: scikit-image refuses too */
    EXPECT(ctx, lt_image_ssim(ctx, a, a, 10, 20, 1, &s), LT_ERR_ARG, "window", "ssim of 10 rows");
    CHECK(strstr(lt_ctx_error(ctx), "10x20") != NULL, "ssim of 10 rows: message \"%s\"", lt_ctx_error(ctx));
    EXPECT(ctx, lt_image_ssim(ctx, a, a, 20, 10, 1, &s), LT_ERR_ARG, "window", "ssim of 10 columns");
    CHECK(isnan(s), "ssim after an error is not NaN: %g", s);
    EXPECT(ctx, lt_image_ssim(ctx, a, a, 11, 11, 0, &s), LT_ERR_ARG, "shape", "ssim of 0 channels");
    EXPECT(ctx, lt_image_ssim(ctx, NULL, a, H, W, C, &s), LT_ERR_ARG, NULL, "ssim of NULL");
    EXPECT(ctx, lt_image_ssim(ctx, a, a, H, W, C, NULL), LT_ERR_ARG, NULL, "ssim into NULL");
    memcpy(b, a, sizeof b);
    b[7 * W * C + 5] = NAN;
    EXPECT(ctx, lt_image_ssim(ctx, a, b, H, W, C, &s), LT_ERR_NONFINITE, "NaN", "ssim with a NaN");
}

/* The normalised kernel of radius ceil(4 sigma) that the blur uses, k[0] the centre. */
static int blur_kernel(double sigma, double *k, int cap)
{
    int r = (int)ceil(4.0 * sigma);
    if (r > cap) return -1;
    double sum = 0.0;
    for (int j = -r; j <= r; j++) sum += exp(-(double)j * j / (2.0 * sigma * sigma));
    for (int j = 0; j <= r; j++) k[j] = exp(-(double)j * j / (2.0 * sigma * sigma)) / sum;
    return r;
}

/* Blur: constants stay, an impulse becomes the kernel, sums are kept away from the edges,
 * a brute-force 2-D sum with clamped edges agrees, in place works, bad sigmas fail. */
static void test_blur(lt_ctx *ctx)
{
    enum { H = 31, W = 29, C = 2, N = H * W * C };
    float a[N], b[N];
    for (int i = 0; i < N; i++) a[i] = i % 2 ? 0.25f : 0.75f; /* constant per channel */
    EXPECT(ctx, lt_image_gaussian_blur(ctx, a, H, W, C, 2.5f, b), LT_OK, NULL, "blur constant");
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs((double)b[i] - (double)a[i]));
    CHECK(worst < 1e-6, "blur of a constant changes it by %g", worst);

    /* an impulse in channel 1 at (15, 14): out = k[dy] k[dx] there, channel 0 stays 0 */
    double k[64];
    const float sigma = 2.0f;
    int r = blur_kernel(sigma, k, 63);
    memset(a, 0, sizeof a);
    a[(15 * W + 14) * C + 1] = 1.0f;
    EXPECT(ctx, lt_image_gaussian_blur(ctx, a, H, W, C, sigma, b), LT_OK, NULL, "blur impulse");
    CHECK(r == 8, "radius of sigma 2 is %d", r);
    worst = 0;
    double sum = 0, zero = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int dy = abs(y - 15), dx = abs(x - 14);
            double want = dy <= r && dx <= r ? k[dy] * k[dx] : 0.0;
            worst = fmax(worst, fabs(b[(y * W + x) * C + 1] - want));
            sum += b[(y * W + x) * C + 1];
            zero = fmax(zero, fabs(b[(y * W + x) * C]));
        }
    CHECK(worst < 1e-7, "blurred impulse differs from the kernel by %g", worst);
    CHECK(fabs(sum - 1.0) < 1e-6, "blurred impulse sums to %.9f", sum);
    CHECK(zero == 0, "blur leaks %g into the other channel", zero);

    /* random content at least r = 8 pixels from every edge keeps its sum */
    uint32_t s = 7;
    double before = 0, after = 0;
    memset(a, 0, sizeof a);
    for (int y = 8; y < H - 8; y++)
        for (int x = 8; x < W - 8; x++)
            for (int ch = 0; ch < C; ch++) before += a[(y * W + x) * C + ch] = (float)lcg(&s) / 255.0f;
    EXPECT(ctx, lt_image_gaussian_blur(ctx, a, H, W, C, sigma, b), LT_OK, NULL, "blur interior");
    for (int i = 0; i < N; i++) after += b[i];
    CHECK(fabs(after - before) < 1e-4 * (1 + before), "blur changes the sum %.6f to %.6f", before, after);

    /* a small image whose kernel is wider than it: against a direct 2-D sum with clamped
     * indices */
    enum { SH = 7, SW = 9, SC = 3 };
    float sa[SH * SW * SC], sb[SH * SW * SC];
    for (int i = 0; i < SH * SW * SC; i++) sa[i] = (float)lcg(&s) / 255.0f;
    const float sg = 1.3f;
    int sr = blur_kernel(sg, k, 63);
    EXPECT(ctx, lt_image_gaussian_blur(ctx, sa, SH, SW, SC, sg, sb), LT_OK, NULL, "blur small");
    worst = 0;
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++)
            for (int ch = 0; ch < SC; ch++) {
                double acc = 0;
                for (int dy = -sr; dy <= sr; dy++)
                    for (int dx = -sr; dx <= sr; dx++) {
                        int yy = y + dy < 0 ? 0 : y + dy >= SH ? SH - 1 : y + dy;
                        int xx = x + dx < 0 ? 0 : x + dx >= SW ? SW - 1 : x + dx;
                        acc += k[abs(dy)] * k[abs(dx)] * sa[(yy * SW + xx) * SC + ch];
                    }
                worst = fmax(worst, fabs(acc - sb[(y * SW + x) * SC + ch]));
            }
    CHECK(worst < 1e-6, "blur differs from the direct 2-D sum by %g", worst);
    /* in place */
    EXPECT(ctx, lt_image_gaussian_blur(ctx, sa, SH, SW, SC, sg, sa), LT_OK, NULL, "blur in place");
    CHECK(memcmp(sa, sb, sizeof sa) == 0, "blur in place differs from blur into another buffer");
    /* a 1 x 1 image stays as it is */
    float one = 0.3f, one_out = 0;
    EXPECT(ctx, lt_image_gaussian_blur(ctx, &one, 1, 1, 1, 5.0f, &one_out), LT_OK, NULL, "blur 1x1");
    CHECK(fabs(one_out - one) < 1e-7, "blur of 1x1: %g", one_out);

    static const float bad[] = {0.0f, -1.0f, 100.5f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT(ctx, lt_image_gaussian_blur(ctx, sa, SH, SW, SC, bad[i], sb), LT_ERR_ARG, "sigma", "blur bad sigma");
    EXPECT(ctx, lt_image_gaussian_blur(ctx, sa, SH, SW, SC, 100.0f, sb), LT_OK, NULL, "blur sigma 100");
    EXPECT(ctx, lt_image_gaussian_blur(ctx, sa, 0, SW, SC, 1.0f, sb), LT_ERR_ARG, "shape", "blur 0 rows");
    EXPECT(ctx, lt_image_gaussian_blur(ctx, NULL, SH, SW, SC, 1.0f, sb), LT_ERR_ARG, NULL, "blur NULL");
}

/* Creates the fixture folder: a.png, Z.BMP, c.png (too small), notes.txt, a subfolder
 * sub.png, empty/ (a text file only) and bad/ (good.png, then a corrupt x.jpg). */
static int make_fixtures(lt_ctx *ctx, const fixture *f)
{
    char p[600];
    if (write_gray_png(ctx, fx(f, p, sizeof p, "a.png"), A_H, A_W, level_a) != LT_OK) return -1;
    if (write_gray_bmp(fx(f, p, sizeof p, "Z.BMP"), Z_H, Z_W, level_z) != 0) return -1;
    if (write_gray_png(ctx, fx(f, p, sizeof p, "c.png"), 3, 3, level_c) != LT_OK) return -1;
    if (write_bytes(fx(f, p, sizeof p, "notes.txt"), "not an image\n", 13) != 0) return -1;
    if (mkdir(fx(f, p, sizeof p, "sub.png"), 0700) != 0) return -1;
    if (mkdir(fx(f, p, sizeof p, "empty"), 0700) != 0) return -1;
    if (write_bytes(fx(f, p, sizeof p, "empty/readme.txt"), "nothing\n", 8) != 0) return -1;
    if (mkdir(fx(f, p, sizeof p, "bad"), 0700) != 0) return -1;
    if (write_gray_png(ctx, fx(f, p, sizeof p, "bad/good.png"), 3, 3, level_c) != LT_OK) return -1;
    static const unsigned char junk[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 2, 3};
    if (write_bytes(fx(f, p, sizeof p, "bad/x.jpg"), junk, sizeof junk) != 0) return -1;
    return 0;
}

/* Runs every group of checks against fixtures in a fresh temporary folder. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: test_imgproc SSIM_GOLDEN_TXT\n");
        return 2;
    }
    fixture f;
    lt_ctx *ctx = harness_ctx("cpu");
    if (!ctx || !fixture_open(&f, "imgproc")) {
        lt_ctx_close(ctx);
        return DONE();
    }
    if (!CHECK(make_fixtures(ctx, &f) == 0, "cannot write fixtures in %s: %s", f.dir, lt_ctx_error(ctx))) {
        lt_ctx_close(ctx);
        fixture_close(&f);
        return DONE();
    }
    test_patches(ctx, &f);
    test_patch_errors(ctx, &f);
    test_metrics(ctx);
    test_golden(ctx, argv[1]);
    test_blur(ctx);
    lt_ctx_close(ctx);
    fixture_close(&f);
    return DONE();
}
