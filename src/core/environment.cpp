#include "core/environment.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace hsmproof {

std::optional<std::string> ProcessEnvironment::get(const std::string& name) const {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<std::string> ProcessEnvironment::read_file(const std::string& path,
                                                  std::size_t max_bytes) const {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Error{ErrorKind::kUsage, "cannot read " + path + ": no such file"};
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    return Error{ErrorKind::kUsage, "refusing " + path + ": larger than " +
                                        std::to_string(max_bytes) + " bytes"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorKind::kUsage, "cannot read " + path + ": permission denied"};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

bool ProcessEnvironment::file_exists(const std::string& path) const {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

std::optional<std::string> FakeEnvironment::get(const std::string& name) const {
  auto it = variables.find(name);
  if (it == variables.end()) return std::nullopt;
  return it->second;
}

Result<std::string> FakeEnvironment::read_file(const std::string& path,
                                               std::size_t max_bytes) const {
  auto it = files.find(path);
  if (it == files.end()) return Error{ErrorKind::kUsage, "cannot read " + path + ": no such file"};
  if (it->second.size() > max_bytes) {
    return Error{ErrorKind::kUsage, "refusing " + path + ": too large"};
  }
  return it->second;
}

bool FakeEnvironment::file_exists(const std::string& path) const { return files.count(path) > 0; }

}  // namespace hsmproof
