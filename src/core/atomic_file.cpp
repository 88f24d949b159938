#include "core/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hsmproof {

namespace {
Error io_error(const std::string& path, const std::string& what) {
  return Error{ErrorKind::kUsage, "cannot write " + path + ": " + what + " (" +
                                      std::strerror(errno) + ")"};
}
}  // namespace

Status write_file_atomically(const std::string& path, const std::string& content) {
  std::string temp_path = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) return io_error(path, "cannot create a temporary file beside it");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const Error error = io_error(path, "write failed");
      ::close(fd);
      ::unlink(temp_path.c_str());
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
    const Error error = io_error(path, "flush failed");
    ::close(fd);
    ::unlink(temp_path.c_str());
    return error;
  }
  ::close(fd);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const Error error = io_error(path, "rename failed");
    ::unlink(temp_path.c_str());
    return error;
  }
  return ok_status();
}

}  // namespace hsmproof
