/* The latent program's subcommands as the user sees them: their names, how many
 * operands each takes, the top-level help and usage, and each command's help text.
 * It calls nothing else in apps/. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "latent.h"

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
    "  --threads N     the most CPU threads, 0 for the CPUs this process may use;\n"      \
    "                  fewer while other work keeps them busy (default 0)\n"             \
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
     "                  of the test points (default: --out with .png for .lt)\n"
     "  --checkpoint-every N  save the model to --out after every N-th epoch\n"
     "  --checkpoint-minutes M  save it every M minutes (after the step that passes M)\n"
     "  --resume MODEL  go on with MODEL's run where it stopped: its data, options and\n"
     "                  random numbers (to --out, default MODEL itself); --epochs is the\n"
     "                  run's length in all (default: as recorded); other options must\n"
     "                  be as recorded\n"
     "  --init-from MODEL  start from MODEL's weights (architecture and loss too) with a\n"
     "                  new optimizer, on the data and options given now: fine-tuning\n"
     "SIGINT (Ctrl-C) or SIGTERM stops training after the current step and saves the model\n"
     "to --out, to resume with --resume (exit status 130 or 143); a second Ctrl-C stops at\n"
     "once without writing.\n\n" HELP_GLOBAL},
    {"eval", CMD_EVAL, 1,
     "Usage: latent eval MODEL [OPTIONS]\n\n"
     "Loads MODEL and prints its loss on the test split, e.g. 'test mse: 0.01234'.\n\n"
     "Options:\n" HELP_DATA
     "  --noise S       score denoising: the inputs get gaussian noise of stddev S\n"
     "  --downscale F   score super-resolution: inputs shrunk by F and scaled back up\n\n" HELP_GLOBAL},
    {"import", CMD_IMPORT, 2,
     "Usage: latent import FILE OUT.lt [OPTIONS]\n\n"
     "Reads a model from another framework's FILE and saves it as a latent model file\n"
     "(weights, architecture; the optimizer starts fresh, as Keras's compile would).\n"
     "FILE is a Keras 3 .keras file, a legacy Keras .h5 file, or a PyTorch state_dict\n"
     "saved by safetensors (weights only: give --arch and --input for the torch.nn\n"
     "model that saved it; see the README), found by its first bytes. OUT.lt is\n"
     "written atomically and never over a file that is not a latent model.\n\n"
     "Options:\n"
     "  --arch A        safetensors: the architecture (name or spec) of the weights\n"
     "  --input N       safetensors: the input width (read as for summary: N = h*h a\n"
     "                  gray image, 3*h*h an RGB one; default 784)\n\n" HELP_GLOBAL},
    {"export", CMD_EXPORT, 2,
     "Usage: latent export MODEL OUT.keras [OPTIONS]\n\n"
     "Writes MODEL as a Keras 3 .keras file that keras.models.load_model reads and that\n"
     "predicts what latent predicts (a VAE's Sampling layer needs the small class the\n"
     "README shows). A layer Keras cannot express is an error naming it; OUT.keras is\n"
     "written atomically and never over a latent model file.\n\n" HELP_GLOBAL},
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
     "  --predict       time prediction instead (lt_predict on host data: upload,\n"
     "                  forward pass, download)\n"
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
           "  classify      a Dense classifier from few labels, with layer-wise pretraining\n"
           "  import        a model from a Keras .keras or .h5 file or PyTorch safetensors\n"
           "  export        a model file as a Keras .keras file\n\n"
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

/* The most operands subcommand cmd takes (0 for an unknown one). */
int cli_cmd_max_operands(cli_cmd cmd)
{
    const cmd_spec *cs = cmd_entry(cmd);
    return cs ? cs->max_positional : 0;
}

/* Prints problem (when given), the one-line usage and a help hint to stderr; returns CLI_USAGE. */
int cli_main_usage(const char *problem)
{
    if (problem) fprintf(stderr, "latent: %s\n", problem);
    fputs("Usage: latent COMMAND [OPTIONS]  (commands: devices, train, eval, summary, reconstruct, bench,\n"
          "       denoise, upscale, score, generate, embed, anomaly, pca, classify)\n"
          "Try 'latent --help' for more information.\n", stderr);
    return CLI_USAGE;
}
