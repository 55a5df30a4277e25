#include "pack/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace lg::pack {

namespace {

std::string errno_text(const std::string &what, const std::string &path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, const uint8_t *data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool make_dirs(const std::string &path, std::string &error) {
  // Called for every segment and playlist: once the folder exists, this is
  // one system call, not one per path component.
  if (!path.empty() && (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST)) return true;
  std::string partial;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    partial = path.substr(0, next);
    pos = next + 1;
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      error = errno_text("cannot create", partial);
      return false;
    }
  }
  return true;
}

bool write_atomically(const std::string &path, std::span<const uint8_t> bytes, std::string &error) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = errno_text("cannot create", tmp);
    return false;
  }
  if (!write_all(fd, bytes.data(), bytes.size())) {
    error = errno_text("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::close(fd) != 0) {
    error = errno_text("cannot write", tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno_text("cannot rename into", path);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool write_atomically(const std::string &path, std::string_view text, std::string &error) {
  return write_atomically(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size()),
      error);
}

bool read_file(const std::string &path, std::string &out, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

void remove_file(const std::string &path) {
  ::unlink(path.c_str());
}

bool file_exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<uint64_t> numbered_files(const std::string &dir, std::string_view suffix) {
  std::vector<uint64_t> out;
  DIR *d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent *e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
      continue;
    name.remove_suffix(suffix.size());
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec == std::errc() && p == name.data() + name.size()) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> subdirectories(const std::string &dir) {
  std::vector<std::string> out;
  DIR *d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent *e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    struct stat st {};
    if (::stat((dir + "/" + e->d_name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      out.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

AppendFile::~AppendFile() {
  close();
}

AppendFile &AppendFile::operator=(AppendFile &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

bool AppendFile::open(const std::string &path, std::string &error) {
  close();
  // Not O_APPEND, which copy_file_range refuses: writes go at the end
  // because the offset starts there and only ever moves with them.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error = errno_text("cannot open", path);
    return false;
  }
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end > 0 ? static_cast<uint64_t>(end) : 0;
  return true;
}

bool AppendFile::truncate_back(int saved_errno, std::string &error) {
  // A write cut short (a full disk) is taken back out, so that the file
  // still ends with a whole segment rather than part of a packet.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 ||
      ::lseek(fd_, static_cast<off_t>(size_), SEEK_SET) < 0) {
    error = std::string("cannot append to the recording: ") + std::strerror(saved_errno) +
            "; its last bytes are partial (cannot truncate: " + std::strerror(errno) + ")";
    return false;
  }
  error = std::string("cannot append to the recording: ") + std::strerror(saved_errno);
  return false;
}

bool AppendFile::append_from(int source_fd, uint64_t size, std::string &error) {
  if (fd_ < 0) {
    error = "recording file is not open";
    return false;
  }
  loff_t in = 0;
  bool kernel_copy = true;
  std::vector<uint8_t> buffer;
  while (static_cast<uint64_t>(in) < size) {
    const auto left = static_cast<size_t>(size - static_cast<uint64_t>(in));
    if (kernel_copy) {
      const ssize_t n = ::copy_file_range(source_fd, &in, fd_, nullptr, left, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        kernel_copy = false;  // another file system, or an old kernel
        continue;
      }
      return truncate_back(n < 0 ? errno : EIO, error);
    }
    buffer.resize(64 * 1024);
    const ssize_t n = ::pread(source_fd, buffer.data(), std::min(left, buffer.size()), in);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return truncate_back(n < 0 ? errno : EIO, error);
    if (!write_all(fd_, buffer.data(), static_cast<size_t>(n))) return truncate_back(errno, error);
    in += n;
  }
  size_ += size;
  return true;
}

bool AppendFile::append(std::span<const uint8_t> data, std::string &error) {
  if (fd_ < 0) {
    error = "recording file is not open";
    return false;
  }
  if (!write_all(fd_, data.data(), data.size())) return truncate_back(errno, error);
  size_ += data.size();
  return true;
}

void AppendFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

PendingFile::~PendingFile() {
  close();
}

void PendingFile::open(const std::string &path) {
  close();
  path_ = path;
  size_ = 0;
  committed_ = false;
  error_.clear();
  const std::string tmp = path + ".tmp";
  // Readable too: a recording copies the segment from it.
  fd_ = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) error_ = errno_text("cannot create", tmp);
}

void PendingFile::write(std::span<const uint8_t> data) {
  if (fd_ < 0 || !error_.empty() || committed_) return;
  if (!write_all(fd_, data.data(), data.size())) {
    error_ = errno_text("cannot write", path_ + ".tmp");
    return;
  }
  size_ += data.size();
}

bool PendingFile::commit(std::string &error) {
  if (path_.empty()) {
    error = "no file open";
    return false;
  }
  if (error_.empty() && ::rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
    error_ = errno_text("cannot rename into", path_);
  }
  if (!error_.empty()) {
    error = error_;
    return false;
  }
  committed_ = true;
  return true;
}

void PendingFile::close() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty() && !committed_) ::unlink((path_ + ".tmp").c_str());
  fd_ = -1;
  path_.clear();
  committed_ = false;
}

}  // namespace lg::pack
