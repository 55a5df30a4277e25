// What the load generators share: their command line and their own CPU time.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lg::bench {

// The numbers every generator takes; each names its own string flags.
struct RunArgs {
  uint64_t seconds = 10;
  uint64_t ramp_ms = 1000;
  int n = 1;
};

// Reads --seconds, --ramp-ms, -n, the given string flags and the given
// switches (flags without a value). Returns an empty string, or what was
// wrong.
inline std::string parse_args(int argc, char **argv,
                              const std::map<std::string_view, std::string *> &strings,
                              RunArgs &out,
                              const std::map<std::string_view, bool *> &switches = {}) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (const auto it = switches.find(a); it != switches.end()) {
      *it->second = true;
      continue;
    }
    if (i + 1 >= argc) return "no value for " + std::string(a);
    const char *value = argv[++i];
    if (const auto it = strings.find(a); it != strings.end()) {
      *it->second = value;
    } else if (a == "-n") {
      out.n = std::atoi(value);
    } else if (a == "--seconds") {
      out.seconds = std::strtoull(value, nullptr, 10);
    } else if (a == "--ramp-ms") {
      out.ramp_ms = std::strtoull(value, nullptr, 10);
    } else {
      return "unknown argument " + std::string(a);
    }
  }
  return "";
}

// A name template ("s{i}") for publisher i.
inline std::string expand(std::string name, int i) {
  const size_t at = name.find("{i}");
  if (at != std::string::npos) name.replace(at, 3, std::to_string(i));
  return name;
}

// A --targets file: one "URL [FIELD]" per line (FIELD may be absent, blank
// lines are skipped), as (URL, FIELD) pairs.
inline std::vector<std::pair<std::string, std::string>> read_targets(const std::string &path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string url, field;
    if (!(fields >> url)) continue;
    fields >> field;
    out.emplace_back(std::move(url), std::move(field));
  }
  return out;
}

inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace lg::bench
