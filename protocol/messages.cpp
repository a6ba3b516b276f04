#include "protocol/messages.hpp"

namespace chronicle {

namespace {
constexpr caf::atom_value category = caf::atom("chronicle");
}  // namespace

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(message))};
}

uint8_t chronicle_code(const caf::error& err) {
  return err.category() == category ? err.code() : 0;
}

std::string error_text(const caf::error& err) {
  if (!err) return "no error";
  auto& ctx = err.context();
  if (err.category() == category && ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return caf::to_string(err);
}

}  // namespace chronicle
