/* Fuzz target: model files (lt_load, lt_file_meta, lt_file_is_model, lt_model_progress),
 * every section: ARCH (text), WGHT, OPTS, PROG (the training run's progress, text),
 * BEST (the best weights of an early-stopping run under way) and META (notes).
 *
 * Input: one option byte, then the file. Unless bit 0 of the option byte is set, the
 * target first rewrites the CRC32 of every section it can walk (as the header's lengths
 * lay them out), so that mutations reach the parsers behind the checksums instead of
 * stopping at them; with bit 0 set the file is written as given. Bit 1 reads notes
 * through a small buffer.
 *
 * Checked beyond the sanitizers: a model that loads has its notes read back the same
 * way by lt_file_meta, saves, loads again from what it saved, and saving that gives
 * the same bytes (the file format is a fixed point after one round). */
#include <zlib.h>
#include "fuzz_common.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    return 0;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Rewrites each section's CRC32 in place, walking the sections by their lengths. */
static void fix_crcs(unsigned char *f, size_t n)
{
    size_t pos = 16;
    for (int s = 0; s < 8 && n >= pos && n - pos >= 16; s++) {
        uint64_t len = rd64(f + pos + 8);
        pos += 16;
        if (len > n - pos || n - pos - len < 4) return;
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, f + pos, (uInt)len);
        pos += (size_t)len;
        for (int i = 0; i < 4; i++) f[pos + i] = (unsigned char)(crc >> (8 * i));
        pos += 4;
    }
}

/* Reads a whole file into a malloc'd buffer; NULL when it cannot. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *p = realloc(buf, cap);
            if (!p) { free(buf); fclose(f); return NULL; }
            buf = p;
        }
        size_t got = fread(buf + *n, 1, cap - *n, f);
        *n += got;
        if (got == 0) break;
    }
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned opt = data[0];
    size_t n = size - 1;
    unsigned char *file = malloc(n ? n : 1);
    if (!file) return 0;
    memcpy(file, data + 1, n);
    if (!(opt & 1)) fix_crcs(file, n);
    const char *path = fuzz_path(0, "in.lt");
    fuzz_write(path, file, n);
    free(file);

    (void)lt_file_is_model(path);
    char value[17000];
    size_t vsize = opt & 2 ? 8 : sizeof value;
    int got = lt_file_meta(path, "task", value, vsize);
    FUZZ_CHECK(got >= -1 && got <= 1, "lt_file_meta returned %d", got);
    if (got == 1) FUZZ_CHECK(strlen(value) < vsize, "note longer than its buffer");

    lt_model *m = NULL;
    lt_status st = lt_load(fuzz_ctx, path, &m);
    fuzz_report("load", st);
    if (st != LT_OK) {
        FUZZ_CHECK(m == NULL, "lt_load failed (%s) but gave a model", lt_status_name(st));
        FUZZ_CHECK(lt_ctx_error(fuzz_ctx)[0] != 0, "lt_load failed (%s) with no message", lt_status_name(st));
        return 0;
    }
    lt_summary(m, devnull);
    lt_fit_point where;
    if (lt_model_progress(m, &where) == LT_OK)
        FUZZ_CHECK(where.epoch >= 0 && where.epoch <= where.epochs && where.step <= where.steps,
                   "progress: epoch %d of %d, step %zu of %zu", where.epoch, where.epochs, where.step, where.steps);
    size_t np = lt_param_count(m);
    int dims[3], odims[3];
    int rank = lt_input_shape(m, dims), orank = lt_output_shape(m, odims);
    FUZZ_CHECK(rank >= 1 && rank <= 3 && orank >= 1 && orank <= 3, "ranks %d, %d", rank, orank);
    for (int i = 0; i < lt_model_meta_count(m); i++) {
        const char *key = lt_model_meta_key(m, i), *v = lt_model_meta(m, key);
        FUZZ_CHECK(key && v, "note %d missing", i);
        int r = lt_file_meta(path, key, value, sizeof value);
        FUZZ_CHECK(r == 1 && strcmp(value, v) == 0, "lt_file_meta(%s) gives %d '%.40s', lt_load '%.40s'", key, r,
                   r == 1 ? value : "", v);
    }

    /* Round trip: save, load, save again; the two saved files must be equal. */
    const char *p2 = fuzz_path(1, "a.lt"), *p3 = fuzz_path(2, "b.lt");
    st = lt_save(m, p2, 1);
    FUZZ_CHECK(st == LT_OK, "a loaded model does not save: %s", lt_ctx_error(fuzz_ctx));
    lt_model *m2 = NULL;
    st = lt_load(fuzz_ctx, p2, &m2);
    FUZZ_CHECK(st == LT_OK, "a saved model does not load: %s", lt_ctx_error(fuzz_ctx));
    FUZZ_CHECK(lt_param_count(m2) == np, "%zu parameters after the round trip, %zu before", lt_param_count(m2), np);
    FUZZ_CHECK(lt_model_meta_count(m2) == lt_model_meta_count(m), "notes lost in the round trip");
    st = lt_save(m2, p3, 1);
    FUZZ_CHECK(st == LT_OK, "a reloaded model does not save: %s", lt_ctx_error(fuzz_ctx));
    size_t n2 = 0, n3 = 0;
    unsigned char *b2 = slurp(p2, &n2), *b3 = slurp(p3, &n3);
    FUZZ_CHECK(b2 && b3 && n2 == n3 && memcmp(b2, b3, n2) == 0, "saving the reloaded model gives other bytes "
               "(%zu and %zu)", n2, n3);
    free(b2);
    free(b3);
    lt_model_free(m2);
    lt_model_free(m);
    return 0;
}
