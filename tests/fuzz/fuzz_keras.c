/* Fuzz target: Keras files (lt_import): Keras 3 .keras archives (libzip; config.json
 * through Jansson; model.weights.h5 through libhdf5 from memory) and legacy .h5 files
 * (the model_config attribute, model_weights' layer_names and weight_names), the
 * config's layers and options, and the weights' paths and shapes.
 *
 * Input: the file (its format from its first bytes). The golden fixtures
 * (tests/golden/keras_*.keras and .h5) seed the corpus. Checked beyond the sanitizers:
 * a file that imports gives a model that predicts (a zero input) without an error, and
 * no libhdf5 object is open in this process after an import (libhdf5 parses the file
 * in a child process: lib/keras_h5.c). */
#include "fuzz_common.h"
#include "interop.h"

FUZZ_SETUP_ONLY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(0, "in.keras");
    fuzz_write(path, data, size);
    lt_model *m = NULL;
    lt_status st = lt_import(fuzz_ctx, path, NULL, &m);
    fuzz_report("import", st);
    if (st == LT_OK) fuzz_predict_zero(m);
    lt_model_free(m);
    if (lt_import_open_handles() != 0) {
        fprintf(stderr, "fuzz_keras: %d libhdf5 objects left open after an import\n", lt_import_open_handles());
        abort();
    }
    unlink(path);
    return 0;
}
