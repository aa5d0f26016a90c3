/* Fuzz target: PyTorch safetensors files (lt_import): the header's length, its JSON
 * (Jansson), every tensor's dtype, shape and byte range, and the conversion into the
 * layers of an architecture (permuted Dense rows and columns, convolution kernels,
 * recurrent gates, modules matched by name).
 *
 * Input: one byte choosing the architecture and input shape of one of the golden
 * files (tests/golden/st_*.safetensors, which seed the corpus), then the file.
 * Checked beyond the sanitizers: a file that imports gives a model that predicts (a
 * zero input) without an error. */
#include <math.h>
#include "fuzz_common.h"

FUZZ_SETUP_ONLY

static const struct { const char *arch; int rank, dims[3]; } cases[] = {
    {"conv:4:3x3:elu:same,maxpool:2x2,conv:3:3x3:relu:s2,flatten,dense:12:tanh,dense:48:elu,reshape:4x4x3,"
     "deconv:2:3x3:sigmoid:s2:op1", 3, {12, 12, 2}},
    {"bilstm:5:seq,gru:4:seq,rnn:3:seq,td:2", 2, {6, 3, 0}},
    {"lstm:4:seq,lstm:4,dense:2:sigmoid", 2, {7, 3, 0}},
    {"dense:16:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid", 1, {20, 0, 0}},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *path = fuzz_path(0, "in.safetensors");
    fuzz_write(path, data + 1, size - 1);
    lt_import_opts o = {0};
    int k = data[0] % (sizeof cases / sizeof cases[0]);
    o.arch = cases[k].arch;
    o.input_rank = cases[k].rank;
    for (int i = 0; i < 3; i++) o.input_dims[i] = cases[k].dims[i];
    lt_model *m = NULL;
    lt_status st = lt_import(fuzz_ctx, path, &o, &m);
    fuzz_report("import", st);
    if (st == LT_OK) fuzz_predict_zero(m);
    lt_model_free(m);
    unlink(path);
    return 0;
}
