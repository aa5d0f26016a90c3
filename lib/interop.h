/* Bringing models in from other frameworks (import.c dispatches; one file per format).
 * Private to the library. */
#ifndef LT_INTEROP_H
#define LT_INTEROP_H

#include "model.h"

/* A file read whole into memory. */
typedef struct lt_bytes {
    unsigned char *data;
    size_t len;
} lt_bytes;

/* Reads a regular file of at most max bytes into b (free b->data); a clear error
 * naming path when it cannot, is larger, or memory runs out. */
lt_status lt_read_file(lt_ctx *ctx, const char *path, size_t max, lt_bytes *b);

/* A safetensors file (already in memory) of weights for opts->arch; path names the
 * file in messages. */
lt_status lt_import_safetensors(lt_ctx *ctx, const char *path, const lt_bytes *file, const lt_import_opts *opts,
                                lt_model **out);

#endif
