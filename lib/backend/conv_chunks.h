/* How a convolution's im2col rows are cut into chunks: the pure arithmetic of both
 * backends' chunked im2col-then-GEMM loops. There is one im2col row per output pixel,
 * s->rows of them (batch*out_h*out_w), each s->kcols floats; a chunk is a run of rows
 * whose columns fit a byte budget, so the column buffer stays bounded whatever the
 * batch. Each backend picks its own budget and cut (the chunk boundaries decide the
 * order of backward_filter's sums, so they must not change under a backend):
 *   cut anywhere (the CPU fallback):  lt_conv_chunks_flat
 *   whole images, or parts of one (OpenCL, whose col2im then overwrites whole images):
 *                                     lt_conv_chunks_by_image
 * and walks the rows as
 *   for (size_t r0 = 0, len; r0 < c.rows; r0 += len) { len = lt_conv_chunk_len(&c, r0); ... }
 * Pure functions of a checked geometry (lt_conv_sizes_of); nothing here allocates. */
#ifndef LT_CONV_CHUNKS_H
#define LT_CONV_CHUNKS_H

#include <stddef.h>
#include "backend.h"

/* The cut of a convolution's im2col rows into chunks. */
typedef struct lt_conv_chunks {
    size_t rows;    /* im2col rows in all: batch*out_h*out_w                    */
    size_t per_img; /* rows of one image: out_h*out_w                           */
    size_t chunk;   /* rows of a full chunk, 1 .. rows                          */
    int by_image;   /* chunks never straddle images (lt_conv_chunks_by_image)   */
} lt_conv_chunks;

/* Rows whose columns fit budget bytes: at least one (however wide), at most s->rows. */
static inline size_t lt_conv_rows_in_budget(const lt_conv_sizes *s, size_t budget)
{
    size_t fit = budget / (s->kcols * sizeof(float)); /* kcols <= SIZE_MAX / 4: no overflow */
    if (fit < 1) fit = 1;
    return fit < s->rows ? fit : s->rows;
}

/* Chunks of lt_conv_rows_in_budget rows cut anywhere, the last one shorter. */
static inline lt_conv_chunks lt_conv_chunks_flat(const lt_conv_geom *g, const lt_conv_sizes *s, size_t budget)
{
    lt_conv_chunks c = {s->rows, (size_t)g->out_h * (size_t)g->out_w, lt_conv_rows_in_budget(s, budget), 0};
    return c;
}

/* Chunks of as many whole images as fit budget bytes, or, when one image does not fit,
 * of parts of one image (lt_conv_rows_in_budget rows, cut short at the image's end). */
static inline lt_conv_chunks lt_conv_chunks_by_image(const lt_conv_geom *g, const lt_conv_sizes *s, size_t budget)
{
    lt_conv_chunks c = lt_conv_chunks_flat(g, s, budget);
    c.by_image = 1;
    if (c.chunk >= c.per_img) c.chunk = c.chunk / c.per_img * c.per_img; /* rows is a multiple */
    return c;
}

/* 1 when chunks are parts of single images (by_image with an image over the budget). */
static inline int lt_conv_chunks_split(const lt_conv_chunks *c) { return c->by_image && c->chunk < c->per_img; }

/* Rows of the chunk starting at row r0: a full chunk, cut short at the end of the batch
 * and, when chunks are parts of images, at the end of r0's image. */
static inline size_t lt_conv_chunk_len(const lt_conv_chunks *c, size_t r0)
{
    size_t len = c->rows - r0 < c->chunk ? c->rows - r0 : c->chunk;
    if (lt_conv_chunks_split(c)) {
        size_t end = (r0 / c->per_img + 1) * c->per_img;
        if (len > end - r0) len = end - r0;
    }
    return len;
}

#endif
