// The structs behind the C API's opaque handles, and shared conversions.
#pragma once

#include <memory>
#include <string>

#include "auth/random.h"
#include "auth/store.h"
#include "livegate/store.h"

struct lg_store {
  std::unique_ptr<lg::auth::Store> owned;  // null when borrowed from a server
  lg::auth::Store *store = nullptr;
  lg::auth::Random *random = nullptr;
  std::unique_ptr<lg::auth::Random> owned_random;
};

namespace lg::capi {

// Fills a caller's lg_entry, honouring its struct_size.
lg_status fill_entry(lg_entry *out, const lg::auth::Entry &entry);

}  // namespace lg::capi
