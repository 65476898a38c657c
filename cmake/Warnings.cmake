# Warnings are errors, for every target of ours (third-party headers come in as SYSTEM).
add_library(tapir_warnings INTERFACE)
target_compile_options(tapir_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wnull-dereference
  -Wimplicit-fallthrough -Werror)
