# embed_files(target file...) builds a static library exposing
#   std::string_view web_asset(std::string_view name)  (empty when unknown)
# with every file's bytes compiled in, keyed by its base name.
function(embed_files target)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}.cpp")
  # A list argument would be split into several: pass it comma-separated.
  string(REPLACE ";" "," files "${ARGN}")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files}"
            -P "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedFilesScript.cmake"
    DEPENDS ${ARGN} "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedFilesScript.cmake"
    COMMENT "Embedding ${target}"
    VERBATIM)
  add_library(${target} STATIC "${out}")
endfunction()
