// typed: workflows and activities over user structs instead of raw JSON. Included by
// workflow_context.hpp and registry.hpp; include those, not this file.
//
// Contract:
//  - A type T is usable as an input or result when nlohmann::json converts it both ways
//    (to_json / from_json, e.g. NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE); json itself is allowed;
//    `void` is allowed as a result (recorded as null). Anything else is a compile error
//    (static_assert naming the type's role), as is a function whose signature does not match
//    the In / Out it is registered or called with.
//  - activity_def<In, Out>{"Name"} names an activity once; registry::register_activity(def, fn)
//    and workflow_context::activity(def, input) (or local_activity(def, input, options)) then
//    check In and Out at compile time on both sides. ctx.activity<Out>("Name", input) is the
//    unnamed form (only Out is checked).
//  - Conversions at run time: a JSON value that does not convert to the expected type throws
//    application_error of type "PayloadError", non-retryable: in workflow code (its input or an
//    activity result) it fails the workflow unless caught; in an activity it fails the activity
//    without retries.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::sdk {

template <class In, class Out>
struct activity_def {
  std::string name;
};

namespace detail {

template <class T>
inline constexpr bool json_readable_v =
    std::is_same_v<T, json> || nlohmann::detail::has_from_json<json, T>::value ||
    nlohmann::detail::has_non_default_from_json<json, T>::value;

template <class T>
inline constexpr bool json_writable_v =
    std::is_same_v<T, json> || nlohmann::detail::has_to_json<json, T>::value;

template <class T>
inline constexpr bool json_value_v = json_readable_v<T> && json_writable_v<T>;

template <class T>
constexpr bool json_result() {
  if constexpr (std::is_void_v<T>)
    return true;
  else
    return json_value_v<T>;
}

template <class T>
inline constexpr bool json_result_v = json_result<T>();

// True when Fn& called with Args returns something convertible to R (false when not callable,
// not a hard error).
template <class R, class Fn, class... Args>
constexpr bool returns_v() {
  if constexpr (std::is_invocable_v<Fn&, Args...>)
    return std::is_convertible_v<std::invoke_result_t<Fn&, Args...>, R>;
  else
    return false;
}

// j as a T, or application_error("PayloadError", non-retryable) naming `what`.
template <class T>
T convert(const json& j, const char* what) {
  try {
    return j.get<T>();
  } catch (const json::exception& e) {
    throw application_error(payload_error_type,
                            std::string(what) + " does not convert to the expected type: " +
                                e.what(),
                            true);
  }
}

}  // namespace detail

// What `co_await ctx.activity(def, input)` / `ctx.activity<Out>(...)` yields: the result as Out.
template <class Out>
class typed_activity_awaitable {
 public:
  explicit typed_activity_awaitable(activity_awaitable inner) : inner_(inner) {}
  bool await_ready() const noexcept { return inner_.await_ready(); }
  void await_suspend(std::coroutine_handle<> waiter) { inner_.await_suspend(waiter); }
  Out await_resume() const {
    json result = inner_.await_resume();
    if constexpr (!std::is_void_v<Out>) return detail::convert<Out>(result, "activity result");
  }

 private:
  activity_awaitable inner_;
};

template <class Out, class In>
typed_activity_awaitable<Out> workflow_context::activity(std::string type, const In& input,
                                                          const activity_options& options) {
  static_assert(detail::json_writable_v<In>,
                "ctx.activity<Out>(type, input): the input type has no to_json conversion");
  static_assert(detail::json_result_v<Out>,
                "ctx.activity<Out>(type, input): Out has no from_json / to_json conversion");
  return typed_activity_awaitable<Out>{activity(std::move(type), json(input), options)};
}

template <class Out, class In>
typed_activity_awaitable<Out> workflow_context::activity(std::string type, const In& input) {
  return activity<Out, In>(std::move(type), input, activity_options{});
}

template <class In, class Out>
typed_activity_awaitable<Out> workflow_context::activity(const activity_def<In, Out>& def,
                                                          const std::type_identity_t<In>& input,
                                                          const activity_options& options) {
  return activity<Out, In>(def.name, input, options);
}

template <class In, class Out>
typed_activity_awaitable<Out> workflow_context::activity(const activity_def<In, Out>& def,
                                                          const std::type_identity_t<In>& input) {
  return activity<Out, In>(def.name, input, activity_options{});
}

// Local activities: the same conversions and checks as the activity calls above.
template <class Out, class In>
typed_activity_awaitable<Out> workflow_context::local_activity(
    std::string type, const In& input, const local_activity_options& options) {
  static_assert(detail::json_writable_v<In>,
                "ctx.local_activity<Out>(type, input): the input type has no to_json conversion");
  static_assert(detail::json_result_v<Out>,
                "ctx.local_activity<Out>(type, input): Out has no from_json / to_json conversion");
  return typed_activity_awaitable<Out>{local_activity(std::move(type), json(input), options)};
}

template <class In, class Out>
typed_activity_awaitable<Out> workflow_context::local_activity(
    const activity_def<In, Out>& def, const std::type_identity_t<In>& input,
    const local_activity_options& options) {
  return local_activity<Out, In>(def.name, input, options);
}

}  // namespace chronicle::sdk
