/* The image commands of the latent program: denoise and upscale (one image file in,
 * one PNG out, through lt_predict_image's blended tiles) and score (PSNR and SSIM of a
 * denoising or super-resolution model against a classical baseline). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "latent.h"

/* Gaussian blur widths the denoising baseline tries; the best by mean PSNR is shown,
 * which favours the baseline (its width is tuned on the test images themselves). */
static const float blur_sigmas[] = {0.5f, 0.75f, 1.0f, 1.5f, 2.0f};
#define N_SIGMAS (sizeof blur_sigmas / sizeof blur_sigmas[0])
/* Gap between the panels of a before/after picture, in pixels. */
#define PANEL_GAP 2

/* Loads the MODEL operand and checks that it maps images to images of the same shape;
 * fills dims (height, width, channels). */
static int load_image_model(const cli_opts *o, lt_ctx *ctx, lt_model **m, int dims[3])
{
    lt_status st = lt_load(ctx, o->positional[0], m);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "cannot load the model");
    int out[3] = {0, 0, 0};
    if (lt_input_shape(*m, dims) != 3 || lt_output_shape(*m, out) != 3 || memcmp(dims, out, sizeof out) != 0)
        return cli_fail(o, "model '%s' does not map images to images of the same shape (input %d values, output %d)",
                        o->positional[0], lt_input_dim(*m), lt_output_dim(*m));
    return CLI_OK;
}

/* Loads image file path keeping its channels, and checks them against the model's. */
static int load_input_image(const cli_opts *o, lt_ctx *ctx, const char *path, int channels, lt_dataset **img)
{
    lt_status st = lt_image_load(ctx, path, 0, img);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "cannot read the image");
    int h, w, c;
    lt_dataset_image_shape(*img, &h, &w, &c);
    if (c != channels)
        return cli_fail(o, "'%s' is a %s image, but model '%s' takes %s images", path, c == 1 ? "gray" : "colour",
                        o->positional[0], channels == 1 ? "gray (1-channel)" : "colour (3-channel)");
    return CLI_OK;
}

/* Runs the model over an image and writes the PNG; the shared tail of denoise/upscale. */
static int restore_and_save(const cli_opts *o, lt_ctx *ctx, lt_model *m, const float *img, int h, int w, int c)
{
    float *out = malloc((size_t)h * w * c * sizeof *out);
    if (!out) return cli_fail(o, "out of memory for a %dx%d image", w, h);
    lt_status st = lt_predict_image(m, img, h, w, c, out);
    int rc = st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot run the model");
    if (rc == CLI_OK && (st = lt_image_save_png(ctx, o->positional[2], out, h, w, c)) != LT_OK)
        rc = cli_fail_lt(o, ctx, st, "cannot write the picture");
    if (rc == CLI_OK) cli_note(o, "wrote %s (%dx%d)", o->positional[2], w, h);
    free(out);
    return rc;
}

/* latent denoise MODEL IN OUT.png */
int cli_cmd_denoise(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *img = NULL;
    int dims[3], h, w, c;
    int rc = cli_check_output_path(o, "OUT", o->positional[2]);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_image_model(o, ctx, &m, dims);
    if (rc == CLI_OK) rc = load_input_image(o, ctx, o->positional[1], dims[2], &img);
    if (rc == CLI_OK) {
        lt_dataset_image_shape(img, &h, &w, &c);
        rc = restore_and_save(o, ctx, m, lt_dataset_data(img), h, w, c);
    }
    lt_dataset_free(img);
    lt_model_free(m);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* latent upscale MODEL IN OUT.png: a bicubic 2x resize, then the model. */
int cli_cmd_upscale(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *img = NULL;
    float *big = NULL;
    int dims[3], h, w, c;
    lt_status st;
    int rc = cli_check_output_path(o, "OUT", o->positional[2]);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_image_model(o, ctx, &m, dims);
    if (rc == CLI_OK) rc = load_input_image(o, ctx, o->positional[1], dims[2], &img);
    if (rc == CLI_OK) {
        lt_dataset_image_shape(img, &h, &w, &c);
        if ((size_t)2 * h > LT_IMAGE_MAX_SIDE || (size_t)2 * w > LT_IMAGE_MAX_SIDE ||
            (size_t)4 * h * w > LT_IMAGE_MAX_PIXELS)
            rc = cli_fail(o, "'%s': %dx%d doubled is over the image size limit (%d a side, %u pixels)",
                          o->positional[1], w, h, LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS);
        else if (!(big = malloc((size_t)4 * h * w * c * sizeof *big)))
            rc = cli_fail(o, "out of memory");
    }
    if (rc == CLI_OK && (st = lt_image_resize(ctx, lt_dataset_data(img), h, w, c, big, 2 * h, 2 * w)) != LT_OK)
        rc = cli_fail_lt(o, ctx, st, "cannot resize the image");
    if (rc == CLI_OK) rc = restore_and_save(o, ctx, m, big, 2 * h, 2 * w, c);
    free(big);
    lt_dataset_free(img);
    lt_model_free(m);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* ------------------------------------------------------------------ score */

/* Running sums of PSNR and SSIM over images. */
typedef struct quality {
    double psnr, ssim;
} quality;

/* Clips n values to [0, 1], as a saved image would hold them. */
static void clip01(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? (x[i] < 1.0f ? x[i] : 1.0f) : 0.0f;
}

/* Adds the PSNR and SSIM of img (clipped in place) against ref to q. */
static lt_status measure(lt_ctx *ctx, const float *ref, float *img, int h, int w, int c, quality *q)
{
    double ssim = 0.0;
    clip01(img, (size_t)h * w * c);
    lt_status st = lt_image_ssim(ctx, ref, img, h, w, c, &ssim);
    if (st != LT_OK) return st;
    double psnr = lt_image_psnr(ref, img, h, w, c);
    q->psnr += isfinite(psnr) ? psnr : 100.0; /* identical images: count 100 dB, not infinity */
    q->ssim += ssim;
    return LT_OK;
}

/* The clean images to score: the image operands (converted to the model's channels),
 * else --data's test split. */
typedef struct score_set {
    lt_dataset **files;   /* one dataset per image operand, or NULL */
    int n_files;
    lt_dataset *split;    /* the test split when no files are given */
} score_set;

/* Frees a score set. */
static void score_set_free(score_set *s)
{
    for (int i = 0; i < s->n_files; i++) lt_dataset_free(s->files[i]);
    free(s->files);
    lt_dataset_free(s->split);
}

/* Number of images in the set. */
static size_t score_count(const score_set *s)
{
    return s->files ? (size_t)s->n_files : lt_dataset_count(s->split);
}

/* Image i of the set and its shape. */
static const float *score_image(const score_set *s, size_t i, int *h, int *w, int *c)
{
    if (s->files) {
        lt_dataset_image_shape(s->files[i], h, w, c);
        return lt_dataset_data(s->files[i]);
    }
    lt_dataset_image_shape(s->split, h, w, c);
    return lt_dataset_data(s->split) + i * lt_dataset_dim(s->split);
}

/* Appends image img (h x w x c) at column x0 of a picture row of height rh, scaled by
 * an integer factor; pic is pw pixels wide. */
static void paste(float *pic, int pw, int y0, int x0, const float *img, int h, int w, int c, int scale)
{
    for (int y = 0; y < h * scale; y++)
        for (int x = 0; x < w * scale; x++)
            memcpy(pic + ((size_t)(y0 + y) * pw + x0 + x) * c, img + ((size_t)(y / scale) * w + x / scale) * c,
                   (size_t)c * sizeof *pic);
}

/* latent score MODEL [IMAGE...] (--noise S | --downscale F) */
int cli_cmd_score(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    score_set set = {0};
    int dims[3];
    int denoise = o->noise > 0.0f;
    lt_status st = LT_OK;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = o->png ? cli_check_output_path(o, "--png", o->png) : CLI_OK;
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_image_model(o, ctx, &m, dims);
    if (rc == CLI_OK && o->npositional > 1) {
        set.files = calloc((size_t)o->npositional - 1, sizeof *set.files);
        if (!set.files) rc = cli_fail(o, "out of memory");
        for (int i = 1; rc == CLI_OK && i < o->npositional; i++) {
            if ((st = lt_image_load(ctx, o->positional[i], dims[2], &set.files[i - 1])) != LT_OK)
                rc = cli_fail_lt(o, ctx, st, "cannot read the image");
            else
                set.n_files++;
        }
    } else if (rc == CLI_OK) {
        rc = cli_load_test_split(o, ctx, dims[0], &set.split); /* as eval reads it */
        int h = 0, w = 0, c = 0;
        if (rc == CLI_OK) lt_dataset_image_shape(set.split, &h, &w, &c);
        if (rc == CLI_OK && (h < 1 || c != dims[2]))
            rc = cli_fail(o, "--data '%s' does not hold %d-channel images", o->data, dims[2]);
    }
    size_t n = rc == CLI_OK ? score_count(&set) : 0;
    quality in_q = {0, 0}, model_q = {0, 0}, blur_q[N_SIGMAS];
    memset(blur_q, 0, sizeof blur_q);
    float *noisy = NULL, *restored = NULL, *tmp = NULL, *pic = NULL, *kept = NULL;
    int pic_h = 0, pic_w = 0, pic_rows = 0, scale = 1, shown = 0, ph0 = 0, pw0 = 0;
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        int h, w, c;
        const float *clean = score_image(&set, i, &h, &w, &c);
        size_t px = (size_t)h * w * c;
        float *a = realloc(noisy, px * sizeof *a);
        if (a) noisy = a;
        float *b = a ? realloc(restored, px * sizeof *b) : NULL;
        if (b) restored = b;
        float *t = b ? realloc(tmp, px * sizeof *t) : NULL;
        if (t) tmp = t;
        if (!a || !b || !t) { rc = cli_fail(o, "out of memory"); break; }
        /* The corrupted input: seeded noise per image, or the down-and-up resize. */
        if (denoise) {
            lt_dataset *one = NULL;
            st = lt_dataset_from_array(ctx, 1, px, clean, NULL, &one);
            if (st == LT_OK) st = lt_dataset_add_noise(ctx, one, o->noise, o->seed * 0x9E3779B97F4A7C15ull + i);
            if (st == LT_OK) memcpy(noisy, lt_dataset_data(one), px * sizeof *noisy);
            lt_dataset_free(one);
        } else {
            st = lt_image_down_up(ctx, clean, h, w, c, o->downscale, noisy);
        }
        if (st == LT_OK) st = lt_predict_image(m, noisy, h, w, c, restored);
        if (st == LT_OK) st = measure(ctx, clean, restored, h, w, c, &model_q);
        for (size_t k = 0; denoise && st == LT_OK && k < N_SIGMAS; k++) {
            st = lt_image_gaussian_blur(ctx, noisy, h, w, c, blur_sigmas[k], tmp);
            if (st == LT_OK) st = measure(ctx, clean, tmp, h, w, c, &blur_q[k]);
        }
        if (st != LT_OK) { rc = cli_fail_lt(o, ctx, st, "scoring failed"); break; }
        /* Picture rows: clean | corrupted | baseline | model; the baseline column is
         * filled at the end, when the best blur is known, from the kept noisy inputs. */
        if (o->png && shown < (set.files ? 1 : o->n)) {
            if (!pic) {
                ph0 = h; pw0 = w;
                scale = h < 64 && w < 64 ? 3 : 1;
                pic_rows = set.files ? 1 : (int)(n < (size_t)o->n ? n : (size_t)o->n);
                pic_h = pic_rows * (h * scale + PANEL_GAP);
                pic_w = 4 * (w * scale + PANEL_GAP);
                pic = malloc((size_t)pic_h * pic_w * c * sizeof *pic);
                kept = malloc((size_t)pic_rows * px * sizeof *kept);
                if (!pic || !kept) { rc = cli_fail(o, "out of memory"); break; }
                for (size_t k = 0; k < (size_t)pic_h * pic_w * c; k++) pic[k] = 1.0f;
            }
            if (h == ph0 && w == pw0) {
                int y0 = shown * (h * scale + PANEL_GAP), step = w * scale + PANEL_GAP;
                memcpy(kept + (size_t)shown * px, noisy, px * sizeof *kept);
                paste(pic, pic_w, y0, 0, clean, h, w, c, scale);
                paste(pic, pic_w, y0, step, noisy, h, w, c, scale);
                paste(pic, pic_w, y0, 3 * step, restored, h, w, c, scale);
                shown++;
            }
        }
        if ((st = measure(ctx, clean, noisy, h, w, c, &in_q)) != LT_OK) { /* clips noisy: measured last */
            rc = cli_fail_lt(o, ctx, st, "scoring failed");
            break;
        }
    }
    if (rc == CLI_OK && n > 0) {
        size_t best = 0;
        for (size_t k = 1; k < N_SIGMAS; k++)
            if (blur_q[k].psnr > blur_q[best].psnr) best = k;
        printf("%zu image%s, %s\n", n, n == 1 ? "" : "s",
               denoise ? "gaussian noise" : "downscaled and bicubic-upscaled");
        printf("%-28s %9s %8s\n", "", "PSNR dB", "SSIM");
        if (denoise) {
            char label[64];
            printf("%-28s %9.2f %8.4f\n", "noisy input", in_q.psnr / n, in_q.ssim / n);
            snprintf(label, sizeof label, "gaussian blur (sigma %.2g)", (double)blur_sigmas[best]);
            printf("%-28s %9.2f %8.4f\n", label, blur_q[best].psnr / n, blur_q[best].ssim / n);
        } else {
            printf("%-28s %9.2f %8.4f\n", "bicubic", in_q.psnr / n, in_q.ssim / n);
        }
        printf("%-28s %9.2f %8.4f\n", "latent", model_q.psnr / n, model_q.ssim / n);
        if (pic) {
            size_t px = (size_t)ph0 * pw0 * dims[2];
            int step = pw0 * scale + PANEL_GAP;
            float *base = malloc(px * sizeof *base);
            if (!base) st = LT_ERR_NOMEM;
            for (int r = 0; r < shown && st == LT_OK; r++) {
                const float *src = kept + (size_t)r * px;
                if (denoise) st = lt_image_gaussian_blur(ctx, src, ph0, pw0, dims[2], blur_sigmas[best], base);
                else memcpy(base, src, px * sizeof *base);
                paste(pic, pic_w, r * (ph0 * scale + PANEL_GAP), 2 * step, base, ph0, pw0, dims[2], scale);
            }
            free(base);
            fflush(stdout);
            if (st == LT_OK) st = lt_image_save_png(ctx, o->png, pic, shown * (pic_h / pic_rows), pic_w, dims[2]);
            if (st != LT_OK) rc = cli_fail_lt(o, ctx, st, "cannot write the picture");
            else cli_note(o, "wrote %s (columns: clean, %s, %s, latent)", o->png, denoise ? "noisy" : "bicubic",
                          denoise ? "the best gaussian blur" : "bicubic");
        }
    }
    free(noisy);
    free(restored);
    free(tmp);
    free(pic);
    free(kept);
    score_set_free(&set);
    lt_model_free(m);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}
