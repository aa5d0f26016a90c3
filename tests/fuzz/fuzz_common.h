/* What the fuzz targets share: a CPU context opened once (one thread, so runs are
 * deterministic), and a private temporary folder (in $TMPDIR when set, else /dev/shm
 * when writable, else /tmp; memory is best, as model files are fsync'ed) where an
 * input is written as a file for the loaders, which read paths. The folder is removed
 * at exit; a crash leaves it behind (tests/fuzz/run.sh points TMPDIR into a folder of
 * its own, removed at its end), with the input that crashed saved by libFuzzer. */
#ifndef LT_FUZZ_COMMON_H
#define LT_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "latent.h"

static lt_ctx *fuzz_ctx;
static char fuzz_dir[256];
static int fuzz_verbose; /* LATENT_FUZZ_VERBOSE set: say what each input gave */

/* Removes the temporary folder and whatever the last input left in it. */
static inline void fuzz_cleanup(void)
{
    if (!fuzz_dir[0]) return;
    DIR *d = opendir(fuzz_dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", fuzz_dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(fuzz_dir);
    if (fuzz_ctx) lt_ctx_close(fuzz_ctx);
    fuzz_ctx = NULL;
}

/* Opens the context and makes the folder; any failure stops the fuzzer at once. */
static inline void fuzz_setup(void)
{
    char err[256];
    if (lt_ctx_open(&fuzz_ctx, "cpu", err, sizeof err) != LT_OK) {
        fprintf(stderr, "fuzz: cannot open the CPU context: %s\n", err);
        abort();
    }
    lt_ctx_set_threads(fuzz_ctx, 1);
    const char *tmp = getenv("TMPDIR"), *base = tmp && *tmp ? tmp : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/latent-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    fuzz_verbose = getenv("LATENT_FUZZ_VERBOSE") != NULL;
}

/* libFuzzer's initialiser for a target that needs nothing beyond fuzz_setup. */
#define FUZZ_SETUP_ONLY                                                                                                \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                                                  \
    {                                                                                                                  \
        (void)argc;                                                                                                    \
        (void)argv;                                                                                                    \
        fuzz_setup();                                                                                                  \
        return 0;                                                                                                      \
    }

/* With LATENT_FUZZ_VERBOSE, prints what loading the input gave (to check a corpus:
 * LATENT_FUZZ_VERBOSE=1 build-fuzz/tests/fuzz/fuzz_csv tests/fuzz/corpus/fuzz_csv/x). */
static inline void fuzz_report(const char *what, lt_status st)
{
    if (fuzz_verbose)
        fprintf(stderr, "fuzz: %s: %s%s%s\n", what, lt_status_name(st), st == LT_OK ? "" : ": ",
                st == LT_OK ? "" : lt_ctx_error(fuzz_ctx));
}

/* A model that loaded predicts one zero sample without an error; aborts (a finding)
 * when it does not. */
static inline void fuzz_predict_zero(lt_model *m)
{
    size_t in = (size_t)lt_input_dim(m), out = (size_t)lt_output_dim(m);
    float *x = calloc(in ? in : 1, sizeof *x), *y = calloc(out ? out : 1, sizeof *y);
    if (!x || !y || lt_predict(m, x, 1, y) != LT_OK) {
        fprintf(stderr, "fuzz: a loaded model failed to predict: %s\n", lt_ctx_error(fuzz_ctx));
        abort();
    }
    free(x);
    free(y);
}

/* The path of file `name` in the temporary folder (a static buffer per name slot). */
static inline const char *fuzz_path(int slot, const char *name)
{
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir, name);
    return paths[slot];
}

/* Writes n bytes to path (created or truncated); aborts when it cannot. */
static inline void fuzz_write(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror(path);
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* A failed property of a parser (not a sanitizer report): say what and crash, so that
 * libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz: check failed: %s: ", #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* The sanitizers' settings when a target is run by hand (tests/fuzz/run.sh sets the
 * same in the environment, which takes precedence): any UBSan report halts, except
 * those tests/fuzz/ubsan.supp names (LT_FUZZ_DIR is this folder, from meson); malloc
 * failures return NULL, as the library handles them. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1:suppressions=" LT_FUZZ_DIR "/ubsan.supp";
}
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
