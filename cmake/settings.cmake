# One INTERFACE target carries every warning, hardening and sanitizer flag of the project's own
# targets. Options are prefixed HSMPROOF_ and touch nothing else.
option(HSMPROOF_WERROR "Treat warnings as errors (CI)" OFF)
option(HSMPROOF_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(HSMPROOF_CLANG_TIDY "Run clang-tidy while compiling" OFF)

add_library(hsmproof_settings INTERFACE)
target_compile_features(hsmproof_settings INTERFACE cxx_std_20)
target_compile_options(hsmproof_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  # Error{kind, message} leaves the context fields empty on purpose.
  -Wno-missing-field-initializers
  -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
if(HSMPROOF_WERROR)
  target_compile_options(hsmproof_settings INTERFACE -Werror)
endif()
if(HSMPROOF_SANITIZE)
  target_compile_options(hsmproof_settings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(hsmproof_settings INTERFACE -fsanitize=address,undefined)
endif()
if(HSMPROOF_CLANG_TIDY)
  find_program(CLANG_TIDY_EXE NAMES clang-tidy-14 clang-tidy REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${CLANG_TIDY_EXE})
endif()
