# tapir_coroutines: link it into a target whose code co_awaits Asio operations (use_awaitable).
#   include(${PROJECT_SOURCE_DIR}/drivers/runtime/coroutines.cmake)
#   target_link_libraries(tapir-echo PRIVATE tapir_coroutines)
# With clang (the fuzz preset builds the apps too):
#  - Boost 1.74's Asio turns C++20 coroutines on only for g++ (for clang it wants
#    <experimental/coroutine>, which libstdc++ lacks); clang 14 with libstdc++ 12 has them.
#  - clang 14 fails on coroutines under -fsanitize=function, part of UBSan, with "Cannot
#    represent a difference across sections"; that one check is left out for such targets.
# With g++ 12, a coroutine that creates another with a by-value argument (co_spawn of
# session(std::move(socket))) draws a false -Wmismatched-new-delete about Asio's awaitable frame
# (GCC bug 109224, fixed in g++ 13); that warning is off for such targets.
include_guard(GLOBAL)
add_library(tapir_coroutines INTERFACE)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(tapir_coroutines INTERFACE -Wno-mismatched-new-delete)
endif()
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_definitions(tapir_coroutines INTERFACE BOOST_ASIO_HAS_CO_AWAIT=1
                                                        BOOST_ASIO_HAS_STD_COROUTINE=1)
  target_compile_options(tapir_coroutines INTERFACE -fno-sanitize=function)
endif()
