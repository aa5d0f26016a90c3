/* Flatten: (h, w, c) -> (h*w*c); the data are already contiguous, so a view (the
 * executor aliases y to x; forward and backward copy, for wrappers). */
#include "layer.h"

/* One axis of all the elements. */
static lt_status flatten_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    lt_layer_set_output(l, &(lt_shape){1, {(int)lt_shape_size(in), 0, 0}}, 0);
    return LT_OK;
}

/* No settings to read. */
static lt_layer *flatten_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    return lt_layer_or_nomem(lt_flatten(), err, errlen);
}

const lt_layer_ops lt_flatten_ops = {
    .type = "Flatten", .file_tag = "flatten", .from_config = flatten_from_config, .build = flatten_build,
    .forward = lt_layer_forward_copy, .backward = lt_layer_backward_copy, .write_config = lt_layer_write_no_config,
    .is_view = 1,
};

/* A Flatten layer. */
lt_layer *lt_flatten(void) { return lt_layer_new(&lt_flatten_ops, sizeof(lt_layer)); }
