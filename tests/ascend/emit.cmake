# tests/ascend/emit.cmake: the AscendC emitter's tests (targets/ascend-910b/emit, docs/ascend-emit.md), label
# "ascend". AscendEmitTest builds modules by hand (every weight storage, a gate with group scales, attention) and
# runs `g++ -fsyntax-only` on every emitted .cpp against ascendc_syntax/ (a syntax check only, not CANN);
# emit_test.py does the same through `ternc compile --target ascend-910b --emit=ascendc` on the exported
# BitNet block and the gated group-scale FFN of tests/ternary, and on whole tiny LMs of tests/llm (LLaMA, BitNet,
# MiniCPM; int8 head; f16 cache), checking that the host launches every planned op in graph order.
include_guard(GLOBAL)
set(TERNC_ASCEND_EMIT_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(ternc_ascend_emit_tests ${TERNC_ASCEND_EMIT_DIR}/AscendEmitTest.cpp)
# The emitter joins ternc_targets once the build globs targets/*/emit/; until then the test compiles it itself.
get_target_property(TERNC_ASCEND_TARGET_SOURCES ternc_targets SOURCES)
if(NOT TERNC_ASCEND_TARGET_SOURCES MATCHES "emit/AscendEmit.cpp")
  target_sources(ternc_ascend_emit_tests PRIVATE ${PROJECT_SOURCE_DIR}/targets/ascend-910b/emit/AscendEmit.cpp)
endif()
target_link_libraries(ternc_ascend_emit_tests PRIVATE ternc_targets ternc_passes ternc_ir GTest::gtest_main)
target_compile_definitions(ternc_ascend_emit_tests PRIVATE
  TERNC_ASCENDC_SYNTAX_DIR="${TERNC_ASCEND_EMIT_DIR}/ascendc_syntax" TERNC_BINARY="$<TARGET_FILE:ternc>")
add_dependencies(ternc_ascend_emit_tests ternc)
gtest_discover_tests(ternc_ascend_emit_tests DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "ascend")

add_test(NAME ascend-emit-compile
         COMMAND /usr/bin/python3 ${TERNC_ASCEND_EMIT_DIR}/emit_test.py --ternc $<TARGET_FILE:ternc>
                 --source ${PROJECT_SOURCE_DIR} --work ${CMAKE_CURRENT_BINARY_DIR}/ascend-emit)
set_tests_properties(ascend-emit-compile PROPERTIES LABELS "ascend" TIMEOUT 600 SKIP_RETURN_CODE 77)
