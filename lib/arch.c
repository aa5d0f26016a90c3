/* Architectures by name (the lecture's models) and a short textual spec for custom
 * dense stacks: "dense:64:elu,dropout:0.2|dense:64:elu,dense:in:sigmoid". '|' splits
 * an encoder from a decoder (each becomes a nested model, as Sequential([enc, dec]));
 * "in" as a width means the model's input width. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* The built-ins: name, encoder spec, decoder spec. */
static const struct { const char *name, *enc, *dec; } builtins[] = {
    {"swissroll-ae", "dense:2:elu", "dense:in:elu"},
    {"swissroll-deep-ae", "dense:2:elu,dense:2:elu,dense:2:elu", "dense:2:elu,dense:2:elu,dense:in:elu"},
    {"mlp-ae", "dense:64:elu,dense:64:elu,dense:64:elu", "dense:64:elu,dense:64:elu,dense:in:elu"},
};

static const char *const builtin_names[] = {"swissroll-ae", "swissroll-deep-ae", "mlp-ae", NULL};

const char *const *lt_arch_names(void) { return builtin_names; }

/* Parses a width: a positive integer or "in". */
static int parse_width(const char *s, int input_dim)
{
    if (strcmp(s, "in") == 0) return input_dim;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v <= 0 || v > (1 << 24) ? -1 : (int)v;
}

/* Parses one token ("dense:64:elu") into a layer, or sets an error. */
static lt_status parse_token(lt_ctx *ctx, char *tok, int input_dim, lt_layer **out)
{
    char *save, *kind = strtok_r(tok, ":", &save), *a1 = strtok_r(NULL, ":", &save), *a2 = strtok_r(NULL, ":", &save);
    char *extra = strtok_r(NULL, ":", &save);
    *out = NULL;
    if (!kind) return lt_set_error(ctx, LT_ERR_ARG, "empty layer in architecture spec");
    if (extra) return lt_set_error(ctx, LT_ERR_ARG, "layer '%s': too many fields", kind);
    lt_act act = LT_LINEAR;
    char *end;
    if (strcmp(kind, "dense") == 0) {
        int w = a1 ? parse_width(a1, input_dim) : -1;
        if (w < 0) return lt_set_error(ctx, LT_ERR_ARG, "dense: width '%s' is not a positive integer or 'in'", a1 ? a1 : "");
        if (a2 && lt_act_parse(a2, &act) != 0) return lt_set_error(ctx, LT_ERR_ARG, "dense: unknown activation '%s'", a2);
        *out = lt_dense(w, act);
    } else if (strcmp(kind, "act") == 0 || strcmp(kind, "activation") == 0) {
        if (!a1 || lt_act_parse(a1, &act) != 0 || a2) return lt_set_error(ctx, LT_ERR_ARG, "act: unknown activation '%s'", a1 ? a1 : "");
        *out = lt_activation(act);
    } else if (strcmp(kind, "dropout") == 0) {
        float r = a1 ? strtof(a1, &end) : -1;
        if (!a1 || *end || a2 || !(r >= 0.0f && r < 1.0f)) return lt_set_error(ctx, LT_ERR_ARG, "dropout: rate '%s' not in [0, 1)", a1 ? a1 : "");
        *out = lt_dropout(r);
    } else if (strcmp(kind, "noise") == 0) {
        float s = a1 ? strtof(a1, &end) : -1;
        if (!a1 || *end || a2 || !(s >= 0.0f && s < 1e6f)) return lt_set_error(ctx, LT_ERR_ARG, "noise: stddev '%s' is not a number >= 0", a1 ? a1 : "");
        *out = lt_gaussian_noise(s);
    } else {
        return lt_set_error(ctx, LT_ERR_ARG, "unknown layer '%s' in architecture spec (expected dense, act, dropout or noise)", kind);
    }
    return *out ? LT_OK : lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
}

/* Fills model m with the comma-separated layers of spec. */
static lt_status add_layers(lt_ctx *ctx, lt_model *m, const char *spec, int input_dim)
{
    char *copy = strdup(spec), *save;
    if (!copy) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    lt_status st = LT_OK;
    int count = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && st == LT_OK; tok = strtok_r(NULL, ",", &save)) {
        lt_layer *l;
        st = parse_token(ctx, tok, input_dim, &l);
        if (st == LT_OK) st = lt_add(m, l);
        count++;
    }
    free(copy);
    if (st == LT_OK && count == 0) st = lt_set_error(ctx, LT_ERR_ARG, "architecture spec has an empty part");
    return st;
}

/* Builds Sequential([enc, dec]) from two specs. */
static lt_status build_ae(lt_ctx *ctx, const char *enc_spec, const char *dec_spec, int input_dim, lt_model **out)
{
    lt_model *enc = NULL, *dec = NULL, *ae = NULL;
    lt_status st = lt_sequential(ctx, NULL, &enc);
    if (st == LT_OK) st = add_layers(ctx, enc, enc_spec, input_dim);
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &dec);
    if (st == LT_OK) st = add_layers(ctx, dec, dec_spec, input_dim);
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &ae);
    if (st == LT_OK) st = lt_add_model(ae, enc);
    if (st == LT_OK) enc = NULL;
    if (st == LT_OK) st = lt_add_model(ae, dec);
    if (st == LT_OK) dec = NULL;
    lt_model_free(enc);
    lt_model_free(dec);
    if (st != LT_OK) { lt_model_free(ae); return st; }
    *out = ae;
    return LT_OK;
}

lt_status lt_arch_build(lt_ctx *ctx, const char *arch, int input_dim, uint64_t seed, lt_model **out)
{
    if (!ctx || !arch || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_arch_build: NULL argument");
    *out = NULL;
    if (input_dim <= 0) return lt_set_error(ctx, LT_ERR_SHAPE, "input width %d must be positive", input_dim);
    lt_model *m = NULL;
    lt_status st = LT_ERR_ARG;
    int found = 0;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(arch, builtins[i].name) == 0) {
            st = build_ae(ctx, builtins[i].enc, builtins[i].dec, input_dim, &m);
            found = 1;
        }
    if (!found) {
        if (!strchr(arch, ':')) {
            char names[256] = "";
            for (const char *const *n = builtin_names; *n; n++) {
                strncat(names, *n, sizeof names - strlen(names) - 3);
                if (n[1]) strcat(names, ", ");
            }
            return lt_set_error(ctx, LT_ERR_ARG, "unknown architecture '%s' (built-ins: %s; or a spec such as "
                                "\"dense:64:elu|dense:in:sigmoid\")", arch, names);
        }
        const char *bar = strchr(arch, '|');
        if (bar) {
            if (strchr(bar + 1, '|')) return lt_set_error(ctx, LT_ERR_ARG, "architecture spec has more than one '|'");
            char *enc = strndup(arch, (size_t)(bar - arch));
            if (!enc) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
            st = build_ae(ctx, enc, bar + 1, input_dim, &m);
            free(enc);
        } else {
            st = lt_sequential(ctx, NULL, &m);
            if (st == LT_OK) st = add_layers(ctx, m, arch, input_dim);
        }
    }
    if (st == LT_OK) st = lt_build(m, input_dim, seed);
    if (st != LT_OK) { lt_model_free(m); return st; }
    *out = m;
    return LT_OK;
}
