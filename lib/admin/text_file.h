// Control files as text an editor can rewrite (SPEC §11): every raw line kept,
// comments and blank lines included, so an edit changes only what it must.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/result.h"

namespace qr {

struct TextFile {
  bool exists = false;
  std::vector<std::string> lines;  // as in the file, without the '\n'
  std::string render() const;      // lines joined, each ended by '\n'
};

// nullopt-free: a missing file is an empty TextFile with exists == false.
// Error: "control/NAME: cannot read: <why>".
Result<TextFile> read_text_file(const std::string& dir, const std::string& name);

// The lines the parsers see (SPEC §3): blank and '#' lines dropped, trailing
// spaces, tabs and CRs stripped; `number` is the 1-based index into `lines`.
std::vector<ControlLine> control_lines(const TextFile& file);

// How write_atomic creates a file that does not exist yet. control/routes
// holds passwords (SPEC §3.1 USER;PASS), now or after the next edit, so it
// is made 0640 with group `qmail`, qmailr's group, when that group exists
// and we may give it (root, or a member); every other file 0644. An existing
// file keeps its mode and owner: an edit never widens who can read it.
struct NewFileMode {
  mode_t mode = 0644;
  std::string group;  // empty: the creator's
};
NewFileMode new_file_mode(const std::string& name);

// Replaces dir/name atomically: a temporary file in the same directory,
// given the old file's mode (and owner, when we may) or new_file_mode(name)
// before anything is written to it, written, fsynced, then renamed over the
// old one, and the directory fsynced. On failure the old file is untouched
// and the error names "control/NAME".
Status write_atomic(const std::string& dir, const std::string& name, const std::string& content);

// How edits are written; tests inject a failing one.
using FileWriter =
    std::function<Status(const std::string& dir, const std::string& name, const std::string&)>;

}  // namespace qr
