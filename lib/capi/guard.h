// Every C entry point runs inside guard(): no exception crosses the ABI.
#pragma once

#include <cstring>
#include <new>
#include <string_view>

#include "livegate/common.h"

namespace lg::capi {

template <typename Fn>
lg_status guard(Fn &&fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc &) {
    return LG_E_NOMEM;
  } catch (...) {
    return LG_E_INTERNAL;
  }
}

// Copies `s` into a caller's fixed buffer, always NUL-terminated; false if
// it had to be cut.
inline bool copy_out(char *dst, size_t size, std::string_view s) {
  if (!dst || size == 0) return s.empty();
  size_t n = s.size() < size - 1 ? s.size() : size - 1;
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
  return n == s.size();
}

}  // namespace lg::capi
