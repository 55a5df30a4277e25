// livegate-server: a thin host over LiveGate's public C API.
//
//   livegate-server [OPTIONS]            runs the ingest server
//   livegate-server entry ACTION [...]   manages entries in the same store
//
// See --help. Events go to stdout as one JSON object per line; logs go to
// stderr.
#include <cstdio>
#include <span>
#include <string>

#include "entry_command.h"
#include "options.h"
#include "serve.h"

int main(int argc, char **argv) {
  using namespace lgserver;
  Options options;
  std::string error;
  const std::span<const char *const> args(argv + 1, argc > 0 ? static_cast<size_t>(argc - 1) : 0);
  if (!parse_options(args, options, error)) {
    std::fprintf(stderr, "livegate-server: %s\nTry 'livegate-server --help'.\n", error.c_str());
    return 1;
  }
  switch (options.mode) {
    case Mode::Help:
      std::fputs(kUsage, stdout);
      return 0;
    case Mode::Entry:
      return run_entry_command(options);
    case Mode::Serve:
      return serve(options);
  }
  return 1;
}
