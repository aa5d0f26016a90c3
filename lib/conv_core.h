/* What Conv2D and Conv2DTranspose share (conv_core.c): their settings, read, checked
 * and written as one model-file line, and a layer whose parameters are a kernel then a
 * bias, run through one convolution geometry. Each type's file keeps its output size
 * and which backend op runs which way. */
#ifndef LT_CONV_CORE_H
#define LT_CONV_CORE_H

#include "layer.h"

/* A Conv2D or Conv2DTranspose layer. */
typedef struct lt_conv_layer {
    lt_layer base;
    lt_conv_opts o;  /* settings, defaults filled in                              */
    float alpha;     /* leaky slope / elu alpha                                   */
    int transposed;  /* Conv2DTranspose: the convolution runs from this layer's
                        output image to its input image                           */
    lt_conv_geom g;  /* that convolution for one image, set by build (batch filled
                        per call): Conv2D from input to output, Conv2DTranspose
                        from output (g.in_*) to input (g.out_*)                   */
} lt_conv_layer;

/* A layer of type ops (transposed: Conv2DTranspose, which alone takes output padding)
 * with settings o, defaults filled in, and activation alpha; NULL when a setting is
 * out of range or memory ran out. */
lt_layer *lt_conv_layer_new(const lt_layer_ops *ops, int transposed, const lt_conv_opts *o, float alpha);
/* Reads a model file's settings line for type ops ("TAG: bad or missing settings" in err). */
lt_layer *lt_conv_layer_from_config(const lt_layer_ops *ops, int transposed, const lt_kv *kv, char *err,
                                    size_t errlen);
/* Finishes build once the type has computed the output size out_h x out_w (channels:
 * the filters): the geometry, the output shape and the tensors (kernel, bias). */
void lt_conv_layer_set_shape(lt_conv_layer *c, const lt_shape *in, int out_h, int out_w);
/* The layer ops both types share: Glorot-uniform kernel and zero bias; the forward and
 * backward passes; the settings line; the activation's alpha. */
lt_init_fn lt_conv_layer_init;
lt_forward_fn lt_conv_layer_forward;
lt_backward_fn lt_conv_layer_backward;
lt_write_config_fn lt_conv_layer_write_config;
lt_set_alpha_fn lt_conv_layer_set_alpha;

#endif
