# The source revision is embedded in every results file. It is read at
# configure time and refreshed on every build by a small script, so a rebuilt
# binary never reports a stale revision.
set(DEFISIM_VERSION_HEADER ${PROJECT_BINARY_DIR}/generated/framework/core/build_info.hpp)
add_custom_target(defisim_build_info
  COMMAND ${CMAKE_COMMAND}
          -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT=${DEFISIM_VERSION_HEADER}
          -DVERSION=${PROJECT_VERSION}
          -P ${PROJECT_SOURCE_DIR}/cmake/WriteBuildInfo.cmake
  BYPRODUCTS ${DEFISIM_VERSION_HEADER}
  COMMENT "Recording source revision")
