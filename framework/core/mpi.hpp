#pragma once
// The few MPI operations `mpirun -np R defisim run` needs (README "Running on
// a cluster"). In the default serial build (DEFISIM_MPI off) this is one
// process of one rank and every call is trivial, so the engine has one code
// path and no #ifdef; only this file's .cpp and the HDF5 layer know MPI.
//
// The ranks are MPI_COMM_WORLD. MPI is initialised with
// MPI_THREAD_SERIALIZED: the runner's writer thread calls (parallel) HDF5
// while the main thread waits, never at the same time.
#include <cstdint>
#include <string>

namespace defisim::core::mpi {

// Initialises MPI for the process's lifetime (if built with MPI and started
// by an MPI launcher: mpirun, mpiexec, srun) and finalises it on
// destruction. One per process, in main. Started directly, even the MPI
// build is one process of one rank without MPI.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

bool built_with_mpi();
int rank();  // 0 without MPI
int size();  // 1 without MPI
inline bool distributed() { return size() > 1; }

void barrier();
// Over all ranks.
double max(double value);
std::uint64_t sum(std::uint64_t value);
// Rank 0's value, on every rank.
std::string broadcast(const std::string& value);

// Ends every rank of the run with `exit_code` (MPI_Abort): what a rank does
// on an error when other ranks may be waiting for it in a collective call.
[[noreturn]] void abort(int exit_code);

}  // namespace defisim::core::mpi
