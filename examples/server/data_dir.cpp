#include "data_dir.h"

#include <filesystem>
#include <system_error>

namespace lgserver {

bool ensure_data_dir(const std::string &dir, std::string &error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create the data directory '" + dir + "': " + ec.message();
    return false;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    error = "the data directory '" + dir + "' is not a directory";
    return false;
  }
  return true;
}

std::string store_path(const std::string &dir) {
  return (std::filesystem::path(dir) / "livegate.db").string();
}

}  // namespace lgserver
