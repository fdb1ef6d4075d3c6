// Result<T>: a value or the text of what went wrong. Used for failures that are
// part of the protocol or of the input (a bad control line, a refused
// connection), where an exception would hide the control flow.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace qr {

// What went wrong, and where when it was a control file's line (SPEC §3):
// qmail-remote's report wants "control/routes line 3: what", qmail-routes
// its own "control/routes:3: what" and its editing commands the "what"
// alone, so the parts are kept apart and formatted at the edge.
struct Error {
  explicit Error(std::string what) : text(std::move(what)) {}
  Error(std::string what, std::string in_file, int at_line)
      : text(std::move(what)), file(std::move(in_file)), line(at_line) {}

  std::string text;  // what went wrong
  std::string file;  // "control/routes", or empty
  int line = 0;      // 1-based line of `file`, or 0

  // "control/routes line 3: what", "control/me: what", or the text alone.
  std::string formatted() const {
    if (file.empty()) return text;
    return file + (line > 0 ? " line " + std::to_string(line) : std::string()) + ": " + text;
  }
};

// E is Error unless a caller needs more than a text: connect's
// ConnectFailure says whether the bind failed and whether time ran out.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error as one text (Error::formatted).
  std::string error() const { return std::get<1>(v_).formatted(); }
  // The error in its parts.
  const E& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// For operations that return nothing but may fail.
struct Unit {};
using Status = Result<Unit>;
inline Status success() {
  return Unit{};
}

}  // namespace qr
