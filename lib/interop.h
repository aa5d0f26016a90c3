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

/* libhdf5 objects (files, groups, datasets, attributes, types, spaces) open in this
 * process: 0 between calls, as the writer closes what it opens and the reader leaves
 * libhdf5 to a child process (the import tests and fuzz_keras check it); 0 in a build
 * without import. */
int lt_import_open_handles(void);

/* A Keras .keras (legacy = 0) or .h5 (legacy = 1) file already in memory. */
lt_status lt_import_keras(lt_ctx *ctx, const char *path, const lt_bytes *file, int legacy, const lt_import_opts *opts,
                          lt_model **out);

/* Keras 3's names of a model's children in its weights file: the snake_case of each
 * child's class, with _N for the N-th (from 1) of a class in the same container. */
typedef struct lt_used_names {
    char stem[64][48];
    int count[64];
    int n;
} lt_used_names;
/* The next child of class cls in the container u counts: its name into out. */
void lt_keras_child_name(lt_used_names *u, const char *cls, char *out, size_t len);
/* The Keras class a latent layer is in Keras's files ("ActivityRegularization" for
 * ActivityL1; else its type). */
const char *lt_keras_class(const lt_layer *l);
/* The group of tensor t's variable for a layer whose own group is where: where/vars,
 * where/cell/vars (recurrent), where/forward_layer/cell/vars or backward_layer's
 * (Bidirectional), where/layer/vars (TimeDistributed); and its index there. */
void lt_keras_var_group(const lt_layer *l, const char *where, int t, char *out, size_t len);
int lt_keras_var_index(const lt_layer *l, int t);
/* Keras's shape of tensor t of layer l (latent's layouts are Keras's): its rank (1 to
 * 4), dims filled. */
int lt_keras_tensor_shape(const lt_layer *l, int t, uint64_t dims[4]);

/* A recurrent layer's (or a Bidirectional's, per direction) gate blocks (SimpleRNN 1,
 * LSTM 4, GRU 3), input features and units, from its type and tensor sizes; 0, or -1
 * for a layer that is not recurrent or has no input kernel. Any pointer may be NULL. */
int lt_rnn_dims(const lt_layer *l, int *gates, size_t *features, size_t *units);

#endif
