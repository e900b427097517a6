# One interface target carries the flags every defisim target compiles with.
add_library(defisim_options INTERFACE)
target_compile_options(defisim_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  # Bit-identical results whatever the optimisation level: never fuse a*b+c.
  -ffp-contract=off
  -fno-math-errno)
if(DEFISIM_WERROR)
  # GCC 12 reports a false maybe-uninitialized inside its own AVX-512 intrinsics
  # when Eigen is inlined with -march=native (GCC bug 105593): keep it visible,
  # not fatal.
  target_compile_options(defisim_options INTERFACE -Werror -Wno-error=maybe-uninitialized)
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
