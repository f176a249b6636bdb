# Sanitizer builds, each in its own build directory with clang:
#   -DCHAT_SANITIZE=address,undefined   chatd and unit_tests under ASan+UBSan
#   -DCHAT_SANITIZE=thread              unit_tests_actors under TSan
# UBSan halts on the first report so that a finding fails the test that hit
# it. CAF and Boost come from Debian uninstrumented; their own reports are
# suppressed by library in tests/sanitizers/, never ours.
set(CHAT_SANITIZE "" CACHE STRING "sanitizers to build with: address,undefined or thread (clang)")

if(CHAT_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CHAT_SANITIZE needs clang (-DCMAKE_CXX_COMPILER=clang++)")
  endif()
  set(chat_san_flags -fsanitize=${CHAT_SANITIZE} -fno-omit-frame-pointer)
  if(CHAT_SANITIZE MATCHES "undefined")
    # No vptr check: Debian's libraries (libfmt, libspdlog, CAF, libstdc++)
    # are built by gcc, and objects they make (fmt's buffers, Boost's error
    # categories) fail clang's dynamic-type check though nothing is wrong;
    # with -fno-sanitize-recover such a report would abort the node.
    list(APPEND chat_san_flags -fno-sanitize=vptr -fno-sanitize-recover=all
         -fsanitize-ignorelist=${CMAKE_CURRENT_SOURCE_DIR}/tests/sanitizers/ubsan-ignorelist.txt)
  endif()
  add_compile_options(${chat_san_flags})
  add_link_options(-fsanitize=${CHAT_SANITIZE})
endif()
