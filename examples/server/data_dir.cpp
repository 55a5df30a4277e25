#include "data_dir.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "json.h"

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

std::string server_file_path(const std::string &dir) {
  return (std::filesystem::path(dir) / "server.json").string();
}

namespace {

std::optional<ServerFile> parse_server_file(const std::string &dir) {
  std::ifstream in(server_file_path(dir));
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  JsonValue root;
  std::string error;
  if (!parse_json(text.str(), root, error) || root.type != JsonValue::Type::Object) {
    return std::nullopt;
  }
  const JsonValue *pid = root.find("pid");
  const JsonValue *address = root.find("httpAddress");
  const JsonValue *port = root.find("httpPort");
  if (!pid || !address || !port || address->type != JsonValue::Type::String) {
    return std::nullopt;
  }
  const std::optional<int64_t> pid_value = pid->integer();
  const std::optional<int64_t> port_value = port->integer();
  if (!pid_value || *pid_value <= 0 || !port_value || *port_value <= 0 || *port_value > 65535) {
    return std::nullopt;
  }
  ServerFile file;
  file.pid = *pid_value;
  file.http_address = address->text;
  file.http_port = static_cast<int>(*port_value);
  return file;
}

}  // namespace

bool write_server_file(const std::string &dir, const ServerFile &file, std::string &error) {
  JsonWriter json;
  json.begin_object();
  json.key("pid").number(file.pid);
  json.key("httpAddress").string(file.http_address);
  json.key("httpPort").number(file.http_port);
  json.end_object();
  const std::string path = server_file_path(dir);
  const std::string temporary = path + "." + std::to_string(file.pid) + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << json.str() << '\n';
    out.close();
    if (!out) {
      error = "cannot write '" + temporary + "'";
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    std::filesystem::remove(temporary, ec);
    return false;
  }
  return true;
}

std::optional<ServerFile> read_server_file(const std::string &dir) {
  std::optional<ServerFile> file = parse_server_file(dir);
  // EPERM: the process exists but belongs to someone else; still a server.
  if (file && ::kill(static_cast<pid_t>(file->pid), 0) != 0 && errno == ESRCH) {
    return std::nullopt;
  }
  return file;
}

void remove_server_file(const std::string &dir, int64_t pid) {
  const std::optional<ServerFile> file = parse_server_file(dir);
  if (!file || file->pid != pid) return;
  std::error_code ignored;
  std::filesystem::remove(server_file_path(dir), ignored);
}

}  // namespace lgserver
