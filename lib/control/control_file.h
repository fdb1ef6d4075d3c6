// Reading qmail control files (SPEC §3). A missing file is not an error (the
// default applies); an unreadable one is, and names the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/result.h"

namespace qr {

struct ControlLine {
  int number = 0;    // 1-based line number in the file
  std::string text;  // trailing spaces, tabs and CRs stripped
};

// The one rule for a line of a list file (qmail's control_readfile): the
// trailing spaces, tabs and CRs go; a line then empty or starting with '#'
// is nothing. qmail-remote's reading and qmail-routes' editing both use it.
std::optional<ControlLine> control_line(int number, std::string_view raw);

// An error about line LINE of control/NAME (0: the file as a whole).
inline Error control_error(std::string_view name, int line, std::string what) {
  return Error{std::move(what), "control/" + std::string(name), line};
}

// Where the control files live: $QMAIL_ROOT/control, else the built-in root.
std::string control_dir();

// The whole file as bytes. nullopt: the file does not exist (ENOENT only).
// Errors (SPEC §3): "control/NAME: cannot read: <why>" (EACCES, ENOTDIR, a
// dangling symbolic link, ...), "control/NAME: not a regular file" (a FIFO,
// device, directory or socket; never waited on), "control/NAME: larger than
// the 4 MiB limit".
Result<std::optional<std::string>> read_control_file(const std::string& dir, std::string_view name);

// All lines of a list file (routes, routemap, smtproutes): blank lines and lines
// starting with '#' are dropped, trailing white space stripped.
// nullopt: the file does not exist. Errors as read_control_file's.
Result<std::optional<std::vector<ControlLine>>> read_control_lines(const std::string& dir,
                                                                   std::string_view name);

// The first line of a single-value file (me, helohost, timeouts), stripped.
Result<std::optional<std::string>> read_control_value(const std::string& dir,
                                                      std::string_view name);

}  // namespace qr
