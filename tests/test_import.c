/* Importing other frameworks' files (lt_import): PyTorch safetensors fixtures written by
 * tests/golden/make_safetensors_golden.py predict what PyTorch predicted, and broken or
 * mismatched files are clear errors. Usage: test_import GOLDEN_DIR; runs on the backend
 * LATENT_DEVICE names. */
#include "model.h"
#include "harness.h"

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
        lt_import_opts o = st_opts("dense:16:elu,dense:4|dense:16:elu,dense:in:sigmoid", 1, (int[]){20});
        st = lt_import(ctx, path, &o, &m);
        char what[64];
        snprintf(what, sizeof what, "golden file cut at %zu of %zu bytes", cut, n);
        EXPECT(ctx, st, LT_ERR_FORMAT, "cut.safetensors", what);
    }
    free(whole);
    /* the wrong architecture for a real file: named tensor, both shapes */
    lt_import_opts o = st_opts("dense:17:elu,dense:4|dense:16:elu,dense:in:sigmoid", 1, (int[]){20});
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
    }
    fixture_close(&fix);
    lt_ctx_close(ctx);
    return DONE();
}
