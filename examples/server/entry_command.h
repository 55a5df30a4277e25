// `livegate-server entry ...`: entry management on the store, safe while a
// server runs on the same data directory.
#pragma once

#include "options.h"

namespace lgserver {

// Runs one entry action; returns the process exit status (0 ok, 1 error,
// with a message on stderr).
int run_entry_command(const Options &options);

}  // namespace lgserver
