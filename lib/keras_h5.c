/* HDF5 through libhdf5 for Keras files: opening a file image held in memory, reading a
 * float dataset with its shape, a string attribute and a list of strings. Every size
 * and type is checked before it is used; libhdf5's own error printing is off while
 * latent calls it (and restored after), so a broken file gives latent's one message. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include "keras_h5.h"

int lt_import_open_handles(void)
{
    ssize_t n = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    return n < 0 ? -1 : (int)n;
}

void lt_h5_quiet(lt_h5_errors *saved)
{
    H5Eget_auto2(H5E_DEFAULT, &saved->fn, &saved->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void lt_h5_restore(const lt_h5_errors *saved)
{
    H5Eset_auto2(H5E_DEFAULT, saved->fn, saved->data);
}

/* A little-endian integer of n bytes. */
static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) v = v << 8 | p[n];
    return v;
}

/* libhdf5 1.10 (Debian 12's) reads a global heap collection (where variable-length
 * strings live) object by object, each header giving the object's size and so the
 * next one's distance, and trusts those sizes: an object 0 (free space) of size 0 is
 * a distance of 0, where it loops forever, and an object larger than its collection
 * is copied out past the collection's buffer (fuzzed legacy .h5 files found both). So
 * each collection in the image ("GCOL", version 1) is walked the same way first, and
 * one whose objects do not advance, or do not fit in it, or that does not fit in the
 * file, is refused. The walk reads only; a "GCOL" in data that is not a collection is
 * walked too, which at worst refuses a file whose bytes happen to spell a broken
 * collection. */
static long broken_heap(const unsigned char *img, size_t len)
{
    for (size_t off = 0; off + 16 <= len; off++) {
        if (img[off] != 'G' || memcmp(img + off, "GCOL", 4) != 0 || img[off + 4] != 1) continue;
        uint64_t size = le(img + off + 8, 8);
        if (size < 16 || size > len - off) return (long)off;
        uint64_t end = off + size, p = off + 16;
        while (p + 16 <= end) {
            unsigned idx = (unsigned)le(img + p, 2);
            uint64_t obj = le(img + p + 8, 8);
            /* an object's size counts its data; the free space's (object 0) its header too */
            if (obj > end - p - (idx ? 16 : 0)) return (long)p;
            uint64_t need = idx ? 16 + ((obj + 7) & ~(uint64_t)7) : obj;
            if (need == 0 || need > end - p) return (long)p;
            p += need;
        }
    }
    return -1;
}

hid_t lt_h5_open_image(const void *data, size_t len)
{
    if (broken_heap(data, len) >= 0) return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    hid_t f = -1;
    /* the core driver, no backing store: the image is copied in and never written */
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)data, len) >= 0)
        f = H5Fopen("latent-import.h5", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

int lt_h5_exists(hid_t loc, const char *path)
{
    char part[LT_H5_PATH];
    size_t n = strlen(path);
    if (n >= sizeof part) return 0;
    /* each prefix in turn: H5Lexists needs every group above the last to exist */
    for (size_t i = 0; i <= n; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        memcpy(part, path, i);
        part[i] = 0;
        if (i && H5Lexists(loc, part, H5P_DEFAULT) <= 0) return 0;
    }
    return 1;
}

int lt_h5_read_floats(hid_t loc, const char *path, int *rank, uint64_t dims[LT_H5_MAX_RANK], size_t max, float **out)
{
    *out = NULL;
    if (!lt_h5_exists(loc, path)) return -1;
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return -2;
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    int rc = -2;
    int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t hd[LT_H5_MAX_RANK];
    if (r >= 0 && r <= LT_H5_MAX_RANK && type >= 0 && H5Tget_class(type) == H5T_FLOAT &&
        H5Sget_simple_extent_type(space) != H5S_NULL && H5Sget_simple_extent_dims(space, hd, NULL) == r) {
        size_t count = 1;
        int ok = 1;
        for (int i = 0; i < r; i++) {
            dims[i] = hd[i];
            if (hd[i] && count > max / hd[i]) ok = 0;
            else count *= (size_t)hd[i];
        }
        *rank = r;
        rc = -3; /* too large */
        if (ok) {
            float *v = malloc((count ? count : 1) * sizeof *v);
            rc = -4; /* no memory */
            if (v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
                *out = v;
                rc = 0;
            } else if (v) {
                free(v);
                rc = -2;
            }
        }
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return rc;
}

/* Reads the strings of attribute a (count of them, fixed-length or variable) into one
 * malloc'd block of NUL-terminated strings; the block, or NULL. */
static char *read_strings(hid_t a, size_t max_bytes, size_t *count)
{
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    char *out = NULL;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (type < 0 || H5Tget_class(type) != H5T_STRING || n < 1 || n > 1 << 20) goto done;
    if (H5Tis_variable_str(type) > 0) {
        hid_t mem = H5Tcopy(H5T_C_S1);
        char **s = calloc((size_t)n, sizeof *s);
        int read = mem >= 0 && s && H5Tset_size(mem, H5T_VARIABLE) >= 0 ? H5Aread(a, mem, s) : -2;
        if (read >= 0) {
            size_t total = 0;
            int ok = 1;
            for (hssize_t i = 0; i < n; i++) {
                if (!s[i]) { ok = 0; break; }
                total += strlen(s[i]) + 1;
                if (total > max_bytes) { ok = 0; break; }
            }
            if (ok && (out = malloc(total ? total : 1))) {
                char *p = out;
                for (hssize_t i = 0; i < n; i++) {
                    size_t l = strlen(s[i]) + 1;
                    memcpy(p, s[i], l);
                    p += l;
                }
            }
        }
        /* also after a failed read: libhdf5 may have allocated some strings before it failed */
        if (read != -2) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, s);
        free(s);
        if (mem >= 0) H5Tclose(mem);
    } else {
        size_t w = H5Tget_size(type);
        if (w == 0 || w > max_bytes || (size_t)n > max_bytes / (w + 1)) goto done;
        char *raw = malloc((size_t)n * w);
        hid_t mem = H5Tcopy(H5T_C_S1);
        if (raw && mem >= 0 && H5Tset_size(mem, w) >= 0 && H5Tset_strpad(mem, H5T_STR_NULLPAD) >= 0 && H5Aread(a, mem, raw) >= 0 &&
            (out = malloc((size_t)n * (w + 1)))) {
            char *p = out;
            for (hssize_t i = 0; i < n; i++) {
                size_t l = strnlen(raw + (size_t)i * w, w);
                memcpy(p, raw + (size_t)i * w, l);
                p[l] = 0;
                p += l + 1;
            }
        }
        free(raw);
        if (mem >= 0) H5Tclose(mem);
    }
    if (out) *count = (size_t)n;
done:
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return out;
}

char *lt_h5_attr_strings(hid_t loc, const char *obj, const char *name, size_t max_bytes, size_t *count)
{
    *count = 0;
    if (!lt_h5_exists(loc, obj) || H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) return NULL;
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return NULL;
    char *s = read_strings(a, max_bytes, count);
    H5Aclose(a);
    return s;
}
