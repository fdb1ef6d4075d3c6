// read_reply (SPEC §7) over a real Connection: the input is what the server
// sends, written into one end of a socketpair that is then closed, so the
// line splitting, CR handling and caps of Connection::read_line are fuzzed
// together with ReplyParser. Replies are read until the first error (end of
// stream at the latest). Properties: every reply has a code in 200..599 and
// at most 5000 bytes of text.
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz/fuzz_util.h"
#include "lib/net/connection.h"
#include "lib/smtp/reply.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
  // The input is at most -max_len (16 KiB) bytes: it fits the socket buffer.
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(sv[1], data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(sv[1]);
  Connection conn(Fd(sv[0]), 5);
  for (int replies = 0;; ++replies) {
    FUZZ_CHECK(replies <= static_cast<int>(size));
    auto r = read_reply(conn);
    if (!r) {
      FUZZ_CHECK(!r.error().empty());
      break;
    }
    FUZZ_CHECK(r->code >= 200 && r->code <= 599);
    FUZZ_CHECK(r->text.size() <= ReplyParser::kMaxText);
  }
  return 0;
}
