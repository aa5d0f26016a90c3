/* lt_export_keras: a latent model as a Keras 3 .keras file — config.json (Jansson)
 * describing a Sequential model (nested models as nested Sequentials), metadata.json,
 * and model.weights.h5 (libhdf5, built in memory) with each layer's variables where
 * Keras's loader looks for them (keras.c's header says where); zipped by libzip into a
 * temporary file that is renamed over the path. Each layer's settings come from its
 * model-file line (write_config), the one description every layer type keeps. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>
#include "interop.h"
#include "keras_h5.h"

/* What the writer carries: the context for errors, the path, the model's parameters on
 * the host, and the HDF5 file being built. */
typedef struct kwriter {
    lt_ctx *ctx;
    const char *path;
    const float *params;
    hid_t h5;
} kwriter;

/* ----------------------------------------------------------------- config */

/* [a, b] */
static json_t *pair(int a, int b)
{
    return json_pack("[ii]", a, b);
}

/* "3x3" into two ints; -1 when not such a pair. */
static int read_pair(const char *s, int *a, int *b)
{
    return s && sscanf(s, "%dx%d", a, b) == 2 ? 0 : -1;
}

/* A number member of kv as a double (absent: def). */
static double kv_num(const lt_kv *kv, const char *key, double def)
{
    const char *s = lt_kv_get(kv, key);
    return s ? strtod(s, NULL) : def;
}

/* {"module": ..., "class_name": cls, "config": config, "registered_name": null}, the
 * config given its name, trainable and dtype first. */
static json_t *layer_entry(const char *cls, const char *name, json_t *config)
{
    json_object_set_new(config, "name", json_string(name));
    json_object_set_new(config, "trainable", json_true());
    json_object_set_new(config, "dtype", json_string("float32"));
    int custom = strcmp(cls, "Sampling") == 0;
    return json_pack("{s:s, s:s, s:o, s:o}", "module", custom ? "latent" : "keras.layers", "class_name", cls, "config", config,
                     "registered_name", custom ? json_string("latent>Sampling") : json_null());
}

/* An activation Keras's string names exactly (leaky_relu's 0.2, elu's 1.0); else
 * "linear" and *extra gets the layer that applies it (LeakyReLU or ELU). */
static const char *activation_of(const lt_kv *kv, const char *name, json_t **extra)
{
    const char *act = lt_kv_get(kv, "activation");
    double alpha = kv_num(kv, "alpha", 0);
    *extra = NULL;
    if (!act) return "linear";
    char ename[80];
    snprintf(ename, sizeof ename, "%.60s_%s", name, strcmp(act, "elu") == 0 ? "elu" : "leaky_re_lu");
    if (strcmp(act, "leaky_relu") == 0 && (float)alpha != 0.2f) {
        *extra = layer_entry("LeakyReLU", ename, json_pack("{s:f}", "negative_slope", alpha));
        return "linear";
    }
    if (strcmp(act, "elu") == 0 && (float)alpha != 1.0f) {
        *extra = layer_entry("ELU", ename, json_pack("{s:f}", "alpha", alpha));
        return "linear";
    }
    return act;
}

/* A recurrent layer's Keras config from its settings (cell: SimpleRNN, LSTM or GRU);
 * the caller has checked that its activation has a Keras name (no extra layer can go
 * inside a cell). */
static json_t *recurrent_config(const lt_kv *kv, const char *cls, int backwards)
{
    json_t *extra;
    const char *act = activation_of(kv, "", &extra);
    json_decref(extra); /* NULL here */
    json_t *c = json_pack("{s:i, s:s, s:b, s:b, s:b}", "units", (int)kv_num(kv, "units", 1), "activation", act, "use_bias", 1,
                          "return_sequences", (int)kv_num(kv, "return_sequences", 0), "go_backwards",
                          backwards || (int)kv_num(kv, "go_backwards", 0));
    if (!c) return NULL;
    if (strcmp(cls, "SimpleRNN") != 0) json_object_set_new(c, "recurrent_activation", json_string("sigmoid"));
    if (strcmp(cls, "GRU") == 0) json_object_set_new(c, "reset_after", json_true());
    if (strcmp(cls, "LSTM") == 0) json_object_set_new(c, "unit_forget_bias", json_true());
    return c;
}

/* Nonzero for the layer types that are one recurrent cell. */
static int is_cell(const char *type)
{
    return strcmp(type, "SimpleRNN") == 0 || strcmp(type, "LSTM") == 0 || strcmp(type, "GRU") == 0;
}

/* The Keras class of a recurrent cell's name in a settings line. */
static const char *cell_class(const char *cell)
{
    return cell && strcmp(cell, "lstm") == 0 ? "LSTM" : cell && strcmp(cell, "gru") == 0 ? "GRU" : "SimpleRNN";
}

/* Appends the Keras layers of latent layer l (one, or two when an activation needs a
 * layer of its own) to list; an error naming what Keras cannot express. */
static lt_status layer_config(kwriter *w, const lt_layer *l, json_t *list)
{
    char text[1024];
    lt_kv kv;
    l->ops->write_config(l, text, sizeof text);
    const char *type = l->ops->type;
    int td = strcmp(type, "TimeDistributed") == 0;
    char *settings = text;
    if (td) { /* "layer=dense units=..." */
        char *sp = strchr(text, ' ');
        settings = sp ? sp + 1 : text + strlen(text);
    }
    if (lt_kv_parse(settings, &kv) != 0) return lt_set_error(w->ctx, LT_ERR_FORMAT, "%s: layer %s: unreadable settings", w->path, l->name);
    json_t *c = NULL, *extra = NULL;
    const char *cls = type;
    if (strcmp(type, "Dense") == 0 || td) {
        const char *act = activation_of(&kv, l->name, &extra);
        c = json_pack("{s:i, s:s, s:b}", "units", (int)kv_num(&kv, "units", 1), "activation", act, "use_bias",
                      kv_num(&kv, "use_bias", 1) != 0);
        if (td) {
            char inner[80];
            snprintf(inner, sizeof inner, "%.60s_dense", l->name);
            c = json_pack("{s:o}", "layer", layer_entry("Dense", inner, c));
            if (extra) { json_decref(c); json_decref(extra); return lt_set_error(w->ctx, LT_ERR_UNSUPPORTED, "%s: layer %s (TimeDistributed): a Dense whose activation's alpha Keras's activation names cannot carry", w->path, l->name); }
        }
    } else if (strcmp(type, "Activation") == 0) {
        const char *act = activation_of(&kv, l->name, &extra);
        if (extra) /* the LeakyReLU or ELU layer alone */
            return json_array_append_new(list, extra) == 0 ? LT_OK : lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory");
        c = json_pack("{s:s}", "activation", act);
    } else if (strcmp(type, "LeakyReLU") == 0) {
        c = json_pack("{s:f}", "negative_slope", kv_num(&kv, "negative_slope", 0.3));
    } else if (strcmp(type, "Dropout") == 0) {
        c = json_pack("{s:f}", "rate", kv_num(&kv, "rate", 0));
    } else if (strcmp(type, "GaussianNoise") == 0) {
        c = json_pack("{s:f}", "stddev", kv_num(&kv, "stddev", 0));
    } else if (strcmp(type, "Conv2D") == 0 || strcmp(type, "Conv2DTranspose") == 0) {
        int kh, kw, sh, sw, dh, dw, oh, ow;
        if (read_pair(lt_kv_get(&kv, "kernel"), &kh, &kw) || read_pair(lt_kv_get(&kv, "strides"), &sh, &sw) ||
            read_pair(lt_kv_get(&kv, "dilation"), &dh, &dw))
            return lt_set_error(w->ctx, LT_ERR_FORMAT, "%s: layer %s: unreadable settings", w->path, l->name);
        const char *act = activation_of(&kv, l->name, &extra);
        c = json_pack("{s:i, s:o, s:o, s:s, s:s, s:o, s:s, s:b}", "filters", (int)kv_num(&kv, "filters", 1), "kernel_size", pair(kh, kw),
                      "strides", pair(sh, sw), "padding", lt_kv_get(&kv, "padding") ? lt_kv_get(&kv, "padding") : "valid", "data_format",
                      "channels_last", "dilation_rate", pair(dh, dw), "activation", act, "use_bias", !l->no_bias);
        if (strcmp(type, "Conv2D") == 0) json_object_set_new(c, "groups", json_integer(1));
        else
            json_object_set_new(c, "output_padding", read_pair(lt_kv_get(&kv, "output_padding"), &oh, &ow) == 0 ? pair(oh, ow) : json_null());
    } else if (strcmp(type, "MaxPooling2D") == 0) {
        int ph, pw, sh, sw;
        if (read_pair(lt_kv_get(&kv, "pool"), &ph, &pw) || read_pair(lt_kv_get(&kv, "strides"), &sh, &sw))
            return lt_set_error(w->ctx, LT_ERR_FORMAT, "%s: layer %s: unreadable settings", w->path, l->name);
        c = json_pack("{s:o, s:o, s:s, s:s}", "pool_size", pair(ph, pw), "strides", pair(sh, sw), "padding",
                      lt_kv_get(&kv, "padding") ? lt_kv_get(&kv, "padding") : "valid", "data_format", "channels_last");
    } else if (strcmp(type, "UpSampling2D") == 0) {
        int sh, sw;
        if (read_pair(lt_kv_get(&kv, "size"), &sh, &sw)) return lt_set_error(w->ctx, LT_ERR_FORMAT, "%s: layer %s: unreadable settings", w->path, l->name);
        c = json_pack("{s:o, s:s, s:s}", "size", pair(sh, sw), "data_format", "channels_last", "interpolation",
                      lt_kv_get(&kv, "interpolation") ? lt_kv_get(&kv, "interpolation") : "nearest");
    } else if (strcmp(type, "Flatten") == 0) {
        c = json_pack("{s:s}", "data_format", "channels_last");
    } else if (strcmp(type, "Reshape") == 0) {
        json_t *t = json_array();
        for (int i = 0; i < l->out_shape.rank; i++) json_array_append_new(t, json_integer(l->out_shape.d[i]));
        c = json_pack("{s:o}", "target_shape", t);
    } else if (strcmp(type, "RepeatVector") == 0) {
        c = json_pack("{s:i}", "n", (int)kv_num(&kv, "n", 1));
    } else if (strcmp(type, "ActivityL1") == 0) {
        cls = "ActivityRegularization";
        c = json_pack("{s:f, s:f}", "l1", kv_num(&kv, "lambda", 0), "l2", 0.0);
    } else if (strcmp(type, "Sampling") == 0) {
        c = json_pack("{s:f}", "beta", kv_num(&kv, "beta", 1));
    } else if ((is_cell(type) || strcmp(type, "Bidirectional") == 0) && (activation_of(&kv, "", &extra), extra)) {
        json_decref(extra);
        return lt_set_error(w->ctx, LT_ERR_UNSUPPORTED,
                            "%s: layer %s (%s): activation %s with alpha %g, which Keras's activation names cannot carry inside a "
                            "recurrent cell (leaky_relu is 0.2 there, elu 1)", w->path, l->name, type, lt_kv_get(&kv, "activation"),
                            kv_num(&kv, "alpha", 0));
    } else if (is_cell(type)) {
        if (kv_num(&kv, "return_state", 0) != 0 || kv_num(&kv, "state_steps", 0) != 0)
            return lt_set_error(w->ctx, LT_ERR_UNSUPPORTED, "%s: layer %s (%s): return_state or an initial state; a Keras Sequential model passes one tensor",
                                w->path, l->name, type);
        c = recurrent_config(&kv, type, 0);
    } else if (strcmp(type, "Bidirectional") == 0) {
        const char *icls = cell_class(lt_kv_get(&kv, "cell"));
        char fname[80], bname[80];
        snprintf(fname, sizeof fname, "forward_%.60s", l->name);
        snprintf(bname, sizeof bname, "backward_%.60s", l->name);
        c = json_pack("{s:o, s:o, s:s}", "layer", layer_entry(icls, fname, recurrent_config(&kv, icls, 0)), "backward_layer",
                      layer_entry(icls, bname, recurrent_config(&kv, icls, 1)), "merge_mode",
                      lt_kv_get(&kv, "merge") ? lt_kv_get(&kv, "merge") : "concat");
    } else {
        const char *why = strcmp(type, "Sparsity") == 0 ? "Keras has no KL sparsity penalty layer"
                          : strcmp(type, "Add") == 0   ? "adding the model's input needs a Functional model with a branch"
                                                       : "Keras has no such layer";
        return lt_set_error(w->ctx, LT_ERR_UNSUPPORTED, "%s: layer %s (%s) cannot be exported: %s", w->path, l->name, type, why);
    }
    if (!c) { json_decref(extra); return lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory"); }
    int bad = json_array_append_new(list, layer_entry(cls, l->name, c)) != 0;
    if (extra) bad |= json_array_append_new(list, extra) != 0;
    return bad ? lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory") : LT_OK;
}

/* [null, d1, ...] of a shape. */
static json_t *batch_shape(const lt_shape *s)
{
    json_t *a = json_array();
    json_array_append_new(a, json_null());
    for (int i = 0; i < s->rank; i++) json_array_append_new(a, json_integer(s->d[i]));
    return a;
}

/* ----------------------------------------------------------------- weights */

/* Creates group path (and the groups above it) in the file. */
static int make_group(hid_t f, const char *path)
{
    char part[LT_H5_PATH];
    size_t n = strlen(path);
    if (n >= sizeof part) return -1;
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        memcpy(part, path, i);
        part[i] = 0;
        if (H5Lexists(f, part, H5P_DEFAULT) > 0) continue;
        hid_t g = H5Gcreate2(f, part, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return -1;
        H5Gclose(g);
    }
    return 0;
}

/* Writes n floats of the given Keras shape as dataset group/I. */
static int write_var(hid_t f, const char *group, int i, const float *v, int rank, const uint64_t *dims)
{
    char path[2 * LT_H5_PATH];
    snprintf(path, sizeof path, "%s/%d", group, i);
    hsize_t hd[4];
    for (int k = 0; k < rank; k++) hd[k] = dims[k];
    hid_t space = H5Screate_simple(rank, hd, NULL);
    hid_t d = space >= 0 ? H5Dcreate2(f, path, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    if (space >= 0) H5Sclose(space);
    return rc;
}

/* Writes the variables of every layer of m (and its nested models) under base. */
static lt_status write_model_vars(kwriter *w, const lt_model *m, const char *base)
{
    char g[LT_H5_PATH];
    snprintf(g, sizeof g, "%s%svars", base, *base ? "/" : "");
    if (make_group(w->h5, g) != 0) return lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
    lt_used_names used = {0};
    for (int i = 0; i < m->n_items; i++) {
        const lt_item *it = &m->items[i];
        char child[64], where[LT_H5_PATH];
        lt_keras_child_name(&used, it->layer ? lt_keras_class(it->layer) : "Sequential", child, sizeof child);
        snprintf(where, sizeof where, "%s%slayers/%s", base, *base ? "/" : "", child);
        if (it->model) {
            lt_status st = write_model_vars(w, it->model, where);
            if (st != LT_OK) return st;
            continue;
        }
        const lt_layer *l = it->layer;
        const float *v = w->params + l->slot.off;
        for (int t = 0; t < l->n_tensors; v += l->tensor_size[t], t++) {
            char at[LT_H5_PATH + 64];
            uint64_t dims[4];
            int rank = lt_keras_tensor_shape(l, t, dims);
            lt_keras_var_group(l, where, t, at, sizeof at);
            if (make_group(w->h5, at) != 0 || write_var(w->h5, at, lt_keras_var_index(l, t), v, rank, dims) != 0)
                return lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
        }
        if (!l->n_tensors) {
            char at[LT_H5_PATH + 8];
            snprintf(at, sizeof at, "%s/vars", where);
            if (make_group(w->h5, at) != 0) return lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
        }
    }
    return LT_OK;
}

/* The config of m (a Sequential with an InputLayer first) into *out. */
static lt_status model_config(kwriter *w, const lt_model *m, json_t **out)
{
    json_t *list = json_array();
    char iname[80];
    snprintf(iname, sizeof iname, "%.60s_input", m->name);
    lt_status st = LT_OK;
    if (json_array_append_new(list, json_pack("{s:s, s:s, s:{s:o, s:s, s:s}, s:n}", "module", "keras.layers", "class_name", "InputLayer",
                                              "config", "batch_shape", batch_shape(&m->in_shape), "dtype", "float32", "name", iname,
                                              "registered_name")) != 0)
        st = lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory");
    for (int i = 0; st == LT_OK && i < m->n_items; i++) {
        if (m->items[i].model) {
            json_t *inner = NULL;
            st = model_config(w, m->items[i].model, &inner);
            if (st == LT_OK && json_array_append_new(list, inner) != 0) st = lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory");
        } else {
            st = layer_config(w, m->items[i].layer, list);
        }
    }
    if (st != LT_OK) {
        json_decref(list);
        return st;
    }
    *out = json_pack("{s:s, s:s, s:{s:s, s:b, s:s, s:o}, s:n, s:{s:o}}", "module", "keras", "class_name", "Sequential", "config", "name",
                     m->name, "trainable", 1, "dtype", "float32", "layers", list, "registered_name", "build_config", "input_shape",
                     batch_shape(&m->in_shape));
    return *out ? LT_OK : lt_set_error(w->ctx, LT_ERR_NOMEM, "out of host memory");
}

/* ----------------------------------------------------------------- the file */

/* The HDF5 file of the weights, built in memory, as a malloc'd image. */
static lt_status weights_image(kwriter *w, const lt_model *m, void **image, size_t *len)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        return lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
    }
    w->h5 = H5Fcreate("latent-export.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w->h5 < 0) return lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
    lt_status st = write_model_vars(w, m, "");
    if (st == LT_OK && H5Fflush(w->h5, H5F_SCOPE_GLOBAL) < 0) st = lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
    ssize_t n = st == LT_OK ? H5Fget_file_image(w->h5, NULL, 0) : -1;
    *image = n > 0 ? malloc((size_t)n) : NULL;
    if (st == LT_OK && (!*image || H5Fget_file_image(w->h5, *image, (size_t)n) != n)) {
        free(*image);
        *image = NULL;
        st = lt_set_error(w->ctx, LT_ERR_NOMEM, "%s: cannot build the weights file", w->path);
    }
    *len = n > 0 ? (size_t)n : 0;
    H5Fclose(w->h5);
    return st;
}

/* Adds a file of len bytes to the archive (copied by libzip on close). */
static int add_entry(zip_t *z, const char *name, const void *data, size_t len)
{
    zip_source_t *s = zip_source_buffer(z, data, len, 0);
    if (!s) return -1;
    if (zip_file_add(z, name, s, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(s);
        return -1;
    }
    return 0;
}

lt_status lt_export_keras(lt_model *m, const char *path)
{
    if (!m) return LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    if (!path) return lt_set_error(ctx, LT_ERR_ARG, "lt_export_keras: NULL path");
    if (m->parent) return lt_set_error(ctx, LT_ERR_ARG, "%s: export the outermost model ('%s')", m->name, m->parent->name);
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before exporting it", m->name);
    kwriter w = {ctx, path, NULL, -1};
    float *params = malloc((m->n_params ? m->n_params : 1) * sizeof *params);
    if (!params) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    if (lt_be_download(ctx->be, m->params, 0, params, m->n_params) != LT_OK) {
        free(params);
        return lt_set_error(ctx, LT_ERR_DEVICE, "%s: %s", path, lt_be_message(ctx->be));
    }
    w.params = params;
    json_t *config = NULL;
    char *config_text = NULL, *meta = NULL;
    void *weights = NULL;
    size_t weights_len = 0;
    lt_status st = model_config(&w, m, &config);
    if (st == LT_OK && !(config_text = json_dumps(config, JSON_COMPACT))) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    if (st == LT_OK) {
        lt_h5_errors saved;
        lt_h5_lock();
        lt_h5_quiet(&saved);
        st = weights_image(&w, m, &weights, &weights_len);
        lt_h5_restore(&saved);
        lt_h5_unlock();
    }
    json_t *mj = json_pack("{s:s, s:s}", "keras_version", "3.0.0", "date_saved", "latent");
    meta = mj ? json_dumps(mj, JSON_COMPACT) : NULL;
    json_decref(mj);
    /* libzip writes the archive to a temporary file of its own beside path and renames
     * it over path when whole: a failed export leaves what was there */
    if (st == LT_OK) {
        int err = 0;
        zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
        if (!z) {
            st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot create it (libzip error %d)", path, err);
        } else if (!meta || add_entry(z, "metadata.json", meta, strlen(meta)) || add_entry(z, "config.json", config_text, strlen(config_text)) ||
                   add_entry(z, "model.weights.h5", weights, weights_len)) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: cannot assemble the archive: %s", path, zip_strerror(z));
            zip_discard(z);
        } else if (zip_close(z) != 0) {
            st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot write it: %s", path, zip_strerror(z));
            zip_discard(z);
        }
    }
    json_decref(config);
    free(config_text);
    free(meta);
    free(weights);
    free(params);
    return st;
}
