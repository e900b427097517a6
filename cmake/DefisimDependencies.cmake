# Every dependency is a Debian package (see scripts/install-deps.sh); nothing is
# vendored and nothing is downloaded at build time.
find_package(TBB REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
if(DEFISIM_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  # Debian installs the serial and the OpenMPI HDF5 side by side; ask for the
  # parallel one (h5pcc) and refuse to build against the serial one.
  set(HDF5_PREFER_PARALLEL TRUE)
endif()
find_package(HDF5 REQUIRED COMPONENTS C)
if(DEFISIM_MPI AND NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "DEFISIM_MPI=ON needs parallel HDF5, but CMake found a serial HDF5 "
                      "(${HDF5_C_LIBRARIES}). On Debian: apt-get install libopenmpi-dev libhdf5-openmpi-dev")
endif()
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(defisim_random123 INTERFACE)
target_include_directories(defisim_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

add_library(defisim_hdf5 INTERFACE)
target_include_directories(defisim_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(defisim_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(defisim_hdf5 INTERFACE ${HDF5_DEFINITIONS})

# One switch for the code: DEFISIM_MPI is defined everywhere in the MPI build
# (only framework/core/mpi.cpp and the HDF5 layer act on it).
add_library(defisim_mpi INTERFACE)
if(DEFISIM_MPI)
  # C only: the deprecated MPI C++ bindings would need libmpi_cxx.
  target_compile_definitions(defisim_mpi INTERFACE DEFISIM_MPI=1 OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
  target_link_libraries(defisim_mpi INTERFACE MPI::MPI_C)
  target_link_libraries(defisim_hdf5 INTERFACE defisim_mpi)
endif()
