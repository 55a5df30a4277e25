#include "admin_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace lgserver {

namespace {

constexpr size_t kMinKeyLength = 16;
constexpr size_t kMaxKeyLength = 256;

std::string errno_text() {
  return std::strerror(errno);
}

// Printable ASCII without spaces, so it fits an Authorization header as is.
bool valid_key(std::string_view key, std::string &why) {
  if (key.size() < kMinKeyLength || key.size() > kMaxKeyLength) {
    why = "must be " + std::to_string(kMinKeyLength) + " to " + std::to_string(kMaxKeyLength) +
          " characters long";
    return false;
  }
  for (char c : key) {
    if (c <= ' ' || c > '~') {
      why = "must be printable ASCII without spaces";
      return false;
    }
  }
  return true;
}

bool random_hex(std::string &out, std::string &error) {
  std::array<unsigned char, 16> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read random bytes for the admin key: " + errno_text();
      return false;
    }
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.clear();
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return true;
}

// Reads the key file; NOFOLLOW so a planted symlink cannot make the server
// trust a key from elsewhere.
bool read_key_file(const std::string &path, std::string &out, std::string &error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read the admin key file '" + path + "': " + errno_text();
    return false;
  }
  std::string text;
  char buf[kMaxKeyLength + 2];
  while (text.size() <= kMaxKeyLength + 1) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  std::string why;
  if (!valid_key(text, why)) {
    error = "the admin key in '" + path + "' " + why + "; fix or remove the file";
    return false;
  }
  out = text;
  return true;
}

// Creates the file exclusively: if another process made it first, its key
// is the one to use.
bool create_key_file(const std::string &path, std::string &out, bool &exists, std::string &error) {
  exists = false;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      exists = true;
      return false;
    }
    error = "cannot create the admin key file '" + path + "': " + errno_text();
    return false;
  }
  std::string key;
  if (!random_hex(key, error)) {
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    error = "cannot write the admin key file '" + path + "': " + errno_text();
    ::unlink(path.c_str());
    return false;
  }
  out = key;
  return true;
}

std::string key_file_path(const std::string &data_dir) {
  std::error_code ec;
  auto path = std::filesystem::absolute(std::filesystem::path(data_dir) / "admin-key", ec);
  if (ec) path = std::filesystem::path(data_dir) / "admin-key";
  return path.lexically_normal().string();
}

bool use_flag_key(const std::string &flag_key, AdminKey &out, std::string &error) {
  std::string why;
  if (!valid_key(flag_key, why)) {
    error = "--admin-key " + why;
    return false;
  }
  out = AdminKey{flag_key, {}};
  return true;
}

}  // namespace

bool load_admin_key(const std::string &flag_key, const std::string &data_dir, AdminKey &out,
                    std::string &error) {
  if (!flag_key.empty()) return use_flag_key(flag_key, out, error);
  const std::string file = key_file_path(data_dir);
  bool exists = false;
  std::string key;
  if (create_key_file(file, key, exists, error)) {
    out = AdminKey{key, file};
    return true;
  }
  if (!exists) return false;
  if (!read_key_file(file, key, error)) return false;
  out = AdminKey{key, file};
  return true;
}

bool read_admin_key(const std::string &flag_key, const std::string &data_dir, AdminKey &out,
                    std::string &error) {
  if (!flag_key.empty()) return use_flag_key(flag_key, out, error);
  const std::string file = key_file_path(data_dir);
  std::string key;
  if (!read_key_file(file, key, error)) return false;
  out = AdminKey{key, file};
  return true;
}

bool same_key(std::string_view presented, std::string_view expected) {
  // Every byte of the expected key is looked at whatever was presented.
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const char p = i < presented.size() ? presented[i] : '\0';
    diff |= static_cast<unsigned char>(p ^ expected[i]);
  }
  return diff == 0;
}

}  // namespace lgserver
