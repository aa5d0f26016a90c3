/* latent with MPI: communicators for data-parallel training (lt_fit_opts.comm).
 * Installed only when liblatent was built with MPI (lt_have_mpi() == 1); a program
 * that includes it compiles with mpicc or pkg-config's ompi-c. */
#ifndef LATENT_MPI_H
#define LATENT_MPI_H

#include <mpi.h>
#include "latent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A latent communicator over comm's processes; collective over comm. latent talks on a
 * duplicate of comm, so its messages never meet the application's. NULL when MPI
 * fails (after MPI_Init, before MPI_Finalize). Free with lt_comm_free. */
lt_comm *lt_comm_mpi(MPI_Comm comm);
/* The MPI communicator latent talks on (the duplicate), for the application's own
 * collectives among the same processes. */
MPI_Comm lt_comm_mpi_handle(const lt_comm *c);

#ifdef __cplusplus
}
#endif
#endif
