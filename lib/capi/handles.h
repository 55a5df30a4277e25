// The structs behind the C API's opaque handles, and shared conversions.
#pragma once

#include <memory>
#include <string>

#include "auth/random.h"
#include "auth/store.h"
#include "ingest/events.h"
#include "ingest/server.h"
#include "livegate/store.h"

struct lg_store {
  std::unique_ptr<lg::auth::Store> owned;  // null when borrowed from a server
  lg::auth::Store *store = nullptr;
  lg::auth::Random *random = nullptr;
  std::unique_ptr<lg::auth::Random> owned_random;
};

struct lg_server {
  std::unique_ptr<lg::ingest::Events> events;
  std::unique_ptr<lg::ingest::Server> server;
  lg_store store;  // borrowed view of the server's store
};

namespace lg::capi {

// Fills a caller's lg_entry, honouring its struct_size.
lg_status fill_entry(lg_entry *out, const lg::auth::Entry &entry);

}  // namespace lg::capi
