/* Image quality metrics (PSNR, SSIM as scikit-image computes it) and a gaussian blur, on
 * h x w x c channels-last float images in host memory. Sums are taken in double. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "internal.h"

/* SSIM's window, scikit-image's gaussian_weights=True: sigma 1.5 truncated at 3.5 sigma,
 * radius int(3.5 * 1.5 + 0.5) = 5, 11 taps. */
#define SSIM_SIGMA 1.5
#define SSIM_RADIUS 5
/* Blur kernels reach ceil(4 sigma) (scipy's default truncation); sigma is at most 100. */
#define BLUR_MAX_SIGMA 100.0f
#define BLUR_MAX_RADIUS 400

/* 1 if h x w x c is a valid image shape within the file limits of latent.h; any c >= 1 as
 * long as the floats stay within 4 per pixel of the pixel limit. */
static int shape_ok(int h, int w, int c)
{
    return h >= 1 && w >= 1 && c >= 1 && h <= LT_IMAGE_MAX_SIDE && w <= LT_IMAGE_MAX_SIDE &&
           (uint64_t)h * (uint64_t)w <= LT_IMAGE_MAX_PIXELS &&
           (uint64_t)h * (uint64_t)w * (uint64_t)c <= (uint64_t)LT_IMAGE_MAX_PIXELS * 4u;
}

/* Sets the error for a bad shape and returns LT_ERR_ARG. */
static lt_status shape_error(lt_ctx *ctx, const char *fn, int h, int w, int c)
{
    return lt_set_error(ctx, LT_ERR_ARG, "%s: bad image shape %dx%dx%d (sides 1..%d, at most %u pixels, "
                        "channels >= 1)", fn, h, w, c, LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS);
}

/* 10 log10(1 / MSE); +inf for equal images, NaN for a NULL image or a bad shape. */
double lt_image_psnr(const float *ref, const float *img, int h, int w, int c)
{
    if (!ref || !img || !shape_ok(h, w, c)) return NAN;
    size_t n = (size_t)h * (size_t)w * (size_t)c;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)img[i] - (double)ref[i];
        sum += d * d;
    }
    double mse = sum / (double)n;
    if (mse == 0.0) return INFINITY;
    return 10.0 * log10(1.0 / mse); /* NaN in an image stays NaN */
}

/* scipy's _gaussian_kernel1d: exp(-x^2 / (2 sigma^2)) for |x| <= radius, normalised;
 * k[0] is the centre, k[j] the weight at distance j. */
static void gaussian_kernel(double sigma, int radius, double *k)
{
    double sum = 0.0;
    for (int j = -radius; j <= radius; j++) sum += exp(-0.5 / (sigma * sigma) * (double)j * (double)j);
    for (int j = 0; j <= radius; j++) k[j] = exp(-0.5 / (sigma * sigma) * (double)j * (double)j) / sum;
}

/* One channel's mean SSIM over the valid region, rows and columns [5, side - 5). The
 * five scipy 'reflect'-filtered maps differ from unpadded ones only within 5 pixels of
 * the edge, which scikit-image crops away, so only the valid region is filtered: first
 * along columns into t (5 maps of vh x w), then along rows. */
static double ssim_channel(const float *ref, const float *img, int h, int w, int c, int ch, const double *k,
                           double *t)
{
    const int r = SSIM_RADIUS;
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03; /* (K1 R)^2, (K2 R)^2 with R = 1 */
    size_t vh = (size_t)(h - 2 * r), vw = (size_t)(w - 2 * r), wn = (size_t)w;
    size_t m = vh * wn;
    double *tx = t, *ty = t + m, *txx = t + 2 * m, *tyy = t + 3 * m, *txy = t + 4 * m;
    for (size_t y = 0; y < vh; y++)
        for (size_t x = 0; x < wn; x++) {
            /* centre first, then symmetric pairs from the outside in, as scipy's correlate1d */
            size_t ic = ((y + (size_t)r) * wn + x) * (size_t)c + (size_t)ch;
            double a = ref[ic], b = img[ic];
            double sx = a * k[0], sy = b * k[0], sxx = a * a * k[0], syy = b * b * k[0], sxy = a * b * k[0];
            for (int j = r; j >= 1; j--) {
                size_t iu = ic - (size_t)j * wn * (size_t)c, id = ic + (size_t)j * wn * (size_t)c;
                double au = ref[iu], ad = ref[id], bu = img[iu], bd = img[id];
                sx += (au + ad) * k[j];
                sy += (bu + bd) * k[j];
                sxx += (au * au + ad * ad) * k[j];
                syy += (bu * bu + bd * bd) * k[j];
                sxy += (au * bu + ad * bd) * k[j];
            }
            size_t o = y * wn + x;
            tx[o] = sx, ty[o] = sy, txx[o] = sxx, tyy[o] = syy, txy[o] = sxy;
        }
    double total = 0.0;
    for (size_t y = 0; y < vh; y++)
        for (size_t x = (size_t)r; x < (size_t)r + vw; x++) {
            size_t o = y * wn + x;
            double ux = tx[o] * k[0], uy = ty[o] * k[0], uxx = txx[o] * k[0], uyy = tyy[o] * k[0],
                   uxy = txy[o] * k[0];
            for (int j = r; j >= 1; j--) {
                size_t ol = o - (size_t)j, orr = o + (size_t)j;
                ux += (tx[ol] + tx[orr]) * k[j];
                uy += (ty[ol] + ty[orr]) * k[j];
                uxx += (txx[ol] + txx[orr]) * k[j];
                uyy += (tyy[ol] + tyy[orr]) * k[j];
                uxy += (txy[ol] + txy[orr]) * k[j];
            }
            /* population (co)variances: use_sample_covariance=False */
            double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
            double a1 = 2.0 * ux * uy + c1, a2 = 2.0 * vxy + c2;
            double b1 = ux * ux + uy * uy + c1, b2 = vx + vy + c2;
            total += (a1 * a2) / (b1 * b2);
        }
    return total / ((double)vh * (double)vw);
}

/* Mean SSIM over the valid region of each channel, then over the channels (see latent.h). */
lt_status lt_image_ssim(lt_ctx *ctx, const float *ref, const float *img, int h, int w, int c, double *ssim)
{
    if (ssim) *ssim = NAN;
    if (!ref || !img || !ssim) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_ssim: NULL argument");
    if (!shape_ok(h, w, c)) return shape_error(ctx, "lt_image_ssim", h, w, c);
    const int win = 2 * SSIM_RADIUS + 1;
    if (h < win || w < win)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_image_ssim: image of %dx%d is smaller than the %dx%d window",
                            h, w, win, win);
    double k[SSIM_RADIUS + 1];
    gaussian_kernel(SSIM_SIGMA, SSIM_RADIUS, k);
    /* 5 maps of (h - 10) x w doubles; within the pixel limit, so no overflow */
    size_t m = (size_t)(h - 2 * SSIM_RADIUS) * (size_t)w;
    double *t = malloc(5 * m * sizeof *t);
    if (!t) return lt_set_error(ctx, LT_ERR_NOMEM, "lt_image_ssim: out of memory for a %dx%d image", h, w);
    double sum = 0.0;
    for (int ch = 0; ch < c; ch++) sum += ssim_channel(ref, img, h, w, c, ch, k, t);
    free(t);
    double v = sum / (double)c;
    /* floats squared cannot overflow a double, so only NaN or inf inputs get here */
    if (!isfinite(v)) return lt_set_error(ctx, LT_ERR_NONFINITE, "lt_image_ssim: NaN or infinity in the images");
    *ssim = v;
    return LT_OK;
}

/* Separable gaussian blur, radius ceil(4 sigma), edges replicated (clamped indices); rows
 * first into a double buffer, then columns into out, so out may be img. */
lt_status lt_image_gaussian_blur(lt_ctx *ctx, const float *img, int h, int w, int c, float sigma, float *out)
{
    if (!img || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_gaussian_blur: NULL argument");
    if (!shape_ok(h, w, c)) return shape_error(ctx, "lt_image_gaussian_blur", h, w, c);
    if (!(isfinite(sigma) && sigma > 0.0f && sigma <= BLUR_MAX_SIGMA))
        return lt_set_error(ctx, LT_ERR_ARG, "lt_image_gaussian_blur: sigma %g must be > 0 and <= %g", (double)sigma,
                            (double)BLUR_MAX_SIGMA);
    int r = (int)ceil(4.0 * (double)sigma);
    if (r > BLUR_MAX_RADIUS) r = BLUR_MAX_RADIUS; /* only float rounding could get here */
    double k[BLUR_MAX_RADIUS + 1];
    gaussian_kernel((double)sigma, r, k);
    size_t n = (size_t)h * (size_t)w * (size_t)c, cs = (size_t)c;
    double *t = malloc(n * sizeof *t);
    if (!t) return lt_set_error(ctx, LT_ERR_NOMEM, "lt_image_gaussian_blur: out of memory for a %dx%d image", h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (size_t ch = 0; ch < cs; ch++) {
                const float *row = img + (size_t)y * (size_t)w * cs + ch;
                double s = row[(size_t)x * cs] * k[0];
                for (int j = 1; j <= r; j++) {
                    int xl = x - j < 0 ? 0 : x - j, xr = x + j > w - 1 ? w - 1 : x + j;
                    s += ((double)row[(size_t)xl * cs] + (double)row[(size_t)xr * cs]) * k[j];
                }
                t[((size_t)y * (size_t)w + (size_t)x) * cs + ch] = s;
            }
    size_t rs = (size_t)w * cs; /* doubles in one row */
    for (int y = 0; y < h; y++)
        for (size_t i = 0; i < rs; i++) {
            double s = t[(size_t)y * rs + i] * k[0];
            for (int j = 1; j <= r; j++) {
                int yu = y - j < 0 ? 0 : y - j, yd = y + j > h - 1 ? h - 1 : y + j;
                s += (t[(size_t)yu * rs + i] + t[(size_t)yd * rs + i]) * k[j];
            }
            out[(size_t)y * rs + i] = (float)s;
        }
    free(t);
    return LT_OK;
}
