// Static delivery of what the library writes under the media directory: HLS
// playlists and segments, recordings and clips, to players and browsers.
#pragma once

#include <string>
#include <string_view>

#include "http_server.h"

namespace lgserver {

class MediaFiles {
 public:
  explicit MediaFiles(std::string media_dir) : media_dir_(std::move(media_dir)) {}

  // Whether `path` is under one of the media prefixes (/live/, /recordings/,
  // /clips/); the rest are not this class's business.
  static bool handles(std::string_view path);

  //   /live/{entry}/{rest...}        {media_dir}/{entry}/hls/{rest...}
  //   /recordings/{entry}/{rest...}  {media_dir}/{entry}/recordings/{rest...}
  //   /clips/{entry}/{file}          {media_dir}/{entry}/clips/{file}
  // Only safe names (is_safe_name), only known media types, only regular
  // files reached without following a symlink: anything else is 404.
  HttpReply serve(const HttpRequest &request) const;

 private:
  std::string media_dir_;
};

}  // namespace lgserver
