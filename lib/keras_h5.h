/* HDF5 helpers for the Keras reader (keras_h5.c); only files that include hdf5.h use
 * them. Functions return 0 (or a handle >= 0) on success. */
#ifndef LT_KERAS_H5_H
#define LT_KERAS_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define LT_H5_MAX_RANK 8
#define LT_H5_PATH 512

/* libhdf5's error printer, saved while latent keeps it quiet. */
typedef struct lt_h5_errors {
    H5E_auto2_t fn;
    void *data;
} lt_h5_errors;

/* Turns libhdf5's printing of errors off, saving what was there. */
void lt_h5_quiet(lt_h5_errors *saved);
/* Puts the saved printer back. */
void lt_h5_restore(const lt_h5_errors *saved);
/* Opens an HDF5 file image held in memory, read-only; a file handle, or < 0. */
hid_t lt_h5_open_image(const void *data, size_t len);
/* 1 when every group along path (relative to loc) and its last link exist. */
int lt_h5_exists(hid_t loc, const char *path);
/* Reads dataset path as floats (converted from its float type) into a new array of at
 * most max values, with its rank and shape; 0, or -1 missing, -2 not a float array of
 * rank <= 8 (or unreadable), -3 larger than max, -4 out of memory. */
int lt_h5_read_floats(hid_t loc, const char *path, int *rank, uint64_t dims[LT_H5_MAX_RANK], size_t max, float **out);
/* The strings of attribute name of object obj (a string or an array of them, fixed or
 * variable length, at most max_bytes in all) as one malloc'd block of *count
 * NUL-terminated strings one after another; NULL when absent or unreadable. */
char *lt_h5_attr_strings(hid_t loc, const char *obj, const char *name, size_t max_bytes, size_t *count);

#endif
