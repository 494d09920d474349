# One static library per module (`src/<module>/`), public headers under include/switchyard/<module>/.

set(SWITCHYARD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wdouble-promotion -Wformat=2
    -Wimplicit-fallthrough)
if(SWITCHYARD_WERROR)
  list(APPEND SWITCHYARD_WARNINGS -Werror)
endif()

if(SWITCHYARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(switchyard_warnings target)
  target_compile_options(${target} PRIVATE ${SWITCHYARD_WARNINGS})
endfunction()

# switchyard_module(NAME SOURCES ... DEPS ...): the static library sy_<name>.
function(switchyard_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sy_${name} STATIC ${M_SOURCES})
  target_include_directories(sy_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                        PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(sy_${name} PUBLIC ${M_DEPS})
  switchyard_warnings(sy_${name})
endfunction()
