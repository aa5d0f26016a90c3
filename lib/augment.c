/* Augmentation parameters (augment.h): Keras's ImageDataGenerator.get_random_transform
 * and the matrix of apply_affine_transform, one 2x3 map per sample.
 *
 * Draws. Sample i of a call takes every parameter from Philox block counter + i, under
 * two keys: the seed itself and seed ^ LT_AUG_KEY2 (eight words for eight draws, and
 * nothing taken from block counter + i + 1, which is sample i+1's). Each parameter has
 * its own word whether or not its transform is on, so switching flips on does not
 * change the rotations drawn:
 *   key seed:          word 0 rotation, 1 height shift, 2 width shift, 3 shear
 *   key seed ^ KEY2:   word 0 zoom x (rows), 1 zoom y (cols), 2 horizontal flip, 3 vertical
 * A word w becomes u = 1 - lt_philox_bits_to_unit(w), in [0, 1) exactly, and a range
 * [lo, hi) becomes lo + (hi - lo)*u in double; a flip happens when u < 0.5 (Keras's
 * np.random.random() < 0.5).
 *
 * Maps. In (row, col) coordinates, as Keras and scipy.ndimage.affine_transform:
 *   M = R(theta) @ S(tx, ty) @ H(shear) @ Z(zx, zy),  M' = T(o) M T(-o),
 *   o = (h/2 - 0.5, w/2 - 0.5), so that output (r, c) samples input M' (r, c, 1).
 * Keras flips the transformed image afterwards; flipping columns is reading column
 * w-1-c of it, i.e. the map M' F with F (r, c) = (r, w-1-c), and likewise for rows, so
 * one resample does everything. Shifts are always fractions of the image: Keras reads a
 * range >= 1 as pixels, so a range of exactly 1 is one pixel there, the whole side here. */
#include <math.h>
#include <string.h>
#include "augment.h"
#include "backend/philox.h"

/* Second Philox key of a sample's draws: seed ^ this (odd, unlike the layer keys'
 * multiples of 0x9E3779B97F4A7C15 in exec.c, so the two families do not meet). */
#define LT_AUG_KEY2 0xD1B54A32D192ED03ull

/* pi, for degrees to radians. */
#define LT_AUG_PI 3.14159265358979323846

int lt_augment_active(const lt_augment *a)
{
    return a && (a->rotation_range != 0.0f || a->zoom_range != 0.0f || a->shear_range != 0.0f ||
                 a->width_shift_range != 0.0f || a->height_shift_range != 0.0f || a->horizontal_flip != 0 ||
                 a->vertical_flip != 0);
}

/* LT_OK when v is finite and lo <= v < hi (or <= hi when hi_incl), else LT_ERR_ARG naming field. */
static lt_status check_range(lt_ctx *ctx, const char *field, float v, double lo, double hi, int hi_incl,
                             const char *unit)
{
    double d = (double)v;
    if (isfinite(d) && d >= lo && (hi_incl ? d <= hi : d < hi)) return LT_OK;
    return lt_set_error(ctx, LT_ERR_ARG, "augmentation: %s = %g is out of range: it must be finite, in [%g, %g%c%s",
                        field, d, lo, hi, hi_incl ? ']' : ')', unit);
}

lt_status lt_augment_check(lt_ctx *ctx, const lt_augment *a)
{
    if (!a) return LT_OK;
    lt_status st = check_range(ctx, "rotation_range", a->rotation_range, 0.0, 360.0, 1, " degrees");
    if (st == LT_OK) st = check_range(ctx, "zoom_range", a->zoom_range, 0.0, 1.0, 0, "");
    if (st == LT_OK) st = check_range(ctx, "shear_range", a->shear_range, 0.0, 90.0, 0, " degrees");
    if (st == LT_OK) st = check_range(ctx, "width_shift_range", a->width_shift_range, 0.0, 1.0, 1, " of the width");
    if (st == LT_OK)
        st = check_range(ctx, "height_shift_range", a->height_shift_range, 0.0, 1.0, 1, " of the height");
    return st;
}

/* [0, 1) from one Philox word, exactly (24 bits). */
static double unit_of(lt_u32 word) { return 1.0 - (double)lt_philox_bits_to_unit(word); }

/* Uniform in [-r, r) from one word. */
static double sym_uniform(lt_u32 word, double r) { return -r + 2.0 * r * unit_of(word); }

/* c = a @ b for 3x3 affine matrices whose last row is (0, 0, 1) (kept as 2x3). */
static void affine_mul(const double a[6], const double b[6], double c[6])
{
    double t[6];
    for (int r = 0; r < 2; r++) {
        t[3 * r + 0] = a[3 * r + 0] * b[0] + a[3 * r + 1] * b[3];
        t[3 * r + 1] = a[3 * r + 0] * b[1] + a[3 * r + 1] * b[4];
        t[3 * r + 2] = a[3 * r + 0] * b[2] + a[3 * r + 1] * b[5] + a[3 * r + 2];
    }
    memcpy(c, t, sizeof t);
}

/* Sample i's map: parameters from block counter + i, composed as Keras does. */
static void one_map(const lt_augment *a, int h, int w, uint64_t seed, uint64_t block, double m[6])
{
    lt_philox_block b0 = lt_philox4x32_10(seed, block);
    lt_philox_block b1 = lt_philox4x32_10(seed ^ LT_AUG_KEY2, block);
    const double deg = LT_AUG_PI / 180.0;
    double theta = sym_uniform(b0.v[0], (double)a->rotation_range) * deg;
    double tx = sym_uniform(b0.v[1], (double)a->height_shift_range) * (double)h; /* rows */
    double ty = sym_uniform(b0.v[2], (double)a->width_shift_range) * (double)w;  /* cols */
    double shear = sym_uniform(b0.v[3], (double)a->shear_range) * deg;
    double zx = 1.0 + sym_uniform(b1.v[0], (double)a->zoom_range);
    double zy = 1.0 + sym_uniform(b1.v[1], (double)a->zoom_range);
    int flip_h = a->horizontal_flip && unit_of(b1.v[2]) < 0.5;
    int flip_v = a->vertical_flip && unit_of(b1.v[3]) < 0.5;

    const double rot[6] = {cos(theta), -sin(theta), 0.0, sin(theta), cos(theta), 0.0};
    const double shift[6] = {1.0, 0.0, tx, 0.0, 1.0, ty};
    const double shr[6] = {1.0, -sin(shear), 0.0, 0.0, cos(shear), 0.0};
    const double zoom[6] = {zx, 0.0, 0.0, 0.0, zy, 0.0};
    const double o_r = (double)h / 2.0 - 0.5, o_c = (double)w / 2.0 - 0.5;
    const double to[6] = {1.0, 0.0, o_r, 0.0, 1.0, o_c}, from[6] = {1.0, 0.0, -o_r, 0.0, 1.0, -o_c};
    affine_mul(rot, shift, m);
    affine_mul(m, shr, m);
    affine_mul(m, zoom, m);
    affine_mul(to, m, m);
    affine_mul(m, from, m);
    /* flips read the transformed image mirrored: substitute c -> w-1-c, r -> h-1-r */
    if (flip_h) {
        const double f[6] = {1.0, 0.0, 0.0, 0.0, -1.0, (double)w - 1.0};
        affine_mul(m, f, m);
    }
    if (flip_v) {
        const double f[6] = {-1.0, 0.0, (double)h - 1.0, 0.0, 1.0, 0.0};
        affine_mul(m, f, m);
    }
}

void lt_augment_matrices(const lt_augment *a, int h, int w, uint64_t seed, uint64_t counter, size_t n, float *mats)
{
    if (!mats) return;
    int on = lt_augment_active(a);
    for (size_t i = 0; i < n; i++) {
        double m[6] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0};
        if (on) one_map(a, h, w, seed, counter + (uint64_t)i, m);
        /* + 0.0 turns the -0.0 of products like 0 * -1 into 0.0: flip maps come out as
         * exact, comparable integers */
        for (int k = 0; k < 6; k++) mats[6 * i + (size_t)k] = (float)(m[k] + 0.0);
    }
}
