# terncConfig.cmake: find_package(ternc) for out-of-tree targets, installed as <prefix>/lib/cmake/ternc/.
# Defines
#   ternc::target_api        an interface library: the installed headers (include/ternc) and fmt; link a
#                            target plugin against it (the ternc executable provides the ternc:: symbols)
#   TERNC_EXECUTABLE         the installed ternc
#   TERNC_KERNEL_FLAGS       the flags kernels are compiled to bitcode with (as ternc's own)
#   ternc_kernel_bitcode(SYMBOL TRIPLE OUT_VAR SOURCES...)
#                            compiles SOURCES to LLVM bitcode for TRIPLE with clang-16, links them with ternc's
#                            portable kernels for TRIPLE (<prefix>/lib/ternc/TRIPLE/kernels-portable.bc) and sets
#                            OUT_VAR to an assembly file embedding the result as the bytes [SYMBOL, SYMBOL_end):
#                            add it to the plugin's sources and return that range from Target::kernelBitcode().
get_filename_component(TERNC_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
include(CMakeFindDependencyMacro)
find_dependency(fmt)

set(TERNC_EXECUTABLE "${TERNC_PREFIX}/bin/ternc")
set(TERNC_INCLUDE_DIR "${TERNC_PREFIX}/include/ternc")
if(NOT TARGET ternc::target_api)
  add_library(ternc::target_api INTERFACE IMPORTED)
  set_target_properties(ternc::target_api PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${TERNC_INCLUDE_DIR}"
                                                     INTERFACE_LINK_LIBRARIES fmt::fmt)
endif()

set(TERNC_KERNEL_FLAGS -O2 -ffreestanding -fno-vectorize -fno-slp-vectorize -fno-unroll-loops -fno-exceptions -fno-rtti
    -fno-math-errno -ffp-contract=on -std=c++20 -Wall -Werror=return-type)
find_program(TERNC_CLANG clang-16 REQUIRED)
find_program(TERNC_LLVM_LINK llvm-link PATHS /usr/lib/llvm-16/bin REQUIRED NO_DEFAULT_PATH)

function(ternc_kernel_bitcode symbol triple out_var)
  set(portable "${TERNC_PREFIX}/lib/ternc/${triple}/kernels-portable.bc")
  if(NOT EXISTS "${portable}")
    message(FATAL_ERROR "ternc at ${TERNC_PREFIX} has no portable kernels for ${triple} (${portable})")
  endif()
  set(bcs)
  foreach(src ${ARGN})
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(stem ${src} NAME_WE)
    set(bc ${CMAKE_CURRENT_BINARY_DIR}/bitcode/${triple}/${stem}.bc)
    add_custom_command(OUTPUT ${bc}
      COMMAND ${TERNC_CLANG} ${TERNC_KERNEL_FLAGS} --target=${triple} -I${TERNC_INCLUDE_DIR} -c -emit-llvm ${abs} -o ${bc}
      DEPENDS ${abs} COMMENT "Kernel bitcode ${stem} (${triple})")
    list(APPEND bcs ${bc})
  endforeach()
  set(linked ${CMAKE_CURRENT_BINARY_DIR}/bitcode/${symbol}.bc)
  add_custom_command(OUTPUT ${linked} COMMAND ${TERNC_LLVM_LINK} ${portable} ${bcs} -o ${linked}
                     DEPENDS ${portable} ${bcs} COMMENT "Linking kernel bitcode ${symbol}")
  set(asm ${CMAKE_CURRENT_BINARY_DIR}/bitcode/${symbol}.S)
  file(WRITE ${asm} ".section .rodata\n.balign 16\n.globl ${symbol}\n.hidden ${symbol}\n${symbol}:\n.incbin \"${linked}\"\n.globl ${symbol}_end\n.hidden ${symbol}_end\n${symbol}_end:\n.byte 0\n.section .note.GNU-stack,\"\",@progbits\n")
  set_source_files_properties(${asm} PROPERTIES OBJECT_DEPENDS ${linked})
  set(${out_var} ${asm} PARENT_SCOPE)
endfunction()
