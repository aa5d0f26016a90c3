/* lt_import: reads another framework's model file whole, finds its format from its
 * first bytes (or takes the one asked for) and hands it to that format's reader. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "interop.h"

/* The largest file read: the weights of a model latent can build (2^32 floats) plus
 * room for the container around them. */
#define IMPORT_MAX_BYTES (((size_t)1 << 34) + ((size_t)1 << 28))

/* Integer square root of n when n is a perfect square, else 0. */
static size_t exact_sqrt(size_t n)
{
    size_t r = (size_t)sqrt((double)n);
    while (r * r > n) r--;
    while ((r + 1) * (r + 1) <= n) r++;
    return r * r == n ? r : 0;
}

/* The recurrent kernel is U x gates*U, the input kernel F x gates*U. */
int lt_rnn_dims(const lt_layer *l, int *gates, size_t *features, size_t *units)
{
    const lt_layer_ops *cell = l->ops;
    int dirs = 1;
    if (strcmp(cell->type, "Bidirectional") == 0) {
        cell = l->ops->wrapped(l);
        dirs = 2;
    }
    int g = strcmp(cell->type, "SimpleRNN") == 0 ? 1 : strcmp(cell->type, "LSTM") == 0 ? 4 : strcmp(cell->type, "GRU") == 0 ? 3 : 0;
    if (!g || l->n_tensors != 3 * dirs) return -1;
    size_t U = exact_sqrt(l->tensor_size[1] / (size_t)g);
    if (!U || l->tensor_size[1] != (size_t)g * U * U || l->tensor_size[0] % ((size_t)g * U)) return -1;
    if (gates) *gates = g;
    if (features) *features = l->tensor_size[0] / ((size_t)g * U);
    if (units) *units = U;
    return 0;
}

#ifndef LT_HAVE_INTEROP
int lt_import_open_handles(void) { return 0; }

lt_status lt_export_keras(lt_model *m, const char *path)
{
    if (!m) return LT_ERR_ARG;
    return lt_set_error(m->ctx, LT_ERR_UNSUPPORTED, "%s: this latent was built without libhdf5, libzip and Jansson, so it exports no Keras files",
                        path ? path : "(no path)");
}
#endif

int lt_have_import(void)
{
#ifdef LT_HAVE_INTEROP
    return 1;
#else
    return 0;
#endif
}

#ifdef LT_HAVE_INTEROP
/* The format a file's first bytes say it is, or LT_FORMAT_AUTO when none. */
static lt_format sniff(const lt_bytes *b)
{
    const unsigned char *p = b->data;
    if (b->len >= 4 && memcmp(p, "PK\3\4", 4) == 0) return LT_FORMAT_KERAS;
    if (b->len >= 8 && memcmp(p, "\211HDF\r\n\032\n", 8) == 0) return LT_FORMAT_KERAS_H5;
    /* safetensors: an 8-byte little-endian header length, then a JSON object */
    if (b->len >= 9 && p[8] == '{') return LT_FORMAT_SAFETENSORS;
    return LT_FORMAT_AUTO;
}

static const char *format_name(lt_format f)
{
    switch (f) {
    case LT_FORMAT_KERAS: return "a Keras .keras file";
    case LT_FORMAT_KERAS_H5: return "a Keras .h5 file";
    case LT_FORMAT_SAFETENSORS: return "a safetensors file";
    case LT_FORMAT_AUTO: break;
    }
    return "no format latent imports";
}
#endif

lt_status lt_import(lt_ctx *ctx, const char *path, const lt_import_opts *opts, lt_model **out)
{
    if (!ctx) return LT_ERR_ARG;
    if (!path || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_import: NULL argument");
    *out = NULL;
    lt_import_opts o = {0};
    if (opts) o = *opts;
    if (!o.seed) o.seed = 1;
    if ((unsigned)o.format > LT_FORMAT_SAFETENSORS) return lt_set_error(ctx, LT_ERR_ARG, "lt_import: unknown format %d", (int)o.format);
#ifndef LT_HAVE_INTEROP
    return lt_set_error(ctx, LT_ERR_UNSUPPORTED, "%s: this latent was built without libhdf5, libzip and Jansson, so it imports no other framework's files", path);
#else
    lt_bytes file;
    lt_status st = lt_read_file(ctx, path, IMPORT_MAX_BYTES, &file);
    if (st != LT_OK) return st;
    lt_format found = sniff(&file);
    if (o.format == LT_FORMAT_AUTO && found == LT_FORMAT_AUTO)
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: not a Keras .keras or .h5 file, nor a safetensors file (by its first bytes)", path);
    else if (o.format != LT_FORMAT_AUTO && found != o.format)
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: asked to read %s, but its first bytes say %s", path, format_name(o.format),
                          format_name(found));
    else if (found == LT_FORMAT_SAFETENSORS)
        st = lt_import_safetensors(ctx, path, &file, &o, out);
    else
        st = lt_import_keras(ctx, path, &file, found == LT_FORMAT_KERAS_H5, &o, out);
    free(file.data);
    if (st == LT_OK && !(*out)->train.compiled) { /* ready to train or evaluate: mse and a fresh Adam */
        lt_optimizer adam = lt_optimizer_defaults(LT_ADAM);
        st = lt_compile(*out, LT_LOSS_MSE, &adam);
        if (st != LT_OK) {
            lt_model_free(*out);
            *out = NULL;
        }
    }
    return st;
#endif
}
