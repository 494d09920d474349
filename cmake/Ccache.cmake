# ccache when present: rebuilds after a branch switch or in a fresh clone cost seconds, not minutes.
find_program(SWITCHYARD_CCACHE ccache)
if(SWITCHYARD_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SWITCHYARD_CCACHE})
endif()
