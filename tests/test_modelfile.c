/* Model files: save then load gives identical predictions and resumable optimizer
 * state (gradient clipping included); truncated, corrupted, foreign and missing files
 * are clean errors; a failed save never harms an existing file. Runs on the backend
 * named by LATENT_DEVICE. */
#include <zlib.h>
#include "latent.h"
#include "harness.h"

static lt_ctx *ctx;
static fixture fix; /* the folder of the files written */

/* Trains autoencoders a and b on x for fo's epochs each; whether they then predict x
 * bit for bit alike. */
static int resume_alike(lt_model *a, lt_model *b, const lt_dataset *x, const lt_fit_opts *fo)
{
    size_t n = lt_dataset_count(x), dim = lt_dataset_dim(x);
    float *pa = malloc(n * dim * 4), *pb = malloc(n * dim * 4);
    lt_fit(a, x, NULL, fo, NULL);
    lt_fit(b, x, NULL, fo, NULL);
    lt_predict(a, lt_dataset_data(x), n, pa);
    lt_predict(b, lt_dataset_data(x), n, pb);
    int same = memcmp(pa, pb, n * dim * 4) == 0;
    free(pa);
    free(pb);
    return same;
}

/* Whether the n bytes at p contain the string s. */
static int contains(const unsigned char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) return 1;
    return 0;
}

/* Writes a model file of an architecture text, n float weights (all zero) and, when
 * meta is not NULL, a META section of that text. */
static void write_model_file_meta(const char *path, const char *arch, size_t n, const char *meta)
{
    size_t al = strlen(arch), wl = 4 * n, ml = meta ? strlen(meta) : 0, pos = 16;
    int nsec = meta ? 3 : 2;
    unsigned char *f = calloc(1, 16 + 3 * 20 + al + wl + ml);
    memcpy(f, "LATENTMD\1\0\0\0", 12);
    f[12] = (unsigned char)nsec;
    const char *tags[3] = {"ARCH", "WGHT", "META"};
    const unsigned char *payload[3] = {(const unsigned char *)arch, NULL, (const unsigned char *)meta};
    size_t len[3] = {al, wl, ml};
    for (int s = 0; s < nsec; s++) {
        memcpy(f + pos, tags[s], 4);
        for (int i = 0; i < 8; i++) f[pos + 8 + i] = (unsigned char)((uint64_t)len[s] >> (8 * i));
        pos += 16;
        if (payload[s]) memcpy(f + pos, payload[s], len[s]);
        unsigned long crc = crc32(0L, f + pos, (unsigned)len[s]);
        pos += len[s];
        for (int i = 0; i < 4; i++) f[pos++] = (unsigned char)(crc >> (8 * i));
    }
    write_bytes(path, f, pos);
    free(f);
}

/* Writes a model file of an architecture text and n float weights (all zero). */
static void write_model_file(const char *path, const char *arch, size_t n)
{
    write_model_file_meta(path, arch, n, NULL);
}

/* In the model file bytes (size), replaces the first `from` inside section tag with
 * `to` (as long) and fixes that section's CRC32; 1 when found. */
static int patch_section(unsigned char *bytes, size_t size, const char *tag, const char *from, const char *to)
{
    for (size_t pos = 16; pos + 16 <= size;) {
        uint64_t len = 0;
        for (int i = 0; i < 8; i++) len |= (uint64_t)bytes[pos + 8 + i] << (8 * i);
        unsigned char *payload = bytes + pos + 16;
        if (memcmp(bytes + pos, tag, 4) == 0) {
            size_t k = strlen(from);
            for (size_t i = 0; i + k <= len; i++) {
                if (memcmp(payload + i, from, k) != 0) continue;
                memcpy(payload + i, to, k);
                unsigned long crc = crc32(0L, payload, (unsigned)len);
                for (int b = 0; b < 4; b++) payload[len + (size_t)b] = (unsigned char)(crc >> (8 * b));
                return 1;
            }
            return 0;
        }
        pos += 16 + (size_t)len + 4;
    }
    return 0;
}

/* The record of a training run (PROG) is checked like every other section: counts
 * that make no sense, an unknown value or a best-weights section the run does not
 * explain are format errors naming the file. */
static void test_run_record(const char *path, const char *other)
{
    unsigned char *bytes = NULL;
    size_t size = read_whole(path, &bytes);
    static const char *const bad[][2] = {{"\nsteps 16\n", "\nsteps 00\n"}, {"epoch_step 0", "epoch_step x"},
                                         {"\nbatch 32\n", "\nbatch -2\n"}, {"shuffle 0", "shuffle 7"},
                                         {"noise 0x0p+0", "noise nan    "}, {"since_best 0", "since_bust 0"},
                                         /* beyond a float: it would be saved as "inf" (found by fuzz_modelfile) */
                                         {"noise 0x0p+0", "noise 1e300  "}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *copy = malloc(size);
        if (!copy) break;
        memcpy(copy, bytes, size);
        lt_model *m = NULL;
        if (CHECK(patch_section(copy, size, "PROG", bad[i][0], bad[i][1]), "'%s' found in the run record", bad[i][0])) {
            write_bytes(other, copy, size);
            CHECK(lt_load(ctx, other, &m) == LT_ERR_FORMAT && !m && strstr(lt_ctx_error(ctx), "bad training run record"),
                  "a run record with '%s' refused: %s", bad[i][1], lt_ctx_error(ctx));
        }
        lt_model_free(m);
        free(copy);
    }
    free(bytes);
}

/* Notes: set, replaced, removed, refused when malformed or too many; saved and loaded
 * back; a model without notes writes no META section; a malformed META section in a
 * file is a format error naming the note. */
static void test_notes(const char *other)
{
    lt_model *a = NULL, *b = NULL;
    char path[600];
    fx(&fix, path, sizeof path, "notes.lt");
    CHECK(lt_arch_build(ctx, "dense:2:elu|dense:3:elu", 3, 7, &a) == LT_OK, "build: %s", lt_ctx_error(ctx));
    if (!a) return;
    CHECK(lt_save(a, path, 0) == LT_OK, "save without notes: %s", lt_ctx_error(ctx));
    unsigned char *bytes = NULL;
    size_t size = read_whole(path, &bytes);
    CHECK(size && !contains(bytes, size, "META"), "a model without notes writes no META section");
    char none[8];
    CHECK(lt_file_meta(path, "task", none, sizeof none) == 0, "lt_file_meta on a file without notes finds none");
    free(bytes);
    CHECK(lt_model_set_meta(a, "task", "denoise") == LT_OK && lt_model_set_meta(a, "noise", "0.3") == LT_OK &&
              lt_model_set_meta(a, "task", "super-resolution") == LT_OK && lt_model_set_meta(a, "empty", "") == LT_OK &&
              lt_model_set_meta(a, "series.columns", "a b,c=d") == LT_OK,
          "notes set and replaced: %s", lt_ctx_error(ctx));
    CHECK(lt_model_meta_count(a) == 4 && strcmp(lt_model_meta(a, "task"), "super-resolution") == 0,
          "a replaced note keeps one entry with the new value");
    CHECK(lt_model_set_meta(a, "noise", NULL) == LT_OK && !lt_model_meta(a, "noise") && lt_model_meta_count(a) == 3,
          "a NULL value removes a note");
    CHECK(lt_model_set_meta(a, "bad key", "x") == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "'bad key'"),
          "a key with a space is refused: %s", lt_ctx_error(ctx));
    CHECK(lt_model_set_meta(a, "k", "two\nlines") == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "control"),
          "a value with a newline is refused: %s", lt_ctx_error(ctx));
    CHECK(lt_model_set_meta(a, "", "x") == LT_ERR_ARG, "an empty key is refused");
    CHECK(lt_model_meta(a, "absent") == NULL && lt_model_meta_key(a, 3) == NULL, "absent notes are NULL");
    CHECK(lt_save(a, path, 0) == LT_OK && lt_load(ctx, path, &b) == LT_OK, "save and load with notes: %s",
          lt_ctx_error(ctx));
    if (b) {
        int same = lt_model_meta_count(b) == lt_model_meta_count(a);
        for (int i = 0; same && i < lt_model_meta_count(a); i++) {
            const char *k = lt_model_meta_key(a, i), *v = lt_model_meta(b, k);
            same = v && strcmp(v, lt_model_meta(a, k)) == 0;
        }
        CHECK(same, "every note survives save and load");
    }
    char value[32];
    CHECK(lt_file_meta(path, "task", value, sizeof value) == 1 && strcmp(value, "super-resolution") == 0,
          "lt_file_meta reads a note without loading the model");
    CHECK(lt_file_meta(path, "empty", value, sizeof value) == 1 && value[0] == 0, "lt_file_meta reads an empty note");
    CHECK(lt_file_meta(path, "tas", value, sizeof value) == 0 && lt_file_meta(path, "absent", value, sizeof value) == 0,
          "lt_file_meta: a key that is only a prefix, or absent, is not found");
    CHECK(lt_file_meta(path, "task", value, 8) == -1, "lt_file_meta: a value too long for the buffer is -1");
    CHECK(lt_file_meta("/nonexistent/m.lt", "task", value, sizeof value) == -1, "lt_file_meta: a missing file is -1");
    lt_model_free(b);
    b = NULL;
    char key[16];
    lt_status st = LT_OK;
    for (int i = 0; st == LT_OK && i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        st = lt_model_set_meta(a, key, "v");
    }
    CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "at most 64") && lt_model_meta_count(a) == 64,
          "the 65th note is refused: %s", lt_ctx_error(ctx));
    lt_model_free(a);

    const char *arch = "latent-arch 1\ninput 1\nmodel m\nlayer dense d units=1 activation=linear alpha=0\nend\n";
    const char *bad[] = {"task=a\ntask=b\n", "task=a", "=a\n", "no equals sign\n", "ta sk=a\n", "task=a\tb\n"};
    const char *why[] = {"appears twice", "newline", "bad key", "bad key", "bad key", "bad key or value"};
    for (int i = 0; i < 6; i++) {
        write_model_file_meta(other, arch, 2, bad[i]);
        st = lt_load(ctx, other, &b);
        CHECK(st == LT_ERR_FORMAT && !b && strstr(lt_ctx_error(ctx), "notes section") && strstr(lt_ctx_error(ctx), why[i]),
              "bad notes %d refused: %s", i, lt_ctx_error(ctx));
        lt_model_free(b);
        b = NULL;
    }
    write_model_file_meta(other, arch, 2, "task=a=b\nx.y-z_1=\n");
    st = lt_load(ctx, other, &b);
    CHECK(st == LT_OK && b && strcmp(lt_model_meta(b, "task"), "a=b") == 0 && strcmp(lt_model_meta(b, "x.y-z_1"), "") == 0,
          "a value may hold '=' and be empty: %s", lt_ctx_error(ctx));
    lt_model_free(b);
}

/* A model trained with clipnorm saves it (and only then writes the key, so files
 * without clipping read as before), loads it back, and resumes training identically;
 * a file asking for both kinds of clipping is refused. */
static void test_clipping_saved(const lt_dataset *x, const char *path, const char *other)
{
    lt_model *a = NULL, *b = NULL;
    CHECK(lt_arch_build(ctx, "dense:8:tanh,dense:2:elu|dense:8:tanh,dense:in:linear", 3, 7, &a) == LT_OK, "build: %s",
          lt_ctx_error(ctx));
    if (!a) return;
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    o.lr = 0.5f;
    o.clipnorm = 1e-3f; /* far below the gradients: a load that lost it would train otherwise */
    lt_compile(a, LT_LOSS_MSE, &o);
    lt_fit_opts fo = {.epochs = 1, .batch = 32, .seed = 1, .verbose = -1};
    CHECK(lt_fit(a, x, NULL, &fo, NULL) == LT_OK && lt_save(a, path, 1) == LT_OK && lt_load(ctx, path, &b) == LT_OK,
          "clipnorm: fit, save, load: %s", lt_ctx_error(ctx));
    unsigned char *bytes = NULL;
    size_t size = read_whole(path, &bytes);
    CHECK(size && contains(bytes, size, " clipnorm=0.00100000005") && !contains(bytes, size, "global_clipnorm"),
          "the optimizer line carries clipnorm only");
    free(bytes);
    if (b) CHECK(resume_alike(a, b, x, &fo), "training with clipnorm resumes identically after loading");
    lt_model_free(a);
    lt_model_free(b);
    b = NULL;
    write_model_file(other, "latent-arch 1\ninput 1\nmodel m\nlayer dense d units=1 activation=linear alpha=0\nend\n"
                            "loss mse\noptimizer sgd lr=0.01 clipnorm=1 global_clipnorm=2\n", 2);
    lt_status st = lt_load(ctx, other, &b);
    CHECK(st == LT_ERR_FORMAT && !b && strstr(lt_ctx_error(ctx), "clipnorm and global_clipnorm"),
          "a file with both kinds of clipping is refused: %s", lt_ctx_error(ctx));
    lt_model_free(b);
}

/* Saves, loads, truncates and corrupts model files in a fresh temporary folder. */
int main(void)
{
    char path[600], other[600];
    if (!(ctx = harness_ctx(NULL)) || !fixture_open(&fix, "modelfile")) return DONE();
    fx(&fix, path, sizeof path, "m.lt");
    fx(&fix, other, sizeof other, "bad.lt");

    lt_dataset *roll = NULL;
    CHECK(lt_dataset_swiss_roll(ctx, 512, 0.0f, 3, &roll) == LT_OK, "swiss roll: %s", lt_ctx_error(ctx));
    if (!roll) return DONE();
    /* Scale the roll into a friendly range for a tiny tanh model. */
    lt_dataset *x = NULL;
    {
        size_t n = lt_dataset_count(roll);
        float *d = malloc(n * 3 * sizeof *d);
        for (size_t i = 0; i < n * 3; i++) d[i] = lt_dataset_data(roll)[i] / 15.0f;
        lt_dataset_from_array(ctx, n, 3, d, NULL, &x);
        free(d);
    }
    lt_model *a = NULL, *b = NULL;
    CHECK(lt_arch_build(ctx, "dense:8:tanh,dropout:0.1,dense:2:elu|dense:8:tanh,dense:in:linear", 3, 42, &a) == LT_OK, "build: %s", lt_ctx_error(ctx));
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    lt_compile(a, LT_LOSS_MSE, &o);
    lt_model_set_meta(a, "task", "autoencoder"); /* so the truncations and flips below cover META too */
    lt_fit_opts fo = {.epochs = 2, .batch = 32, .seed = 1, .verbose = -1};
    CHECK(lt_fit(a, x, NULL, &fo, NULL) == LT_OK, "fit: %s", lt_ctx_error(ctx));
    CHECK(lt_save(a, path, 1) == LT_OK, "save: %s", lt_ctx_error(ctx));
    CHECK(lt_load(ctx, path, &b) == LT_OK, "load: %s", lt_ctx_error(ctx));
    if (!a || !b) return DONE();

    size_t n = lt_dataset_count(x);
    float *pa = malloc(n * 3 * 4), *pb = malloc(n * 3 * 4);
    lt_predict(a, lt_dataset_data(x), n, pa);
    lt_predict(b, lt_dataset_data(x), n, pb);
    CHECK(memcmp(pa, pb, n * 3 * 4) == 0, "loaded model predicts identically");
    CHECK(lt_param_count(a) == lt_param_count(b) && lt_submodel_count(b) == 2, "same architecture after load");
    CHECK(strcmp(lt_model_name(lt_submodel(a, 0)), lt_model_name(lt_submodel(b, 0))) == 0, "model names kept");
    /* Resuming: one more epoch on each gives the same weights (optimizer state saved). */
    CHECK(resume_alike(a, b, x, &fo), "training resumes identically from the saved optimizer state");
    lt_model_free(b);
    b = NULL;

    /* Every truncation and several corruptions are clean format errors. */
    unsigned char *bytes = NULL;
    size_t size = read_whole(path, &bytes);
    CHECK(size > 100, "model file written (%zu bytes)", size);
    int bad_trunc = 0;
    for (size_t cut = 0; cut < size; cut += (cut < 200 ? 1 : 97)) {
        write_bytes(other, bytes, cut);
        lt_status st = lt_load(ctx, other, &b);
        if (st != LT_ERR_FORMAT || b) { bad_trunc++; lt_model_free(b); b = NULL; }
    }
    CHECK(bad_trunc == 0, "%d truncations not reported as format errors", bad_trunc);
    int bad_flip = 0;
    for (size_t pos = 0; pos < size; pos += 13) {
        bytes[pos] ^= 0x5a;
        write_bytes(other, bytes, size);
        bytes[pos] ^= 0x5a;
        lt_status st = lt_load(ctx, other, &b);
        if (st == LT_OK) { bad_flip++; lt_model_free(b); b = NULL; }
    }
    CHECK(bad_flip == 0, "%d corrupted files loaded anyway", bad_flip);
    write_bytes(other, (const unsigned char *)"hello, this is not a model file at all", 38);
    CHECK(lt_load(ctx, other, &b) == LT_ERR_FORMAT && strstr(lt_ctx_error(ctx), "bad.lt"), "foreign file named: %s", lt_ctx_error(ctx));
    CHECK(lt_load(ctx, "/nonexistent/dir/x.lt", &b) == LT_ERR_IO && strstr(lt_ctx_error(ctx), "/nonexistent/dir/x.lt"), "missing file: %s", lt_ctx_error(ctx));

    /* Image layers round-trip too: every setting survives save and load. */
    {
        int dims[3] = {9, 8, 2};
        lt_model *ci = NULL, *co = NULL;
        const char *spec = "conv:4:3x3:elu:same:s2:nobias,maxpool:2x2:same,upsample:2x2:bilinear,conv:3:2x2:tanh:d2|"
                           "flatten,dense:20:leaky_relu:nobias,leakyrelu:0.125,reshape:2x2x5,deconv:2:3x3:sigmoid:s3:op1:nobias,upsample:2x2";
        CHECK(lt_arch_build_shape(ctx, spec, 3, dims, 9, &ci) == LT_OK, "image spec builds: %s", lt_ctx_error(ctx));
        char ipath[600];
        fx(&fix, ipath, sizeof ipath, "img.lt");
        if (ci && lt_save(ci, ipath, 0) == LT_OK && lt_load(ctx, ipath, &co) == LT_OK) {
            float xin[2 * 144], ya[2 * 400], yb[2 * 400];
            size_t outn = (size_t)lt_output_dim(ci);
            CHECK(outn * 2 <= sizeof ya / sizeof ya[0], "output fits (%zu)", outn);
            for (int i = 0; i < 2 * 144; i++) xin[i] = (float)((i * 37) % 101) / 101.0f;
            lt_predict(ci, xin, 2, ya);
            lt_predict(co, xin, 2, yb);
            CHECK(memcmp(ya, yb, 2 * outn * 4) == 0, "image model predicts identically after load");
            CHECK(lt_param_count(ci) == lt_param_count(co), "image model parameter count kept");
        } else {
            CHECK(0, "image model save/load: %s", lt_ctx_error(ctx));
        }
        lt_model_free(ci);
        lt_model_free(co);
    }

    /* A tiny file claiming a huge architecture is refused before anything is allocated. */
    {
        write_model_file(other, "latent-arch 1\ninput 30000\nmodel big\nlayer dense d units=30000 activation=linear alpha=0\nend\n", 0);
        lt_status lst = lt_load(ctx, other, &b);
        CHECK(lst == LT_ERR_FORMAT && strstr(lt_ctx_error(ctx), "weights section has 0 bytes"), "huge claimed architecture refused: %s", lt_ctx_error(ctx));
    }

    /* Three sides of 2^24 are 2^72 values: refused, not wrapped around to 0. */
    {
        write_model_file(other, "latent-arch 1\ninput 16777216 16777216 16777216\nmodel m\nlayer flatten f\nend\n", 0);
        lt_status lst = lt_load(ctx, other, &b);
        CHECK(lst == LT_ERR_FORMAT && !b && strstr(lt_ctx_error(ctx), "bad input shape"),
              "an input shape whose size overflows is refused: %s", lt_ctx_error(ctx));
    }

    test_run_record(path, other);
    test_clipping_saved(x, path, other);
    test_notes(other);

    /* A save that cannot complete leaves the existing file as it was. */
    CHECK(lt_save(a, "/nonexistent/dir/x.lt", 1) == LT_ERR_IO, "save into a missing folder fails: %s", lt_ctx_error(ctx));
    unsigned char *before = NULL, *after = NULL;
    size_t nb = read_whole(path, &before);
    lt_optimizer wild = lt_optimizer_defaults(LT_SGD);
    wild.lr = 1e30f;
    lt_compile(a, LT_LOSS_MSE, &wild);
    lt_status st = lt_fit(a, x, NULL, &fo, NULL);
    CHECK(st == LT_ERR_NONFINITE && strstr(lt_ctx_error(ctx), "epoch"), "diverging fit stops with a message: %s", lt_ctx_error(ctx));
    CHECK(lt_save(a, path, 1) != LT_OK, "a model with non-finite weights is not saved");
    size_t na = read_whole(path, &after);
    CHECK(nb == na && nb && memcmp(before, after, nb) == 0, "the existing model file is unchanged");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp > /dev/null", fix.dir);
    CHECK(system(cmd) != 0, "no temporary files left behind");

    FREE_ALL(before, after, bytes, pa, pb);
    lt_model_free(a);
    lt_dataset_free(x);
    lt_dataset_free(roll);
    fixture_close(&fix);
    lt_ctx_close(ctx);
    return DONE();
}
