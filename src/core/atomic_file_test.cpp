#include "core/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hsmproof {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporaryFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "hsmproof_atomic_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto target = dir / "report.json";
  ASSERT_TRUE(write_file_atomically(target.string(), "first").ok());
  ASSERT_TRUE(write_file_atomically(target.string(), "second").ok());
  EXPECT_EQ(read_all(target), "second");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1U);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  const Status status = write_file_atomically("/nonexistent-dir-hsmproof/out.json", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("/nonexistent-dir-hsmproof/out.json"), std::string::npos);
}

}  // namespace
}  // namespace hsmproof
