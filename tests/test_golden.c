/* Golden values: layers against outputs computed once by PyTorch, through the public
 * layers: the convolution family (tests/golden/make_conv_golden.py wrote
 * conv_golden.txt: Keras's output sizes and 'same' padding) and the recurrent layers
 * (make_rnn_golden.py wrote rnn_golden.txt: gate orders, GRU's reset_after,
 * go_backwards and Bidirectional's merges). Usage: test_golden FIXTURE CASES (CASES:
 * how many cases the fixture must hold; device from LATENT_DEVICE). */
#include "model.h"
#include "harness.h"

/* Reads "NAME N v1 ... vN" into a new array; returns N or -1. */
static long read_array(FILE *f, const char *name, float **out)
{
    char word[16];
    long n;
    if (fscanf(f, "%15s %ld", word, &n) != 2 || strcmp(word, name) != 0 || n < 0 || n > 10000000) return -1;
    *out = malloc((size_t)(n ? n : 1) * sizeof **out);
    for (long i = 0; i < n; i++)
        if (fscanf(f, "%f", &(*out)[i]) != 1) return -1;
    return n;
}

/* Checks every golden case of the fixture on the backend LATENT_DEVICE names. */
int main(int argc, char **argv)
{
    if (argc < 3) { printf("usage: test_golden FIXTURE CASES\n"); return 2; }
    int want = atoi(argv[2]);
    FILE *f = fopen(argv[1], "r");
    if (!f) { printf("cannot open %s\n", argv[1]); return 1; }
    lt_ctx *ctx = harness_ctx(NULL);
    if (!ctx) {
        fclose(f);
        return DONE();
    }
    char word[16], spec[256];
    int cases = 0;
    while (fscanf(f, "%15s %255s", word, spec) == 2 && strcmp(word, "spec") == 0) {
        int dims[3];
        float *x = NULL, *p = NULL, *y = NULL;
        if (fscanf(f, "%15s %d %d %d", word, &dims[0], &dims[1], &dims[2]) != 4) { CHECK(0, "%s: bad shape line", spec); break; }
        long nx = read_array(f, "x", &x), np = read_array(f, "p", &p), ny = read_array(f, "y", &y);
        if (nx < 0 || np < 0 || ny < 0) { CHECK(0, "%s: bad arrays", spec); break; }
        cases++;
        lt_model *m = NULL;
        lt_status st = lt_arch_build_shape(ctx, spec, 3, dims, 1, &m);
        CHECK(st == LT_OK, "%s builds: %s", spec, lt_ctx_error(ctx));
        if (st == LT_OK) {
            CHECK((long)lt_param_count(m) == np, "%s: %zu parameters, PyTorch case has %ld", spec, lt_param_count(m), np);
            CHECK(lt_output_dim(m) == ny, "%s: output size %d, PyTorch gives %ld", spec, lt_output_dim(m), ny);
            if ((long)lt_param_count(m) == np && lt_output_dim(m) == ny) {
                if (np) lt_be_upload(ctx->be, m->params, 0, p, (size_t)np);
                float *out = malloc((size_t)ny * sizeof *out);
                CHECK(lt_predict(m, x, 1, out) == LT_OK, "%s predicts: %s", spec, lt_ctx_error(ctx));
                double worst = 0;
                for (long i = 0; i < ny; i++) worst = fmax(worst, fabs((double)out[i] - y[i]) / (1.0 + fabs(y[i])));
                CHECK(worst < 1e-5, "%s: max error %.3g against PyTorch", spec, worst);
                printf("%-40s max error %.2g\n", spec, worst);
                free(out);
            }
            lt_model_free(m);
        }
        FREE_ALL(x, p, y);
    }
    CHECK(cases == want, "%d golden cases read (%d expected)", cases, want);
    fclose(f);
    lt_ctx_close(ctx);
    return DONE();
}
