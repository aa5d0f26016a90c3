/* Image patches: every PNG, JPEG and BMP file of a folder cut into fixed-size tiles, one
 * dataset row per tile, for training autoencoders on images larger than the model. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

/* File names of a folder's images, sorted. */
typedef struct name_list {
    char **names;
    size_t n, cap;
} name_list;

/* Frees the names and the array. */
static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = l->cap = 0;
}

/* 1 if name ends in .png, .jpg, .jpeg or .bmp, in any case. */
static int is_image_name(const char *name)
{
    static const char *exts[] = {"png", "jpg", "jpeg", "bmp"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0; /* no extension, or a hidden file named ".png" */
    const char *ext = dot + 1;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t k = 0;
        /* ASCII case folding by hand: tolower() depends on the locale */
        while (ext[k] && exts[i][k] && (ext[k] | 0x20) == exts[i][k]) k++;
        if (ext[k] == '\0' && exts[i][k] == '\0') return 1;
    }
    return 0;
}

/* qsort comparison of two names with strcmp: byte order, independent of the locale. */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir/name in a new string, or NULL when out of memory. */
static char *join_path(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *p = malloc(ld + 1 + ln + 1);
    if (!p) return NULL;
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, name, ln + 1);
    return p;
}

/* Lists the regular files of dir with an image extension, sorted by name. */
static lt_status list_images(lt_ctx *ctx, const char *dir, name_list *l)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return lt_set_error(ctx, LT_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return lt_set_error(ctx, LT_ERR_IO, "%s: not a folder", dir);
    DIR *d = opendir(dir);
    if (!d) return lt_set_error(ctx, LT_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    lt_status st = LT_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
            break;
        }
        if (!is_image_name(e->d_name)) continue;
        char *path = join_path(dir, e->d_name);
        if (!path) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        /* stat follows links; a subfolder or device that happens to be named x.png is skipped */
        int regular = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
        free(path);
        if (!regular) continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            char **names = cap <= SIZE_MAX / sizeof *names ? realloc(l->names, cap * sizeof *names) : NULL;
            if (!names) {
                st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
                break;
            }
            l->names = names;
            l->cap = cap;
        }
        if (!(l->names[l->n] = strdup(e->d_name))) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        l->n++;
    }
    closedir(d);
    if (st != LT_OK) return st;
    if (l->n == 0) return lt_set_error(ctx, LT_ERR_ARG, "no PNG, JPEG or BMP images in %s", dir);
    qsort(l->names, l->n, sizeof *l->names, cmp_names);
    return LT_OK;
}

/* Tiles of an h x w image: ((h - ph) / sy + 1) * ((w - pw) / sx + 1), or 0 if too small. */
static size_t tile_count(int h, int w, int ph, int pw, int sy, int sx)
{
    if (h < ph || w < pw) return 0;
    /* each factor is at most LT_IMAGE_MAX_SIDE, so the product fits even a 32-bit size_t */
    return (size_t)((h - ph) / sy + 1) * (size_t)((w - pw) / sx + 1);
}

/* Cuts every image file of dir into patch_h x patch_w x channels rows (see latent.h). The
 * images are decoded once and kept until the patches are counted and allocated; files
 * after the one that reaches max_patches are not read. */
lt_status lt_dataset_image_patches(lt_ctx *ctx, const char *dir, int patch_h, int patch_w, int stride,
                                   int channels, size_t max_patches, lt_dataset **out)
{
    if (out) *out = NULL;
    if (!dir || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_image_patches: NULL argument");
    if (patch_h < 1 || patch_w < 1 || patch_h > LT_IMAGE_MAX_SIDE || patch_w > LT_IMAGE_MAX_SIDE)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_image_patches: patch size %dx%d (each side 1..%d)",
                            patch_h, patch_w, LT_IMAGE_MAX_SIDE);
    if (channels != 1 && channels != 3)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_image_patches: channels must be 1 or 3 (got %d)",
                            channels);
    int sy = stride > 0 ? stride : patch_h, sx = stride > 0 ? stride : patch_w;

    name_list l = {NULL, 0, 0};
    lt_status st = list_images(ctx, dir, &l);
    if (st != LT_OK) {
        names_free(&l);
        return st;
    }
    lt_dataset **imgs = calloc(l.n, sizeof *imgs);
    if (!imgs) {
        names_free(&l);
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for %zu images", dir, l.n);
    }
    /* pass 1: decode and count, so the result is allocated once at its final size */
    size_t total = 0, used = 0; /* used: images read */
    int big_h = 0, big_w = 0;   /* largest image seen, for the message when none fits */
    for (size_t i = 0; i < l.n && (max_patches == 0 || total < max_patches); i++) {
        char *path = join_path(dir, l.names[i]);
        if (!path) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        st = lt_image_load(ctx, path, channels, &imgs[i]); /* its message names the file */
        free(path);
        if (st != LT_OK) break;
        used = i + 1;
        const lt_dataset *im = imgs[i];
        if ((int64_t)im->h * im->w > (int64_t)big_h * big_w) big_h = im->h, big_w = im->w;
        size_t k = tile_count(im->h, im->w, patch_h, patch_w, sy, sx);
        if (k > SIZE_MAX - total) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: patch count overflows", dir);
            break;
        }
        total += k;
    }
    size_t dim = (size_t)patch_h * (size_t)patch_w * (size_t)channels;
    if (st == LT_OK && total == 0)
        st = lt_set_error(ctx, LT_ERR_ARG, "%s: no image is as large as a %dx%d patch (largest %dx%d)", dir,
                          patch_h, patch_w, big_h, big_w);
    if (st == LT_OK && max_patches && total > max_patches) total = max_patches;
    if (st == LT_OK && (dim > SIZE_MAX / sizeof(float) || total > SIZE_MAX / sizeof(float) / dim))
        st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: %zu patches of %zu floats overflow memory sizes", dir, total, dim);
    lt_dataset *ds = NULL;
    if (st == LT_OK) st = lt_dataset_alloc(ctx, total, dim, 0, 0, &ds);
    /* pass 2: copy tiles in name order, then top to bottom, left to right */
    size_t row = 0;
    size_t prow = (size_t)patch_w * (size_t)channels; /* floats in one patch row */
    for (size_t i = 0; st == LT_OK && i < used && row < total; i++) {
        const lt_dataset *im = imgs[i];
        size_t irow = (size_t)im->w * (size_t)channels; /* floats in one image row */
        /* tile indices, not y += stride, which could overflow for a huge stride */
        int ny = im->h < patch_h ? 0 : (im->h - patch_h) / sy + 1;
        int nx = im->w < patch_w ? 0 : (im->w - patch_w) / sx + 1;
        for (int ty = 0; ty < ny && row < total; ty++)
            for (int tx = 0; tx < nx && row < total; tx++) {
                float *dst = ds->x + row * dim;
                const float *src = im->x + (size_t)ty * (size_t)sy * irow + (size_t)tx * (size_t)sx * channels;
                for (int r = 0; r < patch_h; r++) memcpy(dst + r * prow, src + r * irow, prow * sizeof(float));
                row++;
            }
        lt_dataset_free(imgs[i]); /* early, to lower the peak memory */
        imgs[i] = NULL;
    }
    for (size_t i = 0; i < l.n; i++) lt_dataset_free(imgs[i]);
    free(imgs);
    names_free(&l);
    if (st != LT_OK) {
        lt_dataset_free(ds);
        return st;
    }
    ds->h = patch_h;
    ds->w = patch_w;
    ds->c = channels;
    *out = ds;
    return LT_OK;
}
