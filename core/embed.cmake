# Writes OUTPUT, a C++ file defining execd::kEmbeddedLanguagesToml from INPUT.
file(READ ${INPUT} CONTENT)
string(FIND "${CONTENT}" ")EXECD_TOML\"" CLASH)
if(NOT CLASH EQUAL -1)
  message(FATAL_ERROR "languages.toml contains the raw-string delimiter")
endif()
file(WRITE ${OUTPUT} "// Generated from languages.toml; do not edit.\n#include \"core/registry.h\"\nnamespace execd {\nconst char* const kEmbeddedLanguagesToml = R\"EXECD_TOML(${CONTENT})EXECD_TOML\";\n}\n")
