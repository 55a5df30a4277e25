// livegate-server's command line.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "livegate/livegate.h"

namespace lgserver {

enum class Mode { Serve, Entry, Help };

struct Options {
  Mode mode = Mode::Serve;

  // Shared by the server and the entry subcommands.
  std::string data_dir = "./livegate-data";
  std::string public_host = "localhost";
  // The server's listen port (0: ephemeral); for the entry subcommands the
  // port written into URLs.
  int rtmp_port = 1935;

  // Server only.
  std::string rtmp_address = "0.0.0.0";
  lg_log_level log_level = LG_LOG_INFO;
  lg_revoke_policy revoke_policy = LG_REVOKE_KEEP;

  // Entry subcommands only.
  std::string action;  // create, list, show, regenerate-token, delete
  std::string entry_id;
  std::optional<std::string> name;
  bool json = false;
};

// The --help text.
extern const char kUsage[];

// Parses argv without the program name. On bad usage returns false and says
// why in `error`.
bool parse_options(std::span<const char *const> args, Options &out, std::string &error);

}  // namespace lgserver
