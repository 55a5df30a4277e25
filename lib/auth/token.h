// Entry ids, publish tokens and stream names: generation, format checks and
// the constant-time token comparison.
#ifndef LG_AUTH_TOKEN_H
#define LG_AUTH_TOKEN_H

#include <cstddef>
#include <string>
#include <string_view>

#include "auth/random.h"

namespace lg::auth {

// A generated token: 26 symbols of lowercase RFC 4648 base32 (a-z, 2-7),
// 130 bits, safe in a URL query without escaping.
inline constexpr size_t kGeneratedTokenLength = 26;
// Tokens a host imports may be shorter or longer than ours, but never shorter
// than this (guessable) nor longer than a URL field can comfortably carry.
inline constexpr size_t kTokenMinLength = 8;  // the reference document shows 8-9 character tokens
inline constexpr size_t kTokenMaxLength = 128;
// Entry ids travel in DNS labels and URL path segments, hence short and
// lowercase; LG_ENTRY_ID_MAX in the C API is the same bound.
inline constexpr size_t kEntryIdMaxLength = 32;
inline constexpr size_t kStreamNameMaxLength = 64;

// Both return "" if the generator fails; never use a partial result.
std::string generate_token(Random &random);
// "1_" + 8 symbols of [a-z0-9], each uniform (rejection sampling).
std::string generate_entry_id(Random &random);

// digits, '_', then [a-z0-9]; 3 to kEntryIdMaxLength characters in all.
bool is_valid_entry_id(std::string_view id);
// kTokenMinLength..kTokenMaxLength characters of [A-Za-z0-9_-].
bool is_valid_token(std::string_view token);
// 1..kStreamNameMaxLength characters of [A-Za-z0-9_-].
bool is_valid_stream_name(std::string_view name);

// True if `presented` equals `expected`. The time taken depends only on
// expected.size(), never on the contents of either string nor on where they
// first differ. An empty `expected` matches nothing: an entry without a token
// must never be open to everyone.
bool tokens_equal(std::string_view presented, std::string_view expected);

}  // namespace lg::auth

#endif  // LG_AUTH_TOKEN_H
