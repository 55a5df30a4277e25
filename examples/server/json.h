// A small JSON writer for livegate-server's machine-readable output: one
// compact document per call site, always valid JSON (strings are escaped and
// invalid UTF-8 is replaced), so operators can pipe the output to jq.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lgserver {

class JsonWriter {
 public:
  JsonWriter &begin_object();
  JsonWriter &end_object();
  JsonWriter &begin_array();
  JsonWriter &end_array();

  JsonWriter &key(std::string_view name);

  JsonWriter &string(std::string_view value);
  // NULL writes null: the C API uses it for "not known".
  JsonWriter &string_or_null(const char *value);
  JsonWriter &number(int64_t value);
  JsonWriter &number(uint64_t value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter &number(T value) {
    if constexpr (std::is_signed_v<T>) {
      return number(static_cast<int64_t>(value));
    } else {
      return number(static_cast<uint64_t>(value));
    }
  }
  // Non-finite values have no JSON form and are written as null.
  JsonWriter &number(double value);
  JsonWriter &boolean(bool value);
  JsonWriter &null();
  // Text that is already a JSON value (the library's metadata_json). Line
  // breaks are turned into spaces so that one event stays on one line.
  JsonWriter &raw(std::string_view json);

  // The document so far; complete once every container is closed.
  const std::string &str() const { return out_; }

  // Appends `value` as a quoted JSON string to `out`.
  static void append_quoted(std::string &out, std::string_view value);

 private:
  void before_value();
  JsonWriter &open(char bracket);
  JsonWriter &close(char bracket);

  std::string out_;
  // One flag per open container: whether it has an element yet.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace lgserver
