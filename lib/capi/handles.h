// The structs behind the C API's opaque handles, and shared conversions.
#pragma once

#include <memory>
#include <string>

#include "auth/random.h"
#include "auth/store.h"
#include "failover/router.h"
#include "ingest/events.h"
#include "ingest/server.h"
#include "livegate/store.h"
#include "pack/packager.h"

struct lg_store {
  std::unique_ptr<lg::auth::Store> owned;  // null when borrowed from a server
  lg::auth::Store *store = nullptr;
  lg::auth::Random *random = nullptr;
  std::unique_ptr<lg::auth::Random> owned_random;
};

namespace lg::capi {
struct OutputGate;
}

struct lg_server {
  std::unique_ptr<lg::ingest::Events> events;
  // Fed and called on the loop thread; its sink is `events`.
  std::unique_ptr<lg::failover::Router> router;
  std::unique_ptr<lg::ingest::Server> server;
  std::unique_ptr<lg::pack::Packager> packager;  // null with hls off
  // What the output and content-check threads reach the loop (and the
  // host) through; cut before the server goes away.
  std::shared_ptr<lg::capi::OutputGate> gate;
  lg_store store;  // borrowed view of the server's store
};

namespace lg::capi {

inline lg_role role_to_c(lg::url::Role role) {
  return role == lg::url::Role::Backup ? LG_ROLE_BACKUP : LG_ROLE_PRIMARY;
}

// Fills a caller's lg_entry, honouring its struct_size.
lg_status fill_entry(lg_entry *out, const lg::auth::Entry &entry);

}  // namespace lg::capi
