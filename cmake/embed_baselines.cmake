# Writes a C++ file holding each baseline JSON as a string, keyed by file stem.
set(content "// Generated from src/rules/baselines/*.json; do not edit.\n#include <map>\n#include <string>\n\nnamespace hsmproof::rules {\nconst std::map<std::string, std::string>& builtin_baseline_sources() {\n  static const std::map<std::string, std::string> sources = {\n")
foreach(input ${INPUTS})
  get_filename_component(stem ${input} NAME_WE)
  file(READ ${input} text)
  string(APPEND content "    {\"${stem}\", R\"hsmproof_json(${text})hsmproof_json\"},\n")
endforeach()
string(APPEND content "  };\n  return sources;\n}\n}  // namespace hsmproof::rules\n")
file(WRITE ${OUTPUT} "${content}")
