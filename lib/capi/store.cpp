#include "livegate/store.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>

#include "capi/guard.h"
#include "capi/handles.h"

using lg::capi::copy_out;
using lg::capi::guard;

namespace {

thread_local std::string t_last_error;

lg_status remember(lg_store *store, lg_status rc) {
  if (rc != LG_OK && store && store->store) {
    t_last_error = store->store->last_error();
  } else if (rc == LG_OK) {
    t_last_error.clear();
  }
  return rc;
}

bool entry_ok(const lg_entry *out) {
  return out && out->struct_size >= offsetof(lg_entry, has_srt_passphrase);
}

}  // namespace

namespace lg::capi {

lg_status fill_entry(lg_entry *out, const lg::auth::Entry &entry) {
  // An older caller's struct is shorter: write only what it covers.
  lg_entry full{};
  full.struct_size = out->struct_size;
  copy_out(full.id, sizeof(full.id), entry.id);
  copy_out(full.name, sizeof(full.name), entry.name);
  copy_out(full.token, sizeof(full.token), entry.token);
  full.token_generation = entry.token_generation;
  full.created_at_ms = entry.created_at_ms;
  full.updated_at_ms = entry.updated_at_ms;
  full.has_srt_passphrase = entry.srt_passphrase ? 1 : 0;
  if (entry.srt_passphrase) {
    copy_out(full.srt_passphrase, sizeof(full.srt_passphrase), *entry.srt_passphrase);
  }
  full.dvr_enabled = entry.dvr ? 1 : 0;
  full.recording_enabled = entry.recording ? 1 : 0;
  std::memcpy(out, &full, std::min(out->struct_size, sizeof(full)));
  return LG_OK;
}

}  // namespace lg::capi

extern "C" {

LG_API lg_status lg_store_open(lg_store **store, const char *path, char *error, size_t error_size) {
  return guard([&]() -> lg_status {
    if (!store) return LG_E_INVALID_ARG;
    *store = nullptr;
    if (!path) return LG_E_INVALID_ARG;
    std::string why;
    auto handle = std::make_unique<lg_store>();
    handle->owned_random = lg::auth::Random::create(why);
    if (!handle->owned_random) {
      copy_out(error, error_size, why);
      return LG_E_INTERNAL;
    }
    handle->owned = lg::auth::Store::open(path, why);
    if (!handle->owned) {
      copy_out(error, error_size, why);
      return LG_E_STORE;
    }
    handle->store = handle->owned.get();
    handle->random = handle->owned_random.get();
    *store = handle.release();
    return LG_OK;
  });
}

LG_API void lg_store_close(lg_store *store) {
  // Borrowed handles (from a server) are freed with their server.
  if (store && store->owned) delete store;
}

LG_API lg_status lg_store_create_entry(lg_store *store, lg_entry *out, const char *name) {
  return guard([&]() -> lg_status {
    if (!store || !entry_ok(out)) return LG_E_INVALID_ARG;
    lg::auth::Entry entry;
    lg_status rc = store->store->create_entry(name ? name : "", *store->random, entry);
    if (rc == LG_OK) lg::capi::fill_entry(out, entry);
    return remember(store, rc);
  });
}

LG_API lg_status lg_store_get_entry(lg_store *store, lg_entry *out, const char *entry_id) {
  return guard([&]() -> lg_status {
    if (!store || !entry_ok(out) || !entry_id) return LG_E_INVALID_ARG;
    lg::auth::Entry entry;
    lg_status rc = store->store->get_entry(entry_id, entry);
    if (rc == LG_OK) lg::capi::fill_entry(out, entry);
    return remember(store, rc);
  });
}

LG_API lg_status lg_store_regenerate_token(lg_store *store, lg_entry *out, const char *entry_id) {
  return guard([&]() -> lg_status {
    if (!store || !entry_id || (out && !entry_ok(out))) return LG_E_INVALID_ARG;
    lg::auth::Entry entry;
    lg_status rc = store->store->regenerate_token(entry_id, *store->random, entry);
    if (rc == LG_OK && out) lg::capi::fill_entry(out, entry);
    return remember(store, rc);
  });
}

LG_API lg_status lg_store_set_srt_passphrase(lg_store *store, lg_entry *out, const char *entry_id,
                                             const char *passphrase) {
  return guard([&]() -> lg_status {
    if (!store || !entry_id || (out && !entry_ok(out))) return LG_E_INVALID_ARG;
    std::optional<std::string_view> value;
    if (passphrase) value = passphrase;
    lg_status rc = store->store->set_srt_passphrase(entry_id, value);
    if (rc != LG_OK) return remember(store, rc);
    if (out) {
      lg::auth::Entry entry;
      rc = store->store->get_entry(entry_id, entry);
      if (rc == LG_OK) lg::capi::fill_entry(out, entry);
    }
    return remember(store, rc);
  });
}

LG_API lg_status lg_store_set_outputs(lg_store *store, lg_entry *out, const char *entry_id, int dvr,
                                      int recording) {
  return guard([&]() -> lg_status {
    if (!store || !entry_id || (out && !entry_ok(out))) return LG_E_INVALID_ARG;
    lg_status rc = store->store->set_outputs(entry_id, dvr != 0, recording != 0);
    if (rc != LG_OK) return remember(store, rc);
    if (out) {
      lg::auth::Entry entry;
      rc = store->store->get_entry(entry_id, entry);
      if (rc == LG_OK) lg::capi::fill_entry(out, entry);
    }
    return remember(store, rc);
  });
}

LG_API lg_status lg_store_delete_entry(lg_store *store, const char *entry_id) {
  return guard([&]() -> lg_status {
    if (!store || !entry_id) return LG_E_INVALID_ARG;
    return remember(store, store->store->delete_entry(entry_id));
  });
}

LG_API lg_status lg_store_list_entries(lg_store *store, lg_entry_fn fn, void *user) {
  return guard([&]() -> lg_status {
    if (!store || !fn) return LG_E_INVALID_ARG;
    std::vector<lg::auth::Entry> entries;
    lg_status rc = store->store->list_entries(entries);
    if (rc != LG_OK) return remember(store, rc);
    for (const auto &e : entries) {
      lg_entry c{};
      c.struct_size = sizeof(c);
      lg::capi::fill_entry(&c, e);
      fn(user, &c);
    }
    return LG_OK;
  });
}

LG_API const char *lg_store_last_error(lg_store *) {
  return t_last_error.c_str();
}

}  // extern "C"
