// How the entry subcommands reach the admin API of a server running on the
// same data directory: its address from DATA_DIR/server.json, its key from
// DATA_DIR/admin-key (or --admin-key), one plain HTTP request on this
// machine.
#pragma once

#include <string>

namespace lgserver {

struct AdminCall {
  enum class Result {
    NotRunning,  // no server with HTTP runs on the data directory
    Failed,      // there is one, but it could not be asked (`error` says why)
    Answered     // `status` and `body` are its reply
  };
  Result result = Result::NotRunning;
  std::string server;  // "127.0.0.1:8080", once known
  unsigned status = 0;
  std::string body;
  std::string error;
};

// One request; `body`, if not empty, is sent as JSON. Waits a few seconds
// at most.
AdminCall call_admin_api(const std::string &data_dir, const std::string &admin_key,
                         const std::string &method, const std::string &path,
                         const std::string &body = {});

// The message of an error reply ({"error": "..."}), or the status line's
// gist when it has none.
std::string admin_error_message(const AdminCall &call);

}  // namespace lgserver
