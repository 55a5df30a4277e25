#include "media_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <vector>

namespace lgserver {

namespace {

// Segments, clips and finished recordings are written once under a
// temporary name and renamed into place, so caches may keep them.
constexpr const char *kImmutable = "public, max-age=86400";
// Playlists change with every segment; a recording being written grows.
constexpr const char *kNoCache = "no-cache";

struct MediaType {
  std::string_view extension;
  const char *content_type;
  bool playlist;
};

constexpr MediaType kMediaTypes[] = {
    {".m3u8", "application/vnd.apple.mpegurl", true},
    {".ts", "video/mp2t", false},
    {".m4s", "video/iso.segment", false},
    {".mp4", "video/mp4", false},
};

const MediaType *media_type(std::string_view name) {
  for (const MediaType &type : kMediaTypes) {
    if (name.size() > type.extension.size() && name.ends_with(type.extension)) return &type;
  }
  return nullptr;
}

HttpReply text_reply(unsigned status, std::string text) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(text);
  reply.header("Content-Type", "text/plain; charset=utf-8");
  reply.header("Access-Control-Allow-Origin", "*");
  return reply;
}

HttpReply not_found() {
  return text_reply(404, "not found\n");
}

// Opens {root}/{parts...} one component at a time, never following a
// symlink, and only if the last one is a regular file: whatever is linked
// into the media tree, nothing outside it can be served.
UniqueFd open_beneath(const std::string &root, const std::vector<std::string_view> &parts,
                      struct stat &st) {
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string name(parts[i]);
    UniqueFd next(
        ::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return {};
    dir = std::move(next);
  }
  const std::string name(parts.back());
  // O_NONBLOCK: a FIFO planted in the tree must not hang the opening thread.
  UniqueFd file(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return file;
}

struct ByteRange {
  uint64_t first;
  uint64_t last;  // inclusive
};

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range. nullopt for a header to
// ignore (absent, malformed, or several ranges: the whole file is sent);
// `unsatisfiable` when the range lies past the end.
std::optional<ByteRange> parse_range(std::string_view header, uint64_t size, bool &unsatisfiable) {
  unsatisfiable = false;
  constexpr std::string_view kPrefix = "bytes=";
  if (!header.starts_with(kPrefix)) return std::nullopt;
  header.remove_prefix(kPrefix.size());
  if (header.find(',') != std::string_view::npos) return std::nullopt;
  const size_t dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto number = [](std::string_view text, uint64_t &out) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  };
  const std::string_view first_text = header.substr(0, dash);
  const std::string_view last_text = header.substr(dash + 1);
  uint64_t first = 0;
  uint64_t last = 0;
  if (first_text.empty()) {
    uint64_t suffix = 0;
    if (!number(last_text, suffix)) return std::nullopt;
    if (suffix == 0 || size == 0) {
      unsatisfiable = true;
      return std::nullopt;
    }
    first = suffix >= size ? 0 : size - suffix;
    return ByteRange{first, size - 1};
  }
  if (!number(first_text, first)) return std::nullopt;
  if (last_text.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!number(last_text, last) || last < first) {
    return std::nullopt;
  }
  if (first >= size) {
    unsatisfiable = true;
    return std::nullopt;
  }
  if (last >= size) last = size - 1;
  return ByteRange{first, last};
}

}  // namespace

bool MediaFiles::handles(std::string_view path) {
  return path.starts_with("/live/") || path.starts_with("/recordings/") ||
         path.starts_with("/clips/");
}

HttpReply MediaFiles::serve(const HttpRequest &request) const {
  if (request.method == "OPTIONS") {
    // A browser player's preflight for a Range request.
    HttpReply reply;
    reply.status = 204;
    reply.header("Access-Control-Allow-Origin", "*");
    reply.header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    reply.header("Access-Control-Allow-Headers", "Range");
    reply.header("Access-Control-Max-Age", "86400");
    return reply;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpReply reply = text_reply(405, "method not allowed\n");
    reply.header("Allow", "GET, HEAD, OPTIONS");
    return reply;
  }

  std::vector<std::string_view> url;
  if (!split_path(request.path, url) || url.size() < 3) return not_found();
  for (std::string_view part : url) {
    if (!is_safe_name(part)) return not_found();
  }
  std::vector<std::string_view> file{url[1]};  // the entry id
  bool may_grow = false;
  if (url[0] == "live") {
    file.push_back("hls");
  } else if (url[0] == "recordings") {
    file.push_back("recordings");
    // {stream}/{broadcast}/{n}.ts is appended while the broadcast runs;
    // {stream}/{broadcast}.mp4 is complete when it appears.
    may_grow = url.size() >= 5;
  } else if (url[0] == "clips" && url.size() == 3) {
    file.push_back("clips");
  } else {
    return not_found();
  }
  file.insert(file.end(), url.begin() + 2, url.end());
  const MediaType *type = media_type(file.back());
  if (!type) return not_found();

  struct stat st {};
  UniqueFd fd = open_beneath(media_dir_, file, st);
  if (!fd) return not_found();
  const auto size = static_cast<uint64_t>(st.st_size);

  HttpReply reply;
  reply.header("Content-Type", type->content_type);
  reply.header("Cache-Control", type->playlist || may_grow ? kNoCache : kImmutable);
  reply.header("Access-Control-Allow-Origin", "*");
  reply.header("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
  reply.offset = 0;
  reply.length = size;
  if (!type->playlist) {
    // Browsers seek in an MP4 with byte ranges; segments allow them too.
    reply.header("Accept-Ranges", "bytes");
    bool unsatisfiable = false;
    const auto range = parse_range(request.range, size, unsatisfiable);
    if (unsatisfiable) {
      HttpReply refused = text_reply(416, "range not satisfiable\n");
      refused.header("Content-Range", "bytes */" + std::to_string(size));
      return refused;
    }
    if (range) {
      reply.status = 206;
      reply.offset = range->first;
      reply.length = range->last - range->first + 1;
      reply.header("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->last) + "/" + std::to_string(size));
    }
  }
  reply.file = std::move(fd);
  return reply;
}

}  // namespace lgserver
