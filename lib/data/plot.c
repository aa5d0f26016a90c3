/* PNG plots: image grids (originals above reconstructions) and colored scatter plots.
 * Pixels are composed here; stb_image_write (compiled in stb_impl.c) encodes them. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* as in stb_impl.c */
#endif
#include "stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

/* Output bounds: keep every size stb computes in an int, and memory sane. */
#define PLOT_MAX_SIDE 16384
#define PLOT_MAX_BYTES (1u << 28)
#define GRID_SEP 2                 /* pixels between and around the images */
#define GRID_SEP_GRAY 128

/* Where stb's encoder output goes, and the first write error. */
typedef struct png_sink {
    FILE *f;
    int err; /* errno of the first failed write, or 0 */
} png_sink;

/* stb write callback: appends bytes to the file, remembering a failure. */
static void png_sink_write(void *context, void *data, int size)
{
    png_sink *s = context;
    if (s->err || size <= 0) return;
    errno = 0;
    if (fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->err = errno ? errno : EIO;
}

/* Encodes w x h pixels of comp bytes to path; on failure no partial file is left. */
lt_status lt_write_png(lt_ctx *ctx, const char *path, int w, int h, int comp, const unsigned char *px)
{
    png_sink s = {fopen(path, "wb"), 0};
    if (!s.f) return lt_set_error(ctx, LT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int encoded = stbi_write_png_to_func(png_sink_write, &s, w, h, comp, px, w * comp);
    errno = 0;
    if (fclose(s.f) != 0 && !s.err) s.err = errno ? errno : EIO;
    if (encoded && !s.err) return LT_OK;
    remove(path);
    if (!encoded) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory encoding a %dx%d PNG", path, w, h);
    return lt_set_error(ctx, LT_ERR_IO, "%s: write failed: %s", path, strerror(s.err));
}

/* Checks a w x h x comp image against the output bounds. */
static lt_status check_canvas(lt_ctx *ctx, const char *fn, uint64_t w, uint64_t h, int comp)
{
    if (w > PLOT_MAX_SIDE || h > PLOT_MAX_SIDE || w * h * (uint64_t)comp > PLOT_MAX_BYTES)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: a %llux%llu image is too large (at most %d pixels a side "
                            "and %u bytes)", fn, (unsigned long long)w, (unsigned long long)h, PLOT_MAX_SIDE,
                            PLOT_MAX_BYTES);
    return LT_OK;
}

/* [0,1] to a byte, clipping; NaN goes to 0. */
static unsigned char unit_to_byte(float v)
{
    return v > 0.0f ? (v < 1.0f ? (unsigned char)(v * 255.0f + 0.5f) : 255) : 0;
}

/* Grid of images: row 0 from a, row 1 from b, nearest-neighbour upscaled. */
lt_status lt_plot_image_rows(lt_ctx *ctx, const char *path, const float *a, const float *b,
                             int cols, int h, int w, int c, int scale)
{
    const char *fn = "lt_plot_image_rows";
    if (!path || !a) return lt_set_error(ctx, LT_ERR_ARG, "%s: %s is NULL", fn, !path ? "path" : "a");
    if (cols < 1 || h < 1 || w < 1 || scale < 1 || (c != 1 && c != 3))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: cols = %d, h = %d, w = %d, scale = %d (all must be >= 1), "
                            "c = %d (must be 1 or 3)", fn, cols, h, w, scale, c);
    if (h > PLOT_MAX_SIDE || w > PLOT_MAX_SIDE || scale > PLOT_MAX_SIDE || cols > PLOT_MAX_SIDE)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: cols = %d, h = %d, w = %d, scale = %d: too large", fn, cols,
                            h, w, scale);
    int rows = b ? 2 : 1;
    /* each factor <= 2^14, so the products fit in 64 bits */
    uint64_t cell_w = (uint64_t)w * (uint64_t)scale, cell_h = (uint64_t)h * (uint64_t)scale;
    uint64_t W = (uint64_t)cols * cell_w + (uint64_t)(cols + 1) * GRID_SEP;
    uint64_t H = (uint64_t)rows * cell_h + (uint64_t)(rows + 1) * GRID_SEP;
    lt_status st = check_canvas(ctx, fn, W, H, c);
    if (st != LT_OK) return st;
    size_t stride = (size_t)W * (size_t)c;
    unsigned char *px = malloc(stride * (size_t)H);
    if (!px) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for a %llux%llu image", fn,
                                 (unsigned long long)W, (unsigned long long)H);
    memset(px, GRID_SEP_GRAY, stride * (size_t)H);
    size_t img_floats = (size_t)h * (size_t)w * (size_t)c;
    for (int r = 0; r < rows; r++) {
        const float *src = r == 0 ? a : b;
        for (int k = 0; k < cols; k++) {
            const float *img = src + (size_t)k * img_floats;
            size_t x0 = GRID_SEP + (size_t)k * (size_t)(cell_w + GRID_SEP);
            size_t y0 = GRID_SEP + (size_t)r * (size_t)(cell_h + GRID_SEP);
            for (size_t y = 0; y < cell_h; y++) {
                const float *line = img + (y / (size_t)scale) * (size_t)w * (size_t)c;
                unsigned char *dst = px + (y0 + y) * stride + x0 * (size_t)c;
                for (size_t x = 0; x < cell_w; x++)
                    for (int ch = 0; ch < c; ch++)
                        dst[x * (size_t)c + (size_t)ch] = unit_to_byte(line[(x / (size_t)scale) * (size_t)c + (size_t)ch]);
            }
        }
    }
    st = lt_write_png(ctx, path, (int)W, (int)H, c, px);
    free(px);
    return st;
}

/* An RGB color. */
typedef struct rgb { unsigned char r, g, b; } rgb;

/* viridis (matplotlib's perceptually uniform map), linearly interpolated between
 * 10 evenly spaced stops; t outside [0,1] is clamped, NaN is gray. */
static rgb viridis(float t)
{
    static const unsigned char stops[10][3] = {
        {0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x4a, 0x89}, {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e},
        {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6d, 0xcd, 0x59}, {0xb4, 0xde, 0x2c}, {0xfd, 0xe7, 0x25},
    };
    if (isnan(t)) return (rgb){160, 160, 160};
    float s = (t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t) * 9.0f;
    int i = (int)s;
    if (i > 8) i = 8;
    float f = s - (float)i;
    rgb out;
    out.r = (unsigned char)(stops[i][0] + f * (float)(stops[i + 1][0] - stops[i][0]) + 0.5f);
    out.g = (unsigned char)(stops[i][1] + f * (float)(stops[i + 1][1] - stops[i][1]) + 0.5f);
    out.b = (unsigned char)(stops[i][2] + f * (float)(stops[i + 1][2] - stops[i][2]) + 0.5f);
    return out;
}

/* A square RGB canvas. */
typedef struct canvas {
    unsigned char *px;
    int size;
} canvas;

/* Sets one pixel; coordinates outside the canvas are ignored. */
static void put(canvas *cv, int x, int y, rgb col)
{
    if (x < 0 || y < 0 || x >= cv->size || y >= cv->size) return;
    unsigned char *p = cv->px + ((size_t)y * (size_t)cv->size + (size_t)x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

/* Fills the rectangle [x0, x1] x [y0, y1]. */
static void fill_rect(canvas *cv, int x0, int y0, int x1, int y1, rgb col)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) put(cv, x, y, col);
}

/* Draws the outline of [x0, x1] x [y0, y1], t pixels thick, inside the rectangle. */
static void frame_rect(canvas *cv, int x0, int y0, int x1, int y1, int t, rgb col)
{
    fill_rect(cv, x0, y0, x1, y0 + t - 1, col);
    fill_rect(cv, x0, y1 - t + 1, x1, y1, col);
    fill_rect(cv, x0, y0, x0 + t - 1, y1, col);
    fill_rect(cv, x1 - t + 1, y0, x1, y1, col);
}

/* Finite min and max of n floats at stride; returns 0 when none is finite. */
static int finite_range(const float *v, size_t n, size_t stride, float *lo, float *hi)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        float x = v[i * stride];
        if (!isfinite(x)) continue;
        if (!any || x < *lo) *lo = x;
        if (!any || x > *hi) *hi = x;
        any = 1;
    }
    return any;
}

/* Position of x within [lo, hi] as a fraction; the middle when the range is empty. */
static double frac(float x, float lo, float hi)
{
    return hi > lo ? ((double)x - lo) / ((double)hi - lo) : 0.5;
}

/* Scatter plot: axes box on the left, color bar (max at the top) on the right. */
lt_status lt_plot_scatter(lt_ctx *ctx, const char *path, const float *xy, const float *value,
                          size_t n, int size_px)
{
    const char *fn = "lt_plot_scatter";
    if (!path) return lt_set_error(ctx, LT_ERR_ARG, "%s: path is NULL", fn);
    if (n > 0 && !xy) return lt_set_error(ctx, LT_ERR_ARG, "%s: xy is NULL for %zu points", fn, n);
    if (size_px < 64 || size_px > 4096)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: size_px = %d (must be 64..4096)", fn, size_px);
    const rgb white = {255, 255, 255}, black = {0, 0, 0};
    int S = size_px;
    canvas cv = {malloc((size_t)S * (size_t)S * 3), S};
    if (!cv.px) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for a %dx%d image", fn, S, S);
    fill_rect(&cv, 0, 0, S - 1, S - 1, white);

    /* layout, all proportional to the image size */
    int m = S / 16, t = S / 400 + 1, r = S / 300 + 1;
    int bar_w = S / 32, bar_x1 = S - 1 - m / 2, bar_x0 = bar_x1 - bar_w + 1;
    int bx0 = m, by0 = m, bx1 = bar_x0 - m / 2 - 1, by1 = S - 1 - m;
    int pad = t + r + (bx1 - bx0) / 40; /* keeps dots off the frame */
    int iw = bx1 - bx0 - 2 * pad, ih = by1 - by0 - 2 * pad;

    float xlo = 0, xhi = 0, ylo = 0, yhi = 0, vlo = 0, vhi = 0;
    int have_x = n > 0 && finite_range(xy, n, 2, &xlo, &xhi);
    int have_y = n > 0 && finite_range(xy + 1, n, 2, &ylo, &yhi);
    int have_v = value && n > 0 && finite_range(value, n, 1, &vlo, &vhi);
    for (size_t i = 0; have_x && have_y && i < n; i++) {
        float x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue; /* nowhere to draw it */
        int cx = bx0 + pad + (int)lround(frac(x, xlo, xhi) * iw);
        int cy = by1 - pad - (int)lround(frac(y, ylo, yhi) * ih);
        rgb col = have_v ? viridis((float)frac(value[i], vlo, vhi)) : viridis(0.35f);
        if (have_v && !isfinite(value[i])) col = viridis(NAN);
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
                if (dx * dx + dy * dy <= r * r + r) put(&cv, cx + dx, cy + dy, col);
    }
    frame_rect(&cv, bx0, by0, bx1, by1, t, black);

    /* color bar: the colormap from min (bottom) to max (top) */
    for (int y = by0; y <= by1; y++)
        fill_rect(&cv, bar_x0, y, bar_x1, y, viridis((float)(by1 - y) / (float)(by1 - by0)));
    frame_rect(&cv, bar_x0, by0, bar_x1, by1, 1, black);

    lt_status st = lt_write_png(ctx, path, S, S, 3, cv.px);
    free(cv.px);
    return st;
}
