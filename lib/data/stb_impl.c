/* The one translation unit that compiles stb_image_write, stb_image and
 * stb_image_resize (Debian's libstb-dev).
 *
 * - Its symbols are hidden so that they do not leak out of liblatent and clash with
 *   a program's own copy of stb.
 * - PNG data are compressed with zlib, which the library links anyway; stb's own
 *   deflate is smaller-minded and its files 20-50% larger.
 * - Files are written by plot.c through the callback interface, so stb's stdio code
 *   (which ignores write errors) is left out.
 * - stb_image decodes only PNG, JPEG and BMP (image.c checks sizes before decoding);
 *   stb_image_resize is used with its default filters.
 * - stb is not -Wall -Wextra clean; its warnings are silenced here only. */
/* stb's own includes come first, outside the hidden-visibility region below, so that
 * libc's declarations keep their default visibility */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* stb's STBIW_ZLIB_COMPRESS hook: data compressed as a zlib stream into a malloc'd
 * buffer (stb frees it), or NULL on failure. */
static unsigned char *lt_stbiw_zlib_compress(unsigned char *data, int data_len, int *out_len, int quality)
{
    if (data_len < 0) return NULL;
    uLongf len = compressBound((uLong)data_len);
    unsigned char *buf = malloc(len);
    if (!buf) return NULL;
    int level = quality < 0 ? Z_DEFAULT_COMPRESSION : quality > 9 ? 9 : quality;
    if (compress2(buf, &len, data, (uLong)data_len, level) != Z_OK || len > INT_MAX) {
        free(buf);
        return NULL;
    }
    *out_len = (int)len;
    return buf;
}

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ZLIB_COMPRESS lt_stbiw_zlib_compress
#define STB_IMAGE_IMPLEMENTATION
/* stb_image's memory comes zeroed: its JPEG decoder (2.27) does not clear the Huffman
 * tables of its malloc'ed state, so a scan that uses a table no DHT segment defined
 * read whatever the heap held, and then failed an assertion (abort) or read past the
 * table (tests/fuzz/corpus/fuzz_image/regress-jpeg-undefined-huffman-table.jpg). */
#define STBI_MALLOC(sz) calloc(1, (sz))
#define STBI_REALLOC(p, sz) realloc((p), (sz))
#define STBI_FREE(p) free(p)
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_SIMD /* keeps <emmintrin.h> out of the hidden region; decoding speed is no issue */
#define STBI_MAX_DIMENSIONS 16384 /* = LT_IMAGE_MAX_SIDE; image.c checks the header first */
#define STB_IMAGE_RESIZE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC visibility push(hidden)
#endif
#include "stb_image_write.h"
#include "stb_image.h"
#include "stb_image_resize.h"
#if defined(__GNUC__)
#pragma GCC visibility pop
#pragma GCC diagnostic pop
#endif
