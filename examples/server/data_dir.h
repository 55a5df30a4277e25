// The data directory that the server and the entry subcommands share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lgserver {

// Creates `dir` and its parents if missing. On failure says why in `error`.
bool ensure_data_dir(const std::string &dir, std::string &error);

// The entry store inside it, as the library names it.
std::string store_path(const std::string &dir);

// What a running server with HTTP leaves in {dir}/server.json, so that the
// entry subcommands can reach its admin API: nothing secret (the key stays
// in its own file, or on the server's command line).
struct ServerFile {
  int64_t pid = 0;
  std::string http_address;  // as given to --http-address
  int http_port = 0;         // the bound port, also when it was ephemeral
};

std::string server_file_path(const std::string &dir);

// Replaces the file at once (a reader never sees half of it).
bool write_server_file(const std::string &dir, const ServerFile &file, std::string &error);

// The file's content; nullopt if it is missing, malformed, or names a
// process that no longer exists (a server killed before it could remove it).
std::optional<ServerFile> read_server_file(const std::string &dir);

// Removes the file if it still names `pid`: a later server on the same
// directory may have replaced it.
void remove_server_file(const std::string &dir, int64_t pid);

}  // namespace lgserver
