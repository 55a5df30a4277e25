// The data directory that the server and the entry subcommands share.
#pragma once

#include <string>

namespace lgserver {

// Creates `dir` and its parents if missing. On failure says why in `error`.
bool ensure_data_dir(const std::string &dir, std::string &error);

// The entry store inside it, as the library names it.
std::string store_path(const std::string &dir);

}  // namespace lgserver
