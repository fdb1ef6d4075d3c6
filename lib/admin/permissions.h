// Who can read the control files (SPEC §3, §11): `qmail-routes check` runs
// as root, but qmail-remote runs as qmailr (group qmail), and a file qmailr
// cannot read is a Z for every delivery it concerns (SPEC §3: EACCES is
// never "missing"). So check asks, for every file and directory
// qmail-remote reads, whether that user may read (search) it, and prints the
// command that fixes it.
//
// How: an explicit computation from stat(2) (owner, group and other bits
// against the user's uid and groups from getpwnam/getgrouplist), not a child
// that drops privileges and tries open(2). The computation works for any
// user without being root, is a pure function the unit tests can take
// through a table, and needs the same owner/group/bits anyway to say which
// chmod or chgrp fixes the file. What it cannot see, POSIX ACLs, is
// detected and named in the problem instead of evaluated.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace qr {

// The account qmail-remote runs as.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;              // primary group
  std::string group;          // its name (the number when it has none)
  std::vector<gid_t> groups;  // every group of the account, the primary one included
};

// getpwnam + getgrouplist. nullopt: no such user.
std::optional<Account> find_account(const std::string& name);

// The user qmail-remote runs as in a standard qmail installation.
inline constexpr const char* kQmailRemoteUser = "qmailr";

// What stat(2) says of a file: owner, group, mode with its type bits.
struct Inode {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
};

// A file is read, a directory searched (or written: queue/sts, SPEC §14).
enum class Need { Read, Search, Write };

// The kernel's rule without ACLs: root may; else the owner bits when the
// account owns the file, else the group bits when it is in the file's group,
// else the other bits.
bool may(const Account& account, const Inode& inode, Need need);

// The shell command that gives `account` the access it lacks, with the
// least change: the owner or group bit when the account owns the file or is
// in its group; else, for a file that holds secrets, the account's group
// and mode 0640 (owner bits kept, others cleared); else read (and search)
// for group and others (0600 -> 0644, 0700 -> 0755). `secret` alone, with
// access already there, clears the other bits. `path` is quoted for a shell.
std::string fix_command(const std::string& path, const Inode& inode, const Account& account,
                        Need need, bool secret);

// Every problem of `dir` (the control directory) for `account`, in the
// format of check_control: the directories from / down to control/, then
// the files of SPEC §3 that exist, tlshosts/ and notlshosts/ and the
// tlshosts/*.pem files. Also the files that hold secrets (routes with a
// password, smtproutes with the AUTH patch's credentials, clientcert.pem)
// and that every user can read. `account` null (no such user): only the
// latter.
std::vector<std::string> check_permissions(const std::string& dir, const Account* account);

// The same for one control file `name` alone, as add and set use it after
// writing control/routes: at most one problem.
std::vector<std::string> check_file_permissions(const std::string& dir, const std::string& name,
                                                const Account* account);

}  // namespace qr
