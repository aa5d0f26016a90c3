/* The latent command-line program: declarations shared by its source files.
 * apps/cli_args.c parses options and prints help; apps/latent.c runs subcommands. */
#ifndef LATENT_CLI_H
#define LATENT_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses: success, a runtime error (library, files, data), a usage error. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* Subcommands, as bits so an option can name the subcommands that accept it. */
typedef enum cli_cmd {
    CMD_DEVICES = 1u << 0,
    CMD_TRAIN = 1u << 1,
    CMD_EVAL = 1u << 2,
    CMD_SUMMARY = 1u << 3,
    CMD_RECONSTRUCT = 1u << 4,
    CMD_BENCH = 1u << 5
} cli_cmd;

/* Option identities; cli_given() tells whether one was on the command line. */
typedef enum cli_opt_id {
    OPT_HELP, OPT_DEVICE, OPT_SEED, OPT_THREADS, OPT_QUIET,
    OPT_DATA, OPT_LIMIT, OPT_ARCH, OPT_INPUT,
    OPT_EPOCHS, OPT_BATCH, OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_NESTEROV, OPT_LOSS,
    OPT_VALIDATION_SPLIT, OPT_PATIENCE, OPT_OUT, OPT_PNG, OPT_N, OPT_SECONDS,
    OPT_COUNT
} cli_opt_id;

/* Everything the command line can say, with defaults filled in by cli_parse. */
typedef struct cli_opts {
    cli_cmd cmd;                 /* the subcommand                                  */
    const char *cmd_name;        /* its name, for messages                          */
    uint32_t given;              /* bit i set: option i was given                   */
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
    const char *loss;            /* --loss                                          */
    float validation_split;      /* --validation-split                              */
    int patience;                /* --patience                                      */
    const char *out;             /* --out                                           */
    const char *png;             /* --png (NULL: derived from --out)                */
    int n;                       /* --n: images in a reconstruction grid            */
    double seconds;              /* --seconds: bench duration                       */
    const char *positional[2];   /* operands, e.g. the model file                   */
    int npositional;             /* how many operands                               */
} cli_opts;

/* Parses argv for the subcommand argv[0]. Returns -1 to go on, or an exit status
 * (0 after printing --help, CLI_USAGE after a usage message on stderr). */
int cli_parse(int argc, char **argv, cli_opts *o);
/* Whether option id was given on the command line. */
int cli_given(const cli_opts *o, cli_opt_id id);
/* Prints a usage error naming the subcommand and a --help hint; returns CLI_USAGE. */
int cli_usage_error(const cli_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the top-level help to stdout. */
void cli_print_main_help(void);
/* Prints a subcommand's help to stdout; returns 0, or -1 for an unknown name. */
int cli_print_cmd_help(const char *name);
/* Looks a subcommand up by name; 0 when unknown. */
cli_cmd cli_cmd_lookup(const char *name);

#endif
