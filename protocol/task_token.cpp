#include "protocol/task_token.hpp"

#include <array>

namespace chronicle {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string base64url(const std::string& bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

// False when `text` has a character outside the alphabet or an impossible length.
bool unbase64url(const std::string& text, std::string* bytes) {
  if (text.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_of(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *bytes += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return true;
}

}  // namespace

std::string task_token_text(const pb::TaskToken& token) { return base64url(encode(token)); }

std::string parse_task_token(const std::string& text, pb::TaskToken* token) {
  if (text.empty()) return "the task token is empty";
  if (text.size() > 4096) return "the task token is too long to be one";
  std::string bytes;
  if (!unbase64url(text, &bytes)) return "the task token is not base64url text";
  pb::TaskToken parsed;
  if (!parsed.ParseFromString(bytes)) return "the task token does not decode";
  if (parsed.workflow_id().empty() || parsed.run_id().empty()
      || parsed.scheduled_event_id() <= 0 || parsed.attempt() <= 0)
    return "the task token does not name an activity attempt";
  *token = std::move(parsed);
  return "";
}

}  // namespace chronicle
