#pragma once
// Process environment and files behind one small interface, so credential chains and endpoint
// resolution are tested without touching the real environment or home directory.

#include <map>
#include <optional>
#include <string>

#include "core/result.h"

namespace hsmproof {

class Environment {
 public:
  virtual ~Environment() = default;
  [[nodiscard]] virtual std::optional<std::string> get(const std::string& name) const = 0;
  // Whole file contents, or an error naming the path. Files larger than max_bytes are refused.
  [[nodiscard]] virtual Result<std::string> read_file(const std::string& path,
                                                      std::size_t max_bytes = 1U << 20) const = 0;
  [[nodiscard]] virtual bool file_exists(const std::string& path) const = 0;
};

// The real process environment and file system.
class ProcessEnvironment final : public Environment {
 public:
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const override;
  [[nodiscard]] Result<std::string> read_file(const std::string& path,
                                              std::size_t max_bytes) const override;
  [[nodiscard]] bool file_exists(const std::string& path) const override;
};

// For tests: variables and files from maps.
class FakeEnvironment final : public Environment {
 public:
  std::map<std::string, std::string> variables;
  std::map<std::string, std::string> files;

  [[nodiscard]] std::optional<std::string> get(const std::string& name) const override;
  [[nodiscard]] Result<std::string> read_file(const std::string& path,
                                              std::size_t max_bytes) const override;
  [[nodiscard]] bool file_exists(const std::string& path) const override;
};

}  // namespace hsmproof
