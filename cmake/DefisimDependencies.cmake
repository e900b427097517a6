# Every dependency is a Debian package (see scripts/install-deps.sh); nothing is
# vendored and nothing is downloaded at build time.
find_package(TBB REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(HDF5 REQUIRED COMPONENTS C)
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
