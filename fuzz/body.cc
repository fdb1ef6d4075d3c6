// BodyEncoder (SPEC §6). Properties: no bare CR or LF in the output;
// un-stuffing the output (dropping the extra '.' at the start of a line)
// gives the input with LF, CRLF and lone CR each turned into CRLF; the
// output in pieces of any size (the first two bytes pick it) equals
// encode(), and no piece is empty or much larger than asked; the input fed
// in windows of that size (as BodyStream reads a file) encodes the same.
#include "fuzz/fuzz_util.h"
#include "lib/smtp/message.h"

using namespace qr;

namespace {

std::string normalise(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string unstuff(std::string_view wire) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < wire.size(); ++i) {
    if (line_start && wire[i] == '.') {
      FUZZ_CHECK(i + 1 < wire.size() && wire[i + 1] == '.');  // every dot is doubled
      ++i;
    }
    out += wire[i];
    line_start = wire[i] == '\n';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t max = 1;
  if (size >= 2) {
    max = 1 + (data[0] | (data[1] << 8)) % 300;
    data += 2;
    size -= 2;
  }
  std::string_view in = fuzz::as_text(data, size);
  std::string all = BodyEncoder::encode(in);

  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == '\r') FUZZ_CHECK(i + 1 < all.size() && all[i + 1] == '\n');
    if (all[i] == '\n') FUZZ_CHECK(i > 0 && all[i - 1] == '\r');
  }
  FUZZ_CHECK(unstuff(all) == normalise(in));

  BodyEncoder enc(in);
  std::string joined, piece;
  while (enc.next(piece, max)) {
    FUZZ_CHECK(!piece.empty());
    FUZZ_CHECK(piece.size() <= max + 2);  // a CRLF may complete the last line end
    joined += piece;
  }
  FUZZ_CHECK(piece.empty());
  FUZZ_CHECK(joined == all);

  BodyEncoder fed;
  std::string windowed;
  for (size_t at = 0; at < in.size(); at += max) {
    fed.feed(in.substr(at, max));
    while (!fed.window_done()) fed.append(windowed, windowed.size() + max);
  }
  FUZZ_CHECK(windowed == all);
  return 0;
}
