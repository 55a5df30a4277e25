// The few file operations outputs need, each reporting errno as text. Run on
// the output threads only: every one of them may block on the disk.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lg::pack {

// mkdir -p; false with the reason.
bool make_dirs(const std::string &path, std::string &error);
// Writes `parts` to `path` + ".tmp" and renames it over `path`, so a reader
// sees the old file or the new one, never a partial one.
bool write_atomically(const std::string &path, std::span<const uint8_t> bytes, std::string &error);
bool write_atomically(const std::string &path, std::string_view text, std::string &error);
bool read_file(const std::string &path, std::string &out, size_t max_bytes);
// Removes a file; a missing one is not an error.
void remove_file(const std::string &path);
bool file_exists(const std::string &path);
// Names in `dir` that are `{n}{suffix}`, sorted by n.
std::vector<uint64_t> numbered_files(const std::string &dir, std::string_view suffix);
// Subfolder names of `dir`, sorted.
std::vector<std::string> subdirectories(const std::string &dir);

// A file opened for appending, closed on destruction.
class AppendFile {
 public:
  AppendFile() = default;
  ~AppendFile();
  AppendFile(AppendFile &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  AppendFile &operator=(AppendFile &&other) noexcept;
  AppendFile(const AppendFile &) = delete;
  AppendFile &operator=(const AppendFile &) = delete;

  bool open(const std::string &path, std::string &error);
  // Writes all of `data` (retrying short writes) or says why not; on failure
  // the file is truncated back to where it ended before, so nothing of
  // `data` stays in it.
  bool append(std::span<const uint8_t> data, std::string &error);
  // The same for the first `size` bytes of the file open at `source_fd`,
  // copied by the kernel where it can (copy_file_range).
  bool append_from(int source_fd, uint64_t size, std::string &error);
  void close();
  bool is_open() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }

 private:
  bool truncate_back(int saved_errno, std::string &error);

  int fd_ = -1;
  uint64_t size_ = 0;
};

// A file written piece by piece as `path`.tmp and renamed to `path` once
// complete, so that a reader sees all of it or nothing, without the whole
// file ever being held in memory. A failed write is kept and reported by
// commit(); later writes are skipped. Removed on destruction unless
// committed.
class PendingFile {
 public:
  PendingFile() = default;
  ~PendingFile();
  PendingFile(const PendingFile &) = delete;
  PendingFile &operator=(const PendingFile &) = delete;

  // Starts a new file (abandoning any other not committed).
  void open(const std::string &path);
  void write(std::span<const uint8_t> data);
  // Puts the file in place. False with the first failure since open().
  bool commit(std::string &error);
  // Closes the file; removes it unless committed.
  void close();

  bool is_open() const { return !path_.empty(); }
  const std::string &path() const { return path_; }
  // Bytes written so far; a failed write is not counted.
  uint64_t size() const { return size_; }
  // Something failed since open(): commit() will say what.
  bool failed() const { return !error_.empty(); }
  // Open for reading until close(), after commit() too.
  int fd() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool committed_ = false;
  std::string error_;
};

}  // namespace lg::pack
