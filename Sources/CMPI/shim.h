// Open MPI's C interface (Debian: libopenmpi-dev, pkg-config name `ompi-c`).
//
// Open MPI defines its predefined handles as macros that take the address of
// a global object and cast it, e.g.
//     #define MPI_COMM_WORLD ((MPI_Comm) &(ompi_mpi_comm_world))
// The Swift importer only imports macros that expand to plain literals, so
// none of MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ... are visible
// from Swift. The static inline accessors below return them instead; they
// compile to a single address load and are inlined into the Swift caller.
//
// Only what NablaDistributed uses is exposed here. Functions themselves
// (MPI_Allreduce, MPI_Iallreduce, ...) import directly from <mpi.h>.
#ifndef NABLA_CMPI_SHIM_H
#define NABLA_CMPI_SHIM_H

#include <mpi.h>

// Communicators.
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }

// Datatypes.
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cmpi_int(void) { return MPI_INT; }

// Reduction operations.
static inline MPI_Op cmpi_op_sum(void) { return MPI_SUM; }

// Buffer and status sentinels.
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }

// Error handling: MPI_ERRORS_RETURN makes calls return codes instead of aborting.
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

// Thread support levels (an enum in Open MPI, but a macro in other MPIs).
static inline int cmpi_thread_single(void) { return MPI_THREAD_SINGLE; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int cmpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }

#endif
