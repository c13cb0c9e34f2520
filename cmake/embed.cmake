# dux_embed(TARGET SYMBOL FILE...): compiles the files into TARGET as
# `const dux_blob_t SYMBOL[]` (name, bytes, length), NUL-terminated, in the order given.
# Used for migrations and OpenAPI documents so that a daemon is one self-contained binary.
function(dux_embed target symbol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${ARGN}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_gen.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/cmake/embed_gen.cmake
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
