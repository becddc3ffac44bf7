# fuzz.cmake: the fuzz targets' build and tests (included by the top-level CMakeLists.txt, so that
# every folder may call opml_fuzz).
#
# opml_fuzz(NAME CORPUS SOURCES src... [INCLUDES dir...] [LIBS lib...] [DEPENDS target...]
#           [MAX_LEN bytes] [SECONDS s]):
# a libFuzzer target built by clang under ASan/UBSan from the sources (every source it runs, so that
# all of it is instrumented: nothing is linked from the gcc-built libraries), run for SECONDS
# (default 20) as the unit test NAME on the committed CORPUS (inputs it finds go to a scratch
# folder in the build tree, never into the repository), inputs up to MAX_LEN bytes (default
# 4096), one input over 10 s or 1 GiB is a failure. Only where clang has its fuzzer runtime
# (scripts/deps.sh installs clang and libclang-rt-14-dev); elsewhere the target does not exist, and
# the replay test (tests/lib/fuzz_replay.c, built by the normal compiler in every build) still runs
# the corpus. To grow a corpus: run the binary with -merge=1 CORPUS NEW_INPUTS.
find_program(OPML_CLANG clang)
if(OPML_CLANG AND NOT OPML_FUZZER_RT)
  execute_process(COMMAND ${OPML_CLANG} -print-file-name=libclang_rt.fuzzer-x86_64.a
                  OUTPUT_VARIABLE fuzzer_rt OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(OPML_FUZZER_RT ${fuzzer_rt} CACHE INTERNAL "clang's libFuzzer runtime")
endif()

function(opml_fuzz name corpus)
  cmake_parse_arguments(F "" "MAX_LEN;SECONDS" "SOURCES;INCLUDES;LIBS;DEPENDS" ${ARGN})
  if(NOT OPML_CLANG OR NOT EXISTS "${OPML_FUZZER_RT}")
    return()
  endif()
  if(NOT F_MAX_LEN)
    set(F_MAX_LEN 4096)
  endif()
  if(NOT F_SECONDS)
    set(F_SECONDS 20)
  endif()
  string(REPLACE "." "_" base ${name})
  set(bin ${CMAKE_CURRENT_BINARY_DIR}/${base})
  set(incs "")
  foreach(i ${F_INCLUDES})
    list(APPEND incs -I${i})
  endforeach()
  add_custom_command(OUTPUT ${bin}
    COMMAND ${OPML_CLANG} -g -O1 -Wall -Wextra -Werror -ffp-contract=off -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=undefined ${incs} ${F_SOURCES} -o ${bin} ${F_LIBS}
    DEPENDS ${F_SOURCES} ${F_DEPENDS}
    COMMENT "libFuzzer target ${name} (clang, ASan/UBSan)" VERBATIM)
  add_custom_target(${base} ALL DEPENDS ${bin})
  opml_test(${name} unit sh -c "rm -rf ${base}-new && mkdir ${base}-new && \
    ${bin} -max_total_time=${F_SECONDS} -timeout=10 -rss_limit_mb=1024 -max_len=${F_MAX_LEN} -print_final_stats=1 \
    ${base}-new ${corpus}")
  set_tests_properties(${name} PROPERTIES WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endfunction()

# What a fuzz target of anything that reads or writes model files compiles (the model file, the
# kernels it checks and runs, the hashing, the GGUF reader of its metadata section), and where
# their headers are.
file(GLOB OPML_FUZZ_KERNEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/numerics/kernels/*.c)
set(OPML_FUZZ_MODEL_SOURCES ${CMAKE_SOURCE_DIR}/numerics/model/model.c
    ${CMAKE_SOURCE_DIR}/numerics/model/tests/model_exercise.c ${OPML_FUZZ_KERNEL_SOURCES}
    ${CMAKE_SOURCE_DIR}/base/keccak.c ${CMAKE_SOURCE_DIR}/base/merkle.c ${CMAKE_SOURCE_DIR}/base/tensor_root.c
    ${CMAKE_SOURCE_DIR}/base/errmsg.c ${CMAKE_SOURCE_DIR}/formats/gguf/gguf_file.c)
set(OPML_FUZZ_MODEL_INCLUDES ${CMAKE_SOURCE_DIR}/numerics/model ${CMAKE_SOURCE_DIR}/numerics/model/tests
    ${CMAKE_SOURCE_DIR}/numerics/kernels ${CMAKE_SOURCE_DIR}/base ${CMAKE_SOURCE_DIR}/formats/gguf)
set(OPML_FUZZ_MODEL_LIBS -lnettle -lpthread)
