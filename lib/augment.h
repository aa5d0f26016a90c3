/* Augmentation parameters: the per-sample affine maps of Keras's ImageDataGenerator,
 * drawn on the host from the Philox stream and applied on the device by the backend's
 * affine_resample. */
#ifndef LT_AUGMENT_H
#define LT_AUGMENT_H

#include "internal.h"

/* 1 when any transform of a is on (a may be NULL). */
int lt_augment_active(const lt_augment *a);
/* Fills mats with n 2x3 maps (6 floats each, the layout affine_resample takes) for
 * h x w images: sample i's map is drawn from the Philox stream (seed, counter + i), so
 * it depends only on (seed, counter + i). Flips are folded into the map. */
void lt_augment_matrices(const lt_augment *a, int h, int w, uint64_t seed, uint64_t counter, size_t n, float *mats);

#endif
