/* PyTorch weights in a safetensors file (an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the bytes), for the
 * torch.nn model equivalent to a latent architecture:
 *   Dense ↔ nn.Linear (weight out x in, transposed here), Conv2D ↔ nn.Conv2d (OIHW to
 *   HWIO), Conv2DTranspose ↔ nn.ConvTranspose2d (IOHW to HWOI), SimpleRNN/LSTM/GRU ↔
 *   nn.RNN/LSTM/GRU (one layer each, or one module's layers _l0, _l1, ... in turn; a
 *   Bidirectional's backward direction is _reverse; the two biases summed, GRU's kept
 *   apart as Keras's reset_after; GRU's gates reordered from r, z, n to z, r, h),
 *   TimeDistributed(Dense) ↔ nn.Linear; Flatten ↔ nn.Flatten, which flattens
 *   channels first, and Reshape to an image ↔ nn.Unflatten to channels first: the
 *   Dense after a Flatten and before a Reshape has its rows or columns permuted to
 *   latent's channels-last order.
 * Modules are matched to latent's layers with weights in order of their names, the
 * numbers of nn.Sequential's names compared as numbers ("2.weight" before
 * "10.weight"), so activations and other modules without weights may sit between. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conv_core.h"
#include "interop.h"

/* The safetensors format's own cap on its header (100 MB). */
#define HEADER_MAX ((uint64_t)100 << 20)
#define MAX_RANK 8

/* One tensor of the file. */
typedef struct st_tensor {
    const char *name;      /* the header's key (owned by the JSON tree)          */
    int dtype;             /* DT_*                                                */
    int rank;
    uint64_t shape[MAX_RANK];
    const unsigned char *data; /* its bytes in the file                          */
    size_t count;          /* elements                                            */
    int used;              /* taken by a layer                                    */
} st_tensor;

enum { DT_F32, DT_F64, DT_F16, DT_BF16 };
static const char *const dtype_names[] = {"F32", "F64", "F16", "BF16"};
static const size_t dtype_size[] = {4, 8, 2, 2};

/* One module with weights: the tensors under one name prefix (for recurrent modules,
 * one of its layers _lK). */
typedef struct st_module {
    char prefix[160];       /* "0", "enc.3", ...                                  */
    int rnn_layer;          /* K of _lK; -1 for weight/bias modules               */
    int t_weight, t_bias;   /* weight/bias: tensor indices, -1 when absent        */
    int t_rnn[2][4];        /* [direction][ih w, hh w, ih b, hh b]                */
} st_module;

/* What a conversion needs: the file's tensors and modules, the context for errors. */
typedef struct st_file {
    lt_ctx *ctx;
    const char *path;
    st_tensor *t;
    int n_t;
    st_module *m;
    int n_m;
} st_file;

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) { /* zero or subnormal: man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Element i of tensor t as a float (the file is little-endian). */
static float element(const st_tensor *t, size_t i)
{
    const unsigned char *p = t->data + i * dtype_size[t->dtype];
    uint64_t u = 0;
    for (size_t k = dtype_size[t->dtype]; k-- > 0;) u = u << 8 | p[k];
    switch (t->dtype) {
    case DT_F32: { uint32_t v = (uint32_t)u; float f; memcpy(&f, &v, 4); return f; }
    case DT_F64: { double d; memcpy(&d, &u, 8); return (float)d; }
    case DT_F16: return half_to_float((uint16_t)u);
    default: { uint32_t v = (uint32_t)u << 16; float f; memcpy(&f, &v, 4); return f; }
    }
}

/* "[64, 784]" */
static void shape_text(const uint64_t *shape, int rank, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && n < len; i++) n += (size_t)snprintf(buf + n, len - n, i ? ", %llu" : "%llu", (unsigned long long)shape[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* Reads the header's entry for one tensor; 0 or an error naming it. */
static lt_status read_entry(st_file *f, const char *name, json_t *v, const unsigned char *data, size_t data_len, st_tensor *t)
{
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"), *off = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(dt) || !json_is_array(shape) || !json_is_array(off) || json_array_size(off) != 2)
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': header entry lacks dtype, shape or data_offsets", f->path, name);
    t->name = name;
    t->dtype = -1;
    for (int k = 0; k < 4; k++)
        if (strcmp(json_string_value(dt), dtype_names[k]) == 0) t->dtype = k;
    if (t->dtype < 0)
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': dtype %.16s (latent reads F32, F64, F16 and BF16)", f->path, name,
                            json_string_value(dt));
    if (json_array_size(shape) > MAX_RANK)
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': rank %zu", f->path, name, json_array_size(shape));
    t->rank = (int)json_array_size(shape);
    uint64_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > ((json_int_t)1 << 40))
            return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': bad shape", f->path, name);
        t->shape[i] = (uint64_t)json_integer_value(d);
        if (t->shape[i] && count > ((uint64_t)1 << 40) / t->shape[i])
            return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': too many elements", f->path, name);
        count *= t->shape[i];
    }
    json_t *b0 = json_array_get(off, 0), *b1 = json_array_get(off, 1);
    if (!json_is_integer(b0) || !json_is_integer(b1) || json_integer_value(b0) < 0 ||
        json_integer_value(b1) < json_integer_value(b0) || (uint64_t)json_integer_value(b1) > data_len)
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': data_offsets outside the file's %zu data bytes", f->path, name,
                            data_len);
    uint64_t begin = (uint64_t)json_integer_value(b0), end = (uint64_t)json_integer_value(b1);
    if (end - begin != count * dtype_size[t->dtype])
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: tensor '%.80s': %llu bytes for %llu %s elements", f->path, name,
                            (unsigned long long)(end - begin), (unsigned long long)count, dtype_names[t->dtype]);
    t->data = data + begin;
    t->count = (size_t)count;
    return LT_OK;
}

/* Compares dotted module names with their numeric parts as numbers. */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *ea = a, *eb = b;
            while (*a == '0' && a[1] >= '0' && a[1] <= '9') a++;
            while (*b == '0' && b[1] >= '0' && b[1] <= '9') b++;
            for (ea = a; *ea >= '0' && *ea <= '9'; ea++) {}
            for (eb = b; *eb >= '0' && *eb <= '9'; eb++) {}
            if (ea - a != eb - b) return ea - a < eb - b ? -1 : 1;
            int c = strncmp(a, b, (size_t)(ea - a));
            if (c) return c;
            a = ea;
            b = eb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int module_cmp(const void *x, const void *y)
{
    const st_module *a = x, *b = y;
    int c = natural_cmp(a->prefix, b->prefix);
    return c ? c : (a->rnn_layer > b->rnn_layer) - (a->rnn_layer < b->rnn_layer);
}

/* Splits a tensor name into its module and role: "3.weight" (role 0), "3.bias" (1),
 * "3.weight_ih_l1_reverse" (recurrent: *k = 1, *dir = 1, *slot = 0..3); -1 for a
 * name latent has no use for. */
static int parse_name(const char *name, char *prefix, size_t plen, int *k, int *dir, int *slot)
{
    const char *dot = strrchr(name, '.');
    const char *leaf = dot ? dot + 1 : name;
    size_t pl = dot ? (size_t)(dot - name) : 0;
    if (pl >= plen) return -1;
    memcpy(prefix, name, pl);
    prefix[pl] = 0;
    *k = -1;
    *dir = 0;
    if (strcmp(leaf, "weight") == 0) return 0;
    if (strcmp(leaf, "bias") == 0) return 1;
    static const char *const roles[] = {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"};
    for (int r = 0; r < 4; r++) {
        size_t n = strlen(roles[r]);
        if (strncmp(leaf, roles[r], n) != 0) continue;
        const char *p = leaf + n;
        int v = 0, digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++) v = v * 10 + (*p - '0');
        if (!digits) return -1;
        if (strcmp(p, "_reverse") == 0) *dir = 1;
        else if (*p) return -1;
        *k = v;
        *slot = r;
        return 2;
    }
    return -1;
}

/* A tensor's place: its module (the name up to the last dot, and a recurrent layer's
 * number) and role, for sorting the tensors into modules. */
typedef struct st_place {
    const char *name;
    size_t plen;        /* the module prefix's length in name */
    int k, role, dir, slot, index;
} st_place;

/* Orders two places by module (prefix, then recurrent layer number); 0: one module. */
static int module_of_cmp(const st_place *a, const st_place *b)
{
    int c = memcmp(a->name, b->name, a->plen < b->plen ? a->plen : b->plen);
    if (!c) c = (a->plen > b->plen) - (a->plen < b->plen);
    return c ? c : (a->k > b->k) - (a->k < b->k);
}

/* By module, then the header's order. */
static int place_cmp(const void *x, const void *y)
{
    const st_place *a = x, *b = y;
    int c = module_of_cmp(a, b);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* Groups the tensors into modules, sorted as nn.Sequential numbers them (by sorting
 * the tensors first: a header may name a million). */
static lt_status find_modules(st_file *f)
{
    f->m = calloc((size_t)f->n_t + 1, sizeof *f->m);
    st_place *pl = calloc((size_t)f->n_t + 1, sizeof *pl);
    if (!f->m || !pl) {
        free(pl);
        return lt_set_error(f->ctx, LT_ERR_NOMEM, "out of host memory");
    }
    for (int i = 0; i < f->n_t; i++) {
        char prefix[160];
        st_place *p = &pl[i];
        p->name = f->t[i].name;
        p->index = i;
        p->role = parse_name(p->name, prefix, sizeof prefix, &p->k, &p->dir, &p->slot);
        if (p->role < 0) {
            free(pl);
            return lt_set_error(f->ctx, LT_ERR_FORMAT,
                                "%s: tensor '%.80s': latent's layers have no such tensor (it reads weight and bias of "
                                "Linear and Conv modules, weight_ih/hh_lK and bias_ih/hh_lK of RNN, LSTM and GRU)",
                                f->path, f->t[i].name);
        }
        p->plen = strlen(prefix);
    }
    qsort(pl, (size_t)f->n_t, sizeof *pl, place_cmp);
    for (int i = 0; i < f->n_t; i++) {
        const st_place *p = &pl[i];
        if (i == 0 || module_of_cmp(p, &pl[i - 1]) != 0) {
            st_module *m = &f->m[f->n_m++];
            snprintf(m->prefix, sizeof m->prefix, "%.*s", (int)p->plen, p->name);
            m->rnn_layer = p->k;
            m->t_weight = m->t_bias = -1;
            for (int d = 0; d < 2; d++)
                for (int r = 0; r < 4; r++) m->t_rnn[d][r] = -1;
        }
        st_module *m = &f->m[f->n_m - 1];
        if (p->role == 0) m->t_weight = p->index;
        else if (p->role == 1) m->t_bias = p->index;
        else m->t_rnn[p->dir][p->slot] = p->index;
    }
    free(pl);
    qsort(f->m, (size_t)f->n_m, sizeof *f->m, module_cmp);
    return LT_OK;
}

/* Checks tensor ti (of module md, for layer l) has the shape latent expects; the
 * message names the tensor, both shapes and the layer. */
static lt_status expect(st_file *f, int ti, const char *role, const st_module *md, const lt_layer *l, int rank, const uint64_t *want)
{
    char w[96], g[96];
    shape_text(want, rank, w, sizeof w);
    if (ti < 0)
        return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: module '%s' has no %s tensor for layer %s (%s), expected shape %s", f->path,
                            md->prefix[0] ? md->prefix : "(top)", role, l->name, l->ops->type, w);
    const st_tensor *t = &f->t[ti];
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == want[i];
    if (!same) {
        shape_text(t->shape, t->rank, g, sizeof g);
        return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: tensor '%.80s' has shape %s; layer %s (%s) expects %s", f->path, t->name, g,
                            l->name, l->ops->type, w);
    }
    f->t[ti].used = 1;
    return LT_OK;
}

/* Where latent's channels-last element i of an h x w x c image sits channels first. */
static size_t chw_index(size_t i, const lt_shape *s)
{
    size_t c = (size_t)s->d[2], hw = i / c, ch = i % c;
    return ch * (size_t)s->d[0] * (size_t)s->d[1] + hw;
}

/* Linear (out x in) -> Dense kernel (in x out) and bias, rows and columns permuted when
 * the input was flattened from, or the output is reshaped to, a channels-first image. */
static lt_status convert_linear(st_file *f, const st_module *md, const lt_layer *l, size_t in, size_t out, const lt_shape *in_img,
                                const lt_shape *out_img, float *dst)
{
    int bias = l->n_tensors == 2; /* Linear(bias=False) for a Dense without one */
    lt_status st = expect(f, md->t_weight, "weight", md, l, 2, (uint64_t[]){out, in});
    if (st == LT_OK && bias) st = expect(f, md->t_bias, "bias", md, l, 1, (uint64_t[]){out});
    if (st != LT_OK) return st;
    const st_tensor *w = &f->t[md->t_weight], *b = bias ? &f->t[md->t_bias] : NULL;
    for (size_t j = 0; j < out; j++) {
        size_t tj = out_img ? chw_index(j, out_img) : j;
        for (size_t i = 0; i < in; i++) dst[i * out + j] = element(w, tj * in + (in_img ? chw_index(i, in_img) : i));
        if (b) dst[in * out + j] = element(b, tj);
    }
    return LT_OK;
}

/* nn.Conv2d (out, in, kh, kw) -> (kh, kw, in, out); nn.ConvTranspose2d (in, out, kh, kw)
 * -> (kh, kw, out, in), in being the layer's input channels either way. */
static lt_status convert_conv(st_file *f, const st_module *md, const lt_layer *l, float *dst)
{
    const lt_conv_layer *c = (const lt_conv_layer *)l;
    size_t kh = (size_t)c->o.kernel_h, kw = (size_t)c->o.kernel_w, out = (size_t)c->o.filters;
    size_t in = (size_t)l->in_shape.d[2];
    uint64_t want[4] = {c->transposed ? in : out, c->transposed ? out : in, kh, kw};
    int bias = l->n_tensors == 2;
    lt_status st = expect(f, md->t_weight, "weight", md, l, 4, want);
    if (st == LT_OK && bias) st = expect(f, md->t_bias, "bias", md, l, 1, (uint64_t[]){out});
    if (st != LT_OK) return st;
    const st_tensor *w = &f->t[md->t_weight], *b = bias ? &f->t[md->t_bias] : NULL;
    size_t a = (size_t)want[0], bb = (size_t)want[1]; /* torch's first two axes */
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++)
            for (size_t i = 0; i < a; i++)
                for (size_t o = 0; o < bb; o++) {
                    /* latent: (kh, kw, in, out) or (kh, kw, out, in): the torch axes swapped */
                    size_t li = ((y * kw + x) * bb + o) * a + i;
                    dst[li] = element(w, ((i * bb + o) * kh + y) * kw + x);
                }
    for (size_t o = 0; b && o < out; o++) dst[kh * kw * in * out + o] = element(b, o);
    return LT_OK;
}

/* Which torch gate block feeds Keras's gate block g: GRU's z, r, h are torch's 1, 0, 2;
 * LSTM's i, f, c, o and SimpleRNN's one block are the same order in both. */
static size_t torch_gate(int gates, size_t g)
{
    return gates == 3 ? (g == 0 ? 1 : g == 1 ? 0 : 2) : g;
}

/* One direction of a recurrent layer from module md's tensors of direction dir: kernel
 * (F x G), recurrent kernel (U x G), bias (G; GRU 2 x G: input then recurrent). */
static lt_status convert_rnn(st_file *f, const st_module *md, int dir, const lt_layer *l, int gates, size_t F, size_t U, float *dst)
{
    size_t G = (size_t)gates * U;
    const char *roles[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    uint64_t shapes[4][2] = {{G, F}, {G, U}, {G, 0}, {G, 0}};
    for (int r = 0; r < 4; r++) {
        lt_status st = expect(f, md->t_rnn[dir][r], roles[r], md, l, r < 2 ? 2 : 1, shapes[r]);
        if (st != LT_OK) return st;
    }
    const st_tensor *wi = &f->t[md->t_rnn[dir][0]], *wh = &f->t[md->t_rnn[dir][1]];
    const st_tensor *bi = &f->t[md->t_rnn[dir][2]], *bh = &f->t[md->t_rnn[dir][3]];
    float *k = dst, *r = dst + F * G, *b = r + U * G;
    for (size_t g = 0; g < G; g++) {
        size_t tg = torch_gate(gates, g / U) * U + g % U; /* torch's row for Keras's column g */
        for (size_t i = 0; i < F; i++) k[i * G + g] = element(wi, tg * F + i);
        for (size_t i = 0; i < U; i++) r[i * G + g] = element(wh, tg * U + i);
        if (gates == 3) {
            b[g] = element(bi, tg);
            b[G + g] = element(bh, tg);
        } else {
            b[g] = element(bi, tg) + element(bh, tg);
        }
    }
    return LT_OK;
}

/* A recurrent layer (or a Bidirectional's two directions) from one module. */
static lt_status convert_recurrent(st_file *f, const st_module *md, const lt_layer *l, float *dst)
{
    const char *type = l->ops->type;
    int bidi = strcmp(type, "Bidirectional") == 0, dirs = bidi ? 2 : 1;
    /* the cell from the recurrent kernel's size: SimpleRNN U*U, LSTM 4U*U, GRU 3U*U;
     * tensors per direction: kernel, recurrent kernel, bias */
    if (l->n_tensors != 3 * dirs)
        return lt_set_error(f->ctx, LT_ERR_UNSUPPORTED, "%s: layer %s (%s) starts from a state, which no torch.nn module does", f->path,
                            l->name, type);
    int gates;
    size_t F, U;
    if (lt_rnn_dims(l, &gates, &F, &U) != 0) return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: layer %s: unexpected tensor sizes", f->path, l->name);
    size_t per_dir = l->n_params / (size_t)dirs;
    if (md->rnn_layer < 0)
        return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: module '%s' holds Linear or Conv weights; layer %s (%s) needs weight_ih_l%s", f->path,
                            md->prefix, l->name, type, "K");
    for (int d = 0; d < dirs; d++) {
        lt_status st = convert_rnn(f, md, d, l, gates, F, U, dst + (size_t)d * per_dir);
        if (st != LT_OK) return st;
    }
    if (!bidi && md->t_rnn[1][0] >= 0)
        return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: module '%s' is bidirectional (it has _reverse tensors); layer %s is a %s", f->path,
                            md->prefix, l->name, type);
    return LT_OK;
}

/* Nonzero for layers that change no element's place (the torch order passes through). */
static int keeps_order(const lt_layer *l)
{
    static const char *const types[] = {"Activation", "LeakyReLU", "Dropout", "GaussianNoise", "Sparsity", "ActivityL1"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(l->ops->type, types[i]) == 0) return 1;
    return 0;
}

/* The image a flat activation is reshaped to after layer i, when torch's Unflatten
 * puts it channels first (so the Dense before must permute its outputs). */
static const lt_shape *reshaped_image_after(lt_model *m, int i)
{
    for (int j = i + 1; j < m->n_flat; j++) {
        const lt_layer *l = m->flat[j];
        if (keeps_order(l)) continue;
        if (strcmp(l->ops->type, "Reshape") == 0 && l->out_shape.rank == 3 && l->out_shape.d[2] > 1) return &l->out_shape;
        return NULL;
    }
    return NULL;
}

/* Converts every layer's weights, in order, into params (host copy of the model's). */
static lt_status convert_all(st_file *f, lt_model *m, float *params)
{
    int next = 0;
    const lt_shape *flat_from = NULL; /* the channels-first image the current flat activation came from */
    for (int i = 0; i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        const char *type = l->ops->type;
        if (strcmp(type, "Flatten") == 0) {
            flat_from = l->in_shape.rank == 3 && l->in_shape.d[2] > 1 ? &l->in_shape : NULL;
            continue;
        }
        if (!l->n_params) {
            if (flat_from && !keeps_order(l))
                return lt_set_error(f->ctx, LT_ERR_UNSUPPORTED,
                                    "%s: layer %s (%s) takes a flattened image, which torch flattens channels first; only a "
                                    "Dense can take it here", f->path, l->name, type);
            continue;
        }
        if (next == f->n_m) {
            return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: the file's %d module%s with weights end before layer %s (%s)", f->path, f->n_m,
                                f->n_m == 1 ? "" : "s", l->name, type);
        }
        const st_module *md = &f->m[next++];
        float *dst = params + (l->slot.off - m->poff);
        lt_status st;
        int td = strcmp(type, "TimeDistributed") == 0;
        if (strcmp(type, "Dense") == 0 || td) {
            size_t out = (size_t)l->out_shape.d[l->out_shape.rank - 1], in = l->tensor_size[0] / out;
            const lt_shape *out_img = td ? NULL : reshaped_image_after(m, i);
            if (out_img && l->out_shape.rank != 1) /* its outputs are one axis of several: no channels-first order to undo */
                return lt_set_error(f->ctx, LT_ERR_UNSUPPORTED,
                                    "%s: layer %s (Dense) acts on the last axis of a rank-%d input and is then reshaped to an image; "
                                    "torch.nn has no module in that place (put a Flatten before the Dense)",
                                    f->path, l->name, l->in_shape.rank);
            st = convert_linear(f, md, l, in, out, flat_from, out_img, dst);
        } else if (strcmp(type, "Conv2D") == 0 || strcmp(type, "Conv2DTranspose") == 0) {
            st = convert_conv(f, md, l, dst);
        } else if (strcmp(type, "SimpleRNN") == 0 || strcmp(type, "LSTM") == 0 || strcmp(type, "GRU") == 0 ||
                   strcmp(type, "Bidirectional") == 0) {
            st = convert_recurrent(f, md, l, dst);
        } else {
            st = lt_set_error(f->ctx, LT_ERR_UNSUPPORTED, "%s: layer %s (%s): no torch.nn module to read it from", f->path, l->name, type);
        }
        if (st != LT_OK) return st;
        flat_from = NULL;
    }
    if (next < f->n_m)
        return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: module '%s' and %d more with weights are left over after the architecture's last layer",
                            f->path, f->m[next].prefix, f->n_m - next - 1);
    for (int i = 0; i < f->n_t; i++)
        if (!f->t[i].used)
            return lt_set_error(f->ctx, LT_ERR_SHAPE, "%s: tensor '%.80s' belongs to no layer of the architecture", f->path, f->t[i].name);
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(params[i])) {
            return lt_set_error(f->ctx, LT_ERR_NONFINITE, "%s: a NaN or infinite weight (parameter %zu of the model)", f->path, i);
        }
    return LT_OK;
}

/* Parses the header into f->t (names point into root, which the caller frees). */
static lt_status read_header(st_file *f, const lt_bytes *file, json_t **root)
{
    const unsigned char *p = file->data;
    *root = NULL;
    if (file->len < 8) return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file", f->path, file->len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | p[i];
    if (n > HEADER_MAX || n > file->len - 8)
        return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: header of %llu bytes in a file of %zu (or over the format's 100 MB)", f->path,
                            (unsigned long long)n, file->len);
    json_error_t err;
    *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!*root) return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: header is not JSON: %s (byte %d)", f->path, err.text, err.position);
    if (!json_is_object(*root)) return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: header is not a JSON object", f->path);
    size_t count = json_object_size(*root);
    f->t = calloc(count + 1, sizeof *f->t);
    if (!f->t) return lt_set_error(f->ctx, LT_ERR_NOMEM, "out of host memory");
    const char *key;
    json_t *v;
    json_object_foreach(*root, key, v) {
        if (strcmp(key, "__metadata__") == 0) continue;
        lt_status st = read_entry(f, key, v, p + 8 + n, (size_t)(file->len - 8 - n), &f->t[f->n_t]);
        if (st != LT_OK) return st;
        f->n_t++;
    }
    if (f->n_t == 0) return lt_set_error(f->ctx, LT_ERR_FORMAT, "%s: holds no tensors", f->path);
    return LT_OK;
}

lt_status lt_import_safetensors(lt_ctx *ctx, const char *path, const lt_bytes *file, const lt_import_opts *opts, lt_model **out)
{
    if (!opts->arch || !opts->input_rank)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: a safetensors file holds weights only: give the architecture and its input shape", path);
    st_file f = {ctx, path, NULL, 0, NULL, 0};
    json_t *root = NULL;
    lt_model *m = NULL;
    float *params = NULL;
    lt_status st = read_header(&f, file, &root);
    if (st == LT_OK) st = find_modules(&f);
    if (st == LT_OK) st = lt_arch_build_shape(ctx, opts->arch, opts->input_rank, opts->input_dims, opts->seed, &m);
    if (st == LT_OK && !(params = calloc(m->n_params ? m->n_params : 1, sizeof *params)))
        st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    if (st == LT_OK) st = lt_be_download(ctx->be, m->params, 0, params, m->n_params);
    if (st == LT_OK) st = convert_all(&f, m, params);
    if (st == LT_OK) st = lt_be_upload(ctx->be, m->params, 0, params, m->n_params);
    free(params);
    free(f.t);
    free(f.m);
    json_decref(root);
    if (st != LT_OK) {
        lt_model_free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}
