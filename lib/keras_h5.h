/* HDF5 for the Keras reader and writer (keras_h5.c): the reader's snapshot of a file
 * taken in a child process, and libhdf5's error printing kept quiet for the writer. */
#ifndef LT_KERAS_H5_H
#define LT_KERAS_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* LT_ASAN: built with AddressSanitizer (gcc's macro, clang's feature test). */
#if defined(__SANITIZE_ADDRESS__)
#define LT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT_ASAN 1
#endif
#endif

#define LT_H5_MAX_RANK 8
#define LT_H5_PATH 512

/* libhdf5's error printer, saved while latent keeps it quiet. */
typedef struct lt_h5_errors {
    H5E_auto2_t fn;
    void *data;
} lt_h5_errors;

/* Serialises latent's use of libhdf5 in this process (export, and the fork of an
 * import's reader): Debian's libhdf5 is not thread-safe. */
void lt_h5_lock(void);
void lt_h5_unlock(void);
/* Turns libhdf5's printing of errors off, saving what was there. */
void lt_h5_quiet(lt_h5_errors *saved);
/* Puts the saved printer back. */
void lt_h5_restore(const lt_h5_errors *saved);
/* What latent read of an HDF5 file: every float dataset and string attribute. */
typedef struct lt_h5_snapshot lt_h5_snapshot;
/* Reads an HDF5 file image (len bytes) through libhdf5 in a child process (keras_h5.c
 * says why), keeping at most max_bytes of it; NULL with the reason in err when the
 * child fails, crashes, hangs past its deadline or says more. */
lt_h5_snapshot *lt_h5_snapshot_image(const void *data, size_t len, size_t max_bytes, char *err, size_t errlen);
void lt_h5_snapshot_free(lt_h5_snapshot *s);
/* 1 when an object (group or dataset) is at path ("/" the root). */
int lt_h5_exists(const lt_h5_snapshot *s, const char *path);
/* Copies dataset path as floats into a new array of at most max values, with its rank
 * and shape; 0, or -1 missing, -2 not a float array of rank <= 8, -3 larger than max,
 * -4 out of memory. */
int lt_h5_read_floats(const lt_h5_snapshot *s, const char *path, int *rank, uint64_t dims[LT_H5_MAX_RANK], size_t max, float **out);
/* The strings of attribute name of object obj (at most max_bytes in all) as one
 * malloc'd block of *count NUL-terminated strings one after another; NULL when absent. */
char *lt_h5_attr_strings(const lt_h5_snapshot *s, const char *obj, const char *name, size_t max_bytes, size_t *count);

#endif
