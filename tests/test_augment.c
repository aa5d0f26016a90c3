/* Augmentation: lib/augment.c (lt_augment_matrices, lt_augment_check, lt_augment_active)
 * on the host, and the backend op affine_resample on the CPU fallback and on each
 * OpenCL device.
 *
 * Matrices: identity when off; deterministic per (seed, counter + i); different across
 * seeds and samples; each parameter within its range when alone (rotation, zoom, shear,
 * shifts, flips); Keras's composition R @ S @ H @ Z about the centre, then the flips,
 * against a closed form written out by hand (itself checked on one hand-computed case),
 * with the parameters decoded from the Philox words in the layout augment.c documents.
 *
 * Resampling: identity maps reproduce the input bit for bit; a hand-built 90-degree
 * rotation is the exact index permutation; flip maps give exact mirror images; random
 * maps match a naive double-precision reference written here (1e-5, pixels in [0, 1))
 * at nonzero buffer offsets with guard cells around the output; NaN and infinite maps
 * read inside the image; OpenCL gives the CPU's bits; the CPU's bits do not depend on
 * its thread count; bad arguments are LT_ERR_ARG with a message.
 *
 * Prints one line per failure and a final tally; exits 0 only when everything passed. */
#include "augment.h"
#include "harness.h"

/* ------------------------------------------------------------------ resampling runs */

/* Buffer offsets of the maps, the input and the output. */
#define MOFF 3
#define XOFF 7
#define YOFF 11

/* The images of an affine_resample run: n of h x w x ch. */
typedef struct images {
    size_t n;
    int h, w, ch;
} images;

/* affine_resample of p's images on b: maps at MOFF, input at XOFF, output at YOFF. */
static lt_status op_resample(lt_backend *be, lt_buf *const *b, const void *p)
{
    const images *im = p;
    return lt_be_affine_resample(be, im->n, im->h, im->w, im->ch, b[0], MOFF, b[1], XOFF, b[2], YOFF);
}

/* Runs affine_resample of n images h x w x ch through mats on t's backend (maps,
 * input and output at offsets MOFF, XOFF, YOFF of guarded buffers); out gets y.
 * 0 on failure (recorded). */
static int run_resample(tester *t, const char *what, size_t n, int h, int w, int ch, const float *mats,
                        const float *x, float *out)
{
    const images im = {n, h, w, ch};
    size_t total = n * (size_t)h * (size_t)w * (size_t)ch;
    const slot s[3] = {{mats, 6 * n, MOFF}, {x, total, XOFF}, {NULL, total, YOFF}};
    return run_slots(t, what, s, 3, op_resample, &im, (void *const[]){NULL, NULL, out});
}

/* Element (r, c, k) of image i of an n x h x w x ch array. */
static size_t at(int h, int w, int ch, size_t i, int r, int c, int k)
{
    return (((i * (size_t)h + (size_t)r) * (size_t)w + (size_t)c) * (size_t)ch) + (size_t)k;
}

/* ------------------------------------------------------------------ reference */

/* A coordinate clamped to [0, hi] (NaN to 0): floor i0, neighbour i1, weight f of i1. */
static void ref_taps(double s, int hi, int *i0, int *i1, double *f)
{
    if (!(s >= 0.0)) s = 0.0;
    if (s > hi) s = hi;
    double fl = floor(s);
    *i0 = (int)fl;
    *i1 = *i0 < hi ? *i0 + 1 : *i0;
    *f = s - fl;
}

/* y = x resampled through mats as backend.h says, in double. */
static void ref_resample(size_t n, int h, int w, int ch, const float *mats, const float *x, double *y)
{
    for (size_t i = 0; i < n; i++) {
        const float *m = mats + 6 * i;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                int r0, r1, c0, c1;
                double fy, fx;
                ref_taps((double)m[0] * r + (double)m[1] * c + (double)m[2], h - 1, &r0, &r1, &fy);
                ref_taps((double)m[3] * r + (double)m[4] * c + (double)m[5], w - 1, &c0, &c1, &fx);
                for (int k = 0; k < ch; k++) {
                    double top = (1 - fx) * x[at(h, w, ch, i, r0, c0, k)] + fx * x[at(h, w, ch, i, r0, c1, k)];
                    double bot = (1 - fx) * x[at(h, w, ch, i, r1, c0, k)] + fx * x[at(h, w, ch, i, r1, c1, k)];
                    y[at(h, w, ch, i, r, c, k)] = (1 - fy) * top + fy * bot;
                }
            }
    }
}

/* ------------------------------------------------------------------ host: matrices */

/* The Philox key of a sample's second block of draws (lib/augment.c's LT_AUG_KEY2). */
#define AUG_KEY2 0xD1B54A32D192ED03ull

/* [0, 1) from one Philox word, as augment.c documents. */
static double unit_of(uint32_t word) { return 1.0 - (double)lt_philox_bits_to_unit(word); }

/* One sample's drawn parameters (angles in radians, shifts in pixels). */
typedef struct params {
    double theta, tx, ty, shear, zx, zy;
    int flip_h, flip_v;
} params;

/* Decodes sample (seed, block)'s parameters from the word layout augment.c documents. */
static params decode(const lt_augment *a, int h, int w, uint64_t seed, uint64_t block)
{
    lt_philox_block b0 = lt_philox4x32_10(seed, block), b1 = lt_philox4x32_10(seed ^ AUG_KEY2, block);
    const double deg = 3.14159265358979323846 / 180.0;
    params p;
    p.theta = (2 * unit_of(b0.v[0]) - 1) * a->rotation_range * deg;
    p.tx = (2 * unit_of(b0.v[1]) - 1) * a->height_shift_range * h;
    p.ty = (2 * unit_of(b0.v[2]) - 1) * a->width_shift_range * w;
    p.shear = (2 * unit_of(b0.v[3]) - 1) * a->shear_range * deg;
    p.zx = 1 + (2 * unit_of(b1.v[0]) - 1) * a->zoom_range;
    p.zy = 1 + (2 * unit_of(b1.v[1]) - 1) * a->zoom_range;
    p.flip_h = a->horizontal_flip && unit_of(b1.v[2]) < 0.5;
    p.flip_v = a->vertical_flip && unit_of(b1.v[3]) < 0.5;
    return p;
}

/* Keras's map multiplied out by hand: with A = R(theta) H(shear) Z(zx, zy)
 *   = [[cos t * zx, -sin(t + s) * zy], [sin t * zx, cos(t + s) * zy]],
 * the shift rotated, t' = (cos t * tx - sin t * ty, sin t * tx + cos t * ty), and the
 * centre o: M' = [A | t' + o - A o]; then a column flip c -> w-1-c negates column 1
 * and adds (w-1) times it to the translation, a row flip likewise with column 0. */
static void closed_form(const params *p, int h, int w, double m[6])
{
    double ct = cos(p->theta), st = sin(p->theta), cs = cos(p->theta + p->shear), ss = sin(p->theta + p->shear);
    double a00 = ct * p->zx, a01 = -ss * p->zy, a10 = st * p->zx, a11 = cs * p->zy;
    double or_ = h / 2.0 - 0.5, oc = w / 2.0 - 0.5;
    m[0] = a00;
    m[1] = a01;
    m[2] = ct * p->tx - st * p->ty + or_ - (a00 * or_ + a01 * oc);
    m[3] = a10;
    m[4] = a11;
    m[5] = st * p->tx + ct * p->ty + oc - (a10 * or_ + a11 * oc);
    if (p->flip_h) {
        m[2] += m[1] * (w - 1);
        m[1] = -m[1];
        m[5] += m[4] * (w - 1);
        m[4] = -m[4];
    }
    if (p->flip_v) {
        m[2] += m[0] * (h - 1);
        m[0] = -m[0];
        m[5] += m[3] * (h - 1);
        m[3] = -m[3];
    }
}

/* Largest |a[k] - b[k]| over one map. */
static double map_diff(const float *a, const double *b)
{
    double d = 0;
    for (int k = 0; k < 6; k++) {
        double e = fabs((double)a[k] - b[k]);
        if (!(e <= d)) d = e;
    }
    return d;
}

/* Whether map m sends point (r, c) to itself within tol. */
static int fixes(const float *m, double r, double c, double tol)
{
    return fabs(m[0] * r + m[1] * c + m[2] - r) <= tol && fabs(m[3] * r + m[4] * c + m[5] - c) <= tol;
}

/* n maps for (a, h, w, seed, counter) into a fresh array with guard cells after it,
 * checking that the guards were left alone (malloc'd; NULL a is allowed). */
static float *maps(tester *t, const lt_augment *a, int h, int w, uint64_t seed, uint64_t counter, size_t n)
{
    float *m = malloc((6 * n + TAIL) * sizeof *m);
    for (size_t k = 0; k < 6 * n + TAIL; k++) m[k] = GUARD;
    lt_augment_matrices(a, h, w, seed, counter, n, m);
    size_t bad = 0;
    for (size_t k = 6 * n; k < 6 * n + TAIL; k++) bad += m[k] != GUARD;
    check(t, bad == 0, "lt_augment_matrices wrote %zu floats past its %zu maps", bad, n);
    return m;
}

/* Off means identity maps; the closed form itself on one case worked by hand. */
static void test_identity_maps(tester *t)
{
    const float id[6] = {1, 0, 0, 0, 1, 0};
    lt_augment zero;
    memset(&zero, 0, sizeof zero);
    float *m0 = maps(t, NULL, 7, 9, 1, 0, 3), *m1 = maps(t, &zero, 7, 9, 1, 0, 3);
    for (int i = 0; i < 3; i++) {
        check(t, memcmp(m0 + 6 * i, id, sizeof id) == 0, "NULL augment: map %d is not the identity", i);
        check(t, memcmp(m1 + 6 * i, id, sizeof id) == 0, "all-zero augment: map %d is not the identity", i);
    }
    free(m0);
    free(m1);
    /* theta 90 deg, tx 1, ty 2, no shear, zx 2, zy 0.5 on 4 x 6: A = [[0, -0.5], [2, 0]],
     * t' = (-2, 1), o = (1.5, 2.5), A o = (-1.25, 3): M' = [[0, -0.5, 0.75], [2, 0, 0.5]];
     * flipping columns then gives [[0, 0.5, -1.75], [2, 0, 0.5]] */
    params p = {3.14159265358979323846 / 2, 1, 2, 0, 2, 0.5, 0, 0};
    double m[6];
    const double want[6] = {0, -0.5, 0.75, 2, 0, 0.5}, want_h[6] = {0, 0.5, -1.75, 2, 0, 0.5};
    closed_form(&p, 4, 6, m);
    double d = 0;
    for (int k = 0; k < 6; k++) d = fmax(d, fabs(m[k] - want[k]));
    check(t, d < 1e-12, "closed form: hand-computed case off by %g", d);
    p.flip_h = 1;
    closed_form(&p, 4, 6, m);
    d = 0;
    for (int k = 0; k < 6; k++) d = fmax(d, fabs(m[k] - want_h[k]));
    check(t, d < 1e-12, "closed form: hand-computed flipped case off by %g", d);
}

/* Sample i of a batch drawn at counter c is sample 0 drawn at c + i; seeds differ. */
static void test_determinism(tester *t)
{
    lt_augment a = {.rotation_range = 40, .zoom_range = 0.2f, .shear_range = 15, .width_shift_range = 0.1f,
                    .height_shift_range = 0.2f, .horizontal_flip = 1, .vertical_flip = 1};
    const size_t n = 16;
    float *batch = maps(t, &a, 28, 20, 77, 1000, n), *again = maps(t, &a, 28, 20, 77, 1000, n);
    float *other = maps(t, &a, 28, 20, 78, 1000, n);
    check(t, memcmp(batch, again, 6 * n * sizeof *batch) == 0, "two calls with the same seed and counter differ");
    size_t same_seed = 0, same_next = 0;
    for (size_t i = 0; i < n; i++) {
        float *one = maps(t, &a, 28, 20, 77, 1000 + i, 1);
        check(t, memcmp(one, batch + 6 * i, 6 * sizeof *one) == 0,
              "sample %zu drawn at counter 1000 differs from sample 0 drawn at counter %zu", i, 1000 + i);
        free(one);
        same_seed += memcmp(batch + 6 * i, other + 6 * i, 6 * sizeof *batch) == 0;
        if (i + 1 < n) same_next += memcmp(batch + 6 * i, batch + 6 * (i + 1), 6 * sizeof *batch) == 0;
    }
    check(t, same_seed == 0, "seeds 77 and 78 give %zu identical maps of %zu", same_seed, n);
    check(t, same_next == 0, "%zu consecutive samples have identical maps", same_next);
    /* a parameter's draw does not depend on which other transforms are on */
    lt_augment rot = {.rotation_range = 40}, rot_flip = {.rotation_range = 40, .horizontal_flip = 1};
    float *r1 = maps(t, &rot, 28, 20, 5, 0, n), *r2 = maps(t, &rot_flip, 28, 20, 5, 0, n);
    size_t moved = 0; /* a column flip leaves column 0 of the map alone */
    for (size_t i = 0; i < n; i++) moved += r1[6 * i] != r2[6 * i] || r1[6 * i + 3] != r2[6 * i + 3];
    check(t, moved == 0, "switching horizontal_flip on changed %zu rotations", moved);
    FREE_ALL(r1, r2, batch, again, other);
}

/* Each transform alone stays within its range (and covers it roughly). */
static void test_ranges(tester *t)
{
    const int h = 20, w = 40, n = 400;
    const double or_ = h / 2.0 - 0.5, oc = w / 2.0 - 0.5, pi = 3.14159265358979323846;
    /* rotation 30: [[cos, -sin], [sin, cos]] with |angle| <= 30 deg, about the centre */
    lt_augment rot = {.rotation_range = 30};
    float *m = maps(t, &rot, h, w, 3, 0, n);
    double lo = 1e9, hi = -1e9;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const float *q = m + 6 * i;
        double ang = atan2(q[3], q[0]) * 180 / pi;
        lo = fmin(lo, ang);
        hi = fmax(hi, ang);
        bad += !(fabs(q[0] - q[4]) <= 1e-6 && fabs(q[1] + q[3]) <= 1e-6 && fabs(q[0] * q[0] + q[3] * q[3] - 1) <= 1e-6 &&
                 fabs(ang) <= 30 + 1e-4 && fixes(q, or_, oc, 1e-4));
    }
    check(t, bad == 0, "rotation_range 30: %d maps are not rotations about the centre within 30 degrees", bad);
    check(t, lo < -25 && hi > 25, "rotation_range 30: angles only span [%g, %g]", lo, hi);
    free(m);
    /* zoom 0.2: diagonal in [0.8, 1.2], independent per axis, about the centre */
    lt_augment zoom = {.zoom_range = 0.2f};
    m = maps(t, &zoom, h, w, 4, 0, n);
    bad = 0;
    int differ = 0;
    lo = 1e9;
    hi = -1e9;
    for (int i = 0; i < n; i++) {
        const float *q = m + 6 * i;
        lo = fmin(lo, fmin(q[0], q[4]));
        hi = fmax(hi, fmax(q[0], q[4]));
        differ += q[0] != q[4];
        bad += !(q[1] == 0 && q[3] == 0 && q[0] >= 0.8f - 1e-6f && q[0] <= 1.2f + 1e-6f && q[4] >= 0.8f - 1e-6f &&
                 q[4] <= 1.2f + 1e-6f && fixes(q, or_, oc, 1e-4));
    }
    check(t, bad == 0, "zoom_range 0.2: %d maps are not zooms in [0.8, 1.2] about the centre", bad);
    check(t, lo < 0.82 && hi > 1.18 && differ > n / 2, "zoom_range 0.2: zooms span only [%g, %g], %d of %d differ per axis",
          lo, hi, differ, n);
    free(m);
    /* shifts 0.1 of the height (rows), 0.25 of the width (cols): pure translations */
    lt_augment shift = {.height_shift_range = 0.1f, .width_shift_range = 0.25f};
    m = maps(t, &shift, h, w, 5, 0, n);
    bad = 0;
    double lr = 1e9, hr = -1e9, lc = 1e9, hc = -1e9;
    for (int i = 0; i < n; i++) {
        const float *q = m + 6 * i;
        lr = fmin(lr, q[2]);
        hr = fmax(hr, q[2]);
        lc = fmin(lc, q[5]);
        hc = fmax(hc, q[5]);
        bad += !(q[0] == 1 && q[1] == 0 && q[3] == 0 && q[4] == 1 && fabs(q[2]) <= 0.1 * h + 1e-5 &&
                 fabs(q[5]) <= 0.25 * w + 1e-5);
    }
    check(t, bad == 0, "shifts: %d maps are not translations within (2, 10) pixels", bad);
    check(t, lr < -1.8 && hr > 1.8 && lc < -9 && hc > 9, "shifts span only rows [%g, %g], cols [%g, %g]", lr, hr, lc,
          hc);
    free(m);
    /* shear 20: [[1, -sin s], [0, cos s]] with |s| <= 20 deg, about the centre */
    lt_augment shear = {.shear_range = 20};
    m = maps(t, &shear, h, w, 6, 0, n);
    bad = 0;
    for (int i = 0; i < n; i++) {
        const float *q = m + 6 * i;
        double s = atan2(-q[1], q[4]) * 180 / pi;
        bad += !(q[0] == 1 && q[3] == 0 && fabs(q[1] * q[1] + q[4] * q[4] - 1) <= 1e-6 && fabs(s) <= 20 + 1e-4 &&
                 fixes(q, or_, oc, 1e-4));
    }
    check(t, bad == 0, "shear_range 20: %d maps are not shears within 20 degrees about the centre", bad);
    free(m);
    /* flips alone: exactly the identity or the mirror, each about half the time */
    lt_augment fl = {.horizontal_flip = 1, .vertical_flip = 1};
    m = maps(t, &fl, h, w, 7, 0, n);
    int kinds[4] = {0, 0, 0, 0};
    bad = 0;
    for (int i = 0; i < n; i++) {
        const float *q = m + 6 * i;
        int fh = q[4] == -1, fv = q[0] == -1;
        const float want[6] = {fv ? -1.0f : 1.0f, 0, fv ? (float)(h - 1) : 0.0f, 0, fh ? -1.0f : 1.0f,
                               fh ? (float)(w - 1) : 0.0f};
        bad += memcmp(q, want, sizeof want) != 0;
        kinds[fh + 2 * fv]++;
    }
    check(t, bad == 0, "flips: %d maps are not exact mirror maps", bad);
    check(t, kinds[0] > n / 8 && kinds[1] > n / 8 && kinds[2] > n / 8 && kinds[3] > n / 8,
          "flips: combinations drawn %d, %d, %d, %d times of %d", kinds[0], kinds[1], kinds[2], kinds[3], n);
    free(m);
}

/* Everything on: each map equals the closed form of its decoded parameters. */
static void test_composition(tester *t)
{
    lt_augment a = {.rotation_range = 40, .zoom_range = 0.3f, .shear_range = 25, .width_shift_range = 0.2f,
                    .height_shift_range = 0.1f, .horizontal_flip = 1, .vertical_flip = 1};
    const int h = 12, w = 20;
    const size_t n = 32;
    float *m = maps(t, &a, h, w, 99, 5, n);
    int flips[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        params p = decode(&a, h, w, 99, 5 + i);
        flips[0] += p.flip_h;
        flips[1] += p.flip_v;
        double want[6];
        closed_form(&p, h, w, want);
        double d = map_diff(m + 6 * i, want);
        check(t, d <= 1e-5, "sample %zu: map differs from Keras's composition by %g (theta %g, shear %g, zoom %g %g, "
              "shift %g %g, flips %d %d)", i, d, p.theta, p.shear, p.zx, p.zy, p.tx, p.ty, p.flip_h, p.flip_v);
    }
    check(t, flips[0] > 0 && flips[0] < (int)n && flips[1] > 0 && flips[1] < (int)n,
          "flips drawn %d and %d times of %zu", flips[0], flips[1], n);
    free(m);
}

/* lt_augment_active and lt_augment_check: ranges, NaN, messages naming the field. */
static void test_check(tester *t)
{
    lt_augment z;
    memset(&z, 0, sizeof z);
    check(t, !lt_augment_active(NULL) && !lt_augment_active(&z), "NULL or all-zero augment counts as active");
    lt_augment one[7];
    for (int k = 0; k < 7; k++) one[k] = z;
    one[0].rotation_range = 1;
    one[1].zoom_range = 0.1f;
    one[2].shear_range = 1;
    one[3].width_shift_range = 0.1f;
    one[4].height_shift_range = 0.1f;
    one[5].horizontal_flip = 1;
    one[6].vertical_flip = 1;
    for (int k = 0; k < 7; k++) check(t, lt_augment_active(&one[k]), "field %d alone does not count as active", k);

    char err[256];
    lt_ctx *ctx = NULL;
    if (!check(t, lt_ctx_open(&ctx, "cpu", err, sizeof err) == LT_OK, "lt_ctx_open: %s", err)) return;
    check(t, lt_augment_check(ctx, NULL) == LT_OK && lt_augment_check(ctx, &z) == LT_OK,
          "NULL or all-zero augment refused: %s", lt_ctx_error(ctx));
    lt_augment full = {.rotation_range = 360, .zoom_range = 0.999f, .shear_range = 89.9f, .width_shift_range = 1,
                       .height_shift_range = 1, .horizontal_flip = 1, .vertical_flip = 1};
    check(t, lt_augment_check(ctx, &full) == LT_OK, "the largest valid ranges refused: %s", lt_ctx_error(ctx));
    struct { const char *field; int which; float v; } bad[] = {
        {"rotation_range", 0, NAN},     {"rotation_range", 0, -1},       {"rotation_range", 0, 360.5f},
        {"rotation_range", 0, INFINITY}, {"zoom_range", 1, -0.1f},       {"zoom_range", 1, 1.0f},
        {"zoom_range", 1, NAN},         {"shear_range", 2, 90},          {"shear_range", 2, -5},
        {"shear_range", 2, -INFINITY},  {"width_shift_range", 3, 1.01f}, {"width_shift_range", 3, -0.1f},
        {"width_shift_range", 3, NAN},  {"height_shift_range", 4, 2},    {"height_shift_range", 4, NAN},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lt_augment a = full;
        float *f[5] = {&a.rotation_range, &a.zoom_range, &a.shear_range, &a.width_shift_range,
                       &a.height_shift_range};
        *f[bad[k].which] = bad[k].v;
        ctx->be->error[0] = '\0'; /* no stale message from the case before */
        lt_status st = lt_augment_check(ctx, &a);
        check(t, st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), bad[k].field) != NULL,
              "%s = %g: status %d, message '%s' (want LT_ERR_ARG naming the field)", bad[k].field, (double)bad[k].v,
              (int)st, lt_ctx_error(ctx));
    }
    const lt_augment big = {.zoom_range = 2};
    check(t, lt_augment_check(NULL, &big) == LT_ERR_ARG, "without a context, zoom_range 2 is not refused");
    lt_ctx_close(ctx);
}

/* ------------------------------------------------------------------ backend: resampling */

/* Identity maps (and NULL-augment maps) reproduce the input bit for bit. */
static void test_identity(tester *t)
{
    const int h = 5, w = 7, ch = 3;
    const size_t n = 3, total = n * h * w * ch;
    float *x = rand_floats(t, total, 0, 1), *y = malloc(total * sizeof *y);
    float *m = maps(t, NULL, h, w, 0, 0, n);
    if (run_resample(t, "identity", n, h, w, ch, m, x, y))
        check(t, memcmp(x, y, total * sizeof *x) == 0, "identity maps changed the images");
    FREE_ALL(m, x, y);
}

/* A hand-built 90-degree rotation of square images: output (r, c) = input (c, s-1-r). */
static void test_rot90(tester *t)
{
    const int s = 6;
    for (int ch = 1; ch <= 3; ch += 2) {
        const size_t n = 2, total = n * s * s * (size_t)ch;
        float *x = rand_floats(t, total, 0, 1), *y = malloc(total * sizeof *y);
        float m[12];
        for (int i = 0; i < 2; i++) {
            const float r90[6] = {0, 1, 0, -1, 0, (float)(s - 1)};
            memcpy(m + 6 * i, r90, sizeof r90);
        }
        if (run_resample(t, "rot90", n, s, s, ch, m, x, y)) {
            size_t bad = 0;
            for (size_t i = 0; i < n; i++)
                for (int r = 0; r < s; r++)
                    for (int c = 0; c < s; c++)
                        for (int k = 0; k < ch; k++)
                            bad += y[at(s, s, ch, i, r, c, k)] != x[at(s, s, ch, i, c, s - 1 - r, k)];
            check(t, bad == 0, "rot90 %dx%dx%d: %zu values are not the rotated input", s, s, ch, bad);
        }
        free(x);
        free(y);
    }
}

/* Maps from lt_augment_matrices with only flips on: exact mirror images or identity. */
static void test_flips(tester *t)
{
    const int h = 4, w = 6, ch = 3;
    const size_t n = 16, total = n * h * w * ch;
    const lt_augment cases[3] = {{.horizontal_flip = 1}, {.vertical_flip = 1}, {.horizontal_flip = 1, .vertical_flip = 1}};
    for (int k = 0; k < 3; k++) {
        float *x = rand_floats(t, total, 0, 1), *y = malloc(total * sizeof *y);
        float *m = maps(t, &cases[k], h, w, 11, 0, n);
        char what[64];
        snprintf(what, sizeof what, "flips %d%d", cases[k].horizontal_flip, cases[k].vertical_flip);
        if (run_resample(t, what, n, h, w, ch, m, x, y)) {
            size_t bad = 0, flipped = 0;
            for (size_t i = 0; i < n; i++) {
                int fh = m[6 * i + 4] < 0, fv = m[6 * i] < 0;
                flipped += fh || fv;
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                        for (int q = 0; q < ch; q++)
                            bad += y[at(h, w, ch, i, r, c, q)] !=
                                   x[at(h, w, ch, i, fv ? h - 1 - r : r, fh ? w - 1 - c : c, q)];
            }
            check(t, bad == 0, "%s: %zu values are not the mirrored input", what, bad);
            check(t, flipped > 0 && flipped < n, "%s: %zu of %zu images flipped", what, flipped, n);
        }
        FREE_ALL(m, x, y);
    }
}

/* n random maps: moderate matrices that send parts of the image outside it (clamped). */
static float *random_maps(tester *t, size_t n, int h, int w)
{
    float *m = malloc(6 * n * sizeof *m);
    for (size_t i = 0; i < 6 * n; i += 6) {
        m[i + 0] = (float)drand(t, -1.2, 1.2);
        m[i + 1] = (float)drand(t, -1.2, 1.2);
        m[i + 2] = (float)drand(t, -0.5 * h, 1.5 * h);
        m[i + 3] = (float)drand(t, -1.2, 1.2);
        m[i + 4] = (float)drand(t, -1.2, 1.2);
        m[i + 5] = (float)drand(t, -0.5 * w, 1.5 * w);
    }
    return m;
}

/* Random maps (drawn by lt_augment_matrices and by hand) against the double reference. */
static void test_random(tester *t)
{
    const int geo[][3] = {{5, 7, 1}, {13, 9, 3}, {28, 28, 1}, {10, 31, 3}, {1, 6, 2}, {9, 1, 1}, {1, 1, 3}};
    const lt_augment a = {.rotation_range = 180, .zoom_range = 0.4f, .shear_range = 30, .width_shift_range = 0.3f,
                          .height_shift_range = 0.3f, .horizontal_flip = 1, .vertical_flip = 1};
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
        const int h = geo[g][0], w = geo[g][1], ch = geo[g][2];
        const size_t n = 5, total = n * (size_t)h * (size_t)w * (size_t)ch;
        for (int kind = 0; kind < 2; kind++) {
            float *m = kind ? random_maps(t, n, h, w) : maps(t, &a, h, w, 1000 + g, 7, n);
            float *x = rand_floats(t, total, 0, 1), *y = malloc(total * sizeof *y);
            double *ref = malloc(total * sizeof *ref);
            char what[96];
            snprintf(what, sizeof what, "%s maps %dx%dx%d", kind ? "hand-drawn" : "augment", h, w, ch);
            if (run_resample(t, what, n, h, w, ch, m, x, y)) {
                ref_resample(n, h, w, ch, m, x, ref);
                expect_close(t, y, NULL, ref, NULL, total, 1e-5, "%s", what); /* |ref| <= 1: absolute errors */
            }
            FREE_ALL(m, x, y, ref);
        }
    }
}

/* Non-finite maps read inside the image (coordinates clamp, NaN to 0). */
static void test_nonfinite(tester *t)
{
    const int h = 4, w = 5, ch = 2;
    const size_t n = 3, total = n * h * w * ch;
    const float m[18] = {NAN, 0, 0, 0, 1, 0, INFINITY, 0, 0, 0, -INFINITY, 0, 1, 0, 0, NAN, NAN, NAN};
    float *x = rand_floats(t, total, 0, 1), *y = malloc(total * sizeof *y);
    if (run_resample(t, "non-finite maps", n, h, w, ch, m, x, y)) {
        size_t bad = 0;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
                for (int k = 0; k < ch; k++) {
                    /* map 0: NaN rows read row 0; map 1: inf*0 is NaN (row/col 0), +inf clamps to
                     * the last row, -inf to col 0; map 2: NaN cols read col 0 */
                    bad += y[at(h, w, ch, 0, r, c, k)] != x[at(h, w, ch, 0, 0, c, k)];
                    bad += y[at(h, w, ch, 1, r, c, k)] != x[at(h, w, ch, 1, r == 0 ? 0 : h - 1, 0, k)];
                    bad += y[at(h, w, ch, 2, r, c, k)] != x[at(h, w, ch, 2, r, 0, k)];
                }
        check(t, bad == 0, "non-finite maps: %zu values are not the clamped pixels", bad);
    }
    free(x);
    free(y);
}

/* Bad arguments are LT_ERR_ARG with a message; n == 0 does nothing. */
static void test_bad_args(tester *t)
{
    lt_backend *be = t->be;
    const int h = 3, w = 4, ch = 2;
    const size_t n = 2, total = n * h * w * ch;
    lt_buf *bm = make_buf(t, "bad args", 0, NULL, 6 * n), *bx = make_buf(t, "bad args", 0, NULL, total);
    lt_buf *by = make_buf(t, "bad args", 0, NULL, total + 6 * n);
    if (!bm || !bx || !by) goto out;
    const float id[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
    lt_be_upload(be, bm, 0, id, 12);
    lt_be_fill(be, bx, 0, total, 0.5f);
    struct {
        const char *what;
        size_t n, moff, xoff, yoff;
        int h, w, ch;
        const lt_buf *m, *x;
    } cases[] = {
        {"h = 0", n, 0, 0, 0, 0, w, ch, bm, bx},
        {"w = -1", n, 0, 0, 0, h, -1, ch, bm, bx},
        {"ch = 0", n, 0, 0, 0, h, w, 0, bm, bx},
        {"h past 2^24", n, 0, 0, 0, (1 << 24) + 1, 1, 1, bm, bx},
        {"mats past its end", n, TAIL + 1, 0, 0, h, w, ch, bm, bx},
        {"x past its end", n, 0, TAIL + 1, 0, h, w, ch, bm, bx},
        {"y past its end", n, 0, 0, 6 * n + TAIL + 1, h, w, ch, bm, bx},
        {"too many images", n + 1, 0, 0, 0, h, w, ch, bm, bx},
        {"size_t overflow", SIZE_MAX / 2, 0, 0, 0, h, w, ch, bm, bx},
        {"NULL mats", n, 0, 0, 0, h, w, ch, NULL, bx},
        {"NULL x", n, 0, 0, 0, h, w, ch, bm, NULL},
        {"y overlaps x", n, 0, 0, 0, h, w, ch, bm, by},
        {"y overlaps mats", n, 0, 0, 0, h, w, ch, by, bx},
    };
    be->error[0] = '\0';
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_refused(t,
                       lt_be_affine_resample(be, cases[k].n, cases[k].h, cases[k].w, cases[k].ch, cases[k].m,
                                             cases[k].moff, cases[k].x, cases[k].xoff, by, cases[k].yoff),
                       NULL, "%s", cases[k].what);
    /* the same words on every backend (lib/backend/backend_check.c) */
    expect_msg(t, lt_be_affine_resample(be, n, 0, w, ch, bm, 0, bx, 0, by, 0),
               "affine_resample: image 0x4x2: sizes must be >= 1");
    expect_msg(t, lt_be_affine_resample(be, n, h, w, ch, by, 0, bx, 0, by, 0), "affine_resample: y overlaps mats");
    check(t, lt_be_affine_resample(be, 0, h, w, ch, NULL, 0, NULL, 0, NULL, 0) == LT_OK,
          "n == 0 with NULL buffers: %s", be->error);
    /* after all that, a valid call still works and the refused ones wrote nothing */
    float *y = malloc((total + 6 * n + TAIL) * sizeof *y);
    if (check(t, lt_be_affine_resample(be, n, h, w, ch, bm, 0, bx, 0, by, 6 * n + TAIL) == LT_OK,
              "valid call after refusals: %s", be->error) &&
        check(t, lt_be_download(be, by, 0, y, total + 6 * n + TAIL) == LT_OK, "download: %s", be->error)) {
        size_t bad = 0;
        for (size_t k = 0; k < 6 * n + TAIL; k++) bad += y[k] != GUARD;
        for (size_t k = 6 * n + TAIL; k < total + 6 * n + TAIL; k++) bad += y[k] != 0.5f;
        check(t, bad == 0, "refused or valid calls wrote %zu wrong values", bad);
    }
    free(y);
out:
    lt_be_buf_free(be, bm);
    lt_be_buf_free(be, bx);
    lt_be_buf_free(be, by);
}

/* The CPU's results do not depend on its thread count. */
static void test_threads(tester *t)
{
    lt_backend *be = t->be;
    const int h = 28, w = 28, ch = 1;
    const size_t n = 16, total = n * h * w * ch;
    const lt_augment a = {.rotation_range = 30, .zoom_range = 0.2f, .horizontal_flip = 1};
    float *m = maps(t, &a, h, w, 3, 0, n), *x = rand_floats(t, total, 0, 1);
    float *y1 = malloc(total * sizeof *y1), *y2 = malloc(total * sizeof *y2);
    lt_be_set_threads(be, 1);
    int ok = run_resample(t, "threads 1", n, h, w, ch, m, x, y1);
    lt_be_set_threads(be, 0);
    if (ok && run_resample(t, "threads all", n, h, w, ch, m, x, y2))
        check(t, memcmp(y1, y2, total * sizeof *y1) == 0, "results differ between 1 thread and all");
    FREE_ALL(m, x, y1, y2);
}

/* OpenCL gives the CPU's bits on random maps and images (the same float operations,
 * no contraction, on both). */
static void test_cross(tester *o)
{
    const int geo[][3] = {{28, 28, 1}, {17, 23, 3}, {1, 9, 2}};
    const lt_augment a = {.rotation_range = 90, .zoom_range = 0.3f, .shear_range = 20, .width_shift_range = 0.2f,
                          .height_shift_range = 0.2f, .horizontal_flip = 1, .vertical_flip = 1};
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
        const int h = geo[g][0], w = geo[g][1], ch = geo[g][2];
        const size_t n = 6, total = n * (size_t)h * (size_t)w * (size_t)ch;
        float *m = maps(o, &a, h, w, 31 + g, 0, n), *x = rand_floats(o, total, 0, 1);
        float *yc = malloc(total * sizeof *yc), *yo = malloc(total * sizeof *yo);
        tester c = cpu_twin(o);
        char what[64];
        snprintf(what, sizeof what, "cross %dx%dx%d", h, w, ch);
        int ok = run_resample(&c, what, n, h, w, ch, m, x, yc) && run_resample(o, what, n, h, w, ch, m, x, yo);
        twin_done(o, &c);
        if (ok) expect_bits(o, yo, yc, NULL, total, "%s", what);
        FREE_ALL(m, x, yc, yo);
    }
}

/* Every resampling check on one backend; on OpenCL also against the CPU backend. */
static void backend_checks_augment(tester *t, void *ctx)
{
    (void)ctx;
    test_identity(t);
    test_rot90(t);
    test_flips(t);
    test_random(t);
    test_nonfinite(t);
    test_bad_args(t);
    if (t->is_cpu) test_threads(t);
    if (t->cpu) test_cross(t);
}

/* Runs the host checks, then every backend's. */
int main(void)
{
    test_identity_maps(&harness_host);
    test_determinism(&harness_host);
    test_ranges(&harness_host);
    test_composition(&harness_host);
    test_check(&harness_host);
    run_backends(&(backend_run){.checks = backend_checks_augment, .seed = 20240611});
    return DONE();
}
