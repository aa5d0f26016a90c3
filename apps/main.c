/* latent: the command-line program's entry point. It only dispatches: it reads the
 * command name, parses the options (apps/cli_args.c) and calls the command's function
 * (apps/cli_train.c, cli_image.c, cli_latent.c, cli_anomaly.c). Results go to stdout;
 * progress and diagnostics to stderr. Exit status 0 on success, 1 on a runtime error
 * (with the library's message), 2 on a usage error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "latent.h"

static int run_command(const cli_opts *o);

/* Runs the subcommand named by argv[1]. */
static int run(int argc, char **argv)
{
    char problem[256];
    if (argc < 2) return cli_main_usage("missing command");
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        cli_print_main_help();
        return CLI_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("latent %d.%d.%d\n", LT_VERSION_MAJOR, LT_VERSION_MINOR, LT_VERSION_PATCH);
        return CLI_OK;
    }
    if (!strcmp(name, "help")) { /* "latent help train" reads like "latent train --help" */
        if (argc < 3) {
            cli_print_main_help();
            return CLI_OK;
        }
        if (cli_print_cmd_help(argv[2]) == 0) return CLI_OK;
        snprintf(problem, sizeof problem, "unknown command '%s'", argv[2]);
        return cli_main_usage(problem);
    }
    if (name[0] == '-') {
        snprintf(problem, sizeof problem, "unknown option '%s' (options go after the command)", name);
        return cli_main_usage(problem);
    }

    if (!cli_cmd_lookup(name)) {
        snprintf(problem, sizeof problem, "unknown command '%s'", name);
        return cli_main_usage(problem);
    }

    cli_opts o;
    int rc = cli_parse(argc - 1, argv + 1, &o);
    if (rc >= 0) return rc;
    /* under mpirun, train and bench work with the other processes (cli_mpi.c) */
    cli_mpi mpi;
    if ((rc = cli_mpi_start(&argc, &argv, o.cmd, &mpi)) != CLI_OK) return cli_mpi_end(&mpi, rc);
    if (mpi.comm) {
        o.mpi = &mpi;
        if (mpi.rank != 0) o.quiet = 1; /* only rank 0 speaks (errors aside) */
    }
    return cli_mpi_end(&mpi, run_command(&o));
}

/* Runs the parsed command o. */
static int run_command(const cli_opts *o)
{
    switch (o->cmd) {
    case CMD_DEVICES: return cli_cmd_devices(o);
    case CMD_TRAIN: return cli_cmd_train(o);
    case CMD_EVAL: return cli_cmd_eval(o);
    case CMD_SUMMARY: return cli_cmd_summary(o);
    case CMD_RECONSTRUCT: return cli_cmd_reconstruct(o);
    case CMD_BENCH: return cli_cmd_bench(o);
    case CMD_DENOISE: return cli_cmd_denoise(o);
    case CMD_UPSCALE: return cli_cmd_upscale(o);
    case CMD_SCORE: return cli_cmd_score(o);
    case CMD_GENERATE: return cli_cmd_generate(o);
    case CMD_EMBED: return cli_cmd_embed(o);
    case CMD_ANOMALY: return cli_cmd_anomaly(o);
    case CMD_PCA: return cli_cmd_pca(o);
    case CMD_CLASSIFY: return cli_cmd_classify(o);
    case CMD_IMPORT: return cli_cmd_import(o);
    case CMD_EXPORT: return cli_cmd_export(o);
    }
    return CLI_USAGE;
}

/* Entry point: runs the command, then makes sure stdout really took the results. */
int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "latent: cannot write to stdout: %s\n", strerror(errno));
        if (rc == CLI_OK) rc = CLI_RUNTIME;
    }
    return rc;
}
