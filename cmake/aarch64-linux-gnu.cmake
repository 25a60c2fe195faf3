# aarch64-linux-gnu.cmake: CMake toolchain file for cross-building ternc's runtime for 64-bit Arm Linux with
# Debian's cross compilers (gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu, libc6-dev-arm64-cross) and the
# arm64 multiarch libraries (libprotobuf-dev:arm64, libpcre2-dev:arm64, libsentencepiece-dev:arm64) under
# /usr/lib/aarch64-linux-gnu. Used by runtime/cross/ (docs/aarch64.md).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and headers: the cross sysroot and the arm64 multiarch folders of the host; programs (protoc) are
# the host's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
