/* Fuzz target: architecture specs (lt_arch_build_shape, lt_arch_build): the token
 * parser of arch.c, the layers' settings and shape inference, then the model file's
 * architecture text through a save and a load.
 *
 * Input: a rank byte (1 + byte % 3), three size bytes, a seed byte, then the spec text
 * (up to its first NUL; a built-in's name works too). Input shapes stay small: rank 1
 * up to 256 values (built through lt_arch_build when the third size byte is odd), rank
 * 2 up to 32 steps of 16 features, rank 3 up to 32x32x4.
 *
 * A spec may legitimately ask for billions of parameters (dense:16777216). So that
 * such an input is an error rather than the fuzzer running out of memory or time, this
 * target lowers the CPU backend's memory account (the bytes it lets its buffers take,
 * normally the machine's RAM) to 4 MiB: lt_build then refuses any model of more than
 * about half a million parameters, as it would refuse one larger than the machine,
 * before allocating or initialising anything.
 *
 * Checked: a model that builds has its input shape, saves, and loads back with the
 * same parameter count and output shape (the model is freed before the load: both
 * would not fit in the account). */
#include "internal.h"
#include "cpu_internal.h"
#include "fuzz_common.h"

#define FUZZ_ARCH_MEMORY ((size_t)4 << 20)

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    if (strcmp(lt_ctx_backend(fuzz_ctx), "cpu") != 0) abort();
    ((cpu_backend *)fuzz_ctx->be)->ram_bytes = FUZZ_ARCH_MEMORY;
    devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5 || size > 4096) return 0;
    int rank = 1 + data[0] % 3, dims[3];
    if (rank == 1) dims[0] = 1 + data[1];
    if (rank == 2) { dims[0] = 1 + data[1] % 32; dims[1] = 1 + data[2] % 16; }
    if (rank == 3) { dims[0] = 1 + data[1] % 32; dims[1] = 1 + data[2] % 32; dims[2] = 1 + data[3] % 4; }
    uint64_t seed = data[4];
    char *spec = malloc(size - 5 + 1);
    if (!spec) return 0;
    memcpy(spec, data + 5, size - 5);
    spec[size - 5] = 0;

    lt_model *m = NULL;
    lt_status st = rank == 1 && (data[3] & 1) ? lt_arch_build(fuzz_ctx, spec, dims[0], seed, &m)
                                              : lt_arch_build_shape(fuzz_ctx, spec, rank, dims, seed, &m);
    fuzz_report("build", st);
    free(spec);
    if (st != LT_OK) {
        FUZZ_CHECK(m == NULL, "failed (%s) but gave a model", lt_status_name(st));
        FUZZ_CHECK(lt_ctx_error(fuzz_ctx)[0] != 0, "failed (%s) with no message", lt_status_name(st));
        return 0;
    }
    int in[3], out[3], back[3];
    int r = lt_input_shape(m, in), ro = lt_output_shape(m, out);
    size_t total = 1;
    for (int i = 0; i < r; i++) total *= (size_t)in[i];
    size_t want = 1;
    for (int i = 0; i < rank; i++) want *= (size_t)dims[i];
    FUZZ_CHECK(r >= 1 && r <= 3 && total == want && ro >= 1 && ro <= 3, "input rank %d of %zu values for %zu", r,
               total, want);
    lt_summary(m, devnull);
    size_t np = lt_param_count(m);

    const char *path = fuzz_path(0, "m.lt");
    st = lt_save(m, path, 0);
    FUZZ_CHECK(st == LT_OK, "a built model does not save: %s", lt_ctx_error(fuzz_ctx));
    lt_model_free(m); /* both would not fit in the memory account */
    lt_model *m2 = NULL;
    st = lt_load(fuzz_ctx, path, &m2);
    FUZZ_CHECK(st == LT_OK, "a saved model does not load: %s", lt_ctx_error(fuzz_ctx));
    FUZZ_CHECK(lt_param_count(m2) == np, "%zu parameters after loading, %zu before", lt_param_count(m2), np);
    int rb = lt_output_shape(m2, back);
    FUZZ_CHECK(rb == ro && memcmp(back, out, (size_t)ro * sizeof *out) == 0, "output shape changed in the round trip");
    lt_model_free(m2);
    return 0;
}
