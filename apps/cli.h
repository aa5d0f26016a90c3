/* The latent command-line program: declarations shared by its source files, grouped
 * by the file that defines them. Each file calls only those listed above it here:
 *   apps/cli_common.c   messages and progress, the device context, seeds, checks of inputs
 *                       and outputs, the samples a picture shows
 *   apps/cli_commands.c the subcommands' names, operand counts and help texts
 *   apps/cli_args.c     option parsing; the options a model file records
 *   apps/cli_data.c     loading --data (built-in sets, IDX, images, CSV tables and series)
 *   apps/cli_train.c, cli_image.c, cli_latent.c, cli_anomaly.c   the commands
 *   apps/main.c         main: parses the options and calls the command */
#ifndef LATENT_CLI_H
#define LATENT_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "latent.h"

/* Most operands a command takes (score: MODEL and images). */
#define CLI_MAX_OPERANDS 64

/* Room for the string options (a --data path, --columns) a model file records. */
#define CLI_RECORDED_BYTES 8192

/* Exit statuses: success, a runtime error (library, files, data), a usage error. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* Marks a function whose argument fmt_arg is a printf format for the arguments from first_arg. */
#if defined(__GNUC__)
#define CLI_PRINTF(fmt_arg, first_arg) __attribute__((format(printf, fmt_arg, first_arg)))
#else
#define CLI_PRINTF(fmt_arg, first_arg)
#endif

/* Subcommands, as bits so an option can name the subcommands that accept it; the
 * lines group them as the files that run them do (see the end of this header). */
typedef enum cli_cmd {
    CMD_DEVICES = 1u << 0, CMD_TRAIN = 1u << 1, CMD_EVAL = 1u << 2, CMD_SUMMARY = 1u << 3, CMD_RECONSTRUCT = 1u << 4,
    CMD_BENCH = 1u << 5,
    CMD_DENOISE = 1u << 6, CMD_UPSCALE = 1u << 7, CMD_SCORE = 1u << 8,
    CMD_GENERATE = 1u << 9, CMD_EMBED = 1u << 10, CMD_ANOMALY = 1u << 11, CMD_PCA = 1u << 12, CMD_CLASSIFY = 1u << 13,
    CMD_IMPORT = 1u << 14, CMD_EXPORT = 1u << 15
} cli_cmd;

/* Option identities; cli_given() tells whether one was on the command line. */
typedef enum cli_opt_id {
    OPT_HELP, OPT_DEVICE, OPT_SEED, OPT_THREADS, OPT_QUIET,
    OPT_DATA, OPT_LIMIT, OPT_ARCH, OPT_INPUT,
    OPT_EPOCHS, OPT_BATCH, OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_NESTEROV, OPT_LOSS,
    OPT_VALIDATION_SPLIT, OPT_PATIENCE, OPT_OUT, OPT_PNG, OPT_N, OPT_SECONDS, OPT_PREDICT,
    OPT_NOISE, OPT_AUGMENT, OPT_DOWNSCALE, OPT_PATCH, OPT_STRIDE, OPT_CHANNELS,
    OPT_KL_WARMUP, OPT_CLASS, OPT_BETWEEN, OPT_GRID, OPT_SPREAD, OPT_METHOD, OPT_PERCENTILE, OPT_K,
    OPT_HIDDEN, OPT_LABELS, OPT_PRETRAIN, OPT_PRETRAIN_EPOCHS, OPT_CLIPNORM, OPT_GLOBAL_CLIPNORM,
    OPT_WINDOW, OPT_COLUMNS, OPT_TEST_SPLIT, OPT_INTERPOLATE, OPT_WIDE, OPT_CENTER_WINDOWS,
    OPT_RESUME, OPT_INIT_FROM, OPT_CHECKPOINT_EVERY, OPT_CHECKPOINT_MINUTES,
    OPT_COUNT
} cli_opt_id;

/* Everything the command line can say, with defaults filled in by cli_parse. */
/* This run's place among processes that train one model (apps/cli_mpi.c). */
typedef struct cli_mpi {
    int started;                 /* MPI_Init was called (an MPI launcher started us) */
    lt_comm *comm;               /* MPI_COMM_WORLD's processes (NULL: alone)        */
    int rank, size;              /* in comm (0 and 1 alone)                         */
    int agreed;                  /* lt_fit returned, which it does on every rank
                                    together (failed or not): from here no rank
                                    waits for another, so a failure needs no abort  */
} cli_mpi;

typedef struct cli_opts {
    cli_cmd cmd;                 /* the subcommand                                  */
    cli_mpi *mpi;                /* the processes training together (NULL: alone);
                                    set by main, not by an option                   */
    const char *cmd_name;        /* its name, for messages                          */
    uint64_t given;              /* bit i set: option i was given                   */
    const char *device;          /* --device, else $LATENT_DEVICE, else "auto"      */
    uint64_t seed;               /* --seed                                          */
    int threads;                 /* --threads (0: all cores)                        */
    int quiet;                   /* --quiet                                         */
    const char *data;            /* --data: a name, a folder or a CSV file          */
    long limit;                  /* --limit: samples per split (0: all)             */
    const char *arch;            /* --arch (NULL: the data's default)               */
    int input;                   /* --input: input width for summary and bench     */
    int epochs;                  /* --epochs                                        */
    int batch;                   /* --batch                                         */
    const char *optimizer;       /* --optimizer                                     */
    float lr;                    /* --lr (only when given)                          */
    float momentum;              /* --momentum                                      */
    int nesterov;                /* --nesterov                                      */
    float clipnorm;              /* --clipnorm: per-tensor gradient norm cap (0: off) */
    float global_clipnorm;       /* --global-clipnorm: global gradient norm cap (0: off) */
    const char *loss;            /* --loss                                          */
    float validation_split;      /* --validation-split                              */
    int patience;                /* --patience                                      */
    const char *out;             /* --out                                           */
    const char *png;             /* --png (NULL: derived from --out)                */
    int n;                       /* --n: images in a reconstruction grid            */
    double seconds;              /* --seconds: bench duration                       */
    int predict;                 /* --predict: bench times prediction, not training */
    float noise;                 /* --noise: stddev of input noise (denoising)      */
    const char *augment;         /* --augment: augmentation spec                    */
    int downscale;               /* --downscale: super-resolution factor (0: off)   */
    int patch;                   /* --patch: side of patches cut from image folders */
    int stride;                  /* --stride: step between patches (0: patch/2) or
                                    between series windows (0: 1)                   */
    int channels;                /* --channels: 1 or 3 for image files (0: model's) */
    float kl_warmup;             /* --kl-warmup: epochs of VAE KL warm-up           */
    int class_id;                /* --class: generate from this class's codes       */
    const char *between;         /* --between A,B: interpolate two test images      */
    int grid;                    /* --grid N: a VAE's 2-D code manifold, N x N      */
    float spread;                /* --spread: perturbation scale around a class mean */
    const char *method;          /* --method: embed's code, pca or tsne             */
    float percentile;            /* --percentile: anomaly threshold percentile      */
    const char *k_list;          /* --k: pca's component counts, "2,8,32"           */
    const char *hidden;          /* --hidden: classify's Dense widths, "256,64"     */
    long labels;                 /* --labels: labelled training samples (0: all)    */
    int pretrain;                /* --pretrain: greedy layer-wise pretraining first */
    int pretrain_epochs;         /* --pretrain-epochs: epochs per pretrained layer   */
    int window;                  /* --window: rows per window of a CSV series (0: the
                                    CSV is a table, not a series)                   */
    const char *columns;         /* --columns: CSV columns to read (NULL: all)      */
    float test_split;            /* --test-split: last fraction of a series' rows
                                    held out as test data                           */
    int interpolate;             /* --interpolate: fill empty CSV cells linearly     */
    int wide;                    /* --wide: a row's columns are successive steps     */
    int center_windows;          /* --center-windows: each window minus its mean     */
    const char *resume;          /* --resume: the model file whose run train goes on with */
    const char *init_from;       /* --init-from: a model file whose weights train starts from */
    int checkpoint_every;        /* --checkpoint-every: epochs between checkpoints (0: none) */
    double checkpoint_minutes;   /* --checkpoint-minutes: minutes between checkpoints (0: none) */
    const char *positional[CLI_MAX_OPERANDS]; /* operands, e.g. the model file     */
    int npositional;             /* how many operands                               */
    uint64_t recorded;           /* bit i set: option i came from the MODEL's notes */
    char recorded_text[CLI_RECORDED_BYTES]; /* the string values among them        */
    char recorded_names[512];    /* " --data --columns ": their names, for messages */
    const char *recorded_from;   /* the model file they came from (NULL: none)      */
} cli_opts;

/* Whether this process writes files and prints results: alone, or rank 0 of several. */
static inline int cli_is_root(const cli_opts *o)
{
    return !o->mpi || o->mpi->rank == 0;
}

/* Whether option id was given on the command line (or taken from the MODEL's notes). */
static inline int cli_given(const cli_opts *o, cli_opt_id id)
{
    return (int)((o->given >> id) & 1u);
}

/* ------------------------------------------------------------ apps/cli_mpi.c */

/* Starts MPI for train and bench when an MPI launcher started this process (else, or
 * for other commands, latent runs alone as ever); fills *mp. CLI_OK or CLI_RUNTIME. */
int cli_mpi_start(int *argc, char ***argv, cli_cmd cmd, cli_mpi *mp);
/* Ends MPI with the command's status rc, which it returns: a failure that was not
 * agreed by every rank (mp->agreed) aborts all of them, so none waits forever. */
int cli_mpi_end(cli_mpi *mp, int rc);
/* The device this rank opens: --device as given, except that "auto" with several ranks
 * takes the GPU numbered by the rank on its machine (modulo the machine's GPUs), else
 * the CPU with *threads (else 0) its share of the machine's cores. buf holds a made name. */
const char *cli_mpi_device(const cli_opts *o, char *buf, size_t len, int *threads);
/* With several ranks, rank 0 prints which device every rank took (collective). */
void cli_mpi_report_devices(const cli_opts *o, const lt_ctx *ctx);

/* ------------------------------------------------------------ apps/cli_common.c */

/* Prints "latent CMD: message" on stderr, then a --help hint when status is CLI_USAGE;
 * returns status. Called through the two macros below. */
int cli_report(const cli_opts *o, int status, const char *fmt, ...) CLI_PRINTF(3, 4);
/* A runtime error: prints "latent CMD: message" on stderr; gives CLI_RUNTIME. */
#define cli_fail(o, ...) cli_report((o), CLI_RUNTIME, __VA_ARGS__)
/* A usage error: prints the message naming the subcommand and a --help hint; gives CLI_USAGE. */
#define cli_usage_error(o, ...) cli_report((o), CLI_USAGE, __VA_ARGS__)
/* Reports a failed library call: what we were doing, then the context's message. */
int cli_fail_lt(const cli_opts *o, const lt_ctx *ctx, int status, const char *what);
/* Progress note on stderr, unless --quiet. */
void cli_note(const cli_opts *o, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "latent CMD: warning: message" on stderr, even with --quiet (it is about the result). */
void cli_warn(const cli_opts *o, const char *fmt, ...) CLI_PRINTF(2, 3);

/* A counter of work done, for a command's long loops (train has lt_fit's progress). */
#define CLI_PROGRESS_AFTER 2.0  /* seconds before the first count: short runs stay quiet */
#define CLI_PROGRESS_EVERY 10.0 /* seconds between counts when stderr is not a terminal */
typedef struct cli_progress {
    const cli_opts *o;
    const char *what; /* what is counted, as "images scored" */
    size_t total;
    double t0, last;  /* start, last count shown (seconds) */
    int tty, shown;   /* stderr is a terminal; a count was shown */
} cli_progress;
/* Starts counting total items of what. */
void cli_progress_start(cli_progress *p, const cli_opts *o, const char *what, size_t total);
/* Shows "latent: DONE of TOTAL what, about S s left" on stderr, unless --quiet: nothing
 * in the first CLI_PROGRESS_AFTER seconds, then on a terminal a line redrawn in place,
 * elsewhere a line then and every CLI_PROGRESS_EVERY seconds. */
void cli_progress_update(cli_progress *p, size_t done);
/* Ends the count: after one that was shown, "latent: TOTAL what in S s" when rc is
 * CLI_OK (the work was done); on a terminal the redrawn line is cleared either way. A
 * zeroed counter (never started) shows nothing. */
void cli_progress_end(cli_progress *p, int rc);

/* Opens the --device context, applies --threads, says which device "auto" took. */
int cli_open_ctx(const cli_opts *o, lt_ctx **ctx);
/* Loads the MODEL operand (the first) into *m; a failure says why. */
int cli_load_model(const cli_opts *o, lt_ctx *ctx, lt_model **m);
/* The end of a command: frees model m and closes ctx (either may be NULL); returns rc. */
int cli_close(lt_ctx *ctx, lt_model *m, int rc);

/* SplitMix64's output mixing of z. */
uint64_t cli_mix64(uint64_t z);
/* A seed for stream `stream` of --seed, decorrelated from the other streams' (the swiss
 * roll's splits, the noise of train's and eval's inputs). */
uint64_t cli_derive_seed(uint64_t seed, uint64_t stream);

/* Whether the dataset holds images. */
int cli_is_image(const lt_dataset *ds);
/* Whether the samples are windows of a series. */
int cli_is_windows(const lt_dataset *ds);
/* Checks that model m (from model_path) takes ds's samples: the same width and, for
 * windows of a series, the same (steps, features); an error names both shapes. */
int cli_check_input(const cli_opts *o, const lt_model *m, const char *model_path, const lt_dataset *ds);
/* Turns --optimizer, --lr, --momentum, --nesterov, --clipnorm and --global-clipnorm
 * into optimizer settings. */
int cli_optimizer_from_opts(const cli_opts *o, lt_optimizer *opt);
/* The fit options every training command takes alike: --epochs, --batch, --seed, and
 * progress on stderr unless --quiet. */
lt_fit_opts cli_fit_opts(const cli_opts *o);

/* --png, or --out with its .lt or .csv suffix swapped for .png (malloc'd; NULL: no memory). */
char *cli_png_path(const cli_opts *o);
/* What an output path will hold: a model (saved over an older model is fine), a PNG
 * picture or a CSV table (neither ever written over a model file, which it would
 * destroy). */
typedef enum { CLI_OUT_MODEL, CLI_OUT_PNG, CLI_OUT_CSV } cli_out_kind;
/* Fails early when path is a folder, its folder takes no new files or, for a picture or
 * table, it is an existing model file (runtime errors); a picture whose name does not end
 * in .png is a usage error naming the extension (pictures are only written as PNG). */
int cli_check_output_path(const cli_opts *o, const char *opt, const char *path, cli_out_kind kind);
/* Fails when two outputs of one command name the same file (the second would replace the first). */
int cli_check_distinct_outputs(const cli_opts *o, const char *opt_a, const char *a, const char *opt_b, const char *b);

/* The k samples of ds (k <= its count) a picture shows, into idx in ascending order:
 * the first k, but for images without labels (patches cut from pictures, whose first
 * ones are often flat sky) k patches spread evenly, in ds's order, over the quarter of
 * them with the most detail (the mean squared difference of neighbouring pixels). */
void cli_picture_picks(const lt_dataset *ds, size_t k, size_t *idx);
/* A buffer for the outputs of the k samples of ds a picture shows (k x dim floats,
 * malloc'd; NULL without memory), followed by those samples (cli_picture_picks), which
 * *samples is pointed at; freeing the buffer frees both. */
float *cli_picture_buffer(const lt_dataset *ds, size_t k, const float **samples);

/* The encoder of an autoencoder m: its first nested model, when that takes m's input
 * (a file may nest models anywhere, so this is checked, never assumed); else NULL. */
lt_model *cli_encoder(lt_model *m);
/* The decoder: m's second nested model, when cli_encoder(m) exists and the decoder
 * takes the encoder's output; else NULL. */
lt_model *cli_decoder(lt_model *m);
/* Prints "test accuracy: A" of classifier m on ds's labels (argmax of the outputs). */
int cli_print_accuracy(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds);
/* One-hot targets (n x classes) for ds's labels; a label outside [0, classes) or no
 * labels at all is an error naming --data. */
int cli_onehot(const cli_opts *o, lt_ctx *ctx, const lt_dataset *ds, int classes, lt_dataset **out);

/* ------------------------------------------------------------ apps/cli_commands.c */

/* Looks a subcommand up by name; 0 when unknown. */
cli_cmd cli_cmd_lookup(const char *name);
/* The most operands subcommand cmd takes (0 for an unknown one). */
int cli_cmd_max_operands(cli_cmd cmd);
/* Prints the top-level help to stdout. */
void cli_print_main_help(void);
/* Prints a subcommand's help to stdout; returns 0, or -1 for an unknown name. */
int cli_print_cmd_help(const char *name);
/* Prints problem (when given), the one-line usage and a help hint to stderr; returns CLI_USAGE. */
int cli_main_usage(const char *problem);

/* ------------------------------------------------------------ apps/cli_args.c */

/* Parses argv for the subcommand argv[0]. Returns -1 to go on, or an exit status
 * (0 after printing --help, CLI_USAGE after a usage message on stderr). */
int cli_parse(int argc, char **argv, cli_opts *o);
/* Saves in m's notes ("train.NAME") the options of `train` that shape its data and
 * its task (--data, the series options, --noise, --downscale, --class, --limit), which
 * commands reading the model later take unless told otherwise, and those of its run
 * (--epochs, --batch, --seed, --arch, the optimizer, ...), which `train --resume`
 * takes. Notes of an earlier training are removed first. */
lt_status cli_record_options(const cli_opts *o, lt_model *m);
/* Writes into line (size bytes) the options m records from training, as
 * " --data X --window 24 --wide"; 0 when it records none. */
int cli_recorded_options(const lt_model *m, char *line, size_t size);

/* ------------------------------------------------------------ apps/cli_data.c */

/* What --data names: a built-in set, a folder of IDX files, a CSV file, a folder of images. */
typedef enum cli_data_kind { DATA_FASHION, DATA_SWISS, DATA_IDX_DIR, DATA_CSV, DATA_IMAGES } cli_data_kind;
/* Classifies --data: a built-in name, else an existing folder (IDX or images) or file
 * (CSV); a missing path is an error, so commands call this before opening the device. */
int cli_data_kind_of(const cli_opts *o, cli_data_kind *kind);
/* Loads --data's train (train != 0) or test split as eval does for model m (image folders
 * cut into patches of m's input size and channels unless --patch/--channels say
 * otherwise; m may be NULL: 32x32x3). */
int cli_load_split(const cli_opts *o, lt_ctx *ctx, int train, const lt_model *m, lt_dataset **out);
/* Loads both splits of --data as cli_load_split does, the training split first. */
int cli_load_splits(const cli_opts *o, lt_ctx *ctx, const lt_model *m, lt_dataset **train, lt_dataset **test);
/* Loads --data's train (train != 0) or test split for an --arch not built yet: image
 * folders cut into patches of the input side and channels of the built-ins made for one
 * size (conv-ae: 28x28x1, denoise-rgb: 63x63x3), else 32x32x3. */
int cli_load_split_for_arch(const cli_opts *o, lt_ctx *ctx, int train, lt_dataset **out);
/* A CSV time series as --window reads it: the rows as loaded (a --wide table read
 * across its rows into one column), the same rows standardized with the statistics of
 * the training rows, and how many of the first rows are training rows (the rest,
 * --test-split of them, are test rows). */
typedef struct cli_series {
    lt_dataset *raw;
    lt_dataset *scaled;
    size_t train_rows;
    double *mean, *sd; /* the scaling: per column, (raw - mean) / sd gives scaled */
} cli_series;
/* Loads --data as a series for --window, checking that the window fits the training
 * and the test rows. Scaled as model m's training series was when m (from the MODEL
 * operand) records that, else with the training rows' statistics; m may be NULL. */
int cli_load_series(const cli_opts *o, lt_ctx *ctx, const lt_model *m, cli_series *s);
/* Records the series' scaling in m's notes, for cli_load_series to apply later. */
lt_status cli_record_series_moments(const cli_series *s, lt_model *m);
/* Frees what cli_load_series made; a zeroed series is fine. */
void cli_series_free(cli_series *s);
/* Windows of --window rows every --stride rows (default 1) of rows [first, first+count)
 * of the standardized series, each centred on its mean with --center-windows. */
int cli_series_windows(const cli_opts *o, lt_ctx *ctx, const cli_series *s, size_t first, size_t count,
                       lt_dataset **out);

/* ------------------------------------------------------------ the commands */

/* Each runs one subcommand on parsed options and returns its exit status. */
/* apps/cli_train.c: devices, train, eval, summary, reconstruct, bench. */
int cli_cmd_devices(const cli_opts *o);
int cli_cmd_train(const cli_opts *o);
int cli_cmd_eval(const cli_opts *o);
int cli_cmd_summary(const cli_opts *o);
/* The input shape of an architecture built for input_dim values a sample (ds's image
 * or sequence shape when it has one, else a square gray or RGB image when input_dim is
 * one, else a vector): fills dims, returns the rank. */
int cli_input_shape(const lt_dataset *ds, int input_dim, int dims[3]);
/* cli_interop.c: latent import (Keras and PyTorch files to a model file) and latent
 * export (a model file to a Keras .keras file). */
int cli_cmd_import(const cli_opts *o);
int cli_cmd_export(const cli_opts *o);
int cli_cmd_reconstruct(const cli_opts *o);
int cli_cmd_bench(const cli_opts *o);
/* apps/cli_image.c: denoise, upscale, score. */
int cli_cmd_denoise(const cli_opts *o);
int cli_cmd_upscale(const cli_opts *o);
int cli_cmd_score(const cli_opts *o);
/* apps/cli_latent.c: generate, embed, pca, classify. */
int cli_cmd_generate(const cli_opts *o);
int cli_cmd_embed(const cli_opts *o);
int cli_cmd_pca(const cli_opts *o);
int cli_cmd_classify(const cli_opts *o);
/* apps/cli_anomaly.c: anomaly. */
int cli_cmd_anomaly(const cli_opts *o);

#endif
