// An activity attempt's task token as text, for asynchronous completion (docs/semantics.md,
// "Asynchronous completion"): the serialized TaskToken (namespace, workflow ID, run ID, scheduled
// event ID, attempt) in unpadded base64url, so it can be passed on a command line, in JSON or in
// a URL without quoting. The text is opaque to users; only its decoder reads it.
#pragma once

#include <string>

#include "protocol/codec.hpp"

namespace chronicle {

std::string task_token_text(const pb::TaskToken& token);

// Decodes `text`; returns "" and fills *token, or says what is wrong with it (not base64url, not
// a token, a field missing).
std::string parse_task_token(const std::string& text, pb::TaskToken* token);

}  // namespace chronicle
