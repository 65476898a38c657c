# Every dependency comes from Debian by package name (scripts/setup.sh); nothing is fetched.
find_package(Microsoft.GSL CONFIG REQUIRED)   # libmsgsl-dev
find_package(tl-expected CONFIG REQUIRED)     # libexpected-dev
find_package(fmt CONFIG REQUIRED)             # libfmt-dev
find_package(spdlog CONFIG REQUIRED)          # libspdlog-dev
find_package(Boost 1.74 REQUIRED)             # libboost-dev (Asio is header-only)
find_package(CLI11 CONFIG REQUIRED)           # libcli11-dev
find_package(Threads REQUIRED)
if(TAPIR_TESTS)
  find_package(GTest CONFIG REQUIRED)         # libgtest-dev, libgmock-dev
endif()
if(TAPIR_BENCH)
  find_package(benchmark CONFIG REQUIRED)     # libbenchmark-dev
endif()
