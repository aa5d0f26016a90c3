/* Importing other frameworks' files (lt_import): Keras .keras and .h5 fixtures written
 * by tests/golden/make_keras_golden.py predict what Keras predicted and train on,
 * PyTorch safetensors fixtures (make_safetensors_golden.py) what PyTorch predicted,
 * and broken or mismatched files are clear errors. Usage: test_import GOLDEN_DIR; runs on the backend
 * LATENT_DEVICE names. */
#include "model.h"
#include "interop.h"
#include <pthread.h>
#include "harness.h"
#ifdef LT_HAVE_INTEROP
#include <hdf5.h> /* to write hostile files */
#include <zip.h>
#include "keras_h5.h" /* LT_ASAN */
#endif

static lt_ctx *ctx;
static fixture fix;
static const char *golden_dir;

/* Reads "TAG N v1 ... vN" into a new array; its length, or -1. */
static long read_values(FILE *f, const char *tag, float **out)
{
    char word[16];
    long n;
    if (fscanf(f, "%15s %ld", word, &n) != 2 || strcmp(word, tag) != 0 || n < 0 || n > 1 << 24) return -1;
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (long i = 0; v && i < n; i++)
        if (fscanf(f, "%f", &v[i]) != 1) { free(v); return -1; }
    *out = v;
    return v ? n : -1;
}

/* The options for a safetensors file of architecture arch on an input shape. */
static lt_import_opts st_opts(const char *arch, int rank, const int *dims)
{
    lt_import_opts o = {0};
    o.arch = arch;
    o.input_rank = rank;
    for (int i = 0; i < rank; i++) o.input_dims[i] = dims[i];
    return o;
}

/* Every case of safetensors_golden.txt: imported, it predicts PyTorch's output. */
static void test_golden_cases(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/safetensors_golden.txt", golden_dir);
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL, "open %s", path)) return;
    char word[16], name[64], arch[512];
    int cases = 0;
    while (fscanf(f, "%15s %63s", word, name) == 2 && strcmp(word, "case") == 0) {
        int rank = 0, dims[3] = {0, 0, 0};
        float *x = NULL, *y = NULL;
        if (fscanf(f, "%15s %511s %15s %d", word, arch, word, &rank) != 4 || rank < 1 || rank > 3) { CHECK(0, "%s: bad case", name); break; }
        for (int i = 0; i < rank; i++) if (fscanf(f, "%d", &dims[i]) != 1) rank = 0;
        long nx = read_values(f, "x", &x), ny = read_values(f, "y", &y);
        if (!rank || nx < 0 || ny < 0) { CHECK(0, "%s: bad arrays", name); FREE_ALL(x, y); break; }
        cases++;
        char st_path[1024];
        snprintf(st_path, sizeof st_path, "%s/st_%s.safetensors", golden_dir, name);
        lt_import_opts o = st_opts(arch, rank, dims);
        lt_model *m = NULL;
        lt_status st = lt_import(ctx, st_path, &o, &m);
        CHECK(st == LT_OK, "%s imports: %s", name, lt_ctx_error(ctx));
        if (st == LT_OK) {
            size_t in = (size_t)lt_input_dim(m), out = (size_t)lt_output_dim(m), rows = in ? (size_t)nx / in : 0;
            CHECK(rows * out == (size_t)ny && rows * in == (size_t)nx, "%s: %zu rows of %zu -> %zu match the case", name, rows, in, out);
            if (rows * out == (size_t)ny && rows * in == (size_t)nx) {
                float *got = malloc((size_t)ny * sizeof *got);
                CHECK(lt_predict(m, x, rows, got) == LT_OK, "%s predicts: %s", name, lt_ctx_error(ctx));
                double worst = 0;
                for (long i = 0; i < ny; i++) worst = fmax(worst, fabs((double)got[i] - y[i]) / (1.0 + fabs(y[i])));
                CHECK(worst < 2e-5, "%s: max error %.3g against PyTorch", name, worst);
                printf("%-10s %s: max error %.2g against PyTorch\n", name, arch, worst);
                free(got);
            }
            lt_model_free(m);
        }
        FREE_ALL(x, y);
    }
    fclose(f);
    CHECK(cases == 4, "%d safetensors cases read (4 expected)", cases);
}

/* A safetensors file of the given header (JSON) and data bytes, at fixture name. */
static const char *write_st(const char *name, const char *header, const void *data, size_t len)
{
    static char path[1024];
    fx(&fix, path, sizeof path, name);
    size_t h = strlen(header);
    unsigned char *b = malloc(8 + h + len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (8 * i));
    memcpy(b + 8, header, h);
    if (len) memcpy(b + 8 + h, data, len);
    write_bytes(path, b, 8 + h + len);
    free(b);
    return path;
}

/* Imports path as a safetensors file for arch on a width-n input. */
static lt_status import_st(const char *path, const char *arch, int n, lt_model **m)
{
    lt_import_opts o = st_opts(arch, 1, (int[]){n});
    *m = NULL;
    return lt_import(ctx, path, &o, m);
}

/* Dtypes other than F32 convert exactly; every kind of broken or mismatched file is an
 * error that names what is wrong. */
static void test_bad_files(void)
{
    lt_model *m = NULL;
    /* Dense 2 -> 1 in F64, F16 and BF16: y = 0.5 x0 - 2 x1 + 0.25 */
    double w64[3] = {0.5, -2.0, 0.25};
    uint16_t w16[3] = {0x3800, 0xc000, 0x3400}, wbf[3] = {0x3f00, 0xc000, 0x3e80};
    const char *hdr[3] = {"{\"0.weight\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]},\"0.bias\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},\"__metadata__\":{\"format\":\"pt\"}}",
                          "{\"0.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]},\"0.bias\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[4,6]}}",
                          "{\"0.weight\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]},\"0.bias\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[4,6]}}"};
    const void *data[3] = {w64, w16, wbf};
    size_t len[3] = {24, 6, 6};
    for (int k = 0; k < 3; k++) {
        lt_status st = import_st(write_st("dtype.safetensors", hdr[k], data[k], len[k]), "dense:1", 2, &m);
        CHECK(st == LT_OK, "dtype case %d imports: %s", k, lt_ctx_error(ctx));
        if (st == LT_OK) {
            float x[2] = {3.0f, 1.0f}, y = 0;
            lt_predict(m, x, 1, &y);
            CHECK(y == -0.25f, "dtype case %d: y = %g (want -0.25)", k, (double)y);
        }
        lt_model_free(m);
    }
    static const struct { const char *header; size_t len; const char *arch; lt_status want; const char *needle; } bad[] = {
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,16]}}",
         12, "dense:1", LT_ERR_FORMAT, "data_offsets outside"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[0,8]}}", 8, "dense:1", LT_ERR_FORMAT, "8 bytes for 3 F32"},
        {"{\"0.weight\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dense:1", LT_ERR_FORMAT, "dtype I64"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"0.weight\":{}}", 8, "dense:1", LT_ERR_FORMAT, "not JSON"},
        {"{\"0.weight\": [", 8, "dense:1", LT_ERR_FORMAT, "not JSON"},
        {"{}", 0, "dense:1", LT_ERR_FORMAT, "no tensors"},
        {"{\"0.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dense:1", LT_ERR_FORMAT, "'0.running_mean'"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
         24, "dense:1", LT_ERR_SHAPE, "tensor '0.weight' has shape [2, 2]; layer dense"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "dense:1,dense:1", LT_ERR_SHAPE, "end before layer dense"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
         "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[12,16]}}", 16, "dense:1", LT_ERR_SHAPE, "module '2' and 0 more"},
        {"{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, "dense:1", LT_ERR_SHAPE, "no bias tensor"},
        {"{\"0.weight_ih_l0\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, "dense:1", LT_ERR_SHAPE, "no weight tensor"},
    };
    float zeros[8] = {0};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lt_status st = import_st(write_st("bad.safetensors", bad[k].header, zeros, bad[k].len), bad[k].arch, 2, &m);
        char what[64];
        snprintf(what, sizeof what, "bad safetensors case %zu", k);
        EXPECT(ctx, st, bad[k].want, bad[k].needle, what);
        CHECK(st != LT_OK || m == NULL, "%s: no model", what);
        lt_model_free(m);
        m = NULL;
    }
    /* a NaN weight */
    float nan_w[3] = {NAN, 1, 0};
    lt_status st = import_st(write_st("nan.safetensors",
                            "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                            nan_w, 12), "dense:1", 2, &m);
    EXPECT(ctx, st, LT_ERR_NONFINITE, "NaN", "a NaN weight");
    lt_model_free(m);
    /* a Dense on the last axis of a sequence, then reshaped to an image: no channels-first
     * order to undo (permuting it read past the weights) */
    float w43[16] = {0};
    lt_import_opts seq = st_opts("act:linear,dense:4,reshape:2x2x4", 2, (int[]){4, 3});
    st = lt_import(ctx, write_st("seqimg.safetensors",
                                 "{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[16,64]}}",
                                 w43, 64), &seq, &m);
    EXPECT(ctx, st, LT_ERR_UNSUPPORTED, "acts on the last axis of a rank-2 input", "a sequence Dense reshaped to an image");
    lt_model_free(m);
    m = NULL;
    /* a header length beyond the file, a file too short, a truncated golden file */
    char path[1024];
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '{', '}'};
    write_bytes(fx(&fix, path, sizeof path, "long.safetensors"), big, 10);
    EXPECT(ctx, import_st(path, "dense:1", 2, &m), LT_ERR_FORMAT, "long.safetensors: header of 4294967295 bytes", "header past the end");
    write_bytes(fx(&fix, path, sizeof path, "short.bin"), "PK", 2);
    EXPECT(ctx, import_st(path, "dense:1", 2, &m), LT_ERR_FORMAT, "not a Keras .keras or .h5 file, nor a safetensors file", "two bytes");
    char golden[1024];
    snprintf(golden, sizeof golden, "%s/st_nested.safetensors", golden_dir);
    unsigned char *whole = NULL;
    size_t n = read_whole(golden, &whole);
    CHECK(n > 100, "read %s", golden);
    for (size_t cut = 9; whole && cut < n; cut += n / 7) {
        write_bytes(fx(&fix, path, sizeof path, "cut.safetensors"), whole, cut);
        lt_import_opts o = st_opts("dense:16:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid", 1, (int[]){20});
        st = lt_import(ctx, path, &o, &m);
        char what[96];
        snprintf(what, sizeof what, "golden file cut at %zu of %zu bytes", cut, n);
        EXPECT(ctx, st, LT_ERR_FORMAT, "cut.safetensors", what);
    }
    free(whole);
    /* the wrong architecture for a real file: named tensor, both shapes */
    lt_import_opts o = st_opts("dense:17:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid", 1, (int[]){20});
    EXPECT(ctx, lt_import(ctx, golden, &o, &m), LT_ERR_SHAPE, "tensor '0.0.weight' has shape [16, 20]; layer dense", "wrong width");
    o = st_opts("bilstm:5:seq,gru:4:seq,rnn:3:seq,td:2", 2, (int[]){6, 3});
    EXPECT(ctx, lt_import(ctx, golden, &o, &m), LT_ERR_SHAPE, "needs weight_ih_lK", "Linear weights for a recurrent layer");
    o.arch = NULL;
    EXPECT(ctx, lt_import(ctx, golden, &o, &m), LT_ERR_ARG, "give the architecture", "no architecture");
    o = st_opts("dense:2", 1, (int[]){2});
    o.format = LT_FORMAT_KERAS;
    EXPECT(ctx, lt_import(ctx, golden, &o, &m), LT_ERR_FORMAT, "its first bytes say a safetensors file", "format insisted on");
    EXPECT(ctx, lt_import(ctx, "/nonexistent/x.safetensors", &o, &m), LT_ERR_IO, "/nonexistent/x.safetensors", "missing file");
}

/* Every case of keras_golden.txt, from its .keras and its .h5 file: Keras's parameter
 * count and prediction; then the imported model trains (loss falls on its own output
 * plus noise as the target). */
static void test_keras_cases(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_golden.txt", golden_dir);
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL, "open %s", path)) return;
    char word[16], name[64];
    int cases = 0;
    while (fscanf(f, "%15s %63s", word, name) == 2 && strcmp(word, "case") == 0) {
        long params = 0;
        int rank = 0, dims[3] = {0, 0, 0};
        float *x = NULL, *y = NULL;
        if (fscanf(f, "%15s %ld %15s %d", word, &params, word, &rank) != 4 || rank < 1 || rank > 3) { CHECK(0, "%s: bad case", name); break; }
        for (int i = 0; i < rank; i++) if (fscanf(f, "%d", &dims[i]) != 1) rank = 0;
        long nx = read_values(f, "x", &x), ny = read_values(f, "y", &y);
        if (!rank || nx < 0 || ny < 0) { CHECK(0, "%s: bad arrays", name); FREE_ALL(x, y); break; }
        cases++;
        for (int h5 = 0; h5 < 2; h5++) {
            char file[1024];
            snprintf(file, sizeof file, "%s/keras_%s.%s", golden_dir, name, h5 ? "h5" : "keras");
            lt_model *m = NULL;
            lt_status st = lt_import(ctx, file, NULL, &m);
            if (!CHECK(st == LT_OK, "%s imports: %s", file, lt_ctx_error(ctx))) continue;
            int d[3], r = lt_input_shape(m, d);
            CHECK(r == rank && memcmp(d, dims, (size_t)rank * sizeof *d) == 0, "%s: input shape from the file", file);
            CHECK((long)lt_param_count(m) == params, "%s: %zu parameters, Keras counts %ld", file, lt_param_count(m), params);
            size_t in = (size_t)lt_input_dim(m), out = (size_t)lt_output_dim(m), rows = in ? (size_t)nx / in : 0;
            if (CHECK(rows * out == (size_t)ny && rows * in == (size_t)nx, "%s: %zu rows of %zu -> %zu match the case", file, rows, in, out)) {
                float *got = malloc((size_t)ny * sizeof *got);
                CHECK(lt_predict(m, x, rows, got) == LT_OK, "%s predicts: %s", file, lt_ctx_error(ctx));
                double worst = 0;
                for (long i = 0; i < ny; i++) worst = fmax(worst, fabs((double)got[i] - y[i]) / (1.0 + fabs(y[i])));
                CHECK(worst < 2e-5, "%s: max error %.3g against Keras", file, worst);
                printf("%-28s %zu parameters, max error %.2g against Keras\n", strrchr(file, '/') + 1, lt_param_count(m), worst);
                if (strcmp(name, "functional") == 0) /* compiled in Keras: loss and optimizer taken */
                    CHECK(lt_model_loss(m) == LT_LOSS_BCE, "%s: Keras's binary_crossentropy becomes latent's bce", file);
                else
                    CHECK(lt_model_loss(m) == LT_LOSS_MSE, "%s: not compiled in Keras: mse", file);
                if (h5 == 0 && strcmp(name, "functional") == 0) { /* it trains on, with a fresh optimizer */
                    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
                    for (long i = 0; i < ny; i++) got[i] = 0.5f;
                    lt_dataset *dx = NULL, *dy = NULL;
                    lt_dataset_from_array(ctx, rows, in, x, NULL, &dx);
                    lt_dataset_from_array(ctx, rows, out, got, NULL, &dy);
                    lt_fit_opts fo = {.epochs = 1, .batch = 3, .seed = 1, .verbose = -1};
                    lt_history h1, h2;
                    st = lt_compile(m, LT_LOSS_MSE, &o);
                    if (st == LT_OK) st = lt_fit(m, dx, dy, &fo, &h1);
                    fo.epochs = 200;
                    if (st == LT_OK) st = lt_fit(m, dx, dy, &fo, &h2);
                    CHECK(st == LT_OK && h2.loss < 0.5f * h1.loss, "the imported model trains on: loss %g then %g (%s)", (double)h1.loss,
                          (double)h2.loss, lt_ctx_error(ctx));
                    lt_dataset_free(dx);
                    lt_dataset_free(dy);
                }
                free(got);
            }
            lt_model_free(m);
        }
        FREE_ALL(x, y);
    }
    fclose(f);
    CHECK(cases == 5, "%d Keras cases read (5 expected)", cases);
}

#ifdef LT_HAVE_INTEROP
/* Reads config.json (NUL-terminated) and model.weights.h5 of a .keras file; 0 or -1. */
static int read_keras(const char *file, char **cfg, size_t *cfg_len, char **wts, size_t *wts_len)
{
    int err = 0, rc = 0;
    zip_t *z = zip_open(file, ZIP_RDONLY, &err);
    *cfg = *wts = NULL;
    for (int e = 0; e < 2; e++) {
        const char *name = e ? "model.weights.h5" : "config.json";
        zip_stat_t st;
        zip_file_t *f = z && zip_stat(z, name, 0, &st) == 0 ? zip_fopen(z, name, 0) : NULL;
        char *buf = f ? calloc(st.size + 1, 1) : NULL;
        if (!buf || zip_fread(f, buf, st.size) != (zip_int64_t)st.size) rc = -1;
        if (f) zip_fclose(f);
        *(e ? wts : cfg) = buf;
        *(e ? wts_len : cfg_len) = buf ? (size_t)st.size : 0;
    }
    if (z) zip_discard(z);
    return z ? rc : -1;
}

/* Writes a .keras file of a config and a weights file (both deflated). */
static void write_keras(const char *path, const char *cfg, size_t cfg_len, const void *wts, size_t wts_len)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    zip_source_t *a = z ? zip_source_buffer(z, cfg, cfg_len, 0) : NULL, *b = z ? zip_source_buffer(z, wts, wts_len, 0) : NULL;
    int ok = a && b && zip_file_add(z, "config.json", a, 0) >= 0 && zip_file_add(z, "model.weights.h5", b, 0) >= 0;
    CHECK(ok && zip_close(z) == 0, "write %s", path);
    if (!ok && z) zip_discard(z);
}
#endif

/* Models latent lacks a layer or option for, and damaged Keras files, are errors. */
static void test_keras_refusals(void)
{
    char file[1024], path[1024];
    lt_model *m = NULL;
    snprintf(file, sizeof file, "%s/keras_reg.keras", golden_dir);
    EXPECT(ctx, lt_import(ctx, file, NULL, &m), LT_ERR_UNSUPPORTED, "layer 'withreg' (Dense): kernel_regularizer", "a Dense with a regularizer");
    snprintf(file, sizeof file, "%s/keras_branch.keras", golden_dir);
    EXPECT(ctx, lt_import(ctx, file, NULL, &m), LT_ERR_UNSUPPORTED, "is not a chain", "a Functional model with a branch");
    /* a byte inserted into a legacy .h5 file leaves a global heap object that libhdf5
     * 1.10 loops on forever (found by fuzz_keras); it is refused before libhdf5 sees it */
    snprintf(file, sizeof file, "%s/keras_gcol_loop.h5", golden_dir);
    double t0 = now();
    EXPECT(ctx, lt_import(ctx, file, NULL, &m), LT_ERR_FORMAT, "not a readable HDF5 file", "a global heap libhdf5 would loop on");
    CHECK(now() - t0 < 10, "refused in %.2f s", now() - t0);
    /* a legacy .h5 on which libhdf5 itself dereferences a wild pointer (found by
     * fuzz_keras): libhdf5 reads files in a child process, so this is an error */
    snprintf(file, sizeof file, "%s/keras_heap_crash.h5", golden_dir);
    EXPECT(ctx, lt_import(ctx, file, NULL, &m), LT_ERR_FORMAT, "libhdf5", "a file that crashes libhdf5");
#ifdef LT_HAVE_INTEROP
    /* a few kilobytes declaring 2^32 floats never written, which libhdf5 would make from
     * a fill value: the reader's budget refuses it before anything is allocated */
    hid_t f5 = H5Fcreate(fx(&fix, path, sizeof path, "fill.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(2, (hsize_t[]){65536, 65536}, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, (hsize_t[]){256, 256});
    H5Dclose(H5Dcreate2(f5, "big", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f5);
    t0 = now();
    EXPECT(ctx, lt_import(ctx, path, NULL, &m), LT_ERR_FORMAT, "fill.h5: it holds more than latent reads", "2^32 floats from a fill value");
    CHECK(now() - t0 < 5, "refused in %.2f s", now() - t0);
    /* the lab model's config with 64 MB of deflated zeros as its weights (64 kB in the
     * archive): refused for the model's size before anything is inflated */
    char *cfg = NULL, *wts = NULL, *big = calloc((size_t)64 << 20, 1);
    size_t cfg_len = 0, wts_len = 0;
    snprintf(file, sizeof file, "%s/keras_lab.keras", golden_dir);
    if (CHECK(read_keras(file, &cfg, &cfg_len, &wts, &wts_len) == 0 && big, "read %s", file)) {
        write_keras(fx(&fix, path, sizeof path, "bomb.keras"), cfg, cfg_len, big, (size_t)64 << 20);
        EXPECT(ctx, lt_import(ctx, path, NULL, &m), LT_ERR_FORMAT, "model.weights.h5 claims 67108864 bytes for a model of 2829 parameters",
               "64 MB of weights for 2,829 parameters");
    }
    FREE_ALL(cfg, wts, big);
    /* what a Keras config says that latent cannot do: the golden files with one change */
    static const struct { const char *file, *from, *to, *needle; } edits[] = {
        {"functional", "\"kwargs\": {\"mask\": null}", "\"kwargs\": {\"training\": true}", "called with argument 'training'"},
        {"functional", "{\"module\": \"keras.layers\", \"class_name\": \"Dense\"", "{\"module\": \"my_layers\", \"class_name\": \"Dense\"",
         "is a custom class Dense (my_layers)"},
        {"rnn", "\"config\": {\"name\": \"gru\",", "\"config\": {\"name\": \"gru\", \"time_major\": true,", "layer 'gru' (GRU): time_major=True"},
        {"rnn", "\"units\": 4, \"activation\": \"tanh\"", "\"units\": 4, \"activation\": \"softmax\"", "layer 'gru' (GRU): activation"},
        {"rnn", "\"units\": 4, \"activation\": \"tanh\"", "\"units\": 70000, \"activation\": \"tanh\"", "not an integer from 1 to 65536"},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        snprintf(file, sizeof file, "%s/keras_%s.keras", golden_dir, edits[k].file);
        if (!CHECK(read_keras(file, &cfg, &cfg_len, &wts, &wts_len) == 0, "read %s", file)) continue;
        char *at = strstr(cfg, edits[k].from), *edited = malloc(cfg_len + strlen(edits[k].to) + 1);
        if (CHECK(at && edited, "%s holds %s", file, edits[k].from)) {
            size_t head = (size_t)(at - cfg);
            snprintf(edited, cfg_len + strlen(edits[k].to) + 1, "%.*s%s%s", (int)head, cfg, edits[k].to, at + strlen(edits[k].from));
            write_keras(fx(&fix, path, sizeof path, "edited.keras"), edited, strlen(edited), wts, wts_len);
            EXPECT(ctx, lt_import(ctx, path, NULL, &m), LT_ERR_UNSUPPORTED, edits[k].needle, edits[k].needle);
        }
        FREE_ALL(cfg, wts, edited);
    }
#endif
    for (int h5 = 0; h5 < 2; h5++) {
        snprintf(file, sizeof file, "%s/keras_rnn.%s", golden_dir, h5 ? "h5" : "keras");
        unsigned char *whole = NULL;
        size_t n = read_whole(file, &whole);
        CHECK(n > 1000, "read %s", file);
        int bad = 0, answered = 0, tries = 0;
        for (size_t cut = 16; whole && cut < n; cut += n / 9) {
            write_bytes(fx(&fix, path, sizeof path, h5 ? "cut.h5" : "cut.keras"), whole, cut);
            lt_status st = lt_import(ctx, path, NULL, &m);
            if (st != LT_ERR_FORMAT || !says(ctx, h5 ? "cut.h5" : "cut.keras")) {
                bad++;
                printf("  cut at %zu: %s: %s\n", cut, lt_status_name(st), lt_ctx_error(ctx));
            }
            lt_model_free(m);
            m = NULL;
        }
        CHECK(bad == 0, "%s cut short anywhere: a format error naming the file (%d not)", file, bad);
        /* bytes flipped anywhere: an error or a model, never a crash */
        for (size_t at = 0; whole && at < n; at += n / 97 + 1) {
            whole[at] ^= 0x5a;
            write_bytes(fx(&fix, path, sizeof path, "flip"), whole, n);
            lt_status st = lt_import(ctx, path, NULL, &m);
            tries++;
            answered += st == LT_OK || lt_ctx_error(ctx)[0] != 0;
            lt_model_free(m);
            m = NULL;
            whole[at] ^= 0x5a;
        }
        CHECK(answered == tries, "%s with a byte flipped (%d places): a model or an error with a message each time (%d)", file, tries,
              answered);
        free(whole);
    }
}

/* Export: each Keras case exported again (lt_export_keras) imports to a model that
 * predicts bit for bit what the first import predicts; models Keras cannot express are
 * errors that name the layer and write nothing. (tests/golden/check_keras_export.py
 * loads such exports in Keras itself.) */
static void test_export(void)
{
    static const char *const names[] = {"lab", "image", "rnn", "functional", "vae"};
    char file[1024], out[1024];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(file, sizeof file, "%s/keras_%s.keras", golden_dir, names[k]);
        fx(&fix, out, sizeof out, "export.keras");
        lt_model *a = NULL, *b = NULL;
        lt_status st = lt_import(ctx, file, NULL, &a);
        if (st == LT_OK) st = lt_export_keras(a, out);
        if (st == LT_OK) st = lt_import(ctx, out, NULL, &b);
        if (CHECK(st == LT_OK, "%s: import, export, import: %s", names[k], lt_ctx_error(ctx))) {
            size_t in = (size_t)lt_input_dim(a), n = (size_t)lt_output_dim(a) * 3;
            float *x = malloc(3 * in * sizeof *x), *ya = malloc(n * sizeof *ya), *yb = malloc(n * sizeof *yb);
            for (size_t i = 0; i < 3 * in; i++) x[i] = (float)((i * 37) % 101) / 101.0f;
            lt_predict(a, x, 3, ya);
            lt_predict(b, x, 3, yb);
            CHECK(lt_param_count(a) == lt_param_count(b) && lt_output_dim(a) == lt_output_dim(b) &&
                      memcmp(ya, yb, n * sizeof *ya) == 0,
                  "%s: the exported model predicts bit for bit as the original", names[k]);
            FREE_ALL(x, ya, yb);
        }
        lt_model_free(a);
        lt_model_free(b);
    }
    static const struct { const char *arch; int dims[3]; const char *needle; } bad[] = {
        {"dense:8:sigmoid,sparsity:0.05:0.1,dense:in", {6, 0, 0}, "(Sparsity) cannot be exported"},
        {"conv:2:3x3:same,addinput", {5, 5, 2}, "(Add) cannot be exported"},
        {"lstm:4:state|lstm:4:seq:init,td:c", {6, 3, 0}, "return_state or an initial state"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lt_model *m = NULL;
        int rank = bad[k].dims[2] ? 3 : bad[k].dims[1] ? 2 : 1;
        fx(&fix, out, sizeof out, "refused.keras");
        if (!CHECK(lt_arch_build_shape(ctx, bad[k].arch, rank, bad[k].dims, 1, &m) == LT_OK, "%s builds: %s", bad[k].arch, lt_ctx_error(ctx)))
            continue;
        EXPECT(ctx, lt_export_keras(m, out), LT_ERR_UNSUPPORTED, bad[k].needle, bad[k].arch);
        CHECK(access(out, F_OK) != 0, "%s: no file written", bad[k].arch);
        lt_model_free(m);
    }
    /* a recurrent cell's leaky_relu slope other than 0.2 (model files can hold one):
     * no Keras layer can go inside the cell, so it is refused, not exported as linear */
    static const char *const cells[] = {"simple_rnn", "lstm"};
    for (int bidi = 0; bidi < 2; bidi++) {
        lt_kv kv;
        char text[160], err[256] = "";
        snprintf(text, sizeof text, "%sunits=3 activation=leaky_relu alpha=0.1 return_sequences=0", bidi ? "cell=lstm merge=concat " : "");
        lt_model *r = NULL;
        lt_layer *l = lt_kv_parse(text, &kv) == 0 ? lt_layer_from_config(bidi ? "bidirectional" : cells[0], &kv, err, sizeof err) : NULL;
        lt_status st = l ? lt_sequential(ctx, NULL, &r) : LT_ERR_ARG;
        if (st == LT_OK) st = lt_add(r, l);
        if (st == LT_OK) st = lt_build_shape(r, 2, (int[]){5, 2}, 1);
        if (CHECK(st == LT_OK, "a %s with leaky_relu alpha 0.1 builds: %s %s", cells[bidi], err, lt_ctx_error(ctx))) {
            fx(&fix, out, sizeof out, "rnnalpha.keras");
            EXPECT(ctx, lt_export_keras(r, out), LT_ERR_UNSUPPORTED, "leaky_relu with alpha 0.1", "recurrent leaky_relu slope 0.1");
            CHECK(access(out, F_OK) != 0, "recurrent alpha: no file written");
        }
        lt_model_free(r);
    }
    lt_model *m = NULL;
    if (lt_arch_build(ctx, "dense:3:leaky_relu,act:elu,dense:2:elu", 4, 1, &m) == LT_OK) {
        lt_layer_set_alpha(m->flat[1], 0.5f); /* ELU alpha 0.5: a layer of its own in Keras */
        EXPECT(ctx, lt_export_keras(m, "/nonexistent/dir/x.keras"), LT_ERR_IO, "/nonexistent/dir/x.keras", "export to a missing folder");
        lt_model *b = NULL;
        fx(&fix, out, sizeof out, "alpha.keras");
        lt_status st = lt_export_keras(m, out);
        if (st == LT_OK) st = lt_import(ctx, out, NULL, &b);
        if (CHECK(st == LT_OK, "a non-default elu alpha exports and imports: %s", lt_ctx_error(ctx))) {
            float x[4] = {-1, -2, 0.5f, -3}, ya[2], yb[2];
            lt_predict(m, x, 1, ya);
            lt_predict(b, x, 1, yb);
            CHECK(memcmp(ya, yb, sizeof ya) == 0, "ELU(alpha=0.5) as its own Keras layer predicts the same");
        }
        lt_model_free(b);
    }
    lt_model_free(m);
}

/* One thread's work for test_threads: its own context imports a legacy .h5 (a forked
 * reader), exports it and imports the export, a few times over. */
typedef struct thread_job {
    char out[1024];
    int ok;
    char why[512];
} thread_job;

static void *import_export(void *arg)
{
    thread_job *j = arg;
    lt_ctx *c = NULL;
    char file[1024];
    snprintf(file, sizeof file, "%s/keras_rnn.h5", golden_dir);
    j->ok = lt_ctx_open(&c, "cpu", j->why, sizeof j->why) == LT_OK;
    for (int round = 0; j->ok && round < 6; round++) {
        lt_model *a = NULL, *b = NULL;
        lt_status st = lt_import(c, file, NULL, &a);
        if (st == LT_OK) st = lt_export_keras(a, j->out);
        if (st == LT_OK) st = lt_import(c, j->out, NULL, &b);
        if (st != LT_OK || lt_param_count(a) != lt_param_count(b)) {
            j->ok = 0;
            snprintf(j->why, sizeof j->why, "round %d: %s", round, lt_ctx_error(c));
        }
        lt_model_free(a);
        lt_model_free(b);
    }
    lt_ctx_close(c);
    return NULL;
}

/* Two threads import and export at once (libhdf5 is not thread-safe; latent's lock and
 * the reader's closed descriptors make that work). */
static void test_threads(void)
{
#ifdef LT_ASAN
    /* gcc 12's AddressSanitizer allocator is not fork-safe: a child forked while another
     * thread allocates waits for ever on the allocator's lock (seen in gdb); glibc's
     * malloc takes its locks around fork */
    printf("two threads importing at once: skipped under AddressSanitizer (its allocator is not fork-safe)\n");
    return;
#endif
    thread_job jobs[2];
    pthread_t th[2];
    int started[2];
    for (int i = 0; i < 2; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        fx(&fix, jobs[i].out, sizeof jobs[i].out, i ? "thread1.keras" : "thread0.keras");
        started[i] = pthread_create(&th[i], NULL, import_export, &jobs[i]) == 0;
    }
    for (int i = 0; i < 2; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        CHECK(started[i] && jobs[i].ok, "thread %d imports and exports beside the other: %s", i, jobs[i].why);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) { printf("usage: test_import GOLDEN_DIR\n"); return 2; }
    golden_dir = argv[1];
    if (!(ctx = harness_ctx(NULL)) || !fixture_open(&fix, "import")) return DONE();
    if (!lt_have_import()) {
        lt_model *m = NULL;
        lt_import_opts o = {0};
        EXPECT(ctx, lt_import(ctx, "x.keras", &o, &m), LT_ERR_UNSUPPORTED, "built without", "a build without import");
    } else {
        test_golden_cases();
        test_bad_files();
        test_keras_cases();
        test_keras_refusals();
        test_export();
        test_threads();
        CHECK(lt_import_open_handles() == 0, "no libhdf5 object left open after every import and export above (%d)",
              lt_import_open_handles());
    }
    fixture_close(&fix);
    lt_ctx_close(ctx);
    return DONE();
}
