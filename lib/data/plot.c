/* PNG plots: image grids (originals above reconstructions), colored scatter plots and
 * time series with their anomalous windows.
 * Pixels are composed here; stb_image_write (compiled in stb_impl.c) encodes them. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "stb_decls.h"

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

/* An RGB canvas of w x h pixels. */
typedef struct canvas {
    unsigned char *px;
    int w, h;
} canvas;

/* Sets one pixel; coordinates outside the canvas are ignored. */
static void put(canvas *cv, int x, int y, rgb col)
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return;
    unsigned char *p = cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
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

/* A 5x7 bitmap font for printable ASCII (32..126): five column bytes per glyph, bit 0
 * the top row (the classic HD44780-style LCD font). */
static const unsigned char font5x7[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5f, 0x00, 0x00}, {0x00, 0x07, 0x00, 0x07, 0x00}, /*  !" */
    {0x14, 0x7f, 0x14, 0x7f, 0x14}, {0x24, 0x2a, 0x7f, 0x2a, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62}, /* #$% */
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, {0x00, 0x1c, 0x22, 0x41, 0x00}, /* &'( */
    {0x00, 0x41, 0x22, 0x1c, 0x00}, {0x08, 0x2a, 0x1c, 0x2a, 0x08}, {0x08, 0x08, 0x3e, 0x08, 0x08}, /* )*+ */
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x60, 0x60, 0x00, 0x00}, /* ,-. */
    {0x20, 0x10, 0x08, 0x04, 0x02}, {0x3e, 0x51, 0x49, 0x45, 0x3e}, {0x00, 0x42, 0x7f, 0x40, 0x00}, /* /01 */
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4b, 0x31}, {0x18, 0x14, 0x12, 0x7f, 0x10}, /* 234 */
    {0x27, 0x45, 0x45, 0x45, 0x39}, {0x3c, 0x4a, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03}, /* 567 */
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1e}, {0x00, 0x36, 0x36, 0x00, 0x00}, /* 89: */
    {0x00, 0x56, 0x36, 0x00, 0x00}, {0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14}, /* ;<= */
    {0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06}, {0x32, 0x49, 0x79, 0x41, 0x3e}, /* >?@ */
    {0x7e, 0x11, 0x11, 0x11, 0x7e}, {0x7f, 0x49, 0x49, 0x49, 0x36}, {0x3e, 0x41, 0x41, 0x41, 0x22}, /* ABC */
    {0x7f, 0x41, 0x41, 0x22, 0x1c}, {0x7f, 0x49, 0x49, 0x49, 0x41}, {0x7f, 0x09, 0x09, 0x09, 0x01}, /* DEF */
    {0x3e, 0x41, 0x49, 0x49, 0x7a}, {0x7f, 0x08, 0x08, 0x08, 0x7f}, {0x00, 0x41, 0x7f, 0x41, 0x00}, /* GHI */
    {0x20, 0x40, 0x41, 0x3f, 0x01}, {0x7f, 0x08, 0x14, 0x22, 0x41}, {0x7f, 0x40, 0x40, 0x40, 0x40}, /* JKL */
    {0x7f, 0x02, 0x0c, 0x02, 0x7f}, {0x7f, 0x04, 0x08, 0x10, 0x7f}, {0x3e, 0x41, 0x41, 0x41, 0x3e}, /* MNO */
    {0x7f, 0x09, 0x09, 0x09, 0x06}, {0x3e, 0x41, 0x51, 0x21, 0x5e}, {0x7f, 0x09, 0x19, 0x29, 0x46}, /* PQR */
    {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7f, 0x01, 0x01}, {0x3f, 0x40, 0x40, 0x40, 0x3f}, /* STU */
    {0x1f, 0x20, 0x40, 0x20, 0x1f}, {0x3f, 0x40, 0x38, 0x40, 0x3f}, {0x63, 0x14, 0x08, 0x14, 0x63}, /* VWX */
    {0x07, 0x08, 0x70, 0x08, 0x07}, {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7f, 0x41, 0x41, 0x00}, /* YZ[ */
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7f, 0x00}, {0x04, 0x02, 0x01, 0x02, 0x04}, /* \]^ */
    {0x40, 0x40, 0x40, 0x40, 0x40}, {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78}, /* _`a */
    {0x7f, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, {0x38, 0x44, 0x44, 0x48, 0x7f}, /* bcd */
    {0x38, 0x54, 0x54, 0x54, 0x18}, {0x08, 0x7e, 0x09, 0x01, 0x02}, {0x0c, 0x52, 0x52, 0x52, 0x3e}, /* efg */
    {0x7f, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7d, 0x40, 0x00}, {0x20, 0x40, 0x44, 0x3d, 0x00}, /* hij */
    {0x7f, 0x10, 0x28, 0x44, 0x00}, {0x00, 0x41, 0x7f, 0x40, 0x00}, {0x7c, 0x04, 0x18, 0x04, 0x78}, /* klm */
    {0x7c, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, {0x7c, 0x14, 0x14, 0x14, 0x08}, /* nop */
    {0x08, 0x14, 0x14, 0x18, 0x7c}, {0x7c, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20}, /* qrs */
    {0x04, 0x3f, 0x44, 0x40, 0x20}, {0x3c, 0x40, 0x40, 0x20, 0x7c}, {0x1c, 0x20, 0x40, 0x20, 0x1c}, /* tuv */
    {0x3c, 0x40, 0x30, 0x40, 0x3c}, {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0c, 0x50, 0x50, 0x50, 0x3c}, /* wxy */
    {0x44, 0x64, 0x54, 0x4c, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, {0x00, 0x00, 0x7f, 0x00, 0x00}, /* z{| */
    {0x00, 0x41, 0x36, 0x08, 0x00}, {0x08, 0x04, 0x08, 0x10, 0x08},                                 /* }~  */
};
#define FONT_ADVANCE 6 /* glyph width plus one column of space */

/* Draws s from (x, y) (top left) in the 5x7 font scaled by f, stopping before the first
 * glyph that would pass column xmax; other characters than printable ASCII draw as '?'
 * (one per UTF-8 sequence: continuation bytes are skipped). */
static void draw_text(canvas *cv, int x, int y, const char *s, int f, int xmax, rgb col)
{
    for (; *s && x + 5 * f - 1 <= xmax; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch & 0xc0) == 0x80) continue;
        const unsigned char *g = font5x7[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        for (int cx = 0; cx < 5; cx++)
            for (int ry = 0; ry < 7; ry++)
                if (g[cx] >> ry & 1) fill_rect(cv, x + cx * f, y + ry * f, x + cx * f + f - 1, y + ry * f + f - 1, col);
        x += FONT_ADVANCE * f;
    }
}

/* Draws s upwards from (x, y) (the bottom left of the first glyph, the glyphs' tops
 * facing left: text along a vertical axis read from below), stopping before the first
 * glyph that would pass row ymin; otherwise as draw_text. */
static void draw_text_up(canvas *cv, int x, int y, const char *s, int f, int ymin, rgb col)
{
    for (; *s && y - 5 * f + 1 >= ymin; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch & 0xc0) == 0x80) continue;
        const unsigned char *g = font5x7[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        for (int cx = 0; cx < 5; cx++)
            for (int ry = 0; ry < 7; ry++)
                if (g[cx] >> ry & 1)
                    fill_rect(cv, x + ry * f, y - cx * f - f + 1, x + ry * f + f - 1, y - cx * f, col);
        y -= FONT_ADVANCE * f;
    }
}

/* Width in pixels of s in the 5x7 font scaled by f. */
static int text_width(const char *s, int f)
{
    int n = (int)strlen(s);
    return n > 0 ? n * FONT_ADVANCE * f - f : 0;
}

/* Whether point i is drawn with a class colour: cls is NULL (no classes) or cls[i] is
 * one of the n_classes. */
static int class_ok(const int32_t *cls, int n_classes, size_t i)
{
    return !cls || (cls[i] >= 0 && cls[i] < n_classes);
}

/* Finite min and max of n floats at stride, over the points class_ok keeps; returns 0
 * when none is finite. */
static int finite_range(const float *v, size_t n, size_t stride, const int32_t *cls, int n_classes, float *lo,
                        float *hi)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        float x = v[i * stride];
        if (!isfinite(x) || !class_ok(cls, n_classes, i)) continue;
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

/* Where a scatter plot's parts go: the axes box on the left, a panel (colour bar or
 * legend) on the right; all proportional to the image size. */
typedef struct scatter_layout {
    int m, t, r;            /* margin, frame thickness, dot radius         */
    int f;                  /* font scale of the tick labels (0: none)     */
    int bx0, by0, bx1, by1; /* the axes box                                */
    int px0, px1;           /* the panel's columns (rows by0..by1)         */
    int pad, iw, ih;        /* dots' inset from the frame, and their span  */
} scatter_layout;

/* Tick labels are drawn on plots at least this many pixels wide. */
#define SCATTER_TEXT_MIN 200
/* Characters of a tick label that the left margin makes room for, at most. */
#define TICK_CHARS 8

/* The font scale of a size x size scatter plot's text: 0 (no text) below
 * SCATTER_TEXT_MIN pixels, else 1 up to 599 pixels, 2 up to 999 and so on. */
static int scatter_font(int S)
{
    return S < SCATTER_TEXT_MIN ? 0 : (S + 200) / 400;
}

/* The layout of a size x size plot whose right panel is panel_w pixels wide; with tick
 * labels (scatter_font), the left margin holds the y axis' labels, label_w pixels wide
 * at most (ticks_width). */
static scatter_layout scatter_layout_for(int S, int panel_w, int label_w)
{
    scatter_layout L;
    L.m = S / 16;
    L.t = S / 400 + 1;
    L.r = S / 300 + 1;
    L.f = scatter_font(S);
    int cap = L.f * TICK_CHARS * FONT_ADVANCE;
    int left = L.f ? (label_w < cap ? label_w : cap) + 9 * L.f : 0; /* labels, gap, tick, gap */
    L.px1 = S - 1 - L.m / 2;
    L.px0 = L.px1 - panel_w + 1;
    L.bx0 = left > L.m ? left : L.m;
    L.by0 = L.m;
    L.bx1 = L.px0 - L.m / 2 - 1;
    L.by1 = S - 1 - L.m;
    L.pad = L.t + L.r + (L.bx1 - L.bx0) / 40; /* keeps dots off the frame */
    L.iw = L.bx1 - L.bx0 - 2 * L.pad;
    L.ih = L.by1 - L.by0 - 2 * L.pad;
    return L;
}

/* Ticks of an axis over [lo, hi]: the multiples of step (1, 2 or 5 times a power of
 * ten, at most most ticks) inside it, from first; one tick at lo (step 0) when the
 * range is empty or not finite. */
typedef struct ticks {
    double first, step;
    int count;
} ticks;

static ticks ticks_for(double lo, double hi, int most)
{
    ticks k = {lo, 0.0, 1};
    double span = hi - lo;
    if (!(span > 0.0) || !isfinite(span)) return k;
    double step = pow(10.0, floor(log10(span / most)));
    static const double mantissa[4] = {1.0, 2.0, 5.0, 10.0};
    for (int i = 0; i < 4; i++) {
        double s = step * mantissa[i];
        if (floor(hi / s) - ceil(lo / s) + 1.0 <= most) {
            step = s;
            break;
        }
    }
    double a = ceil(lo / step), z = floor(hi / step);
    k.first = a * step;
    k.step = step;
    k.count = z >= a ? (int)(z - a) + 1 : 0;
    return k;
}

/* Value of tick i (a whole multiple of the step: 0 is exactly 0). */
static double tick_value(const ticks *k, int i)
{
    return k->step > 0.0 ? (round(k->first / k->step) + i) * k->step : k->first;
}

/* The label of tick value v with the ticks' step: as many decimals as the step needs,
 * or %.2g when that would be longer than TICK_CHARS; %.3g for a lone tick (step 0). */
static void tick_label(char *buf, size_t len, double v, double step)
{
    if (!(step > 0.0)) {
        snprintf(buf, len, "%.3g", v);
        return;
    }
    int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < 1e6 && decimals <= 4 && snprintf(buf, len, "%.*f", decimals, v) <= TICK_CHARS) return;
    snprintf(buf, len, "%.2g", v);
}

/* Width of the widest label of ticks k in font scale f. */
static int labels_width(const ticks *k, int f)
{
    int widest = 0;
    for (int i = 0; i < k->count; i++) {
        char buf[32];
        tick_label(buf, sizeof buf, tick_value(k, i), k->step);
        int w = text_width(buf, f);
        if (w > widest) widest = w;
    }
    return widest;
}

/* Width of the widest tick label of [lo, hi] in font scale f: of the most ticks
 * draw_ticks may draw, whose labels are at least as wide as those of fewer. */
static int ticks_width(double lo, double hi, int f)
{
    ticks k = ticks_for(lo, hi, 7);
    return labels_width(&k, f);
}

/* Draws the ticks of [lo, hi] (whose ends map to pixels p_lo and p_hi) on the outside
 * of an axis: vertical (the y axis, labels right-aligned to the left of column at) or
 * horizontal (the x axis, labels centred below row at, kept inside the image); on a
 * colour bar (right), the labels go to the right of column at. */
enum { TICK_LEFT, TICK_BELOW, TICK_RIGHT };
static void draw_ticks(canvas *cv, double lo, double hi, int p_lo, int p_hi, int at, int side, int f, rgb col)
{
    /* at most 7 ticks, fewer while their labels would come closer than two characters
     * (side by side) or one line (one above the other) */
    ticks k = ticks_for(lo, hi, 7);
    for (int most = 6; most >= 2 && k.count > 1; most--) {
        double gap = fabs(k.step / (hi - lo) * (p_hi - p_lo));
        int need = side == TICK_BELOW ? labels_width(&k, f) + 2 * FONT_ADVANCE * f : 10 * f;
        if (gap >= need) break;
        k = ticks_for(lo, hi, most);
    }
    for (int i = 0; i < k.count; i++) {
        double v = tick_value(&k, i);
        char buf[32];
        tick_label(buf, sizeof buf, v, k.step);
        int p = p_lo + (int)lround((hi > lo ? (v - lo) / (hi - lo) : 0.5) * (p_hi - p_lo));
        int w = text_width(buf, f);
        if (side == TICK_BELOW) {
            fill_rect(cv, p - (f - 1) / 2, at + 1, p + f / 2, at + 3 * f, col);
            int tx = p - w / 2;
            if (tx + w > cv->w - 1) tx = cv->w - 1 - w;
            if (tx < 0) tx = 0;
            draw_text(cv, tx, at + 5 * f, buf, f, cv->w - 1, col);
        } else if (side == TICK_LEFT) {
            fill_rect(cv, at - 3 * f, p - (f - 1) / 2, at - 1, p + f / 2, col);
            int tx = at - 6 * f - w;
            draw_text(cv, tx < 0 ? 0 : tx, p - 3 * f, buf, f, at - 4 * f, col);
        } else {
            fill_rect(cv, at + 1, p - (f - 1) / 2, at + 3 * f, p + f / 2, col);
            draw_text(cv, at + 6 * f, p - 3 * f, buf, f, cv->w - 1, col);
        }
    }
}

/* Width of the y axis' widest tick label for the points scatter_dots draws (0: no
 * text at this size, or no points). */
static int y_labels_width(const float *xy, size_t n, const int32_t *cls, int n_classes, int S)
{
    float xlo = 0, xhi = 0, ylo = 0, yhi = 0;
    int f = scatter_font(S);
    if (!f || n == 0 || !finite_range(xy, n, 2, cls, n_classes, &xlo, &xhi) ||
        !finite_range(xy + 1, n, 2, cls, n_classes, &ylo, &yhi))
        return 0;
    return ticks_width(ylo, yhi, f);
}

/* How the dots are coloured: along viridis by value (may be NULL: one colour), or by
 * class (cls non-NULL: palette colour of the class; other classes are skipped). */
typedef struct dot_colours {
    const float *value;
    const int32_t *cls;
    int n_classes;
} dot_colours;

/* A distinct colour per class: matplotlib's tab10, then tab20's lighter halves. */
static const unsigned char class_palette[20][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28}, {0x94, 0x67, 0xbd},
    {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f}, {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf},
    {0xae, 0xc7, 0xe8}, {0xff, 0xbb, 0x78}, {0x98, 0xdf, 0x8a}, {0xff, 0x98, 0x96}, {0xc5, 0xb0, 0xd5},
    {0xc4, 0x9c, 0x94}, {0xf7, 0xb6, 0xd2}, {0xc7, 0xc7, 0xc7}, {0xdb, 0xdb, 0x8d}, {0x9e, 0xda, 0xe5},
};
#define PLOT_MAX_CLASSES 20

/* The palette colour of class c (0..19). */
static rgb class_colour(int c)
{
    return (rgb){class_palette[c][0], class_palette[c][1], class_palette[c][2]};
}

/* Validates a scatter plot's common arguments and makes the white size x size canvas. */
static lt_status scatter_canvas(lt_ctx *ctx, const char *fn, const char *path, const float *xy, size_t n,
                                int size_px, canvas *cv)
{
    if (!path) return lt_set_error(ctx, LT_ERR_ARG, "%s: path is NULL", fn);
    if (n > 0 && !xy) return lt_set_error(ctx, LT_ERR_ARG, "%s: xy is NULL for %zu points", fn, n);
    if (size_px < 64 || size_px > 4096)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: size_px = %d (must be 64..4096)", fn, size_px);
    int S = size_px;
    cv->w = cv->h = S;
    cv->px = malloc((size_t)S * (size_t)S * 3);
    if (!cv->px) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for a %dx%d image", fn, S, S);
    fill_rect(cv, 0, 0, S - 1, S - 1, (rgb){255, 255, 255});
    return LT_OK;
}

/* Draws the finite points of xy as dots scaled into the axes box, then the box's frame
 * and, when the layout has text, the ticks of both axes with their values. */
static void scatter_dots(canvas *cv, const scatter_layout *L, const float *xy, size_t n, const dot_colours *dc)
{
    float xlo = 0, xhi = 0, ylo = 0, yhi = 0, vlo = 0, vhi = 0;
    int have_x = n > 0 && finite_range(xy, n, 2, dc->cls, dc->n_classes, &xlo, &xhi);
    int have_y = n > 0 && finite_range(xy + 1, n, 2, dc->cls, dc->n_classes, &ylo, &yhi);
    int have_v = dc->value && n > 0 && finite_range(dc->value, n, 1, NULL, 0, &vlo, &vhi);
    int r = L->r;
    for (size_t i = 0; have_x && have_y && i < n; i++) {
        float x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue; /* nowhere to draw it */
        if (!class_ok(dc->cls, dc->n_classes, i)) continue;
        int cx = L->bx0 + L->pad + (int)lround(frac(x, xlo, xhi) * L->iw);
        int cy = L->by1 - L->pad - (int)lround(frac(y, ylo, yhi) * L->ih);
        rgb col = have_v ? viridis((float)frac(dc->value[i], vlo, vhi)) : viridis(0.35f);
        if (have_v && !isfinite(dc->value[i])) col = viridis(NAN);
        if (dc->cls) col = class_colour(dc->cls[i]);
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
                if (dx * dx + dy * dy <= r * r + r) put(cv, cx + dx, cy + dy, col);
    }
    frame_rect(cv, L->bx0, L->by0, L->bx1, L->by1, L->t, (rgb){0, 0, 0});
    if (L->f && have_x && have_y) {
        draw_ticks(cv, xlo, xhi, L->bx0 + L->pad, L->bx0 + L->pad + L->iw, L->by1, TICK_BELOW, L->f, (rgb){0, 0, 0});
        draw_ticks(cv, ylo, yhi, L->by1 - L->pad, L->by1 - L->pad - L->ih, L->bx0, TICK_LEFT, L->f, (rgb){0, 0, 0});
    }
}

lt_status lt_plot_scatter(lt_ctx *ctx, const char *path, const float *xy, const float *value,
                          size_t n, int size_px)
{
    return lt_plot_scatter_labeled(ctx, path, xy, value, n, size_px, NULL);
}

/* Scatter plot: axes box on the left, colour bar (max at the top) on the right, with
 * the values' ticks and the label beside it (reading upwards). */
lt_status lt_plot_scatter_labeled(lt_ctx *ctx, const char *path, const float *xy, const float *value,
                                  size_t n, int size_px, const char *value_label)
{
    canvas cv;
    lt_status st = scatter_canvas(ctx, "lt_plot_scatter", path, xy, n, size_px, &cv);
    if (st != LT_OK) return st;
    int S = size_px, f = scatter_font(S), bar_w = S / 32;
    float vlo = 0, vhi = 0;
    int have_v = value && n > 0 && finite_range(value, n, 1, NULL, 0, &vlo, &vhi);
    const char *label = value_label ? value_label : "value";
    /* the panel: the bar, then (with text) its ticks and labels, then the label */
    int panel_w = bar_w;
    if (f && have_v) panel_w += 6 * f + ticks_width(vlo, vhi, f) + 4 * f + (label[0] ? 7 * f : 0);
    if (panel_w > S / 3) panel_w = S / 3;
    scatter_layout L = scatter_layout_for(S, panel_w, y_labels_width(xy, n, NULL, 0, S));
    dot_colours dc = {value, NULL, 0};
    scatter_dots(&cv, &L, xy, n, &dc);

    /* colour bar: the colormap from min (bottom) to max (top) */
    int bx1 = L.px0 + bar_w - 1;
    for (int y = L.by0; y <= L.by1; y++)
        fill_rect(&cv, L.px0, y, bx1, y, viridis((float)(L.by1 - y) / (float)(L.by1 - L.by0)));
    frame_rect(&cv, L.px0, L.by0, bx1, L.by1, 1, (rgb){0, 0, 0});
    if (f && have_v) {
        draw_ticks(&cv, vlo, vhi, L.by1, L.by0, bx1, TICK_RIGHT, f, (rgb){0, 0, 0});
        /* the label reads upwards along the panel's right edge, centred on the bar */
        int w = text_width(label, f), h = L.by1 - L.by0;
        int y = L.by1 - (w < h ? (h - w) / 2 : 0);
        draw_text_up(&cv, L.px1 - 7 * f + 1, y, label, f, L.by0, (rgb){0, 0, 0});
    }

    st = lt_write_png(ctx, path, S, S, 3, cv.px);
    free(cv.px);
    return st;
}

/* Scatter plot by class: axes box on the left, legend (a coloured square and the name
 * per class, top down) on the right. The font grows with the image as long as every
 * row fits; the legend is at most a third of the image wide, longer names are cut, and
 * on images too small for all rows at the smallest font the last rows are cut. */
lt_status lt_plot_scatter_classes(lt_ctx *ctx, const char *path, const float *xy, const int32_t *cls, size_t n,
                                  const char *const *names, int n_classes, int size_px)
{
    const char *fn = "lt_plot_scatter_classes";
    if (n_classes < 1 || n_classes > PLOT_MAX_CLASSES)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: n_classes = %d (must be 1..%d)", fn, n_classes, PLOT_MAX_CLASSES);
    if (n > 0 && !cls) return lt_set_error(ctx, LT_ERR_ARG, "%s: cls is NULL for %zu points", fn, n);
    canvas cv;
    lt_status st = scatter_canvas(ctx, fn, path, xy, n, size_px, &cv);
    if (st != LT_OK) return st;
    int S = size_px;

    /* the labels, and the largest font scale whose rows (glyph 7 f, gap 3 f) fit */
    char numbers[PLOT_MAX_CLASSES][12];
    const char *label[PLOT_MAX_CLASSES];
    size_t longest = 1;
    for (int c = 0; c < n_classes; c++) {
        snprintf(numbers[c], sizeof numbers[c], "%d", c);
        label[c] = names && names[c] ? names[c] : numbers[c];
        size_t len = strlen(label[c]);
        if (len > longest) longest = len;
    }
    int box_h = (S - 1 - S / 16) - S / 16; /* by1 - by0 of every layout */
    int f = (S + 200) / 400;
    while (f > 1 && n_classes * 10 * f > box_h) f--;
    if (f < 1) f = 1;
    int text_w = longest > (size_t)S ? S : (int)longest * FONT_ADVANCE * f - f;
    int panel_w = 10 * f + text_w;
    if (panel_w > S / 3) panel_w = S / 3;
    scatter_layout L = scatter_layout_for(S, panel_w, y_labels_width(xy, n, cls, n_classes, S));
    dot_colours dc = {NULL, cls, n_classes};
    scatter_dots(&cv, &L, xy, n, &dc);

    for (int c = 0; c < n_classes; c++) {
        int y = L.by0 + c * 10 * f;
        fill_rect(&cv, L.px0, y, L.px0 + 7 * f - 1, y + 7 * f - 1, class_colour(c));
        draw_text(&cv, L.px0 + 10 * f, y, label[c], f, L.px1, (rgb){0, 0, 0});
    }

    st = lt_write_png(ctx, path, S, S, 3, cv.px);
    free(cv.px);
    return st;
}

/* ------------------------------------------------------------------ series */

#define SERIES_MAX_COLS PLOT_MAX_CLASSES
static const rgb flag_shade = {255, 205, 205}; /* rows of flagged windows */
static const rgb threshold_red = {200, 30, 30};

/* A panel of a series plot: its frame and the values mapped onto it. */
typedef struct panel {
    int x0, y0, x1, y1; /* the frame, inclusive                                   */
    int log_axis;       /* values placed by their log10 (scores spanning decades)  */
    double lo, hi;      /* axis positions of the bottom and top                    */
    double vmin, vmax;  /* the values' range, labelled on the left                 */
} panel;

/* Pixel column of row position r (fractional for a window's middle) of rows in p. */
static int row_x(const panel *p, double r, size_t rows)
{
    double span = rows > 1 ? (double)(rows - 1) : 1.0;
    return p->x0 + 1 + (int)lround((rows > 1 ? r / span : 0.5) * (p->x1 - p->x0 - 2));
}

/* Axis position of value v: v itself, or log10 v on a log axis (v > 0 there). */
static double axis_pos(const panel *p, double v)
{
    return p->log_axis ? log10(v > 1e-30 ? v : 1e-30) : v;
}

/* Pixel row of value v in p (the range's ends inset by a pixel from the frame). */
static int value_y(const panel *p, double v)
{
    return p->y1 - 1 - (int)lround((axis_pos(p, v) - p->lo) / (p->hi - p->lo) * (p->y1 - p->y0 - 2));
}

/* Fits p's axis to the finite values among n (positive ones on a log axis) and `also`
 * (NAN: none), padded by 4% so lines keep off the frame; a linear axis over values
 * none of which is negative starts at 0. */
static void fit_axis(panel *p, const float *v, size_t n, double also)
{
    int any = 0;
    for (size_t i = 0; i <= n; i++) {
        double x = i < n ? v[i] : also;
        if (!isfinite(x) || (p->log_axis && !(x > 0.0))) continue;
        if (!any || x < p->vmin) p->vmin = x;
        if (!any || x > p->vmax) p->vmax = x;
        any = 1;
    }
    if (!any) {
        p->vmin = 1.0;
        p->vmax = 10.0;
    }
    double lo = axis_pos(p, p->vmin), hi = axis_pos(p, p->vmax), pad = (hi - lo) * 0.04;
    if (!(pad > 0.0)) pad = fabs(hi) > 0.0 ? fabs(hi) * 0.1 : 1.0;
    p->lo = !p->log_axis && p->vmin >= 0.0 && lo - pad < 0.0 ? 0.0 : lo - pad;
    p->hi = hi + pad;
}

/* Draws a line from (xa, ya) to (xb, yb) with a square brush of side t. */
static void draw_line(canvas *cv, int xa, int ya, int xb, int yb, int t, rgb col)
{
    int steps = abs(xb - xa) > abs(yb - ya) ? abs(xb - xa) : abs(yb - ya);
    for (int i = 0; i <= steps; i++) {
        int x = xa + (steps ? (int)lround((double)(xb - xa) * i / steps) : 0);
        int y = ya + (steps ? (int)lround((double)(yb - ya) * i / steps) : 0);
        fill_rect(cv, x - (t - 1) / 2, y - (t - 1) / 2, x + t / 2, y + t / 2, col);
    }
}

/* Draws n values (at stride) as a polyline at row positions first + i * step, values
 * clamped into p; a non-finite value breaks the line. */
static void draw_polyline(canvas *cv, const panel *p, const float *v, size_t n, size_t stride, double first,
                          double step, size_t rows, int t, rgb col)
{
    int have = 0, px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        double y = v[i * stride];
        if (!isfinite(y)) { have = 0; continue; }
        int x = row_x(p, first + (double)i * step, rows), yy = value_y(p, y);
        if (yy < p->y0 + 1) yy = p->y0 + 1;
        if (yy > p->y1 - 1) yy = p->y1 - 1;
        if (have) draw_line(cv, px, py, x, yy, t, col);
        else draw_line(cv, x, yy, x, yy, t, col);
        px = x;
        py = yy;
        have = 1;
    }
}

/* Labels the largest and smallest value of panel p at their heights on its left. */
static void value_labels(canvas *cv, const panel *p, int f)
{
    int y_max = value_y(p, p->vmax), y_min = value_y(p, p->vmin);
    for (int k = 0; k < 2; k++) {
        int y = k ? y_min : y_max;
        if (k && y - y_max < 10 * f) break; /* the two would overlap: the largest is enough */
        char buf[32];
        snprintf(buf, sizeof buf, "%.4g", k ? p->vmin : p->vmax);
        fill_rect(cv, p->x0 - 3 * f, y, p->x0 - 1, y + f - 1, (rgb){0, 0, 0});
        draw_text(cv, p->x0 - 5 * f - text_width(buf, f), y - 3 * f, buf, f, p->x0 - 1, (rgb){0, 0, 0});
    }
}

/* Shades the columns of the rows covered by windows scoring above the threshold, in
 * every panel, each flagged run from half a row before its first row to half a row
 * after its last. */
static lt_status shade_flagged(lt_ctx *ctx, canvas *cv, const lt_series_plot *sp, const panel *panels, int npanels)
{
    unsigned char *flag = calloc(sp->rows, 1);
    if (!flag) return lt_set_error(ctx, LT_ERR_NOMEM, "lt_plot_series: out of memory");
    for (size_t i = 0; i < sp->windows; i++)
        if (sp->scores[i] > sp->threshold) memset(flag + i * sp->stride, 1, sp->window);
    double half = 0.5;
    for (size_t a = 0; a < sp->rows;) {
        if (!flag[a]) { a++; continue; }
        size_t b = a;
        while (b + 1 < sp->rows && flag[b + 1]) b++;
        for (int k = 0; k < npanels; k++) {
            const panel *p = &panels[k];
            int xa = row_x(p, (double)a - half, sp->rows), xb = row_x(p, (double)b + half, sp->rows);
            if (xa < p->x0 + 1) xa = p->x0 + 1;
            if (xb > p->x1 - 1) xb = p->x1 - 1;
            fill_rect(cv, xa, p->y0 + 1, xb, p->y1 - 1, flag_shade);
        }
        a = b + 1;
    }
    free(flag);
    return LT_OK;
}

/* Checks the plot's description: sizes, pointers, and windows that lie in the series. */
static lt_status check_series_plot(lt_ctx *ctx, const char *path, const lt_series_plot *sp, int width, int height)
{
    const char *fn = "lt_plot_series";
    if (!path || !sp || !sp->series)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %s is NULL", fn, !path ? "path" : !sp ? "the plot" : "series");
    if (width < 200 || width > 8192 || height < 120 || height > 8192)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %dx%d pixels (width must be 200..8192, height 120..8192)", fn, width,
                            height);
    if (sp->rows < 1 || sp->cols < 1 || sp->cols > SERIES_MAX_COLS)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu rows of %zu columns (at least one row, 1..%d columns)", fn, sp->rows,
                            sp->cols, SERIES_MAX_COLS);
    if (sp->rows > SIZE_MAX / sp->cols) return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu rows are too many", fn, sp->rows);
    if (sp->scores) {
        if (sp->windows < 1 || sp->window < 1 || sp->stride < 1 || sp->window > sp->rows ||
            (sp->windows - 1) > (sp->rows - sp->window) / sp->stride)
            return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu windows of %zu rows every %zu rows do not fit in %zu rows", fn,
                                sp->windows, sp->window, sp->stride, sp->rows);
    }
    return LT_OK;
}

lt_status lt_plot_series(lt_ctx *ctx, const char *path, const lt_series_plot *sp, int width, int height)
{
    lt_status st = check_series_plot(ctx, path, sp, width, height);
    if (st != LT_OK) return st;
    int f = width >= 1000 && height >= 400 ? 2 : 1; /* font and line scale */
    canvas cv = {malloc((size_t)width * (size_t)height * 3), width, height};
    if (!cv.px) return lt_set_error(ctx, LT_ERR_NOMEM, "lt_plot_series: out of memory for a %dx%d image", width, height);
    fill_rect(&cv, 0, 0, width - 1, height - 1, (rgb){255, 255, 255});

    /* layout: a legend line on top, the series panel, the score panel, row labels */
    int line = 7 * f + 8 * f, left = 11 * FONT_ADVANCE * f, right = width - 1 - 4 * f;
    int top = line + 2 * f, bottom = height - 1 - line;
    panel panels[2];
    int npanels = sp->scores ? 2 : 1;
    int split = sp->scores ? top + (bottom - top - line / 2) * 2 / 3 : bottom;
    panels[0] = (panel){left, top, right, split, 0, 0.0, 1.0, 0.0, 1.0};
    fit_axis(&panels[0], sp->series, sp->rows * sp->cols, NAN);
    float top_score = 0.0f, low_score = 1.0f;
    for (size_t i = 0; sp->scores && i < sp->windows; i++) {
        if (isfinite(sp->scores[i]) && sp->scores[i] > top_score) top_score = sp->scores[i];
        if (!(sp->scores[i] > 0.0f)) low_score = 0.0f;
    }
    if (sp->scores) {
        /* scores far above the threshold would flatten everything else: a log axis then */
        int log_axis = low_score > 0.0f && sp->threshold > 0.0f && top_score > 10.0f * sp->threshold;
        panels[1] = (panel){left, split + line / 2, right, bottom, log_axis, 0.0, 1.0, 0.0, 1.0};
        fit_axis(&panels[1], sp->scores, sp->windows, sp->threshold);
        st = shade_flagged(ctx, &cv, sp, panels, npanels);
    }
    if (st != LT_OK) {
        free(cv.px);
        return st;
    }

    int t = f; /* line thickness */
    for (size_t j = 0; j < sp->cols; j++)
        draw_polyline(&cv, &panels[0], sp->series + j, sp->rows, sp->cols, 0.0, 1.0, sp->rows, t, class_colour((int)j));
    if (sp->scores) {
        const panel *p = &panels[1];
        if (isfinite(sp->threshold) && (!p->log_axis || sp->threshold > 0.0f)) {
            int y = value_y(p, sp->threshold);
            for (int x = p->x0 + 1; x < p->x1; x++)
                if ((x - p->x0) / (6 * f) % 2 == 0) fill_rect(&cv, x, y - (t - 1) / 2, x, y + t / 2, threshold_red);
        }
        draw_polyline(&cv, p, sp->scores, sp->windows, 1, (double)(sp->window - 1) / 2.0, (double)sp->stride, sp->rows,
                      t, (rgb){40, 40, 40});
        char buf[80];
        snprintf(buf, sizeof buf, "score%s, threshold %.4g", p->log_axis ? " (log scale)" : "", (double)sp->threshold);
        draw_text(&cv, p->x0 + 4 * f, p->y0 + 3 * f, buf, f, p->x1 - 1, (rgb){0, 0, 0});
    }
    for (int k = 0; k < npanels; k++) {
        frame_rect(&cv, panels[k].x0, panels[k].y0, panels[k].x1, panels[k].y1, 1, (rgb){0, 0, 0});
        value_labels(&cv, &panels[k], f);
    }

    /* the first test row: a dashed line through every panel */
    for (int k = 0; sp->test_start > 0 && sp->test_start < sp->rows && k < npanels; k++) {
        int x = row_x(&panels[k], (double)sp->test_start - 0.5, sp->rows);
        for (int y = panels[k].y0 + 1; y < panels[k].y1; y++)
            if ((y - panels[k].y0) / (4 * f) % 2 == 0) fill_rect(&cv, x, y, x + t - 1, y, (rgb){90, 90, 90});
        if (k == 0) draw_text(&cv, x + 3 * f, panels[k].y0 + 3 * f, "test", f, panels[k].x1 - 1, (rgb){90, 90, 90});
    }

    /* row numbers under the last panel, every 1, 2 or 5 times a power of ten rows */
    const panel *last = &panels[npanels - 1];
    double span = (double)(sp->rows > 1 ? sp->rows - 1 : 1), step = 1.0;
    for (double power = 1.0; span / step > 8.0; power *= 10.0) {
        static const double mantissa[3] = {1.0, 2.0, 5.0};
        for (int k = 0; k < 3 && (k == 0 || span / step > 8.0); k++) step = mantissa[k] * power;
        if (span / step <= 8.0) break;
    }
    for (double r = 0.0; r <= span + 0.5; r += step) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", r);
        int x = row_x(last, r, sp->rows), w = text_width(buf, f);
        fill_rect(&cv, x, last->y1 + 1, x, last->y1 + 3 * f, (rgb){0, 0, 0});
        int tx = x - w / 2 < last->x0 ? last->x0 : x + w - w / 2 > width - 1 ? width - w : x - w / 2;
        draw_text(&cv, tx, last->y1 + 5 * f, buf, f, width - 1, (rgb){0, 0, 0});
    }
    draw_text(&cv, 2 * f, last->y1 + 5 * f, "row", f, left - 2 * f, (rgb){0, 0, 0});

    /* legend: the title, a swatch and name per column, and the flagged shade */
    int x = left;
    if (sp->title) {
        draw_text(&cv, x, 4 * f, sp->title, f, width - 1, (rgb){0, 0, 0});
        x += text_width(sp->title, f) + 12 * f;
    }
    for (size_t j = 0; sp->names && j < sp->cols && x < width; j++) {
        fill_rect(&cv, x, 4 * f, x + 7 * f - 1, 11 * f - 1, class_colour((int)j));
        const char *name = sp->names[j] ? sp->names[j] : "";
        draw_text(&cv, x + 10 * f, 4 * f, name, f, width - 1, (rgb){0, 0, 0});
        x += 10 * f + text_width(name, f) + 12 * f;
    }
    if (sp->scores && x < width) {
        fill_rect(&cv, x, 4 * f, x + 7 * f - 1, 11 * f - 1, flag_shade);
        draw_text(&cv, x + 10 * f, 4 * f, "flagged windows", f, width - 1, (rgb){0, 0, 0});
    }

    st = lt_write_png(ctx, path, width, height, 3, cv.px);
    free(cv.px);
    return st;
}
