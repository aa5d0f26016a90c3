/* latent under mpirun: `mpirun -np N latent train ...` (and bench) trains one model with
 * N processes (lt_fit_opts.comm). The only file of the program that includes mpi.h;
 * built without MPI, every function here says latent runs alone. It calls
 * cli_common.c's helpers and nothing else in apps/. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "latent.h"

#ifdef LT_HAVE_MPI
#include "latent_mpi.h"

/* Whether an MPI launcher (mpirun, mpiexec, srun) started this process: Open MPI,
 * MPICH's Hydra and PMIx each leave their mark in the environment. */
static int launched_by_mpi(void)
{
    static const char *marks[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (getenv(marks[i])) return 1;
    return 0;
}

int cli_mpi_start(int *argc, char ***argv, cli_cmd cmd, cli_mpi *mp)
{
    memset(mp, 0, sizeof *mp);
    mp->size = 1;
    if ((cmd != CMD_TRAIN && cmd != CMD_BENCH) || !launched_by_mpi()) return CLI_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "latent: started by an MPI launcher, but MPI_Init failed\n");
        return CLI_RUNTIME;
    }
    mp->started = 1;
    mp->comm = lt_comm_mpi(MPI_COMM_WORLD);
    if (!mp->comm) {
        fprintf(stderr, "latent: cannot make a communicator over MPI_COMM_WORLD\n");
        return CLI_RUNTIME;
    }
    mp->rank = lt_comm_rank(mp->comm);
    mp->size = lt_comm_size(mp->comm);
    return CLI_OK;
}

int cli_mpi_end(cli_mpi *mp, int rc)
{
    if (!mp->started) return rc;
    /* Past lt_fit (agreed) no rank waits for another; a failure before it would leave
     * the others waiting for this rank in lt_fit: end them all. */
    if (mp->size > 1 && rc != CLI_OK && !mp->agreed) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    lt_comm_free(mp->comm);
    mp->comm = NULL;
    MPI_Finalize();
    return rc;
}

void cli_mpi_report_devices(const cli_opts *o, const lt_ctx *ctx)
{
    const cli_mpi *mp = o->mpi;
    if (!mp || mp->size <= 1) return;
    enum { LINE = 200 };
    char mine[LINE], host[64] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(mine, sizeof mine, "%s (%s, node rank %d of %d): %s: %s", host, o->device, lt_comm_node_rank(mp->comm),
             lt_comm_node_size(mp->comm), lt_ctx_backend(ctx), lt_ctx_device(ctx));
    char *all = mp->rank == 0 ? malloc((size_t)mp->size * LINE) : NULL;
    MPI_Comm comm = lt_comm_mpi_handle(mp->comm);
    /* rank 0 without memory still takes part (receiving into its own line), and says less */
    MPI_Gather(mine, LINE, MPI_CHAR, all ? all : mine, LINE, MPI_CHAR, 0, comm);
    if (mp->rank != 0 || o->quiet) { free(all); return; }
    fprintf(stderr, "latent: %d ranks train one model (global batch %d, %d a rank or so):\n", mp->size, o->batch,
            (o->batch + mp->size - 1) / mp->size);
    for (int r = 0; all && r < mp->size; r++) fprintf(stderr, "latent:   rank %d: %.*s\n", r, LINE, all + (size_t)r * LINE);
    free(all);
}

#else /* built without MPI */

int cli_mpi_start(int *argc, char ***argv, cli_cmd cmd, cli_mpi *mp)
{
    (void)argc;
    (void)argv;
    memset(mp, 0, sizeof *mp);
    mp->size = 1;
    /* under mpirun anyway: each process trains alone, and should say so */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if ((cmd == CMD_TRAIN || cmd == CMD_BENCH) && n && atoi(n) > 1)
        fprintf(stderr, "latent: warning: started as one of %s MPI processes, but this latent was built without "
                "MPI (meson option mpi): each process runs alone\n", n);
    return CLI_OK;
}

int cli_mpi_end(cli_mpi *mp, int rc)
{
    (void)mp;
    return rc;
}

void cli_mpi_report_devices(const cli_opts *o, const lt_ctx *ctx)
{
    (void)o;
    (void)ctx;
}
#endif

/* CPUs this process may run on (its affinity mask), 0 when unknown. */
static int cpus_allowed(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

const char *cli_mpi_device(const cli_opts *o, char *buf, size_t len, int *threads)
{
    *threads = 0;
    const cli_mpi *mp = o->mpi;
    if (!mp || mp->size <= 1 || strcmp(o->device, "auto") != 0) return o->device;
    int node_rank = lt_comm_node_rank(mp->comm), node_size = lt_comm_node_size(mp->comm), gpus = lt_gpu_count();
    if (gpus > 0) { /* GPUs come first in the device list: opencl:K is the K-th GPU */
        snprintf(buf, len, "opencl:%d", node_rank % gpus);
        return buf;
    }
    /* The CPU: a launcher that bound this process to some cores has divided them
     * already; one that did not leaves every core to every rank, so divide here. */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int allowed = cpus_allowed();
    if (allowed > 0 && online > 0 && allowed >= online) *threads = allowed / node_size > 0 ? allowed / node_size : 1;
    else *threads = allowed > 0 ? allowed : 1;
    snprintf(buf, len, "cpu");
    return buf;
}
