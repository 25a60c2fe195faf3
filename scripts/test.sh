#!/usr/bin/env bash
# test.sh: set up (packages + build) and run every test with ctest, then the
# importer and parser tests again in an AddressSanitizer + UBSan build.
# Usage: scripts/test.sh            (everything)
#        TERNC_SKIP_SANITIZE=1 scripts/test.sh   (skip the sanitizer build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

# The build and the tests' artifacts take about 5 GB (build/ 3 GB, build-asan/ 2 GB): say what the disk has, so
# that a full disk shows up as the reason and not as a test failure.
df -h "$root" | sed 's/^/disk: /'
"$root/scripts/setup.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$root/build" && ctest -j"$jobs" --output-on-failure --timeout 900)
df -h "$root" | sed 's/^/disk: /'

if [ "${TERNC_SKIP_SANITIZE:-0}" != 1 ]; then
  # The sanitizer configuration runs the tests that parse untrusted input
  # (the ONNX importer, the .tir parser, .npy and .pb files, the safetensors
  # and GGUF readers with their broken-file corpora, the importers' error
  # tests, the bad-input tests) and the runtime's thread pool and main(). The self-containment
  # check is skipped there: an ASan binary links libasan.so by design.
  TERNC_TARGETS="ternc ternc_unittests ternc_runtime_tests ternc_safetensors_tests ternc_gguf_malformed_tests" "$root/scripts/setup.sh" "$root/build-asan" \
    -DCMAKE_BUILD_TYPE=Debug -DTERNC_SANITIZE=ON
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j"$jobs" --output-on-failure --timeout 900 \
       -R '^(TextForm|Parser|Verifier|OnnxImporter|Npy|Cli|TensorProto|Main|Binding|Dims|ThreadPool|Context|Safetensors|SafetensorsMalformed|Checkpoint|CheckpointMalformed|GgufMalformed)[A-Za-z]*\.|^lit-(ir|onnx-import)$|^formats-import-errors$' \
       -E '^Main\.ExecutableIsSelfContained$')
fi
