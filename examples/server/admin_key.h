// The admin API's bearer key: given on the command line, or made once and
// kept in the data directory so that scripts on the same machine can read it.
#pragma once

#include <string>
#include <string_view>

namespace lgserver {

struct AdminKey {
  std::string key;
  // The file it was read from or written to; empty when it came from a flag.
  std::string file;
};

// Uses `flag_key` when it is not empty; otherwise reads {data_dir}/admin-key,
// creating it (mode 0600, 32 random hex characters) if missing. Fails, saying
// why, for a key that is too short or not printable ASCII, or a file that
// cannot be read or written.
bool load_admin_key(const std::string &flag_key, const std::string &data_dir, AdminKey &out,
                    std::string &error);

// The same for a client of a running server: never makes the file.
bool read_admin_key(const std::string &flag_key, const std::string &data_dir, AdminKey &out,
                    std::string &error);

// Whether `presented` equals `expected`, in a time that depends only on the
// lengths, so a network client cannot find the key byte by byte.
bool same_key(std::string_view presented, std::string_view expected);

}  // namespace lgserver
