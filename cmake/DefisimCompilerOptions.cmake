# One interface target carries the flags every defisim target compiles with.
add_library(defisim_options INTERFACE)
target_compile_options(defisim_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  # Bit-identical results whatever the optimisation level: never fuse a*b+c.
  -ffp-contract=off
  -fno-math-errno)
if(DEFISIM_WERROR)
  target_compile_options(defisim_options INTERFACE -Werror)
endif()
if(DEFISIM_NATIVE)
  target_compile_options(defisim_options INTERFACE -march=native)
endif()
target_include_directories(defisim_options INTERFACE ${PROJECT_SOURCE_DIR})
