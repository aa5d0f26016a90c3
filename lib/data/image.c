/* Image files: PNG/JPEG/BMP loading into a one-sample dataset, PNG saving and resizing.
 * stb_image, stb_image_write and stb_image_resize are compiled in stb_impl.c; headers
 * are checked against LT_IMAGE_MAX_* before anything is decoded or allocated. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "stb_decls.h"

/* Largest float count accepted by save and resize (keeps stb's int strides in range). */
#define IMAGE_MAX_FLOATS ((uint64_t)LT_IMAGE_MAX_PIXELS * 4u)

/* Checks an h x w x c float image argument: sizes >= 1, c in 1..cmax, within limits. */
static lt_status check_dims(lt_ctx *ctx, const char *fn, const char *what, int h, int w, int c, int cmax)
{
    if (h < 1 || w < 1 || c < 1 || c > cmax)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: bad %s shape %dx%dx%d (sizes >= 1, channels 1..%d)", fn, what,
                            h, w, c, cmax);
    if (h > LT_IMAGE_MAX_SIDE || w > LT_IMAGE_MAX_SIDE || (uint64_t)h * (uint64_t)w > LT_IMAGE_MAX_PIXELS ||
        (uint64_t)h * (uint64_t)w * (uint64_t)c > IMAGE_MAX_FLOATS)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %s of %dx%dx%d is too large (at most %d a side, %u pixels)", fn,
                            what, h, w, c, LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS);
    return LT_OK;
}

/* [0,1] to a byte, clipping; NaN goes to 0. */
static unsigned char unit_to_byte(float v)
{
    return v > 0.0f ? (v < 1.0f ? (unsigned char)(v * 255.0f + 0.5f) : 255) : 0;
}

/* Image size from a PNG or BMP header (stb's info calls lose their reason when a header
 * is too large for them); 1 if found, 0 for other or short files. Rewinds f. */
static int peek_size(FILE *f, int64_t *w, int64_t *h)
{
    unsigned char b[26];
    size_t n = fread(b, 1, sizeof b, f);
    rewind(f);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (n >= 24 && memcmp(b, png_sig, 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = ((int64_t)b[16] << 24) | ((int64_t)b[17] << 16) | ((int64_t)b[18] << 8) | b[19];
        *h = ((int64_t)b[20] << 24) | ((int64_t)b[21] << 16) | ((int64_t)b[22] << 8) | b[23];
        return 1;
    }
    if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
        uint32_t hs = (uint32_t)b[14] | ((uint32_t)b[15] << 8) | ((uint32_t)b[16] << 16) | ((uint32_t)b[17] << 24);
        if (hs == 12) {
            *w = b[18] | (b[19] << 8);
            *h = b[20] | (b[21] << 8);
            return 1;
        }
        if (hs >= 40) {
            int32_t ww = (int32_t)((uint32_t)b[18] | ((uint32_t)b[19] << 8) | ((uint32_t)b[20] << 16) |
                                   ((uint32_t)b[21] << 24));
            int32_t hh = (int32_t)((uint32_t)b[22] | ((uint32_t)b[23] << 8) | ((uint32_t)b[24] << 16) |
                                   ((uint32_t)b[25] << 24));
            *w = ww;
            *h = hh < 0 ? -(int64_t)hh : hh; /* negative: top-down rows */
            return 1;
        }
    }
    return 0;
}

/* Whether f starts as stb_image takes a JPEG to start: its start-of-image marker, FF D8,
 * after any number of FF fill bytes (stb skips them, and after SOI any bytes up to the
 * next marker). Reads f from its start and leaves it after the SOI marker. */
static int jpeg_soi(FILE *f)
{
    rewind(f);
    int c = getc(f);
    if (c != 0xFF) return 0;
    do c = getc(f); while (c == 0xFF);
    return c == 0xD8;
}

/* Why a JPEG's Huffman tables are unusable, or NULL: a DHT table of more than 256
 * codes overruns the decoder's tables in the stb_image Debian 12 ships (2.27), so every
 * DHT segment is checked first, those after each scan's entropy-coded data included.
 * Reads f from its start. */
static const char *bad_jpeg_huffman(FILE *f)
{
    if (!jpeg_soi(f)) return NULL;
    for (;;) {
        int c = getc(f);
        if (c == EOF) return NULL;
        if (c != 0xFF) continue; /* entropy-coded data: look for the next marker */
        int m;
        do m = getc(f); while (m == 0xFF);
        if (m == EOF || m == 0xD9) return NULL;
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* stuffed byte, TEM, RSTn */
        int hi = getc(f), lo = getc(f);
        if (hi == EOF || lo == EOF) return NULL;
        long len = (long)(hi << 8 | lo) - 2;
        if (len < 0) return "a segment with a bad length";
        if (m != 0xC4) { /* skip the segment; SOS's entropy-coded data are scanned above */
            if (fseek(f, len, SEEK_CUR) != 0) return NULL;
            continue;
        }
        while (len > 0) { /* DHT: tables of class/id, 16 counts, then the symbols */
            unsigned char counts[17];
            if (len < 17 || fread(counts, 1, 17, f) != 17) return "a Huffman table (DHT) cut short";
            long total = 0;
            for (int i = 1; i <= 16; i++) total += counts[i];
            if (total > 256) return "a Huffman table (DHT) of more than 256 codes";
            if (17 + total > len) return "a Huffman table (DHT) longer than its segment";
            if (fseek(f, total, SEEK_CUR) != 0) return NULL;
            len -= 17 + total;
        }
    }
}

/* Why a BMP, PNG or JPEG file is cut short or unsafe to decode, or NULL when it looks
 * whole. stb_image decodes cut files without complaint, filling the missing part with
 * black, so the loader checks what it can: a BMP's headers and its uncompressed pixel
 * rows against the file size, a PNG's chunk lengths, a JPEG's Huffman tables and its
 * end-of-image marker near the end. Rewinds f. */
static const char *truncation(FILE *f)
{
    unsigned char b[34];
    size_t n = fread(b, 1, sizeof b, f);
    const char *why = NULL;
    if (fseek(f, 0, SEEK_END) != 0) { rewind(f); return NULL; }
    long size = ftell(f);
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') {
        uint32_t off = n >= 14 ? (uint32_t)b[10] | ((uint32_t)b[11] << 8) | ((uint32_t)b[12] << 16) | ((uint32_t)b[13] << 24) : 0;
        uint32_t hs = n >= 18 ? (uint32_t)b[14] | ((uint32_t)b[15] << 8) | ((uint32_t)b[16] << 16) | ((uint32_t)b[17] << 24) : 0;
        if (n < 18 || (int64_t)14 + hs > (int64_t)size || (int64_t)off > (int64_t)size)
            why = "its headers end before the file's size says";
        else if (hs >= 40 && n >= 34) {
            int64_t w = (int32_t)((uint32_t)b[18] | ((uint32_t)b[19] << 8) | ((uint32_t)b[20] << 16) | ((uint32_t)b[21] << 24));
            int64_t h = (int32_t)((uint32_t)b[22] | ((uint32_t)b[23] << 8) | ((uint32_t)b[24] << 16) | ((uint32_t)b[25] << 24));
            int bpp = b[28] | (b[29] << 8);
            uint32_t comp = (uint32_t)b[30] | ((uint32_t)b[31] << 8) | ((uint32_t)b[32] << 16) | ((uint32_t)b[33] << 24);
            if (h < 0) h = -h;
            /* uncompressed, or bit-field masks (3, 6): whole rows of bpp bits, 4-byte aligned;
             * stb_image 2.27 takes any other code but RLE's (1, 2) for uncompressed too */
            int plain = comp == 0 || comp == 3 || comp == 6;
            if (!plain && comp != 1 && comp != 2)
                why = "an unknown compression code in its header (BMP images are read uncompressed or with bit "
                      "fields)";
            else if (plain && bpp >= 1 && bpp <= 32 && w > 0 && w <= LT_IMAGE_MAX_SIDE && h <= LT_IMAGE_MAX_SIDE) {
                int64_t row = ((w * bpp + 31) / 32) * 4;
                if ((int64_t)off + row * h > (int64_t)size) why = "its pixel rows end before the file's size says";
            }
        }
    } else if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
        /* every chunk's length against the file: stb_image grows its buffer to what an IDAT
         * chunk claims before reading it (2 GB for a 100-byte file) */
        long pos = 8;
        unsigned char ch[8];
        while (!why && size - pos >= 8 && fseek(f, pos, SEEK_SET) == 0 && fread(ch, 1, 8, f) == 8) {
            uint32_t len = (uint32_t)ch[0] << 24 | (uint32_t)ch[1] << 16 | (uint32_t)ch[2] << 8 | ch[3];
            if ((int64_t)len + 12 > (int64_t)size - pos) why = "a chunk runs past the end of the file";
            else if (memcmp(ch + 4, "IEND", 4) == 0) break;
            pos += 12 + (long)len;
        }
    } else if (size >= 4 && jpeg_soi(f)) { /* as stb_image sees a JPEG (fill bytes before SOI too) */
        unsigned char tail[1024];
        long from = size > (long)sizeof tail ? size - (long)sizeof tail : 0;
        size_t got = fseek(f, from, SEEK_SET) == 0 ? fread(tail, 1, (size_t)(size - from), f) : 0;
        int eoi = 0;
        for (size_t i = 0; i + 1 < got && !eoi; i++) eoi = tail[i] == 0xFF && tail[i + 1] == 0xD9;
        if (!eoi) why = "no end-of-image marker near its end";
        if (!why) why = bad_jpeg_huffman(f);
    }
    rewind(f);
    return why;
}

/* Loads an image file into a one-sample h x w x c dataset of floats in [0,1]. */
lt_status lt_image_load(lt_ctx *ctx, const char *path, int channels, lt_dataset **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_load: NULL argument");
    if (channels != 0 && channels != 1 && channels != 3)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_image_load: channels must be 0, 1 or 3 (got %d)", channels);
    lt_status opened;
    FILE *f = lt_fopen_regular(ctx, path, &opened);
    if (!f) return opened;
    int64_t pw = 0, ph = 0;
    if (peek_size(f, &pw, &ph) && (pw <= 0 || ph <= 0)) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: header claims %lldx%lld pixels: an image needs at least one", path,
                            (long long)pw, (long long)ph);
    }
    if ((pw > LT_IMAGE_MAX_SIDE || ph > LT_IMAGE_MAX_SIDE || (uint64_t)pw * (uint64_t)ph > LT_IMAGE_MAX_PIXELS)) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: header claims %lldx%lld pixels, over the size limit (at "
                            "most %d pixels a side and %u pixels)", path, (long long)pw, (long long)ph,
                            LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS);
    }
    const char *cut = truncation(f);
    if (cut) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: truncated or damaged image (%s)", path, cut);
    }
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_file(f, &w, &h, &comp)) {
        const char *why = stbi_failure_reason();
        fclose(f);
        if (why && strstr(why, "large")) /* stb's own size checks on the header */
            return lt_set_error(ctx, LT_ERR_FORMAT, "%s: image is over the size limit (at most %d pixels a side "
                                "and %u pixels; %s)", path, LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS, why);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: not a readable PNG, JPEG or BMP image (%s)", path,
                            why ? why : "unknown error");
    }
    if (h < 0 && h != INT_MIN) h = -h; /* stb's info gives a top-down BMP's height negated, as the header stores it */
    if (w <= 0 || h <= 0) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: image of %dx%d pixels: an image needs at least one", path, w, h);
    }
    if (w > LT_IMAGE_MAX_SIDE || h > LT_IMAGE_MAX_SIDE || (uint64_t)w * (uint64_t)h > LT_IMAGE_MAX_PIXELS) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: image of %dx%d pixels is over the size limit (at most %d pixels a side "
                            "and %u pixels)", path, w, h, LT_IMAGE_MAX_SIDE, LT_IMAGE_MAX_PIXELS);
    }
    int c = channels ? channels : (comp <= 2 ? 1 : 3); /* gray+alpha is gray; alpha is dropped */
    int lw = 0, lh = 0, lcomp = 0;
    unsigned char *px = stbi_load_from_file(f, &lw, &lh, &lcomp, c);
    fclose(f);
    if (!px) {
        const char *why = stbi_failure_reason();
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: corrupt or unsupported image (%s)", path,
                            why ? why : "unknown error");
    }
    if (lw != w || lh != h) {
        stbi_image_free(px);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: decoded size %dx%d differs from the header's %dx%d", path, lw,
                            lh, w, h);
    }
    size_t n = (size_t)h * (size_t)w * (size_t)c;
    lt_dataset *ds = NULL;
    lt_status st = lt_dataset_alloc(ctx, 1, n, 0, 0, &ds);
    if (st != LT_OK) {
        stbi_image_free(px);
        return st;
    }
    for (size_t i = 0; i < n; i++) ds->x[i] = (float)px[i] / 255.0f;
    stbi_image_free(px);
    ds->h = h;
    ds->w = w;
    ds->c = c;
    *out = ds;
    return LT_OK;
}

/* Writes h x w x c floats in [0,1] as an 8-bit PNG through plot.c's writer. */
lt_status lt_image_save_png(lt_ctx *ctx, const char *path, const float *img, int h, int w, int c)
{
    if (!path || !img) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_save_png: NULL argument");
    if (c != 1 && c != 3)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_image_save_png: channels must be 1 or 3 (got %d)", c);
    lt_status st = check_dims(ctx, "lt_image_save_png", "image", h, w, c, 3);
    if (st != LT_OK) return st;
    size_t n = (size_t)h * (size_t)w * (size_t)c;
    unsigned char *px = malloc(n);
    if (!px) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for a %dx%d image", path, w, h);
    for (size_t i = 0; i < n; i++) px[i] = unit_to_byte(img[i]);
    st = lt_write_png(ctx, path, w, h, c, px);
    free(px);
    return st;
}

/* Resizes an h x w x c float image into out (nh x nw x c) with stb's default filters. */
lt_status lt_image_resize(lt_ctx *ctx, const float *img, int h, int w, int c, float *out, int nh, int nw)
{
    if (!img || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_resize: NULL argument");
    lt_status st = check_dims(ctx, "lt_image_resize", "input", h, w, c, 4);
    if (st != LT_OK) return st;
    st = check_dims(ctx, "lt_image_resize", "output", nh, nw, c, 4);
    if (st != LT_OK) return st;
    if (!stbir_resize_float(img, w, h, 0, out, nw, nh, 0, c))
        return lt_set_error(ctx, LT_ERR_NOMEM, "lt_image_resize: out of memory resizing %dx%d to %dx%d", w, h, nw,
                            nh);
    return LT_OK;
}

/* Shrinks an image by factor (stb's default filter, rounding the size) and scales it
 * back (stb's Catmull-Rom cubic): a super-resolution model's input. */
lt_status lt_image_down_up(lt_ctx *ctx, const float *img, int h, int w, int c, int factor, float *out)
{
    if (!img || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_image_down_up: NULL argument");
    if (factor < 2 || factor > 16) return lt_set_error(ctx, LT_ERR_ARG, "downscale factor must be in 2..16, got %d", factor);
    lt_status st = check_dims(ctx, "lt_image_down_up", "image", h, w, c, 4);
    if (st != LT_OK) return st;
    int sh = (h + factor / 2) / factor, sw = (w + factor / 2) / factor;
    /* shrunk to one pixel a side, an image comes back flat: nothing left to restore */
    if (sh < 2 || sw < 2)
        return lt_set_error(ctx, LT_ERR_SHAPE, "an image of %dx%d is too small to downscale by %d (it needs at least %d "
                            "pixels a side, to keep 2 after shrinking)", h, w, factor, 2 * factor - factor / 2);
    float *small = malloc((size_t)sh * sw * c * sizeof *small);
    if (!small) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    st = lt_image_resize(ctx, img, h, w, c, small, sh, sw);
    if (st == LT_OK) st = lt_image_resize(ctx, small, sh, sw, c, out, h, w);
    free(small);
    return st;
}

/* Each image of ds through lt_image_down_up: the inputs of a super-resolution model,
 * whose targets are ds. */
lt_status lt_dataset_down_up(lt_ctx *ctx, const lt_dataset *ds, int factor, lt_dataset **out)
{
    if (!ds || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_down_up: NULL argument");
    *out = NULL;
    int h = ds->h, w = ds->w, c = ds->c;
    if (h < 1 || w < 1 || c < 1) return lt_set_error(ctx, LT_ERR_SHAPE, "downscaling needs image data");
    lt_dataset *d = NULL;
    lt_status st = lt_dataset_alloc(ctx, ds->n, ds->dim, ds->labels != NULL, 0, &d);
    for (size_t i = 0; st == LT_OK && i < ds->n; i++)
        st = lt_image_down_up(ctx, ds->x + i * ds->dim, h, w, c, factor, d->x + i * ds->dim);
    if (st != LT_OK) { lt_dataset_free(d); return st; }
    if (ds->labels) memcpy(d->labels, ds->labels, ds->n * sizeof *d->labels);
    d->h = h; d->w = w; d->c = c;
    *out = d;
    return LT_OK;
}
