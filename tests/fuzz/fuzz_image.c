/* Fuzz target: PNG, JPEG and BMP files through the image loader (lt_image_load).
 *
 * Input: an option byte (its value mod 3 picks channels 0, 1 or 3), then the file.
 *
 * JPEGs whose frame header claims more than 2^20 pixels but no more than the loader's
 * limits (LT_IMAGE_MAX_*) are skipped: stb_image decodes an 8192 x 8192 JPEG from 700
 * bytes (it fills missing data with zeros), which takes 25 s under ASan, so such inputs
 * would be reported as hangs though the loader does what it promises. (A PNG or BMP
 * cannot do that: the loader checks their data against the file size, and stb_image
 * refuses a PNG whose data are short.) The claim is found by walking the markers as
 * stb_image does, more permissively (skipping an input stb would refuse costs little);
 * stb_image itself cannot be asked here, as its header parser is what the loader
 * guards (a Huffman table of more than 256 codes overruns it). Claims over the limits
 * are still fuzzed: the loader refuses them early.
 *
 * Checked: an image that loads has the channels asked for (0: 1 or 3), values in
 * [0, 1], and, when small, saves as a PNG that loads back to the same values (8-bit
 * data survive the round trip exactly). */
#include "fuzz_common.h"

/* Pixels above which a JPEG within the loader's limits is not decoded here. */
#define FUZZ_IMAGE_MAX_PIXELS (1u << 20)

/* The width and height the first frame header (SOF0..SOF2) of a JPEG claims: after
 * FF fill bytes and SOI, segments skipped by their lengths, bytes between them
 * skipped. 1 when found. */
static int jpeg_claim(const uint8_t *p, size_t n, int64_t *w, int64_t *h)
{
    size_t i = 0;
    while (i < n && p[i] == 0xFF) i++;
    if (i == 0 || i >= n || p[i] != 0xD8) return 0;
    i++;
    while (i < n) {
        if (p[i] != 0xFF) { i++; continue; }
        while (i < n && p[i] == 0xFF) i++;
        if (i >= n) return 0;
        int m = p[i++];
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue; /* no length */
        if (m == 0xD9 || m == 0xDA) return 0; /* end of image or a scan before any frame */
        if (n - i < 2) return 0;
        if (m >= 0xC0 && m <= 0xC2) { /* length, precision, height, width */
            if (n - i < 7) return 0;
            *h = p[i + 3] << 8 | p[i + 4];
            *w = p[i + 5] << 8 | p[i + 6];
            return 1;
        }
        size_t len = (size_t)(p[i] << 8 | p[i + 1]);
        i += len < 2 ? 2 : len;
    }
    return 0;
}

FUZZ_SETUP_ONLY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const int chans[3] = {0, 1, 3};
    int channels = chans[data[0] % 3];
    int64_t cw, chh;
    if (jpeg_claim(data + 1, size - 1, &cw, &chh) && cw * chh > FUZZ_IMAGE_MAX_PIXELS && cw <= LT_IMAGE_MAX_SIDE &&
        chh <= LT_IMAGE_MAX_SIDE && cw * chh <= LT_IMAGE_MAX_PIXELS)
        return 0;
    const char *path = fuzz_path(0, "in.img");
    fuzz_write(path, data + 1, size - 1);
    lt_dataset *ds = NULL;
    lt_status st = lt_image_load(fuzz_ctx, path, channels, &ds);
    fuzz_report("load", st);
    if (st != LT_OK) {
        FUZZ_CHECK(ds == NULL, "failed (%s) but gave a dataset", lt_status_name(st));
        FUZZ_CHECK(lt_ctx_error(fuzz_ctx)[0] != 0, "failed (%s) with no message", lt_status_name(st));
        return 0;
    }
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    size_t n = lt_dataset_count(ds), dim = lt_dataset_dim(ds);
    FUZZ_CHECK(n == 1 && h >= 1 && w >= 1 && (channels ? c == channels : c == 1 || c == 3) &&
               dim == (size_t)h * (size_t)w * (size_t)c, "n %zu dim %zu shape %dx%dx%d (channels %d)", n, dim, h, w,
               c, channels);
    const float *x = lt_dataset_data(ds);
    for (size_t i = 0; i < dim; i++) FUZZ_CHECK(x[i] >= 0.0f && x[i] <= 1.0f, "value %zu is %g", i, (double)x[i]);
    if (dim <= 65536) {
        const char *png = fuzz_path(1, "out.png");
        st = lt_image_save_png(fuzz_ctx, png, x, h, w, c);
        FUZZ_CHECK(st == LT_OK, "a loaded image does not save: %s", lt_ctx_error(fuzz_ctx));
        lt_dataset *back = NULL;
        st = lt_image_load(fuzz_ctx, png, c, &back);
        FUZZ_CHECK(st == LT_OK, "a saved image does not load: %s", lt_ctx_error(fuzz_ctx));
        FUZZ_CHECK(lt_dataset_dim(back) == dim && memcmp(lt_dataset_data(back), x, dim * sizeof *x) == 0,
                   "the PNG round trip changed the image");
        lt_dataset_free(back);
    }
    lt_dataset_free(ds);
    return 0;
}
