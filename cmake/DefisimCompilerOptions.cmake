# One interface target carries the flags every defisim target compiles with.
add_library(defisim_options INTERFACE)
target_compile_options(defisim_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  # Bit-identical results whatever the optimisation level: never fuse a*b+c.
  -ffp-contract=off
  -fno-math-errno)
# GCC 12 reports pages of false maybe-uninitialized warnings inside its own
# AVX-512 intrinsics whenever Eigen is inlined with -march=native (GCC bug
# 105593). -Wuninitialized (the definite cases) stays on.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(defisim_options INTERFACE -Wno-maybe-uninitialized)
endif()
if(DEFISIM_WERROR)
  target_compile_options(defisim_options INTERFACE -Werror)
endif()
if(DEFISIM_NATIVE)
  target_compile_options(defisim_options INTERFACE -march=native)
endif()
target_include_directories(defisim_options INTERFACE ${PROJECT_SOURCE_DIR})

# defisim_folder_library(NAME DIR): a static library of every DIR/*.cpp. A folder
# with no sources yet still yields a (empty) library so the tree configures.
function(defisim_folder_library name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  list(FILTER sources EXCLUDE REGEX ".*/main\\.cpp$")
  if(NOT sources)
    set(sources ${PROJECT_BINARY_DIR}/generated/empty_${name}.cpp)
    file(WRITE ${sources} "// ${dir} has no sources yet\n")
  endif()
  add_library(${name} STATIC ${sources})
endfunction()
