# ASan + UBSan for the `asan` preset; libFuzzer (+ASan/UBSan) for the `fuzz` preset.
if(TAPIR_SANITIZE OR TAPIR_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(TAPIR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "the fuzz build needs clang (CMAKE_CXX_COMPILER=clang++)")
  endif()
  # Coverage instrumentation everywhere; the fuzzer main is linked into fuzz targets only.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
