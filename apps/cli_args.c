/* Command-line parsing and help text for the latent program. Table-driven: each
 * option names its value type, its range and the subcommands that accept it, so
 * every subcommand reports unknown options, missing values and bad numbers alike. */
#include "cli.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "latent.h"

/* Value types of options. */
typedef enum opt_kind { K_FLAG, K_INT, K_LONG, K_U64, K_FLOAT, K_DOUBLE, K_STR } opt_kind;

/* One option: its name, value type, where the value goes, accepted range and the
 * subcommands (cli_cmd bits) that accept it. */
typedef struct opt_spec {
    cli_opt_id id;       /* identity, also the bit in cli_opts.given            */
    const char *name;    /* long name without the leading "--"                  */
    opt_kind kind;       /* value type                                          */
    size_t offset;       /* field of cli_opts that receives the value           */
    double lo, hi;       /* numeric range                                       */
    int lo_open;         /* 1: the range excludes lo                            */
    int hi_open;         /* 1: the range excludes hi                            */
    unsigned cmds;       /* subcommands that accept it                          */
} opt_spec;

#define IMAGE_CMDS (CMD_DENOISE | CMD_UPSCALE | CMD_SCORE)
#define LATENT_CMDS (CMD_GENERATE | CMD_EMBED | CMD_ANOMALY | CMD_PCA | CMD_CLASSIFY)
#define ALL_CMDS (CMD_DEVICES | CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT | CMD_BENCH | IMAGE_CMDS | LATENT_CMDS)
#define DATA_CMDS (CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS)
#define OFF(f) offsetof(cli_opts, f)

static const opt_spec opt_table[] = {
    {OPT_HELP, "help", K_FLAG, 0, 0, 0, 0, 0, ALL_CMDS},
    {OPT_DEVICE, "device", K_STR, OFF(device), 0, 0, 0, 0, ALL_CMDS},
    {OPT_SEED, "seed", K_U64, OFF(seed), 0, 0, 0, 0, ALL_CMDS},
    {OPT_THREADS, "threads", K_INT, OFF(threads), 0, 4096, 0, 0, ALL_CMDS},
    {OPT_QUIET, "quiet", K_FLAG, OFF(quiet), 0, 0, 0, 0, ALL_CMDS},
    {OPT_DATA, "data", K_STR, OFF(data), 0, 0, 0, 0, DATA_CMDS},
    {OPT_LIMIT, "limit", K_LONG, OFF(limit), 1, (double)LONG_MAX, 0, 0,
     CMD_TRAIN | CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS},
    {OPT_ARCH, "arch", K_STR, OFF(arch), 0, 0, 0, 0, CMD_TRAIN | CMD_SUMMARY | CMD_BENCH},
    {OPT_INPUT, "input", K_INT, OFF(input), 1, 1 << 24, 0, 0, CMD_SUMMARY | CMD_BENCH},
    {OPT_EPOCHS, "epochs", K_INT, OFF(epochs), 1, 1000000, 0, 0, CMD_TRAIN | CMD_CLASSIFY},
    {OPT_BATCH, "batch", K_INT, OFF(batch), 1, 1 << 20, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_OPTIMIZER, "optimizer", K_STR, OFF(optimizer), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_LR, "lr", K_FLOAT, OFF(lr), 0, FLT_MAX, 1, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_MOMENTUM, "momentum", K_FLOAT, OFF(momentum), 0, 1, 0, 1, CMD_TRAIN | CMD_BENCH},
    {OPT_NESTEROV, "nesterov", K_FLAG, OFF(nesterov), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH},
    {OPT_CLIPNORM, "clipnorm", K_FLOAT, OFF(clipnorm), 0, FLT_MAX, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_GLOBAL_CLIPNORM, "global-clipnorm", K_FLOAT, OFF(global_clipnorm), 0, FLT_MAX, 0, 0,
     CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_LOSS, "loss", K_STR, OFF(loss), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH},
    {OPT_VALIDATION_SPLIT, "validation-split", K_FLOAT, OFF(validation_split), 0, 1, 0, 1, CMD_TRAIN},
    {OPT_PATIENCE, "patience", K_INT, OFF(patience), 0, 1000000, 0, 0, CMD_TRAIN},
    {OPT_OUT, "out", K_STR, OFF(out), 0, 0, 0, 0,
     CMD_TRAIN | CMD_RECONSTRUCT | CMD_GENERATE | CMD_EMBED | CMD_ANOMALY | CMD_CLASSIFY},
    {OPT_PNG, "png", K_STR, OFF(png), 0, 0, 0, 0, CMD_TRAIN | CMD_SCORE | CMD_ANOMALY},
    {OPT_N, "n", K_INT, OFF(n), 1, 1000, 0, 0, CMD_RECONSTRUCT | CMD_SCORE | CMD_GENERATE},
    {OPT_SECONDS, "seconds", K_DOUBLE, OFF(seconds), 0, 3600, 1, 0, CMD_BENCH},
    {OPT_NOISE, "noise", K_FLOAT, OFF(noise), 0, 10, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SCORE | CMD_CLASSIFY},
    {OPT_AUGMENT, "augment", K_STR, OFF(augment), 0, 0, 0, 0, CMD_TRAIN},
    {OPT_DOWNSCALE, "downscale", K_INT, OFF(downscale), 2, 16, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SCORE},
    {OPT_PATCH, "patch", K_INT, OFF(patch), 1, 4096, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT},
    {OPT_STRIDE, "stride", K_INT, OFF(stride), 1, 1 << 24, 0, 0, DATA_CMDS},
    {OPT_WINDOW, "window", K_INT, OFF(window), 1, 1 << 24, 0, 0, DATA_CMDS},
    {OPT_COLUMNS, "columns", K_STR, OFF(columns), 0, 0, 0, 0, DATA_CMDS},
    {OPT_TEST_SPLIT, "test-split", K_FLOAT, OFF(test_split), 0, 1, 1, 1, DATA_CMDS},
    {OPT_INTERPOLATE, "interpolate", K_FLAG, OFF(interpolate), 0, 0, 0, 0, DATA_CMDS},
    {OPT_WIDE, "wide", K_FLAG, OFF(wide), 0, 0, 0, 0, DATA_CMDS},
    {OPT_CENTER_WINDOWS, "center-windows", K_FLAG, OFF(center_windows), 0, 0, 0, 0, DATA_CMDS},
    {OPT_CHANNELS, "channels", K_INT, OFF(channels), 1, 3, 0, 0, DATA_CMDS},
    {OPT_KL_WARMUP, "kl-warmup", K_FLOAT, OFF(kl_warmup), 0, 1e6, 0, 0, CMD_TRAIN},
    {OPT_CLASS, "class", K_INT, OFF(class_id), 0, 1 << 30, 0, 0, CMD_GENERATE | CMD_TRAIN | CMD_ANOMALY},
    {OPT_METHOD, "method", K_STR, OFF(method), 0, 0, 0, 0, CMD_EMBED},
    {OPT_PERCENTILE, "percentile", K_FLOAT, OFF(percentile), 0, 100, 0, 0, CMD_ANOMALY},
    {OPT_K, "k", K_STR, OFF(k_list), 0, 0, 0, 0, CMD_PCA},
    {OPT_HIDDEN, "hidden", K_STR, OFF(hidden), 0, 0, 0, 0, CMD_CLASSIFY},
    {OPT_LABELS, "labels", K_LONG, OFF(labels), 1, (double)LONG_MAX, 0, 0, CMD_CLASSIFY},
    {OPT_PRETRAIN, "pretrain", K_FLAG, OFF(pretrain), 0, 0, 0, 0, CMD_CLASSIFY},
    {OPT_PRETRAIN_EPOCHS, "pretrain-epochs", K_INT, OFF(pretrain_epochs), 1, 1000000, 0, 0, CMD_CLASSIFY},
    {OPT_BETWEEN, "between", K_STR, OFF(between), 0, 0, 0, 0, CMD_GENERATE},
    {OPT_GRID, "grid", K_INT, OFF(grid), 2, 40, 0, 0, CMD_GENERATE},
    {OPT_SPREAD, "spread", K_FLOAT, OFF(spread), 0, 100, 0, 0, CMD_GENERATE},
};

/* A subcommand: name, bit, how many operands it takes, and its help text. */
typedef struct cmd_spec {
    const char *name;
    cli_cmd cmd;
    int max_positional;
    const char *help;
} cmd_spec;

/* Shared help paragraphs. */
#define HELP_GLOBAL                                                                        \
    "Options for every command:\n"                                                         \
    "  --device D      auto, cpu, opencl or opencl:N (default: $LATENT_DEVICE, else auto;\n" \
    "                  auto takes the first OpenCL GPU, else the CPU, and says which)\n"   \
    "  --seed N        seed for weights, shuffling and generated data (default 1)\n"       \
    "  --threads N     CPU threads, 0 for all cores (default 0)\n"                         \
    "  --quiet         no progress or diagnostics on stderr\n"                             \
    "  --help          this help\n"

#define HELP_DATA                                                                          \
    "  --data D        fashion-mnist (default; $LATENT_DATA_DIR, else\n"                   \
    "                  /usr/share/datasets/fashion-mnist), swiss-roll (generated: 2000\n"  \
    "                  train, 1000 test points), a folder of IDX files\n"                  \
    "                  (train-images-idx3-ubyte[.gz], t10k-...), a CSV file, or a folder\n" \
    "                  of PNG/JPEG/BMP images cut into patches (its train/ and test/\n"    \
    "                  subfolders when it has them, else the folder for both)\n"          \
    "  --limit N       use only the first N samples (patches) of each split\n"            \
    "  --patch N       side of the square patches cut from an image folder (default: the\n" \
    "                  architecture's input side, else 32)\n"                             \
    "  --stride N      pixels between patches (default: half a patch); with --window,\n"  \
    "                  rows between windows (default 1)\n"                                \
    "  --channels C    1 (gray) or 3 (RGB) for image folders (default 3; 1 for the\n"   \
    "                  gray conv-ae, conv-ae64 and conv-vae)\n"                          \
    "  --columns LIST  the CSV columns to read, in this order: 1-based numbers, ranges\n" \
    "                  such as 2-13, or header names, comma separated (default: all);\n"  \
    "                  the other columns may hold text such as dates\n"                  \
    "  --interpolate   fill empty CSV cells (missing values) inside a column with the\n" \
    "                  straight line between the values around them (default: an error)\n" \
    "  --window W      read the CSV file as a time series (rows: time steps, columns:\n" \
    "                  features) cut into windows of W rows, the input of sequence\n"    \
    "                  models such as seq-ae (the default --arch then); the first rows\n" \
    "                  give the training windows, the last the test windows, all\n"     \
    "                  standardized with the training rows' means and deviations\n"     \
    "  --test-split F  with --window: the last fraction F of the rows is test data\n"    \
    "                  (default 0.2)\n"                                                   \
    "  --wide          with --window: a row's columns are successive time steps of one\n" \
    "                  feature, read row after row (e.g. a row per year, a column per\n"  \
    "                  month)\n"                                                           \
    "  --center-windows  with --window: subtract each window's own mean (per column), so\n" \
    "                  a model learns shapes, not levels: for a series with a trend,\n"   \
    "                  whose later rows leave the range of the training rows\n"

static const cmd_spec cmd_table[] = {
    {"devices", CMD_DEVICES, 0,
     "Usage: latent devices [OPTIONS]\n\n"
     "Lists the backends and the OpenCL devices (memory, compute units) on stdout.\n"
     "The N of --device opencl:N is a device's position in this list.\n\n" HELP_GLOBAL},
    {"train", CMD_TRAIN, 0,
     "Usage: latent train [OPTIONS]\n\n"
     "Trains an autoencoder on the training split, saves it, writes a PNG and prints\n"
     "the test loss on stdout. A failed run leaves an existing --out file untouched.\n\n"
     "Options:\n" HELP_DATA
     "  --arch A        mlp-ae, swissroll-ae, swissroll-deep-ae, conv-ae, conv-ae64,\n"
     "                  denoise-rgb (63x63x3), denoise-res and sr2x (any size), vae,\n"
     "                  conv-vae, the recurrent rnn-clf, birnn-ae and seq-ae, or a\n"
     "                  spec such as dense:64:elu,dense:2|dense:64:elu,dense:in:sigmoid\n"
     "                  or conv:16:3x3:elu:s2:same,flatten|dense:3136,reshape:14x14x16,\n"
     "                  deconv:1:3x3:sigmoid:s2:same (see the README)\n"
     "                  (default: mlp-ae for images, seq-ae for --window series,\n"
     "                  swissroll-ae otherwise)\n"
     "  --epochs N      passes over the training data (default 5)\n"
     "  --batch N       samples per step (default 256, our recipe; Keras's fit uses 32;\n"
     "                  for --window series 32, as they give few samples)\n"
     "  --optimizer O   sgd, rmsprop or adam (default adam)\n"
     "  --lr X          learning rate (default: Keras's, sgd 0.01, rmsprop/adam 0.001)\n"
     "  --momentum X    SGD momentum, 0 <= X < 1 (default 0)\n"
     "  --nesterov      SGD with Nesterov momentum\n"
     "  --clipnorm X    scale each weight tensor's gradient (each kernel, recurrent\n"
     "                  kernel, bias) down to L2 norm X when it is larger, as Keras's\n"
     "                  clipnorm (default 0: off)\n"
     "  --global-clipnorm X  scale all gradients together down to global L2 norm X when\n"
     "                  it is larger, as Keras's global_clipnorm (default 0: off; not\n"
     "                  with --clipnorm)\n"
     "  --loss L        mse, bce, bce-logits, cce, or mse-sum / bce-sum (summed over a\n"
     "                  sample's values, as a VAE's reconstruction term; default mse,\n"
     "                  for the vae built-ins bce-sum)\n"
     "  --validation-split F  hold out the last fraction F of the training data (default 0)\n"
     "  --patience N    stop after N epochs without improvement, keep the best weights\n"
     "                  (default 0: off)\n"
     "  --noise S       denoising: add gaussian noise of stddev S to the inputs, targets\n"
     "                  stay clean (the test loss is then on noisy test inputs too)\n"
     "  --augment SPEC  augment image batches as Keras's ImageDataGenerator: 'lecture'\n"
     "                  (rotation=360,zoom=0.1,shear=0.1,shift=0.1,flip) or a list of\n"
     "                  rotation=DEG, zoom=F, shear=DEG, width-shift=F, height-shift=F,\n"
     "                  shift=F (both), hflip, vflip, flip (both)\n"
     "  --downscale F   super-resolution: train on images shrunk by F and scaled back up\n"
     "                  (bicubic) against the originals (default for --arch sr2x: 2)\n"
     "  --kl-warmup E   VAE: raise the KL weight linearly from 0 over E epochs (default 0)\n"
     "  --class K       train (and test) on the samples of class K only, e.g. the normal\n"
     "                  class of an anomaly detector\n"
     "  --out FILE      model file (default model.lt)\n"
     "  --png FILE      picture: test images above their reconstructions, or the 2-D codes\n"
     "                  of the test points (default: --out with .png for .lt)\n\n" HELP_GLOBAL},
    {"eval", CMD_EVAL, 1,
     "Usage: latent eval MODEL [OPTIONS]\n\n"
     "Loads MODEL and prints its loss on the test split, e.g. 'test mse: 0.01234'.\n\n"
     "Options:\n" HELP_DATA
     "  --noise S       score denoising: the inputs get gaussian noise of stddev S\n"
     "  --downscale F   score super-resolution: inputs shrunk by F and scaled back up\n\n" HELP_GLOBAL},
    {"summary", CMD_SUMMARY, 1,
     "Usage: latent summary [MODEL] [OPTIONS]\n\n"
     "Prints the layers, output shapes and parameter counts of a model file, or of an\n"
     "architecture built for an input width.\n\n"
     "Options:\n"
     "  --arch A        architecture name or spec (default: the data's, as for train;\n"
     "                  without --data mlp-ae)\n"
     "  --input N       input width (default 3 for swissroll-*, 11907 for denoise-rgb,\n"
     "                  else 784); convolutional architectures read N = h*h as a gray\n"
     "                  image, else N = 3*h*h as an RGB one (11907: 63x63x3)\n"
     "  --data D        take the input shape from data, named and read as for train\n"
     "                  (with --window W and --columns: W steps of the columns read)\n\n" HELP_GLOBAL},
    {"reconstruct", CMD_RECONSTRUCT, 1,
     "Usage: latent reconstruct MODEL [OPTIONS]\n\n"
     "Writes a PNG: for image data the first N test images above their reconstructions,\n"
     "otherwise the encoder's 2-D codes of the test points.\n\n"
     "Options:\n" HELP_DATA
     "  --out FILE      PNG file (default reconstruction.png)\n"
     "  --n N           images in the grid (default 10)\n\n" HELP_GLOBAL},
    {"bench", CMD_BENCH, 0,
     "Usage: latent bench [OPTIONS]\n\n"
     "Times training steps of an architecture on synthetic data and prints samples/s.\n\n"
     "Options:\n"
     "  --arch A        architecture name or spec (default mlp-ae)\n"
     "  --input N       input width (default 3 for swissroll-*, 11907 for denoise-rgb,\n"
     "                  else 784); convolutional architectures read N = h*h as a gray\n"
     "                  image, else N = 3*h*h as an RGB one (11907: 63x63x3)\n"
     "  --batch N       samples per step (default 256)\n"
     "  --seconds S     time to measure, after a warm-up (default 3)\n"
     "  --optimizer O   sgd, rmsprop or adam (default adam)\n"
     "  --lr X, --momentum X, --nesterov, --loss L   as for train\n"
     "  --clipnorm X, --global-clipnorm X            as for train\n\n" HELP_GLOBAL},
    {"denoise", CMD_DENOISE, 3,
     "Usage: latent denoise MODEL IN OUT.png [OPTIONS]\n\n"
     "Cleans image IN (PNG, JPEG or BMP, any size) with a denoising model trained with\n"
     "--noise and writes OUT.png. The model runs on overlapping tiles of its input size,\n"
     "blended so no seams show. The image's channels must match the model's.\n\n" HELP_GLOBAL},
    {"upscale", CMD_UPSCALE, 3,
     "Usage: latent upscale MODEL IN OUT.png [OPTIONS]\n\n"
     "Enlarges image IN twice in each direction: a bicubic 2x resize, then a\n"
     "super-resolution model (sr2x, trained with --downscale 2) restores detail,\n"
     "tile by tile as denoise does.\n\n" HELP_GLOBAL},
    {"generate", CMD_GENERATE, 1,
     "Usage: latent generate MODEL [OPTIONS]\n\n"
     "Decodes new images with the decoder of an autoencoder and writes them as a grid.\n"
     "Without --class, --between or --grid: samples from a VAE's prior N(0, I).\n\n"
     "Options:\n"
     "  --class K       the mean code of class K's training images (labels from --data),\n"
     "                  decoded first, then N-1 variations: mean + S * (the class's\n"
     "                  per-dimension spread) * N(0, 1)\n"
     "  --spread S      the variations' scale (default 0.5)\n"
     "  --between A,B   decode N codes on the line from test image A's code to B's\n"
     "  --grid G        a VAE with a 2-D code: decode a G x G grid of codes at the normal\n"
     "                  quantiles of 0.05..0.95 on each axis (the manifold picture)\n"
     "  --n N           images (default 16; with --grid G: G*G)\n"
     "  --out FILE      PNG file (default generated.png)\n" HELP_DATA "\n" HELP_GLOBAL},
    {"embed", CMD_EMBED, 1,
     "Usage: latent embed [MODEL] [OPTIONS]\n\n"
     "Writes a scatter plot of the test split in two dimensions, coloured by class with a\n"
     "legend.\n\n"
     "Options:\n"
     "  --method M      code: MODEL's 2-D code (its encoder's output); tsne: t-SNE of\n"
     "                  MODEL's codes of any width; pca: the data's first two principal\n"
     "                  components, fitted on the training split (no MODEL needed)\n"
     "                  (default code)\n"
     "  --out FILE      PNG file (default embed.png)\n"
     "                  tsne takes the first 2000 test samples unless --limit says\n"
     "                  otherwise (t-SNE is exact, O(n^2))\n" HELP_DATA "\n" HELP_GLOBAL},
    {"anomaly", CMD_ANOMALY, 1,
     "Usage: latent anomaly MODEL [OPTIONS]\n\n"
     "Scores every test sample by its reconstruction error (mean squared, per sample),\n"
     "flags those above a threshold taken at a percentile of the training samples'\n"
     "errors, writes one line per sample to a CSV file and prints the threshold, the\n"
     "flagged fraction and, with --class K on labelled data, the ROC AUC.\n"
     "With --window (a CSV time series, read as for train) it scores every window of\n"
     "the whole series, takes the threshold from the training windows, prints the\n"
     "flagged rows and draws the series with the flagged windows' rows shaded above\n"
     "the scores and the threshold.\n\n"
     "Options:\n"
     "  --class K       the normal class: the threshold comes from its training samples,\n"
     "                  and every other class counts as an anomaly for the ROC AUC\n"
     "  --percentile P  threshold percentile of the training errors (default 95)\n"
     "  --out FILE      CSV file: index,score,flagged[,label], for a series\n"
     "                  window,first_row,last_row,score,flagged with rows counted from\n"
     "                  0 after any header (default anomaly.csv)\n"
     "  --png FILE      series: the plot (default: --out with .png for .csv)\n" HELP_DATA "\n" HELP_GLOBAL},
    {"classify", CMD_CLASSIFY, 0,
     "Usage: latent classify [OPTIONS]\n\n"
     "Trains a classifier, a stack of Dense layers with a softmax head, on the first N\n"
     "labelled training samples, optionally after greedy layer-wise pretraining of the\n"
     "stack on all training samples without their labels (each layer the encoder of a\n"
     "shallow autoencoder on the codes of the layers below), saves it and prints\n"
     "'test accuracy: A'.\n\n"
     "Options:\n"
     "  --hidden LIST   Dense widths, elu (default 256,64)\n"
     "  --labels N      labelled training samples to fine-tune on (default: all)\n"
     "  --pretrain      pretrain the stack layer by layer on all training samples first\n"
     "  --pretrain-epochs E  epochs per pretrained layer (default 5)\n"
     "  --noise S       pretrain as stacked denoising autoencoders: each layer learns to\n"
     "                  undo gaussian noise of stddev S on its input\n"
     "  --epochs N      supervised epochs (default 5)\n"
     "  --batch N, --optimizer O, --lr X   as for train (default batch 256)\n"
     "  --clipnorm X, --global-clipnorm X  as for train\n"
     "  --out FILE      model file (default classifier.lt)\n" HELP_DATA "\n" HELP_GLOBAL},
    {"pca", CMD_PCA, 0,
     "Usage: latent pca [OPTIONS]\n\n"
     "Fits PCA on the training split (LAPACK) and prints, for each k, the test split's\n"
     "reconstruction MSE from k components and the variance they explain: the baseline\n"
     "for an autoencoder with a k-wide code.\n\n"
     "Options:\n"
     "  --k LIST        component counts (default 2,8,32,64)\n" HELP_DATA "\n" HELP_GLOBAL},
    {"score", CMD_SCORE, CLI_MAX_OPERANDS,
     "Usage: latent score MODEL [IMAGE...] (--noise S | --downscale F) [OPTIONS]\n\n"
     "Measures a denoising (--noise) or super-resolution (--downscale) model: corrupts\n"
     "clean images (the given files, else the test split of --data), restores them,\n"
     "and prints mean PSNR (dB) and SSIM of the corrupted input, of a classical baseline\n"
     "(denoising: the best of several gaussian blurs; super-resolution: the bicubic\n"
     "upscale itself) and of the model.\n\n"
     "Options:\n" HELP_DATA
     "  --noise S       gaussian noise stddev\n"
     "  --downscale F   shrink factor (sr2x: 2)\n"
     "  --png FILE      before/after picture: clean, corrupted, baseline, model\n"
     "  --n N           images in the picture (default 10; images larger than 160\n"
     "                  pixels show a central detail)\n\n" HELP_GLOBAL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The command table entry of a subcommand bit. */
static const cmd_spec *cmd_entry(cli_cmd cmd)
{
    for (size_t i = 0; i < COUNT(cmd_table); i++)
        if (cmd_table[i].cmd == cmd) return &cmd_table[i];
    return NULL;
}

/* Looks a subcommand up by name; 0 when unknown. */
cli_cmd cli_cmd_lookup(const char *name)
{
    for (size_t i = 0; i < COUNT(cmd_table); i++)
        if (strcmp(cmd_table[i].name, name) == 0) return cmd_table[i].cmd;
    return (cli_cmd)0;
}

/* Prints the top-level help (commands and global options) to stdout. */
void cli_print_main_help(void)
{
    printf("latent %d.%d.%d: autoencoders on OpenCL GPUs or the CPU\n\n"
           "Usage: latent COMMAND [OPTIONS]\n\n"
           "Commands:\n"
           "  devices       list the backends and OpenCL devices\n"
           "  train         train a model, save it and plot its results\n"
           "  eval          print a saved model's loss on test data\n"
           "  summary       print the layers of an architecture or a model file\n"
           "  reconstruct   plot test images and their reconstructions, or 2-D codes\n"
           "  bench         measure training throughput\n"
           "  denoise       clean an image with a denoising model\n"
           "  upscale       enlarge an image 2x with a super-resolution model\n"
           "  score         PSNR and SSIM of a denoising or super-resolution model\n"
           "  generate      decode new images: from a VAE's prior, a class's mean code,\n"
           "                between two images, or a 2-D code manifold\n"
           "  embed         scatter plot of codes, their t-SNE, or PCA, by class\n"
           "  anomaly       reconstruction-error anomaly scores, threshold, ROC AUC\n"
           "  pca           PCA reconstruction error at k components\n"
           "  classify      a Dense classifier from few labels, with layer-wise pretraining\n\n"
           HELP_GLOBAL
           "\n'latent --version' prints the version.\n"
           "Run 'latent COMMAND --help' for a command's options.\n"
           "Results go to stdout, progress and diagnostics to stderr.\n"
           "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
           LT_VERSION_MAJOR, LT_VERSION_MINOR, LT_VERSION_PATCH);
}

/* Prints a subcommand's help to stdout; -1 for an unknown name. */
int cli_print_cmd_help(const char *name)
{
    cli_cmd cmd = cli_cmd_lookup(name);
    if (!cmd) return -1;
    fputs(cmd_entry(cmd)->help, stdout);
    return 0;
}

/* Whether option id was on the command line. */
int cli_given(const cli_opts *o, cli_opt_id id)
{
    return (int)((o->given >> id) & 1u);
}

/* "latent CMD: problem" and a --help hint on stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "latent %s: ", o->cmd_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'latent %s --help' for more information.\n", o->cmd_name);
    return CLI_USAGE;
}

/* Reports value v (spelled text) outside an option's range, spelling the range out. */
static int range_error(const cli_opts *o, const opt_spec *s, const char *text, double v)
{
    if (s->hi >= 1e15) { /* no upper bound worth naming unless v passed it */
        if (v > s->lo) return cli_usage_error(o, "--%s: '%s' is out of range: at most %.15g", s->name, text, s->hi);
        return cli_usage_error(o, "--%s: '%s' is out of range: must be %s %.15g", s->name, text,
                               s->lo_open ? "greater than" : "at least", s->lo);
    }
    return cli_usage_error(o, "--%s: '%s' is out of range: must be in %c%.15g, %.15g%c", s->name, text,
                           s->lo_open ? '(' : '[', s->lo, s->hi, s->hi_open ? ')' : ']');
}

/* Whether v lies in the option's range. */
static int in_range(const opt_spec *s, double v)
{
    if (s->lo_open ? !(v > s->lo) : !(v >= s->lo)) return 0;
    if (s->hi_open ? !(v < s->hi) : !(v <= s->hi)) return 0;
    return 1;
}

/* Parses text as the option's value into *o; returns -1 or a usage exit status. */
static int parse_value(cli_opts *o, const opt_spec *s, const char *text)
{
    char *field = (char *)o + s->offset;
    char *end = NULL;
    errno = 0;
    switch (s->kind) {
    case K_STR:
        if (!*text) return cli_usage_error(o, "--%s: the value is empty", s->name);
        memcpy(field, &text, sizeof text);
        return -1;
    case K_INT:
    case K_LONG: {
        long v = strtol(text, &end, 10);
        if (end == text || *end || !*text)
            return cli_usage_error(o, "--%s: '%s' is not a whole number", s->name, text);
        if (errno == ERANGE || !in_range(s, (double)v)) return range_error(o, s, text, (double)v);
        if (s->kind == K_INT) {
            int iv = (int)v;
            memcpy(field, &iv, sizeof iv);
        } else {
            memcpy(field, &v, sizeof v);
        }
        return -1;
    }
    case K_U64: {
        /* strtoull accepts a sign and wraps "-1" around, so insist on digits. */
        if (*text < '0' || *text > '9')
            return cli_usage_error(o, "--%s: '%s' is not a non-negative whole number", s->name, text);
        unsigned long long v = strtoull(text, &end, 10);
        if (*end) return cli_usage_error(o, "--%s: '%s' is not a non-negative whole number", s->name, text);
        if (errno == ERANGE) return cli_usage_error(o, "--%s: '%s' is too large", s->name, text);
        uint64_t u = (uint64_t)v;
        memcpy(field, &u, sizeof u);
        return -1;
    }
    case K_FLOAT:
    case K_DOUBLE: {
        double v = strtod(text, &end);
        if (end == text || *end || !*text)
            return cli_usage_error(o, "--%s: '%s' is not a number", s->name, text);
        if (isnan(v) || (isinf(v) && errno != ERANGE))
            return cli_usage_error(o, "--%s: '%s' is not a finite number", s->name, text);
        /* Judge a float by the value it will hold: 1e-50 becomes 0, 1e99 infinity. */
        if (s->kind == K_FLOAT && fabs(v) <= FLT_MAX) v = (float)v;
        if (errno == ERANGE || !in_range(s, v)) return range_error(o, s, text, v);
        if (s->kind == K_FLOAT) {
            float fv = (float)v;
            memcpy(field, &fv, sizeof fv);
        } else {
            memcpy(field, &v, sizeof v);
        }
        return -1;
    }
    case K_FLAG:
        break;
    }
    return -1;
}

/* Finds an option by the name in arg (which may continue with "=value"). */
static const opt_spec *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(opt_table); i++)
        if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
            return &opt_table[i];
    return NULL;
}

/* Whether text names a device: auto, cpu, opencl or opencl:N. */
static int valid_device(const char *text)
{
    if (!strcmp(text, "auto") || !strcmp(text, "cpu") || !strcmp(text, "opencl")) return 1;
    if (strncmp(text, "opencl:", 7) != 0 || !text[7]) return 0;
    for (const char *p = text + 7; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* ------------------------------------------------ options a model remembers */

/* The options of `train` a model file records (as notes "train.NAME"), and that the
 * commands reading a model and data take from it when they are not given: the data, how
 * a series is cut and scaled, and the corruption a denoiser or upscaler undoes. */
static const cli_opt_id recorded_opts[] = {OPT_DATA, OPT_WINDOW, OPT_STRIDE, OPT_COLUMNS, OPT_TEST_SPLIT,
                                           OPT_INTERPOLATE, OPT_WIDE, OPT_CENTER_WINDOWS, OPT_NOISE,
                                           OPT_DOWNSCALE, OPT_CLASS};
/* Commands that read a MODEL operand and data, and so take recorded options. */
#define RECORDED_CMDS (CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | CMD_GENERATE | CMD_EMBED | CMD_ANOMALY)

/* The table entry of option id. */
static const opt_spec *option_by_id(cli_opt_id id)
{
    for (size_t i = 0; i < COUNT(opt_table); i++)
        if (opt_table[i].id == id) return &opt_table[i];
    return NULL;
}

/* Whether id is among the options that say how a series is read. */
static int shapes_series(cli_opt_id id)
{
    return id == OPT_WINDOW || id == OPT_STRIDE || id == OPT_COLUMNS || id == OPT_TEST_SPLIT ||
           id == OPT_INTERPOLATE || id == OPT_WIDE || id == OPT_CENTER_WINDOWS;
}

lt_status cli_record_options(const cli_opts *o, lt_model *m)
{
    lt_status st = LT_OK;
    for (size_t i = 0; i < COUNT(recorded_opts) && st == LT_OK; i++) {
        const opt_spec *s = option_by_id(recorded_opts[i]);
        /* the data always; a series' test split even at its default, so the cut stays */
        int keep = cli_given(o, s->id) || s->id == OPT_DATA || (s->id == OPT_TEST_SPLIT && o->window);
        if (!keep) continue;
        const char *field = (const char *)o + s->offset;
        char key[64], value[4200];
        int i32;
        float f32;
        const char *str;
        switch (s->kind) {
        case K_FLAG:
        case K_INT: memcpy(&i32, field, sizeof i32); snprintf(value, sizeof value, "%d", i32); break;
        case K_FLOAT: /* the shortest of 7 or 9 digits that reads back as the same float */
            memcpy(&f32, field, sizeof f32);
            snprintf(value, sizeof value, "%.7g", (double)f32);
            if (strtof(value, NULL) != f32) snprintf(value, sizeof value, "%.9g", (double)f32);
            break;
        case K_STR: memcpy(&str, field, sizeof str); snprintf(value, sizeof value, "%s", str ? str : ""); break;
        default: continue; /* no recorded option has another kind */
        }
        snprintf(key, sizeof key, "train.%s", s->name);
        st = lt_model_set_meta(m, key, value);
    }
    return st;
}

/* Appends " --NAME VALUE" (" --NAME" for a flag) to line (size bytes, used so far). */
static size_t say_option(char *line, size_t size, size_t used, const opt_spec *s, const char *value)
{
    if (used >= size) return used;
    int n = snprintf(line + used, size - used, s->kind == K_FLAG ? " --%s" : " --%s %s", s->name, value);
    return n < 0 ? used : used + (size_t)n;
}

int cli_recorded_options(const lt_model *m, char *line, size_t size)
{
    char key[64];
    size_t used = 0;
    line[0] = 0;
    for (size_t i = 0; i < COUNT(recorded_opts); i++) {
        const opt_spec *s = option_by_id(recorded_opts[i]);
        snprintf(key, sizeof key, "train.%s", s->name);
        const char *value = lt_model_meta(m, key);
        if (value && (s->kind != K_FLAG || strcmp(value, "1") == 0)) used = say_option(line, size, used, s, value);
    }
    return used > 0;
}

/* The kind of a --data value, to tell whether a model's recorded series options fit
 * it: 0 a name (fashion-mnist, swiss-roll), 1 a file (a CSV), 2 a folder, -1 missing. */
static int data_path_kind(const char *data)
{
    struct stat sb;
    if (!strcmp(data, "fashion-mnist") || !strcmp(data, "swiss-roll")) return 0;
    if (stat(data, &sb) != 0) return -1;
    return S_ISDIR(sb.st_mode) ? 2 : 1;
}

/* Takes the options MODEL recorded at training that were not given here (the series
 * options only when --data is not given or is also a file); says which on stderr.
 * -1 to go on, else an exit status. */
static int apply_recorded(cli_opts *o, const char *model)
{
    char value[4200], key[64], said[1024] = "";
    size_t used = 0, nsaid = 0;
    int data_fits = 1;
    if (cli_given(o, OPT_DATA)) {
        if (lt_file_meta(model, "train.data", value, sizeof value) != 1) return -1;
        data_fits = data_path_kind(o->data) == 1 && data_path_kind(value) == 1;
    }
    for (size_t i = 0; i < COUNT(recorded_opts); i++) {
        const opt_spec *s = option_by_id(recorded_opts[i]);
        if (cli_given(o, s->id) || !(s->cmds & o->cmd)) continue;
        if (shapes_series(s->id) && !data_fits) continue;
        if (s->id == OPT_CLASS && o->cmd != CMD_ANOMALY) continue; /* generate's --class means another thing */
        if ((s->id == OPT_NOISE || s->id == OPT_DOWNSCALE) && (cli_given(o, OPT_NOISE) || cli_given(o, OPT_DOWNSCALE)))
            continue;
        snprintf(key, sizeof key, "train.%s", s->name);
        int found = lt_file_meta(model, key, value, sizeof value);
        if (found != 1) continue; /* none recorded, or a file lt_load will judge */
        size_t n = strlen(value) + 1;
        if (used + n > sizeof o->recorded_text) continue;
        char *text = o->recorded_text + used;
        memcpy(text, value, n);
        used += n;
        if (s->kind == K_FLAG) {
            int on = strcmp(text, "1") == 0;
            memcpy((char *)o + s->offset, &on, sizeof on);
        } else if (parse_value(o, s, text) >= 0) {
            fprintf(stderr, "latent %s: (the value above is recorded in '%s')\n", o->cmd_name, model);
            return CLI_RUNTIME;
        }
        o->given |= (uint64_t)1 << s->id;
        o->recorded |= (uint64_t)1 << s->id;
        nsaid = say_option(said, sizeof said, nsaid, s, text);
    }
    if (nsaid && !o->quiet)
        fprintf(stderr, "latent: as '%s' was trained:%s%s\n", model, said, nsaid >= sizeof said ? "..." : "");
    return -1;
}

/* Fills the defaults that do not depend on what was given. */
static void set_defaults(cli_opts *o)
{
    const char *env = getenv("LATENT_DEVICE");
    o->device = env && *env ? env : "auto";
    o->seed = 1;
    o->epochs = 5;
    o->batch = 256;
    o->optimizer = "adam";
    o->n = 10;
    o->spread = 0.5f;
    o->method = "code";
    o->percentile = 95.0f;
    o->k_list = "2,8,32,64";
    o->hidden = "256,64";
    o->pretrain_epochs = 5;
    o->seconds = 3.0;
    o->test_split = 0.2f;
}

/* Parses a subcommand's arguments into o: -1 to go on, else the exit status. */
int cli_parse(int argc, char **argv, cli_opts *o)
{
    const cmd_spec *cs = cmd_entry(cli_cmd_lookup(argv[0]));
    memset(o, 0, sizeof *o);
    o->cmd_name = argv[0];
    if (!cs) return cli_usage_error(o, "unknown command");
    o->cmd = cs->cmd;
    set_defaults(o);

    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (options_done || arg[0] != '-' || arg[1] == '\0') { /* an operand ("-" too) */
            if (o->npositional >= cs->max_positional)
                return cli_usage_error(o, "unexpected argument '%s'", arg);
            o->positional[o->npositional++] = arg;
            continue;
        }
        if (strcmp(arg, "-h") == 0) arg = "--help";
        if (arg[1] != '-') return cli_usage_error(o, "unknown option '%s' (options start with --)", arg);

        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_spec *s = find_option(name, len);
        if (!s) return cli_usage_error(o, "unknown option '--%.*s'", (int)len, name);
        if (!(s->cmds & o->cmd)) return cli_usage_error(o, "option '--%s' does not apply to '%s'", s->name, o->cmd_name);
        if (s->id == OPT_HELP) {
            fputs(cs->help, stdout);
            return CLI_OK;
        }
        if (s->kind == K_FLAG) {
            if (eq) return cli_usage_error(o, "option '--%s' takes no value", s->name);
            int one = 1;
            memcpy((char *)o + s->offset, &one, sizeof one);
        } else {
            const char *value = eq ? eq + 1 : NULL;
            /* "--epochs --batch 3" forgot a value: an option never serves as one. */
            if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
            if (!value) return cli_usage_error(o, "option '--%s' needs a value", s->name);
            int rc = parse_value(o, s, value);
            if (rc >= 0) return rc;
        }
        o->given |= (uint64_t)1 << s->id;
    }

    if ((o->cmd & RECORDED_CMDS) && o->npositional > 0) {
        int rc = apply_recorded(o, o->positional[0]);
        if (rc >= 0) return rc;
    }
    if (!valid_device(o->device)) {
        if (cli_given(o, OPT_DEVICE))
            return cli_usage_error(o, "--device: unknown device '%s' (expected auto, cpu, opencl or opencl:N)", o->device);
        return cli_usage_error(o, "LATENT_DEVICE: unknown device '%s' (expected auto, cpu, opencl or opencl:N)", o->device);
    }
    if (!o->data && (o->cmd & (CMD_TRAIN | CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS))) o->data = "fashion-mnist";
    if (o->cmd == CMD_EMBED && strcmp(o->method, "code") != 0 && strcmp(o->method, "pca") != 0 &&
        strcmp(o->method, "tsne") != 0)
        return cli_usage_error(o, "--method: unknown method '%s' (expected code, pca or tsne)", o->method);
    if (o->cmd == CMD_EMBED && strcmp(o->method, "tsne") == 0 && !cli_given(o, OPT_LIMIT)) o->limit = 2000;
    if ((o->cmd & (CMD_ANOMALY | CMD_GENERATE)) && o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    if (o->cmd == CMD_EMBED && o->npositional < 1 && strcmp(o->method, "pca") != 0)
        return cli_usage_error(o, "missing the MODEL file (only --method pca works without one)");
    if (!o->out)
        o->out = o->cmd == CMD_RECONSTRUCT ? "reconstruction.png" : o->cmd == CMD_GENERATE ? "generated.png"
               : o->cmd == CMD_EMBED ? "embed.png" : o->cmd == CMD_ANOMALY ? "anomaly.csv"
               : o->cmd == CMD_CLASSIFY ? "classifier.lt" : "model.lt";
    if (o->cmd == CMD_GENERATE && !cli_given(o, OPT_N)) o->n = 16;
    if (o->cmd == CMD_GENERATE && cli_given(o, OPT_CLASS) + (o->between != NULL) + cli_given(o, OPT_GRID) > 1)
        return cli_usage_error(o, "--class, --between and --grid: give one");
    if (o->window && o->cmd == CMD_TRAIN && !cli_given(o, OPT_BATCH)) o->batch = 32; /* a series gives few windows */
    if (!o->window && (cli_given(o, OPT_TEST_SPLIT) || o->wide || o->center_windows))
        return cli_usage_error(o, "--test-split, --wide and --center-windows apply to a CSV series read with --window");
    if (o->window && o->cmd == CMD_ANOMALY && cli_given(o, OPT_LIMIT))
        return cli_usage_error(o, "--limit: anomaly scores every window of a --window series");
    if (o->cmd == CMD_ANOMALY && o->png && !o->window)
        return cli_usage_error(o, "--png: anomaly draws a plot for a CSV series read with --window only");
    if (cli_given(o, OPT_CHANNELS) && o->channels == 2)
        return cli_usage_error(o, "--channels: '2' is not an image kind: 1 (gray) or 3 (RGB)");
    if (cli_given(o, OPT_NOISE) && cli_given(o, OPT_DOWNSCALE))
        return cli_usage_error(o, "--noise and --downscale: give one");
    if (o->cmd == CMD_SCORE && !cli_given(o, OPT_NOISE) && !cli_given(o, OPT_DOWNSCALE))
        return cli_usage_error(o, "say what to score: --noise S (denoising) or --downscale F (super-resolution)");
    if ((o->cmd & (CMD_DENOISE | CMD_UPSCALE)) && o->npositional != 3)
        return cli_usage_error(o, "expected MODEL IN OUT.png, got %d operand%s", o->npositional, o->npositional == 1 ? "" : "s");
    return -1;
}
