/* Sequential models that nest: building (shapes, one parameter buffer), summaries,
 * accessors and freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

void lt_name_layer(lt_ctx *ctx, lt_layer *l)
{
    const char *tag = l->ops->file_tag;
    int n = (int)(sizeof ctx->layer_names / sizeof ctx->layer_names[0]);
    for (int i = 0; i < n; i++) {
        if (!ctx->layer_names[i].tag[0]) snprintf(ctx->layer_names[i].tag, sizeof ctx->layer_names[i].tag, "%s", tag);
        if (strcmp(ctx->layer_names[i].tag, tag) == 0) {
            int c = ctx->layer_names[i].count++;
            if (c == 0) snprintf(l->name, sizeof l->name, "%s", tag);
            else snprintf(l->name, sizeof l->name, "%s_%d", tag, c);
            return;
        }
    }
    snprintf(l->name, sizeof l->name, "%s", tag);
}

lt_status lt_sequential(lt_ctx *ctx, const char *name, lt_model **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_sequential: out is NULL");
    *out = NULL;
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

/* Infers shapes depth first, assigning each model its flat layer list and each layer its
 * parameter slot (offsets in the outermost buffers, contiguous per model). */
static lt_status build_rec(lt_model *m, int in_dim, size_t *param_off, lt_buf *params, lt_buf *grads, int shapes_only)
{
    lt_ctx *ctx = m->ctx;
    int n = count_layers(m);
    if (n == 0) return lt_set_error(ctx, LT_ERR_ARG, "model '%s' has no layers", m->name);
    if (!m->flat) {
        m->flat = calloc((size_t)n, sizeof *m->flat);
        if (!m->flat) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    }
    m->n_flat = 0;
    m->in_dim = in_dim;
    m->poff = *param_off;
    m->params = params;
    m->grads = grads;
    int dim = in_dim;
    for (int i = 0; i < m->n_items; i++) {
        lt_item *it = &m->items[i];
        if (it->layer) {
            lt_layer *l = it->layer;
            lt_status st = l->ops->build(l, ctx, dim);
            if (st != LT_OK) return st;
            l->slot.params = params;
            l->slot.grads = grads;
            l->slot.off = *param_off;
            *param_off += l->n_params;
            m->flat[m->n_flat++] = l;
            dim = l->out_dim;
        } else {
            lt_status st = build_rec(it->model, dim, param_off, params, grads, shapes_only);
            if (st != LT_OK) return st;
            for (int k = 0; k < it->model->n_flat; k++) m->flat[m->n_flat++] = it->model->flat[k];
            dim = it->model->out_dim;
        }
    }
    m->out_dim = dim;
    m->n_params = *param_off - m->poff;
    m->built = !shapes_only;
    for (int i = 0; i < m->n_items && !shapes_only; i++)
        if (m->items[i].model) m->items[i].model->built = 1;
    return LT_OK;
}

lt_status lt_build(lt_model *m, int input_dim, uint64_t seed)
{
    if (!m) return LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (m->parent) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the outermost model ('%s'), not a nested one", m->name, m->parent->name);
    if (m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: already built", m->name);
    if (input_dim <= 0 || input_dim > (1 << 26)) return lt_set_error(ctx, LT_ERR_SHAPE, "%s: input width %d out of range", m->name, input_dim);
    /* First pass: shapes and parameter count; then allocate and assign for real. */
    size_t total = 0;
    lt_status st = build_rec(m, input_dim, &total, NULL, NULL, 1);
    if (st != LT_OK) return st;
    lt_buf *params = NULL, *grads = NULL;
    size_t nalloc = total ? total : 1;
    st = be->ops->buf_alloc(be, nalloc, &params);
    if (st == LT_OK) st = be->ops->buf_alloc(be, nalloc, &grads);
    if (st != LT_OK) {
        be->ops->buf_free(be, params);
        lt_from_backend(ctx, st);
        return lt_set_error(ctx, st, "%s: cannot allocate %zu parameters: %s", m->name, total, be->error);
    }
    total = 0;
    st = build_rec(m, input_dim, &total, params, grads, 0);
    m->seed = seed;
    /* Layer i draws its initial weights from counter region i << 40 of the seed's stream. */
    for (int i = 0; st == LT_OK && i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        if (l->n_params) st = lt_from_backend(ctx, l->ops->init(l, be, seed, (uint64_t)i << 40));
    }
    if (st == LT_OK && total) st = lt_from_backend(ctx, be->ops->fill(be, grads, 0, total, 0.0f));
    if (st != LT_OK) {
        m->built = 0;
        return st;
    }
    return LT_OK;
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
    fprintf(f, "Model: \"%s\"\n%s\n %-28s%-26s%-10s\n%s\n", m->name, rule, "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->n_items; i++) {
        char label[128], shape[32];
        int out;
        size_t np;
        if (m->items[i].layer) {
            const lt_layer *l = m->items[i].layer;
            snprintf(label, sizeof label, "%s (%s)", l->name, l->ops->type);
            out = l->out_dim;
            np = l->n_params;
        } else {
            const lt_model *s = m->items[i].model;
            snprintf(label, sizeof label, "%s (Sequential)", s->name);
            out = s->out_dim;
            np = s->n_params;
        }
        snprintf(shape, sizeof shape, "(None, %d)", out);
        fprintf(f, " %-28s%-26s%-10zu\n", label, shape, np);
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
    be->ops->buf_free(be, m->train.state);
    if (!m->parent) {
        be->ops->buf_free(be, m->params);
        be->ops->buf_free(be, m->grads);
    }
    free(m->items);
    free(m->flat);
    free(m);
}

void lt_model_free(lt_model *m)
{
    if (!m || m->parent) return; /* nested models die with their outermost model */
    free_rec(m);
}
