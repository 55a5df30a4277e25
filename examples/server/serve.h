// The running server: listeners, the first entry, events on stdout, logs on
// stderr, until SIGINT or SIGTERM.
#pragma once

#include "options.h"

namespace lgserver {

// Returns the process exit status: 0 after a clean stop on a signal, 1 if
// the server cannot start (store, port, options), with a message on stderr.
int serve(const Options &options);

}  // namespace lgserver
