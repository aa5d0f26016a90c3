/* Sequential models that nest: building (shapes, one parameter buffer), summaries,
 * accessors and freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include "model.h"

/* Keras's auto-name stem of a layer type ("dense", "add"). */
static const char *name_stem(const lt_layer_ops *ops)
{
    return ops->name ? ops->name : ops->file_tag;
}

/* How many layers of this stem the context has named so far, counting this one. */
static int take_name_count(lt_ctx *ctx, const char *stem)
{
    int n = (int)(sizeof ctx->layer_names / sizeof ctx->layer_names[0]);
    for (int i = 0; i < n; i++) {
        if (!ctx->layer_names[i].tag[0]) snprintf(ctx->layer_names[i].tag, sizeof ctx->layer_names[i].tag, "%s", stem);
        if (strcmp(ctx->layer_names[i].tag, stem) == 0) return ctx->layer_names[i].count++;
    }
    return 0;
}

/* Names l as Keras would ("dense", "dense_1", ...). A wrapper also uses up its inner
 * type's number, as Keras's inner layer, made first, does. */
void lt_name_layer(lt_ctx *ctx, lt_layer *l)
{
    const char *stem = name_stem(l->ops);
    int c = take_name_count(ctx, stem);
    if (c == 0) snprintf(l->name, sizeof l->name, "%s", stem);
    else snprintf(l->name, sizeof l->name, "%s_%d", stem, c);
    const lt_layer_ops *inner = l->ops->wrapped ? l->ops->wrapped(l) : NULL;
    if (inner) take_name_count(ctx, name_stem(inner));
}

/* Model names go into model files as single words: letters, digits, '_', '-', '.'. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) return 0;
    return 1;
}

/* Depth of nesting below m (a model with only layers: 1). */
static int nesting_depth(const lt_model *m)
{
    int d = 0;
    for (int i = 0; i < m->n_items; i++)
        if (m->items[i].model) {
            int k = nesting_depth(m->items[i].model);
            if (k > d) d = k;
        }
    return d + 1;
}

lt_status lt_sequential(lt_ctx *ctx, const char *name, lt_model **out)
{
    if (!ctx) return LT_ERR_ARG;
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_sequential: out is NULL");
    *out = NULL;
    if (name && *name && !valid_name(name))
        return lt_set_error(ctx, LT_ERR_ARG, "model name '%.64s' must be 1-63 letters, digits, '_', '-' or '.'", name);
    lt_model *m = calloc(1, sizeof *m);
    if (!m) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    m->ctx = ctx;
    int c = ctx->model_counter++;
    if (name && *name) snprintf(m->name, sizeof m->name, "%s", name);
    else if (c == 0) snprintf(m->name, sizeof m->name, "sequential");
    else snprintf(m->name, sizeof m->name, "sequential_%d", c);
    *out = m;
    return LT_OK;
}

/* Appends an item, growing the array. */
static lt_status push_item(lt_model *m, lt_item it)
{
    if (m->n_items == m->cap_items) {
        int cap = m->cap_items ? m->cap_items * 2 : 8;
        lt_item *p = realloc(m->items, (size_t)cap * sizeof *p);
        if (!p) return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
        m->items = p;
        m->cap_items = cap;
    }
    m->items[m->n_items++] = it;
    return LT_OK;
}

lt_status lt_add(lt_model *m, lt_layer *layer)
{
    if (!m) { lt_layer_free(layer); return LT_ERR_ARG; }
    if (!layer) return lt_set_error(m->ctx, LT_ERR_ARG, "%s: layer is NULL (bad layer settings or out of memory)", m->name);
    if (layer->name[0]) /* named layers already belong to a model: adding again would free twice */
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: layer '%s' is already in a model", m->name, layer->name);
    if (m->built) { lt_layer_free(layer); return lt_set_error(m->ctx, LT_ERR_ARG, "%s: cannot add layers after build", m->name); }
    lt_name_layer(m->ctx, layer);
    lt_item it = {layer, NULL};
    lt_status st = push_item(m, it);
    if (st != LT_OK) lt_layer_free(layer);
    return st;
}

lt_status lt_add_model(lt_model *m, lt_model *inner)
{
    if (!m || !inner) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_add_model: inner model is NULL") : LT_ERR_ARG;
    if (inner == m || inner->parent || inner->built || m->built)
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: cannot nest '%s' (already nested, built, or itself)", m->name, inner->name);
    for (const lt_model *a = m; a; a = a->parent)
        if (a == inner) return lt_set_error(m->ctx, LT_ERR_ARG, "%s: nesting '%s' would make a cycle", m->name, inner->name);
    int depth = 0;
    for (const lt_model *a = m; a; a = a->parent) depth++;
    if (depth + nesting_depth(inner) > LT_MAX_NESTING)
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: models nest at most %d deep", m->name, LT_MAX_NESTING);
    if (inner->ctx != m->ctx)
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: '%s' belongs to another context", m->name, inner->name);
    lt_item it = {NULL, inner};
    lt_status st = push_item(m, it);
    if (st == LT_OK) inner->parent = m;
    return st;
}

/* Counts the layers of m and its nested models. */
static int count_layers(const lt_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_items; i++) n += m->items[i].layer ? 1 : count_layers(m->items[i].model);
    return n;
}

/* Marks m and its nested models built or not. */
static void set_built(lt_model *m, int built)
{
    m->built = built;
    for (int i = 0; i < m->n_items; i++)
        if (m->items[i].model) set_built(m->items[i].model, built);
}

/* Checks that a built layer's tensor sizes add up to its parameters; a layer that
 * does not split its parameters has one tensor. */
static lt_status check_tensors(lt_ctx *ctx, lt_layer *l)
{
    if (l->n_tensors == 0 && l->n_params > 0) lt_layer_set_tensors(l, 1, (size_t[]){l->n_params});
    size_t total = 0;
    int ok = l->n_tensors >= 0 && l->n_tensors <= LT_MAX_TENSORS;
    for (int i = 0; ok && i < l->n_tensors; i++) total += l->tensor_size[i];
    if (!ok || total != l->n_params)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: its %d parameter tensors do not add up to its %zu parameters", l->name,
                            l->n_tensors, l->n_params);
    return LT_OK;
}

/* Infers shapes depth first, giving each model its flat layer list and each layer its
 * parameter slot (offsets in the outermost buffers, contiguous per model). */
static lt_status build_rec(lt_model *m, const lt_shape *in, const lt_shape *root_in, size_t *param_off, lt_buf *params,
                           lt_buf *grads)
{
    lt_ctx *ctx = m->ctx;
    int n = count_layers(m);
    if (n == 0) return lt_set_error(ctx, LT_ERR_ARG, "model '%s' has no layers", m->name);
    free(m->flat); /* layers may have been added since an earlier, failed build */
    m->flat = calloc((size_t)n, sizeof *m->flat);
    if (!m->flat) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    m->n_flat = 0;
    m->in_shape = *in;
    m->poff = *param_off;
    m->params = params;
    m->grads = grads;
    lt_shape shape = *in;
    for (int i = 0; i < m->n_items; i++) {
        lt_item *it = &m->items[i];
        if (it->layer) {
            lt_layer *l = it->layer;
            l->in_shape = shape;
            l->model_in_shape = *root_in;
            lt_status st = l->ops->build(l, ctx, &shape);
            if (st != LT_OK) return st;
            if (lt_shape_check(&l->out_shape) != 0) {
                char buf[64];
                lt_shape_format(&l->out_shape, buf, sizeof buf);
                return lt_set_error(ctx, LT_ERR_SHAPE, "%s: output shape %s is empty or too large", l->name, buf);
            }
            lt_status tst = check_tensors(ctx, l);
            if (tst != LT_OK) return tst;
            l->in_dim = (int)lt_shape_size(&l->in_shape);
            l->out_dim = (int)lt_shape_size(&l->out_shape);
            l->slot.params = params;
            l->slot.grads = grads;
            l->slot.off = *param_off;
            if (l->n_params > ((size_t)1 << 32) || *param_off + l->n_params > ((size_t)1 << 32))
                return lt_set_error(ctx, LT_ERR_SHAPE, "%s: more than 2^32 parameters in the model", l->name);
            *param_off += l->n_params;
            m->flat[m->n_flat++] = l;
            shape = l->out_shape;
        } else {
            lt_status st = build_rec(it->model, &shape, root_in, param_off, params, grads);
            if (st != LT_OK) return st;
            for (int k = 0; k < it->model->n_flat; k++) m->flat[m->n_flat++] = it->model->flat[k];
            shape = it->model->out_shape;
        }
    }
    m->out_shape = shape;
    m->in_dim = (int)lt_shape_size(&m->in_shape);
    m->out_dim = (int)lt_shape_size(&m->out_shape);
    m->n_params = *param_off - m->poff;
    return LT_OK;
}

lt_status lt_build_shapes_only(lt_model *m, const lt_shape *in)
{
    size_t total = 0;
    if (lt_shape_check(in) != 0) return lt_set_error(m->ctx, LT_ERR_SHAPE, "%s: bad input shape", m->name);
    return build_rec(m, in, in, &total, NULL, NULL);
}

lt_status lt_build_from_shape(lt_model *m, const lt_shape *in, uint64_t seed, int init)
{
    if (!m) return LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (m->parent) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the outermost model ('%s'), not a nested one", m->name, m->parent->name);
    if (m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: already built", m->name);
    /* First pass: shapes and parameter count; then allocate and assign for real. */
    lt_status st = lt_build_shapes_only(m, in);
    if (st != LT_OK) return st;
    size_t total = m->n_params;
    lt_buf *params = NULL, *grads = NULL;
    st = lt_alloc_named(ctx, total ? total : 1, "the parameters", &params);
    if (st == LT_OK) st = lt_alloc_named(ctx, total ? total : 1, "the parameters' gradients", &grads);
    if (st != LT_OK) {
        lt_be_buf_free(be, params);
        return lt_set_error(ctx, st, "%s: %s", m->name, lt_be_message(be));
    }
    total = 0;
    st = build_rec(m, in, in, &total, params, grads);
    m->seed = seed;
    /* Layer i's tensors draw their initial weights from keys lt_init_key(seed, i, t). */
    for (int i = 0; st == LT_OK && init && i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        if (l->n_params) st = l->ops->init(l, be, seed, (uint64_t)i); /* init: only types with parameters */
    }
    if (st == LT_OK && total) st = lt_be_fill(be, grads, 0, total, 0.0f);
    if (st != LT_OK) {
        lt_be_buf_free(be, params);
        lt_be_buf_free(be, grads);
        size_t zero = 0;
        build_rec(m, in, in, &zero, NULL, NULL); /* no slot keeps pointing at the freed buffers */
        return st;
    }
    set_built(m, 1);
    return LT_OK;
}

lt_status lt_build(lt_model *m, int input_dim, uint64_t seed)
{
    lt_shape in = {1, {input_dim, 0, 0}};
    return lt_build_shape(m, 1, &in.d[0], seed);
}

lt_status lt_build_shape(lt_model *m, int rank, const int *dims, uint64_t seed)
{
    if (!m) return LT_ERR_ARG;
    if (rank < 1 || rank > 3 || !dims) return lt_set_error(m->ctx, LT_ERR_SHAPE, "%s: input rank %d (expected 1 to 3)", m->name, rank);
    lt_shape in = {rank, {0, 0, 0}};
    for (int i = 0; i < rank; i++) in.d[i] = dims[i];
    if (lt_shape_check(&in) != 0) {
        char buf[64];
        lt_shape_format(&in, buf, sizeof buf);
        return lt_set_error(m->ctx, LT_ERR_SHAPE, "%s: input shape %s out of range", m->name, buf);
    }
    return lt_build_from_shape(m, &in, seed, 1);
}

int lt_input_shape(const lt_model *m, int dims[3])
{
    if (!m || !m->built) return 0;
    for (int i = 0; i < m->in_shape.rank; i++) dims[i] = m->in_shape.d[i];
    return m->in_shape.rank;
}

int lt_output_shape(const lt_model *m, int dims[3])
{
    if (!m || !m->built) return 0;
    for (int i = 0; i < m->out_shape.rank; i++) dims[i] = m->out_shape.d[i];
    return m->out_shape.rank;
}

size_t lt_param_count(const lt_model *m)
{
    if (!m) return 0;
    if (m->built) return m->n_params;
    size_t n = 0;
    for (int i = 0; i < m->n_items; i++) n += m->items[i].layer ? m->items[i].layer->n_params : lt_param_count(m->items[i].model);
    return n;
}

int lt_input_dim(const lt_model *m) { return m && m->built ? m->in_dim : 0; }
int lt_output_dim(const lt_model *m) { return m && m->built ? m->out_dim : 0; }
const char *lt_model_name(const lt_model *m) { return m ? m->name : ""; }

int lt_submodel_count(const lt_model *m)
{
    int n = 0;
    for (int i = 0; m && i < m->n_items; i++) n += m->items[i].model != NULL;
    return n;
}

lt_model *lt_submodel(lt_model *m, int idx)
{
    for (int i = 0; m && i < m->n_items; i++)
        if (m->items[i].model && idx-- == 0) return m->items[i].model;
    return NULL;
}

/* Formats n with thousands separators, as Keras prints totals. */
static void format_count(size_t n, char *buf, size_t len)
{
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%zu", n);
    size_t o = 0;
    for (int i = 0; i < nd && o + 2 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}

lt_status lt_summary(const lt_model *m, FILE *f)
{
    if (!m || !f) return LT_ERR_ARG;
    if (!m->built) return lt_set_error(m->ctx, LT_ERR_ARG, "%s: build the model before its summary", m->name);
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    /* Keras's columns; the first widens when a name and type do not fit it. */
    int lw = 28;
    for (int i = 0; i < m->n_items; i++) {
        int n = m->items[i].layer ? (int)(strlen(m->items[i].layer->name) + strlen(m->items[i].layer->ops->type) + 3)
                                  : (int)(strlen(m->items[i].model->name) + 13);
        if (n + 1 > lw) lw = n + 1;
    }
    fprintf(f, "Model: \"%s\"\n%s\n %-*s%-26s%-10s\n%s\n", m->name, rule, lw, "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->n_items; i++) {
        char label[128], shape[64];
        const lt_shape *out;
        size_t np;
        if (m->items[i].layer) {
            const lt_layer *l = m->items[i].layer;
            snprintf(label, sizeof label, "%s (%s)", l->name, l->ops->type);
            out = &l->out_shape;
            np = l->n_params;
        } else {
            const lt_model *s = m->items[i].model;
            snprintf(label, sizeof label, "%s (Sequential)", s->name);
            out = &s->out_shape;
            np = s->n_params;
        }
        lt_shape_format(out, shape, sizeof shape);
        fprintf(f, " %-*s%-26s%-10zu\n", lw, label, shape, np);
        if (i + 1 < m->n_items) fprintf(f, "\n");
    }
    char total[40];
    format_count(m->n_params, total, sizeof total);
    fprintf(f, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: 0\n%s\n", dbl, total, total, rule);
    return LT_OK;
}

/* Frees a model's own memory and its nested models; buffers only when outermost. */
static void free_rec(lt_model *m)
{
    lt_backend *be = LT_BE(m);
    for (int i = 0; i < m->n_items; i++) {
        if (m->items[i].layer) lt_layer_free(m->items[i].layer);
        else free_rec(m->items[i].model);
    }
    lt_workspace_free(m);
    lt_optimizer_release(m);
    if (!m->parent) {
        lt_be_buf_free(be, m->params);
        lt_be_buf_free(be, m->grads);
    }
    lt_meta_free(m);
    free(m->items);
    free(m->flat);
    free(m);
}

void lt_model_free(lt_model *m)
{
    if (!m || m->parent) return; /* nested models die with their outermost model */
    free_rec(m);
}

int lt_model_has_penalties(const lt_model *m)
{
    for (int i = 0; m && i < m->n_items; i++) {
        if (m->items[i].layer ? m->items[i].layer->ops->add_loss != NULL : lt_model_has_penalties(m->items[i].model))
            return 1;
    }
    return 0;
}

int lt_model_layer_count(const lt_model *m, const char *type)
{
    int k = 0;
    for (int i = 0; m && type && i < m->n_items; i++) {
        if (m->items[i].layer) k += strcmp(m->items[i].layer->ops->type, type) == 0;
        else k += lt_model_layer_count(m->items[i].model, type);
    }
    return k;
}
