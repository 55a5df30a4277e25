// A small JSON writer for livegate-server's machine-readable output: one
// compact document per call site, always valid JSON (strings are escaped and
// invalid UTF-8 is replaced), so operators can pipe the output to jq.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// A parsed JSON document, for the admin API's request bodies. Numbers keep
// their text so that integers are read exactly, never through a double.
struct JsonValue {
  enum class Type { Null, Boolean, Number, String, Array, Object };

  // Defined where JsonValue is complete: members holds pairs of JsonValue,
  // which clang (with libstdc++) cannot instantiate inside the class.
  JsonValue();
  JsonValue(const JsonValue &);
  JsonValue(JsonValue &&) noexcept;
  JsonValue &operator=(const JsonValue &);
  JsonValue &operator=(JsonValue &&) noexcept;
  ~JsonValue();

  Type type = Type::Null;
  bool boolean = false;
  std::string text;  // a string's decoded value, or a number as written
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;  // in document order

  bool is_null() const { return type == Type::Null; }
  // The member called `name` of an object, or nullptr.
  const JsonValue *find(std::string_view name) const;
  // A number written as an integer that fits in int64_t.
  std::optional<int64_t> integer() const;
};

// Parses one JSON document (RFC 8259; whitespace around it only). Nesting is
// limited to a few levels and duplicate keys are refused: a request body is
// small and flat, and anything else is a client bug worth reporting. On
// failure says why, with the byte offset, in `error`.
bool parse_json(std::string_view text, JsonValue &out, std::string &error);

// An admin API request body: one JSON object. An empty body (or one of
// whitespace only) is {} when `optional`. On failure says why in `error`,
// fit for a 400 reply.
bool parse_request_body(std::string_view body, bool optional, JsonValue &out, std::string &error);

// Writes a parsed document back (one the example server received, passed
// on), numbers exactly as they were written.
void write_json(JsonWriter &json, const JsonValue &value);

}  // namespace lgserver
