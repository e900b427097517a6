#include "framework/core/mpi.hpp"

#include <cstdlib>

#if defined(DEFISIM_MPI)
#include <mpi.h>

#include <vector>

#include "framework/core/errors.hpp"
#endif

namespace defisim::core::mpi {

#if defined(DEFISIM_MPI)

namespace {
bool initialised_here = false;

void check(int status, const char* call) {
  if (status != MPI_SUCCESS) throw IoError(std::string("MPI call failed: ") + call);
}
}  // namespace

namespace {
// Whether an MPI launcher started this process (mpirun/mpiexec of Open MPI,
// MPICH or Intel MPI, or srun with PMI/PMIx). A process started directly runs
// without MPI, as the serial build does: MPI_Init's singleton start-up costs
// ~0.3 s. DEFISIM_MPI_INIT=1 forces MPI_Init anyway.
bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "DEFISIM_MPI_INIT"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}
}  // namespace

Session::Session(int* argc, char*** argv) {
  int already = 0;
  MPI_Initialized(&already);
  if (already || !launched_by_mpi()) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  initialised_here = true;
  if (provided < MPI_THREAD_SERIALIZED) {
    // The writer thread calls MPI-IO (through HDF5) while the main thread
    // waits: an MPI without MPI_THREAD_SERIALIZED cannot run that safely.
    throw IoError("this MPI library does not provide MPI_THREAD_SERIALIZED, which the results writer needs");
  }
}

Session::~Session() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (initialised_here && !finalised) MPI_Finalize();
}

bool built_with_mpi() { return true; }

namespace {
bool active() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}
}  // namespace

int rank() {
  if (!active()) return 0;
  int value = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &value);
  return value;
}

int size() {
  if (!active()) return 1;
  int value = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &value);
  return value;
}

void barrier() {
  if (distributed()) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

double max(double value) {
  if (!distributed()) return value;
  double result = value;
  check(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return result;
}

std::uint64_t sum(std::uint64_t value) {
  if (!distributed()) return value;
  unsigned long long in = value, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

std::string broadcast(const std::string& value) {
  if (!distributed()) return value;
  unsigned long long length = value.size();
  check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::vector<char> text(value.begin(), value.end());
  text.resize(length);
  check(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return std::string(text.begin(), text.end());
}

void abort(int exit_code) {
  if (active()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

#else

Session::Session(int*, char***) {}
Session::~Session() = default;
bool built_with_mpi() { return false; }
int rank() { return 0; }
int size() { return 1; }
void barrier() {}
double max(double value) { return value; }
std::uint64_t sum(std::uint64_t value) { return value; }
std::string broadcast(const std::string& value) { return value; }
void abort(int exit_code) { std::_Exit(exit_code); }

#endif

}  // namespace defisim::core::mpi
