/* The latent program's image commands: denoise and upscale (one image file in, one
 * PNG out, through lt_predict_image's blended tiles) and score (PSNR and SSIM of a
 * denoising or super-resolution model against a classical baseline). It calls only
 * apps/cli_common.c and apps/cli_data.c. */
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
/* Images larger than this a side are shown as a central detail of this size. */
#define DETAIL 160

/* Loads the MODEL operand and checks that it maps images to images of the same shape;
 * fills dims (height, width, channels). */
static int load_image_model(const cli_opts *o, lt_ctx *ctx, lt_model **m, int dims[3])
{
    int rc = cli_load_model(o, ctx, m);
    if (rc != CLI_OK) return rc;
    int out[3] = {0, 0, 0};
    int rank = lt_input_shape(*m, dims);
    if (rank == 2)
        return cli_fail(o, "model '%s' takes sequences of %d steps x %d features, not images: use a convolutional "
                           "image-to-image model (such as denoise-res, sr2x or conv-ae)", o->positional[0], dims[0], dims[1]);
    if (rank != 3)
        return cli_fail(o, "model '%s' takes flat vectors of %d values, not images: use a convolutional "
                           "image-to-image model (such as denoise-res, sr2x or conv-ae)", o->positional[0], lt_input_dim(*m));
    if (lt_output_shape(*m, out) != 3 || memcmp(dims, out, sizeof out) != 0)
        return cli_fail(o, "model '%s' does not map images to images of the same shape (input %dx%dx%d, output %d "
                           "values)", o->positional[0], dims[0], dims[1], dims[2], lt_output_dim(*m));
    /* A model knows what it was trained to undo (files from before notes do not say). */
    const char *task = lt_model_meta(*m, "task");
    if (o->cmd == CMD_UPSCALE && task && strcmp(task, "super-resolution") != 0)
        return cli_fail(o, "model '%s' was trained as %s %s, not for super-resolution: upscale needs a model trained "
                        "with --downscale 2 (or --arch sr2x)%s", o->positional[0], task[0] == 'a' ? "an" : "a", task,
                        strcmp(task, "denoiser") == 0 ? "; this one works with 'latent denoise'" : "");
    if (o->cmd == CMD_DENOISE && task && strcmp(task, "super-resolution") == 0)
        return cli_fail(o, "model '%s' was trained for super-resolution, not for denoising: use 'latent upscale' "
                        "with it", o->positional[0]);
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

/* The start of denoise and upscale (MODEL IN OUT.png): checks OUT, opens the device,
 * loads MODEL and the image IN, and gives IN's shape. */
static int open_model_and_image(const cli_opts *o, lt_ctx **ctx, lt_model **m, lt_dataset **img, int *h, int *w, int *c)
{
    int dims[3];
    int rc = cli_check_output_path(o, "OUT", o->positional[2], CLI_OUT_PNG);
    if (rc == CLI_OK) rc = cli_open_ctx(o, ctx);
    if (rc == CLI_OK) rc = load_image_model(o, *ctx, m, dims);
    if (rc == CLI_OK) rc = load_input_image(o, *ctx, o->positional[1], dims[2], img);
    if (rc == CLI_OK) lt_dataset_image_shape(*img, h, w, c);
    return rc;
}

/* latent denoise MODEL IN OUT.png */
int cli_cmd_denoise(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *img = NULL;
    int h, w, c;
    int rc = open_model_and_image(o, &ctx, &m, &img, &h, &w, &c);
    if (rc == CLI_OK) rc = restore_and_save(o, ctx, m, lt_dataset_data(img), h, w, c);
    lt_dataset_free(img);
    return cli_close(ctx, m, rc);
}

/* latent upscale MODEL IN OUT.png: a bicubic 2x resize, then the model. */
int cli_cmd_upscale(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *img = NULL;
    float *big = NULL;
    int h, w, c;
    lt_status st;
    int rc = open_model_and_image(o, &ctx, &m, &img, &h, &w, &c);
    if (rc == CLI_OK) {
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
    return cli_close(ctx, m, rc);
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

/* A before/after picture: rows of panels on white, each panel one image shown whole
 * and enlarged (small images) or as an enlarged detail (large ones). */
typedef struct picture {
    float *px;                   /* height x width x c                        */
    int rows, cols, c;           /* panels                                    */
    int img_h, img_w;            /* size of the images put in                 */
    int top, left, view_h, view_w; /* the part of each image shown            */
    int scale;                   /* enlargement                               */
    int width, height;           /* pixels                                    */
} picture;

/* Sizes the picture for rows x cols panels of h x w x c images; 0, or -1 without memory. */
static int picture_init(picture *p, int rows, int cols, int h, int w, int c)
{
    memset(p, 0, sizeof *p);
    p->rows = rows; p->cols = cols; p->c = c; p->img_h = h; p->img_w = w;
    p->view_h = h > DETAIL ? DETAIL : h;
    p->view_w = w > DETAIL ? DETAIL : w;
    p->top = (h - p->view_h) / 2;
    p->left = (w - p->view_w) / 2;
    p->scale = p->view_h < 64 && p->view_w < 64 ? 3 : 2;
    p->height = rows * (p->view_h * p->scale + PANEL_GAP);
    p->width = cols * (p->view_w * p->scale + PANEL_GAP);
    p->px = malloc((size_t)p->height * p->width * c * sizeof *p->px);
    if (!p->px) return -1;
    for (size_t k = 0; k < (size_t)p->height * p->width * c; k++) p->px[k] = 1.0f;
    return 0;
}

/* Puts image img (img_h x img_w x c) into panel (row, col). */
static void picture_put(picture *p, int row, int col, const float *img)
{
    int y0 = row * (p->view_h * p->scale + PANEL_GAP), x0 = col * (p->view_w * p->scale + PANEL_GAP);
    for (int y = 0; y < p->view_h * p->scale; y++)
        for (int x = 0; x < p->view_w * p->scale; x++)
            memcpy(p->px + ((size_t)(y0 + y) * p->width + x0 + x) * p->c,
                   img + ((size_t)(p->top + y / p->scale) * p->img_w + p->left + x / p->scale) * p->c,
                   (size_t)p->c * sizeof *p->px);
}

/* Loads the clean images to score into set: the image operands, else --data's test
 * split as eval reads it; either must hold images of the model's channels. */
static int load_score_set(const cli_opts *o, lt_ctx *ctx, const lt_model *m, int channels, score_set *set)
{
    if (o->npositional > 1) {
        set->files = calloc((size_t)o->npositional - 1, sizeof *set->files);
        if (!set->files) return cli_fail(o, "out of memory");
        for (int i = 1; i < o->npositional; i++) {
            int rc = load_input_image(o, ctx, o->positional[i], channels, &set->files[i - 1]);
            if (set->files[i - 1]) set->n_files++;
            if (rc != CLI_OK) return rc;
        }
        return CLI_OK;
    }
    int rc = cli_load_split(o, ctx, 0, m, &set->split);
    int h = 0, w = 0, c = 0;
    if (rc == CLI_OK) lt_dataset_image_shape(set->split, &h, &w, &c);
    if (rc == CLI_OK && (h < 1 || c != channels))
        rc = cli_fail(o, "--data '%s' does not hold %d-channel images", o->data, channels);
    return rc;
}

/* Writes into noisy the corrupted input for clean image i (h x w x c): seeded noise of
 * its own per image for denoising, else the down-and-up resize. */
static lt_status corrupt_image(const cli_opts *o, lt_ctx *ctx, int denoise, const float *clean, size_t i, int h, int w,
                               int c, float *noisy)
{
    if (!denoise) return lt_image_down_up(ctx, clean, h, w, c, o->downscale, noisy);
    size_t px = (size_t)h * w * c;
    lt_dataset *one = NULL;
    lt_status st = lt_dataset_from_array(ctx, 1, px, clean, NULL, &one);
    if (st == LT_OK) st = lt_dataset_add_noise(ctx, one, o->noise, o->seed * 0x9E3779B97F4A7C15ull + i);
    if (st == LT_OK) memcpy(noisy, lt_dataset_data(one), px * sizeof *noisy);
    lt_dataset_free(one);
    return st;
}

/* Prints the mean PSNR and SSIM of n images: the corrupted input, for denoising the
 * best gaussian blur (of width sigma), then the model. */
static void print_scores(size_t n, int denoise, const quality *input, const quality *blur, float sigma,
                         const quality *model)
{
    printf("%zu image%s, %s\n", n, n == 1 ? "" : "s", denoise ? "gaussian noise" : "downscaled and bicubic-upscaled");
    printf("%-28s %9s %8s\n", "", "PSNR dB", "SSIM");
    if (denoise) {
        char label[64];
        printf("%-28s %9.2f %8.4f\n", "noisy input", input->psnr / n, input->ssim / n);
        snprintf(label, sizeof label, "gaussian blur (sigma %.2g)", (double)sigma);
        printf("%-28s %9.2f %8.4f\n", label, blur->psnr / n, blur->ssim / n);
    } else {
        printf("%-28s %9.2f %8.4f\n", "bicubic", input->psnr / n, input->ssim / n);
    }
    printf("%-28s %9.2f %8.4f\n", "latent", model->psnr / n, model->ssim / n);
}

/* Completes the picture's `shown` rows (for denoising, the baseline column: the blur of
 * width sigma of each kept noisy input) and writes it to --png. */
static int write_score_picture(const cli_opts *o, lt_ctx *ctx, picture *pic, int shown, const float *kept, int denoise,
                               float sigma)
{
    size_t px = (size_t)pic->img_h * pic->img_w * pic->c;
    float *base = denoise ? malloc(px * sizeof *base) : NULL;
    lt_status st = denoise && !base ? LT_ERR_NOMEM : LT_OK;
    for (int r = 0; denoise && r < shown && st == LT_OK; r++) {
        st = lt_image_gaussian_blur(ctx, kept + (size_t)r * px, pic->img_h, pic->img_w, pic->c, sigma, base);
        picture_put(pic, r, 2, base);
    }
    free(base);
    fflush(stdout);
    if (st == LT_OK) st = lt_image_save_png(ctx, o->png, pic->px, pic->height / pic->rows * shown, pic->width, pic->c);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "cannot write the picture");
    cli_note(o, "wrote %s (columns: clean, %s, latent%s)", o->png, denoise ? "noisy, the best gaussian blur" : "bicubic",
             pic->view_h < pic->img_h || pic->view_w < pic->img_w ? "; a central detail, enlarged" : "");
    return CLI_OK;
}

/* latent score MODEL [IMAGE...] (--noise S | --downscale F) */
int cli_cmd_score(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    score_set set = {0};
    int dims[3];
    int denoise = cli_given(o, OPT_NOISE); /* --noise 0 scores a model on clean inputs */
    lt_status st = LT_OK;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = o->png ? cli_check_output_path(o, "--png", o->png, CLI_OUT_PNG) : CLI_OK;
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_image_model(o, ctx, &m, dims);
    if (rc == CLI_OK) rc = load_score_set(o, ctx, m, dims[2], &set);
    size_t n = rc == CLI_OK ? score_count(&set) : 0;
    quality in_q = {0, 0}, model_q = {0, 0}, blur_q[N_SIGMAS];
    memset(blur_q, 0, sizeof blur_q);
    float *noisy = NULL, *restored = NULL, *tmp = NULL, *kept = NULL;
    picture pic = {0};
    int shown = 0;
    /* the picture's rows: the first --n files given (of the first's size), or --n
     * images of the test split as train's picture picks them (patches with detail) */
    size_t n_pick = o->png ? (n < (size_t)o->n ? n : (size_t)o->n) : 0, next_pick = 0;
    size_t *picks = n_pick && set.split ? malloc(n_pick * sizeof *picks) : NULL;
    if (n_pick && set.split && !picks) rc = cli_fail(o, "out of memory");
    else if (picks) cli_picture_picks(set.split, n_pick, picks);
    cli_progress progress = {0};
    if (rc == CLI_OK) {
        cli_note(o, "scoring %zu image%s: %s, restored by the model%s", n, n == 1 ? "" : "s",
                 denoise ? "noisy" : "downscaled and bicubic-upscaled", denoise ? ", and 5 gaussian blurs" : "");
        cli_progress_start(&progress, o, "images scored", n);
    }
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        cli_progress_update(&progress, i);
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
        st = corrupt_image(o, ctx, denoise, clean, i, h, w, c, noisy);
        if (st == LT_OK) st = lt_predict_image(m, noisy, h, w, c, restored);
        if (st == LT_OK) st = measure(ctx, clean, restored, h, w, c, &model_q);
        for (size_t k = 0; denoise && st == LT_OK && k < N_SIGMAS; k++) {
            st = lt_image_gaussian_blur(ctx, noisy, h, w, c, blur_sigmas[k], tmp);
            if (st == LT_OK) st = measure(ctx, clean, tmp, h, w, c, &blur_q[k]);
        }
        if (st != LT_OK) { rc = cli_fail_lt(o, ctx, st, "scoring failed"); break; }
        /* Picture rows: clean | corrupted | [baseline |] model; the baseline column is
         * filled at the end, when the best blur is known, from the kept noisy inputs. */
        int row = picks ? next_pick < n_pick && picks[next_pick] == i : (size_t)shown < n_pick;
        if (row) {
            next_pick++;
            if (!pic.px) {
                int rows = (int)n_pick;
                kept = malloc((size_t)rows * px * sizeof *kept);
                if (!kept || picture_init(&pic, rows, denoise ? 4 : 3, h, w, c) != 0) { rc = cli_fail(o, "out of memory"); break; }
            }
            if (h == pic.img_h && w == pic.img_w) {
                memcpy(kept + (size_t)shown * px, noisy, px * sizeof *kept);
                picture_put(&pic, shown, 0, clean);
                picture_put(&pic, shown, 1, noisy);
                picture_put(&pic, shown, pic.cols - 1, restored);
                shown++;
            }
        }
        if ((st = measure(ctx, clean, noisy, h, w, c, &in_q)) != LT_OK) { /* clips noisy: measured last */
            rc = cli_fail_lt(o, ctx, st, "scoring failed");
            break;
        }
    }
    cli_progress_end(&progress, rc);
    if (rc == CLI_OK && n > 0) {
        size_t best = 0;
        for (size_t k = 1; k < N_SIGMAS; k++)
            if (blur_q[k].psnr > blur_q[best].psnr) best = k;
        print_scores(n, denoise, &in_q, &blur_q[best], blur_sigmas[best], &model_q);
        if (pic.px) rc = write_score_picture(o, ctx, &pic, shown, kept, denoise, blur_sigmas[best]);
    }
    free(noisy);
    free(restored);
    free(tmp);
    free(pic.px);
    free(kept);
    free(picks);
    score_set_free(&set);
    return cli_close(ctx, m, rc);
}
